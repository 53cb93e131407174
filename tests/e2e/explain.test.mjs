// End-to-end: after a small race, as a student would — retrain the winner on the training file,
// test it once on the 10,000 test images, read the confusion matrix and the misclassified digits,
// then draw a "1" and a "0" with the mouse and have the retrained network (in its worker) read them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, serve, launch, openPage, waitForDataset } from './harness.mjs';

const SHOTS = path.join(ROOT, 'target', 'e2e-screenshots');

let server;
let browser;
before(async () => {
  server = await serve();
  browser = await launch();
  fs.mkdirSync(SHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Draw a stroke through `points` (canvas pixels of the 280 × 280 canvas) with the mouse. */
async function stroke(page, points) {
  const box = await page.locator('#draw-canvas').boundingBox();
  const at = ([x, y]) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280];
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 2 });
  await page.mouse.up();
}

/** Draw, wait for the reading, and return the digit read. */
async function drawAndRead(page, points) {
  if (await page.isEnabled('#draw-clear')) await page.click('#draw-clear');
  await page.waitForSelector('#draw-prediction:not([data-digit]):not([data-pending])');
  await stroke(page, points);
  // The last reading: the one of the whole stroke, with none waiting after it.
  const el = await page.waitForSelector('#draw-prediction[data-digit]:not([data-pending])', { timeout: 10_000 }).catch(async (e) => {
    throw new Error(`${e.message}\n#draw-prediction: ${await page.$eval('#draw-prediction', (d) => d.outerHTML)}`);
  });
  return Number(await el.getAttribute('data-digit'));
}

test('the winner retrained and tested: accuracy, confusion matrix, mistakes, and a digit drawn', async () => {
  const { page, errors, close } = await openPage(browser, server.url);
  try {
    await page.setViewportSize({ width: 1280, height: 720 });
    await waitForDataset(page, 'ready');
    // Before any race, nothing to retrain: a sentence, not an empty panel.
    assert.match(await page.textContent('#result-empty'), /No trial has completed yet/);
    assert.match(await page.textContent('#draw-prediction'), /Retrain and test a configuration/);

    await page.fill('#race-workers', '2');
    await page.dispatchEvent('#race-workers', 'input');
    for (const box of await page.$$('input[name=race-method]')) {
      const want = ['random', 'tpe'].includes(await box.getAttribute('value'));
      if ((await box.isChecked()) !== want) await box.click();
    }
    await page.selectOption('#race-space', 'seed-grid');
    await page.fill('#race-budget', '20');
    await page.selectOption('#race-subset', '2000');
    await page.selectOption('#race-cv', 'holdout');
    await page.fill('#race-seed', '7');
    await page.click('#race-start:not([disabled])', { timeout: 60_000 });
    await page.waitForSelector('#race-status[data-state="done"]', { timeout: 600_000 });

    // The winner is ticked by default; retrain it on 2,000 images to keep the test short.
    const ticked = await page.$$eval('.candidate-list input:checked', (b) => b.map((x) => x.dataset.method));
    assert.equal(ticked.length, 1, `the winner alone: ${ticked}`);
    await page.selectOption('#retrain-images', '2000');
    await page.click('#retrain-winner');
    await page.waitForSelector('table.retrainings progress', { timeout: 30_000 });
    await page.waitForSelector('#test-accuracy', { timeout: 600_000 });
    const accuracy = parseFloat(await page.textContent('#test-accuracy'));
    assert.ok(accuracy > 80 && accuracy <= 100, `test accuracy ${accuracy}`);

    // The confusion matrix: 100 cells summing to the 10,000 test images; its diagonal is the accuracy.
    const cells = await page.$$eval('#confusion-matrix [data-cell]', (cs) => cs.map((c) => [c.dataset.cell, Number(c.dataset.count)]));
    assert.equal(cells.length, 100);
    assert.equal(cells.reduce((s, [, n]) => s + n, 0), 10_000);
    const right = cells.filter(([k]) => k[0] === k[2]).reduce((s, [, n]) => s + n, 0);
    assert.ok(Math.abs(right / 100 - accuracy) < 0.01, `${right} right against ${accuracy} %`);

    // The gallery shows the mistakes; a cell of the matrix filters it to its own.
    const wrong = 10_000 - right;
    const shown = await page.$$eval('#misclassified [data-index]', (ds) => ds.length);
    assert.equal(shown, Math.min(48, wrong));
    const [key, count] = cells.filter(([k, n]) => k[0] !== k[2] && n > 0).sort((a, b) => b[1] - a[1])[0];
    await page.click(`#confusion-matrix [data-cell="${key}"]`);
    await page.waitForFunction((n) => document.querySelectorAll('#misclassified [data-index]').length === Math.min(48, n), count);
    const filtered = await page.$$eval('#misclassified [data-index]', (ds) => ds.map((d) => `${d.dataset.truth}-${d.dataset.predicted}`));
    assert.ok(filtered.every((k) => k === key), `${key}: ${filtered}`);
    await page.screenshot({ path: path.join(SHOTS, 'result-1280x720.png') });

    // Draw a 1, then a 0: the network in the final worker reads them.
    const one = [[140, 40], [140, 240]];
    const zero = Array.from({ length: 41 }, (_, i) => [140 + 60 * Math.sin((i * Math.PI) / 20), 140 - 95 * Math.cos((i * Math.PI) / 20)]);
    // In the middle of the window, clear of the race's sticky bar at the top.
    await page.$eval('#draw-canvas', (c) => c.scrollIntoView({ block: 'center' }));
    assert.equal(await drawAndRead(page, one), 1);
    const ms = Number(await page.getAttribute('#draw-prediction', 'data-ms'));
    assert.ok(ms >= 0 && ms < 1000, `read in ${ms} ms`);
    assert.equal(await drawAndRead(page, zero), 0);
    await page.screenshot({ path: path.join(SHOTS, 'draw-1280x720.png') });
    // A cleared canvas is refused with a sentence.
    await page.click('#draw-clear');
    await page.waitForFunction(() => /blank/.test(document.querySelector('#draw-prediction').textContent));
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
