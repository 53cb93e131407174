// The first visit's benchmark: how long a student waits, in the release build in headless
// Chromium. A benchmark, not a test: it asserts nothing and prints its figures for BENCHMARKS.md.
//
// - Cold: a browser with an empty cache over a 10 Mbit/s link (Chromium's network throttling,
//   40 ms latency), the bundle served compressed as static hosts serve it (gzip for the text and
//   wasm files; MNIST is gzip already). Times from the navigation to: the page drawn, the
//   training file loaded (Start enabled), and the default race's first trial training after a
//   click on Start at that moment.
// - Warm: the same browser reloading the page, answered by the service worker's cache.
//
// Medians of RUNS visits each. Run: `trunk build --release --offline && node tests/bench/first_visit.mjs`.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { DIST, launch } from '../e2e/harness.mjs';

const RUNS = Number(process.env.RUNS ?? 3);
const MBIT = 10;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.svg': 'image/svg+xml' };

/** A static host: files from dist/, text and wasm gzipped, cacheable for ten minutes (as Pages). */
function host() {
  const gzipped = new Map();
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = path.join(DIST, urlPath === '/' ? 'index.html' : urlPath);
    if (!file.startsWith(DIST) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404);
      res.end();
      return;
    }
    const type = TYPES[path.extname(file)];
    let body = fs.readFileSync(file);
    const headers = { 'content-type': type ?? 'application/octet-stream', 'cache-control': 'max-age=600' };
    if (type && (req.headers['accept-encoding'] ?? '').includes('gzip')) {
      if (!gzipped.has(file)) gzipped.set(file, zlib.gzipSync(body, { level: 9 }));
      body = gzipped.get(file);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = body.length;
    res.writeHead(200, headers);
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}/`, server })));
}

/** Seconds from the navigation's start to each milestone of one visit of `page`. */
async function visit(page, go) {
  const t0 = Date.now();
  await go();
  const since = () => (Date.now() - t0) / 1000;
  await page.waitForSelector('#race-start');
  const drawn = since();
  await page.waitForSelector('#race-start:not([disabled])', { timeout: 300_000 });
  const ready = since();
  await page.click('#race-start');
  await page.waitForSelector('.worker-list li.busy', { timeout: 300_000 });
  const training = since();
  return { drawn, ready, training };
}

const { url, server } = await host();
const browser = await launch();
const cold = [];
const warm = [];
const bytes = [];
try {
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 40,
      downloadThroughput: (MBIT * 1e6) / 8,
      uploadThroughput: (MBIT * 1e6) / 8,
    });
    let received = 0;
    cdp.on('Network.loadingFinished', (e) => { received += e.encodedDataLength; });
    cold.push(await visit(page, () => page.goto(url)));
    bytes.push(received);
    // Wait until the lab is kept for offline use, then reload: the service worker answers.
    // (The race is cancelled first, or the reload would bring it back instead of a new one.)
    await page.waitForSelector('#offline-status[data-state="kept"]', { timeout: 300_000 });
    await page.click('#race-cancel');
    await page.click('#race-cancel-confirm');
    await page.waitForSelector('#race-status[data-state="cancelled"]');
    warm.push(await visit(page, () => page.reload()));
    await context.close();
  }
} finally {
  await browser.close();
  server.close();
  server.closeAllConnections();
}

const row = (name, runs, key) => `| ${name} | ${median(runs.map((r) => r[key])).toFixed(1)} s | ${runs.map((r) => r[key].toFixed(1)).join(', ')} |`;
console.log(`first visit at ${MBIT} Mbit/s (40 ms latency), ${RUNS} runs; median MB received before the first trial trained: ${(median(bytes) / 1e6).toFixed(1)}`);
console.log('| milestone | median | runs |');
console.log('| --- | --- | --- |');
console.log(row('cold: page drawn', cold, 'drawn'));
console.log(row('cold: training file loaded, Start enabled', cold, 'ready'));
console.log(row('cold: first trial training', cold, 'training'));
console.log(row('warm reload: page drawn', warm, 'drawn'));
console.log(row('warm reload: Start enabled', warm, 'ready'));
console.log(row('warm reload: first trial training', warm, 'training'));
