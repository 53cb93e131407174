// End-to-end: the bundle as a static host serves it — under a sub-path (as GitHub Pages serves a
// project), with its Content-Security-Policy — runs a race without a single violation, keeps
// itself for offline use, and after the server is gone reloads and trains from the browser's
// cache alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch, openPage, waitForDataset, setField, tableRows } from './harness.mjs';

const PREFIX = '/tunelab/';
/** Random search and GP-EI on the seed's space, one epoch a trial, 6 epoch-equivalents each. */
const LESSON = 'v1&m=random,gp-ei&sp=seed&b=6&n=2000&cv=h&s=5&p=2&r.epochs=0:5:20:0::1';

let server;
let browser;
before(async () => {
  server = await serve(undefined, {}, { prefix: PREFIX });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** The directives of the page's policy, by name. */
async function policy(page) {
  const text = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
  return Object.fromEntries(text.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...sources]) => [name, sources]));
}

test('under a sub-path a race runs with no CSP violation, and after the server is gone the lab reloads and trains offline', async () => {
  const { page, errors, close } = await openPage(browser, `${server.url}#${LESSON}`);
  const outside = [];
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(server.url) && !url.startsWith('blob:')) outside.push(url);
  });
  try {
    // The policy as built: the app's own scripts (the inline starter by its hash), wasm, workers.
    const csp = await policy(page);
    assert.deepEqual(csp['default-src'], ["'self'"]);
    assert.ok(csp['script-src'].includes("'self'") && csp['script-src'].includes("'wasm-unsafe-eval'"), csp['script-src'].join(' '));
    assert.ok(csp['script-src'].some((s) => /^'sha256-[A-Za-z0-9+/]+=*'$/.test(s)), 'the inline starter is allowed by its hash');
    assert.ok(!csp['script-src'].includes("'unsafe-inline'") && !csp['script-src'].includes("'unsafe-eval'"), csp['script-src'].join(' '));
    assert.deepEqual(csp['worker-src'], ["'self'"], 'no blob: or data: workers');
    assert.ok(Object.values(csp).flat().every((s) => !/^https?:|^\*$/.test(s)), 'no remote origin');

    await waitForDataset(page, 'ready');
    assert.ok((await page.getAttribute('#share-link', 'href')).startsWith(`${server.url}#v1`), 'the shared link keeps the sub-path');
    await page.fill('#race-workers', '2');
    await page.dispatchEvent('#race-workers', 'input');
    await page.click('#race-start:not([disabled])', { timeout: 60_000 });
    await page.waitForSelector('#race-status[data-state="done"]', { timeout: 300_000 });
    const rows = await tableRows(page);
    assert.ok(rows.length >= 8, rows.join('\n'));
    await page.waitForSelector('#dataset-status[data-test="ready"]', { timeout: 60_000 });
    await page.waitForSelector('#offline-status[data-state="kept"]', { timeout: 120_000 });
    assert.deepEqual(errors, [], 'no CSP violation and no error through the race');
    assert.deepEqual(outside, [], 'every file comes from below the sub-path');

    // The server is gone: everything now comes from the service worker's cache.
    await server.close();
    await page.reload();
    const logged = page.waitForEvent('console', (m) => m.type() === 'error');
    assert.equal(await page.evaluate(() => fetch('./no-such-file').then(() => 'answered', () => 'no network')), 'no network');
    await logged;
    // That probe's failure is the only error the browser may log.
    assert.deepEqual(errors.splice(0), ['Failed to load resource: net::ERR_FAILED']);
    await waitForDataset(page, 'ready');
    await page.waitForSelector('#dataset-status[data-test="ready"]', { timeout: 60_000 });
    await page.waitForSelector('.worker-list li.idle', { timeout: 60_000 });
    await page.selectOption('#f-subset', '2000');
    await setField(page, 'f-epochs', 1);
    await page.click('#train-button');
    await page.waitForSelector('#trial-status[data-state="complete"]', { timeout: 180_000 });
    assert.deepEqual(errors, [], 'offline, no error either');
  } finally {
    await close();
    server = undefined;
  }
});
