// The result panel's benchmark: what a class waits for, in the release build in headless
// Chromium. A benchmark, not a test: it asserts nothing and prints its figures for BENCHMARKS.md.
//
// - Retraining the seed's best point (lr 0.01, 10 epochs, batch 64, 3 conv layers, L2 0.001,
//   momentum) on all 60,000 training images and testing it on the 10,000 test images, in the
//   final worker: wall time from the click to the test accuracy on the page.
// - Drawing to prediction: the time from sending a drawing to the worker to its reading on the
//   page (the reading's own `data-ms`), over repeated strokes.
// - "Why this point next" panels: the longest main-thread task (PerformanceObserver 'longtask')
//   while stepping through every round of GP-EI's and TPE's panels after a small race.
//
// Run: `trunk build --release --offline && node tests/bench/result_bench.mjs`.
import { serve, launch, openPage, waitForDataset, setRange, drawStroke } from '../e2e/harness.mjs';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function observeLongTasks(page) {
  await page.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => list.getEntries().forEach((e) => window.__longTasks.push([e.startTime, e.duration]))).observe({ type: 'longtask', buffered: true });
  });
}

async function setMethods(page, methods) {
  for (const box of await page.$$('input[name=race-method]')) {
    const want = methods.includes(await box.getAttribute('value'));
    if ((await box.isChecked()) !== want) await box.click();
  }
}


const server = await serve();
const browser = await launch();
try {
  const { page, close } = await openPage(browser, server.url, { beforeLoad: observeLongTasks });
  await page.setViewportSize({ width: 1280, height: 720 });
  await waitForDataset(page, 'ready');

  // 1. The seed's best point: a grid of one point, raced on 2,000 images, then retrained on 60,000.
  await page.fill('#race-workers', '1');
  await page.dispatchEvent('#race-workers', 'input');
  await setMethods(page, ['grid']);
  await page.selectOption('#race-space', 'seed-grid');
  for (const [param, value] of Object.entries({ learning_rate: '0.01', epochs: '10', batch_size: '64', conv_layers: '3', l2: '0.001' })) {
    await page.fill(`tr[data-param="${param}"] .param-grid`, value);
    await page.dispatchEvent(`tr[data-param="${param}"] .param-grid`, 'change');
  }
  await page.fill('#race-budget', '10');
  await page.selectOption('#race-subset', '2000');
  await page.click('#race-start:not([disabled])', { timeout: 120_000 });
  await page.waitForSelector('#race-status[data-state="done"]', { timeout: 600_000 });
  await page.selectOption('#retrain-images', '60000');
  const started = Date.now();
  await page.click('#retrain-winner');
  await page.waitForSelector('#test-accuracy', { timeout: 1_800_000 });
  const retrainSeconds = (Date.now() - started) / 1000;
  const testAccuracy = await page.textContent('#test-accuracy');
  console.log(`retrain the seed's best point on 60,000 images and test it, in a worker: ${retrainSeconds.toFixed(1)} s; test accuracy ${testAccuracy}`);

  // 2. Drawing to prediction, ten strokes.
  await page.$eval('#draw-canvas', (c) => c.scrollIntoView({ block: 'center' }));
  const readings = [];
  for (let k = 0; k < 10; k++) {
    if (await page.isEnabled('#draw-clear')) await page.click('#draw-clear');
    await page.waitForSelector('#draw-prediction:not([data-digit]):not([data-pending])');
    await drawStroke(page, [[140, 40], [140 + 2 * k, 240]]);
    const el = await page.waitForSelector('#draw-prediction[data-digit]:not([data-pending])');
    readings.push(Number(await el.getAttribute('data-ms')));
  }
  console.log(`drawing to prediction: median ${median(readings).toFixed(1)} ms, most ${Math.max(...readings).toFixed(1)} ms over ${readings.length} strokes`);
  await close();

  // 3. The panels of a small race, stepped through round by round.
  const second = await openPage(browser, server.url, { beforeLoad: observeLongTasks });
  const p = second.page;
  await p.setViewportSize({ width: 1280, height: 720 });
  await waitForDataset(p, 'ready');
  await p.fill('#race-workers', '2');
  await p.dispatchEvent('#race-workers', 'input');
  await setMethods(p, ['gp-ei', 'tpe']);
  await p.selectOption('#race-space', 'seed');
  await setRange(p, 'epochs', 1, 2);
  await p.fill('#race-budget', '40');
  await p.selectOption('#race-subset', '2000');
  await p.click('#race-start:not([disabled])', { timeout: 120_000 });
  await p.waitForSelector('#race-status[data-state="done"]', { timeout: 900_000 });
  for (const method of ['gp-ei', 'tpe']) {
    await p.click(`.why-button[data-method="${method}"]`);
    const panel = p.locator(`.why-next[data-method="${method}"]`);
    await panel.waitFor();
    const rounds = Number(await panel.getAttribute('data-rounds'));
    const from = await p.evaluate(() => performance.now());
    const stepped = Date.now();
    for (let r = rounds - 1; r > 0; r--) {
      await panel.locator('.round-prev').click();
      await p.waitForFunction(([m, want]) => document.querySelector(`.why-next[data-method="${m}"]`)?.dataset.round === String(want), [method, r - 1]);
    }
    const perRound = (Date.now() - stepped) / Math.max(1, rounds - 1);
    const longest = await p.evaluate((t0) => Math.max(0, ...window.__longTasks.filter(([at]) => at >= t0).map(([, d]) => d)), from);
    const count = await p.evaluate((t0) => window.__longTasks.filter(([at]) => at >= t0).length, from);
    console.log(`${method}: ${rounds} rounds stepped back one by one, ${perRound.toFixed(0)} ms a round (click to redraw); long tasks: ${count}, the longest ${longest.toFixed(0)} ms`);
  }
  await second.close();
} finally {
  await browser.close();
  await server.close();
}
