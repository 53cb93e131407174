// Shared pieces of the end-to-end tests: a static HTTP server for the release build in dist/,
// and headless Chromium (Debian's, driven by playwright-core) with console errors collected.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = path.join(ROOT, 'dist');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.gz': 'application/octet-stream',
  '.md': 'text/markdown; charset=utf-8',
};

/** Serve `dir` on 127.0.0.1 at a free port; resolves to { url, close }. `extra` maps paths to
 *  [content type, body] pairs served besides the files. Under `prefix` (e.g. '/tunelab/') the
 *  files are served below that folder only, as a static host serves a project's pages. */
export function serve(dir = DIST, extra = {}, { prefix = '/' } = {}) {
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    throw new Error(`${dir}/index.html is missing: build the app first (trunk build --release --offline)`);
  }
  const server = http.createServer((req, res) => {
    const fullPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (!fullPath.startsWith(prefix)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const urlPath = `/${fullPath.slice(prefix.length)}`;
    if (extra[urlPath]) {
      const [type, body] = extra[urlPath];
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    const file = path.join(dir, urlPath === '/' ? 'index.html' : urlPath);
    if (!file.startsWith(dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const body = fs.readFileSync(file);
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control': 'no-store',
    });
    res.end(body);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}${prefix}`,
        // Open connections too: closed, the server is gone as a lost network would be.
        close: () => new Promise((r) => { server.close(r); server.closeAllConnections(); }),
      });
    });
  });
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/** A new page whose console errors and uncaught exceptions are collected in `errors`. */
export async function openPage(browser, url, { beforeLoad } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  page.on('pageerror', (err) => errors.push(String(err)));
  // Anything the Content-Security-Policy refuses is an error of every test.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} refused ${e.blockedURI}`));
  });
  if (beforeLoad) await beforeLoad(page);
  await page.goto(url);
  return { page, errors, close: () => context.close() };
}

/** Wait until the dataset panel reaches `state` (ready, failed, ...). */
export async function waitForDataset(page, state, timeout = 60_000) {
  await page.waitForSelector(`#dataset-status[data-state="${state}"]`, { timeout });
  return page.textContent('#dataset-status');
}

/** Set the range of hyperparameter `param` in the race's search space. */
export async function setRange(page, param, low, high) {
  const row = page.locator(`.space-row[data-param="${param}"]`);
  for (const [field, value] of [['.param-low', low], ['.param-high', high]]) {
    await row.locator(field).fill(String(value));
    await row.locator(field).dispatchEvent('change');
  }
}

/** Draw a stroke through `points` (pixels of the 280 × 280 drawing canvas) with the mouse. */
export async function drawStroke(page, points) {
  const box = await page.locator('#draw-canvas').boundingBox();
  const at = ([x, y]) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280];
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 2 });
  await page.mouse.up();
}

/** Set a text field of the configuration form. */
export async function setField(page, id, value) {
  await page.fill(`#${id}`, String(value));
}

/** The trials table, row by row, without the time column (which differs from run to run). */
export async function tableRows(page) {
  return page.$$eval('#trials-table tbody tr', (rows) =>
    rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent.trim()).filter((_, i, all) => i !== all.length - 1).join(' ')),
  );
}
