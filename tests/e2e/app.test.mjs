// End-to-end: the real release build, served over HTTP, in headless Chromium, with the real
// MNIST files and real web workers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, serve, launch, openPage, waitForDataset, setField } from './harness.mjs';

let server;
let browser;
before(async () => {
  server = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Record every text the download progress line shows, and every state of the data panel,
 *  from the first frame on. */
async function recordProgress(page) {
  await page.addInitScript(() => {
    window.__progressSeen = [];
    window.__statesSeen = [];
    new MutationObserver(() => {
      const el = document.getElementById('dataset-progress-text');
      if (el && window.__progressSeen.at(-1) !== el.textContent) window.__progressSeen.push(el.textContent);
      const state = document.getElementById('dataset-status')?.dataset.state;
      if (state && window.__statesSeen.at(-1) !== state) window.__statesSeen.push(state);
    }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

/** Use exactly `n` training workers and wait until one is ready. */
async function useWorkers(page, n) {
  await page.fill('#race-workers', String(n));
  await page.dispatchEvent('#race-workers', 'change');
  await page.waitForSelector('.worker-list li.idle', { timeout: 60_000 });
}

/** On one worker, start a 30-epoch trial on 2,000 images and wait for its first epoch. */
async function startLongTrialOnOneWorker(page) {
  await waitForDataset(page, 'ready');
  await useWorkers(page, 1);
  await page.selectOption('#f-subset', '2000');
  await setField(page, 'f-epochs', 30);
  await page.click('#train-button');
  await page.waitForSelector('#epoch-table tbody tr');
}

/** The newest live web worker of the page. */
function newestWorker(page) {
  return page.workers().at(-1);
}

/** After a lost trial: its worker was replaced once, and the next trial (1 epoch) completes. */
async function expectReplacedAndTraining(page) {
  await page.waitForSelector('.worker-list li.idle', { timeout: 60_000 });
  assert.match(await page.textContent('.worker-list'), /restarted 1×/);
  await setField(page, 'f-epochs', 1);
  const next = await trainAndWait(page);
  assert.equal(next.state, 'complete', next.status);
}

/** Train the form's configuration and wait for the trial to end; returns its summary. */
async function trainAndWait(page, timeout = 180_000) {
  const before = await page.$$eval('#trial-status', (els) => els.map((e) => e.textContent).join());
  await page.click('#train-button');
  await page.waitForFunction(
    (prev) => {
      const el = document.querySelector('#trial-status');
      return el && el.textContent !== prev && ['complete', 'failed', 'diverged', 'interrupted'].includes(el.dataset.state);
    },
    before,
    { timeout },
  );
  return {
    state: await page.getAttribute('#trial-status', 'data-state'),
    status: await page.textContent('#trial-status'),
    accuracy: await page.$eval('#final-accuracy', (e) => e.textContent).catch(() => null),
    table: await page.$$eval('#epoch-table tbody tr', (rows) => rows.map((r) => r.textContent)),
  };
}

test('the page loads MNIST with visible progress, and a 1-epoch trial on 5k images trains in a worker to >= 85%', async () => {
  const { page, errors, close } = await openPage(browser, server.url, { beforeLoad: recordProgress });
  try {
    // The training file first: a race can start while the test images (only the final test
    // needs them) are still on their way, with a progress bar of their own.
    await waitForDataset(page, 'ready');
    await page.waitForSelector('#dataset-status[data-test="ready"]', { timeout: 60_000 });
    assert.match(await page.textContent('#dataset-status'), /MNIST ready: 50,000 training, 10,000 validation and 10,000 test images/);
    const seen = await page.evaluate(() => window.__progressSeen);
    const downloads = seen.filter((t) => t.startsWith('Downloading'));
    assert.ok(downloads.length >= 2, `progress updates seen: ${JSON.stringify(seen)}`);
    assert.ok(downloads.every((t) => /Downloading MNIST: [\d.]+ MB of 9\.7 MB \(\d+%\)/.test(t)), JSON.stringify(seen));
    assert.match(downloads.at(-1), /\(100%\)/);
    // Checking and unpacking is a step of its own, shown with its progress.
    assert.deepEqual(await page.evaluate(() => window.__statesSeen), ['downloading', 'parsing', 'ready']);
    assert.ok(seen.some((t) => /Checking and unpacking the training images/.test(t)), JSON.stringify(seen));

    // Workers: at least one, each greeted and loaded with the data before it is "ready".
    await page.waitForSelector('.worker-list li.idle', { timeout: 60_000 });
    assert.ok(page.workers().length >= 1, 'a web worker is running');

    await setField(page, 'f-epochs', 1);
    assert.equal(await page.$eval('#f-subset', (e) => e.value), '5000');
    const result = await trainAndWait(page);
    assert.equal(result.state, 'complete', result.status);
    assert.match(result.status, /1\/1 epochs/);
    const accuracy = parseFloat(result.accuracy);
    assert.ok(accuracy >= 85, `validation accuracy ${accuracy}% after 1 epoch on 5k images`);

    // The chart shows the epoch: one point on each of the four series.
    const points = await page.$$eval('#training-chart polyline', (ls) => ls.map((l) => l.getAttribute('points').trim().split(/\s+/).length));
    assert.deepEqual(points, [1, 1, 1, 1]);
    assert.equal(await page.$$eval('#training-chart circle', (c) => c.length), 4);
    assert.equal(result.table.length, 1);

    // The same configuration and seed give the same result, bit for bit; both trials stay listed.
    const again = await trainAndWait(page);
    assert.equal(again.accuracy, result.accuracy);
    assert.deepEqual(again.table, result.table);
    assert.deepEqual(await page.$$eval('#trial-list tbody tr', (rows) => rows.map((r) => r.dataset.state)), ['complete', 'complete']);
    // The learning rate reads as the form wrote it, not as f32 digits.
    assert.equal(await page.$eval('#epoch-table tbody tr td:nth-child(2)', (e) => e.textContent), '0.01');

    // And the native build of the same core agrees within a small tolerance.
    const cli = path.join(ROOT, 'target', 'release', 'tunelab');
    if (fs.existsSync(cli)) {
      const out = execFileSync(cli, ['train', '--data', path.join(ROOT, 'public', 'mnist'), '--subset', '5000', '--epochs', '1', '--seed', '1', '--json'], { encoding: 'utf8' });
      const done = out.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.event === 'done');
      const native = done.validation_accuracy * 100;
      assert.ok(Math.abs(native - accuracy) <= 0.5, `native ${native}% vs browser ${accuracy}%`);
    }
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('invalid hyperparameters are refused with a message naming the field', async () => {
  const { page, errors, close } = await openPage(browser, server.url);
  try {
    await waitForDataset(page, 'ready');
    await setField(page, 'f-lr', 0);
    await page.click('#train-button');
    assert.equal(await page.textContent('#form-error'), 'invalid configuration: learning rate must be in (0, 10]; got 0');
    await setField(page, 'f-lr', 'fast');
    await page.click('#train-button');
    assert.equal(await page.textContent('#form-error'), 'learning rate: “fast” is not a valid number');
    await setField(page, 'f-lr', 0.01);
    await setField(page, 'f-batch', 0);
    await page.click('#train-button');
    assert.match(await page.textContent('#form-error'), /batch size must be between 1 and 4096; got 0/);
    assert.equal(await page.$$eval('#trial-status', (e) => e.length), 0, 'nothing was trained');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('cancel stops a running trial at its next batch without replacing the worker; every trial stays listed and cancellable', async () => {
  const { page, errors, close } = await openPage(browser, server.url);
  try {
    await waitForDataset(page, 'ready');
    await useWorkers(page, 1);
    // A long trial, then a second one that waits for the only worker.
    await page.selectOption('#f-subset', '10000');
    await setField(page, 'f-epochs', 20);
    await page.click('#train-button');
    await page.waitForSelector('#trial-list tr[data-trial="1"][data-state="running"]');
    // A trial's epoch shows its progress batch by batch.
    await page.waitForSelector('#trial-list tr[data-trial="1"] progress.epoch-progress', { timeout: 60_000 });
    assert.match(await page.textContent('#trial-status'), /epoch \d+: \d+ of 157 batches/);
    await page.selectOption('#f-subset', '2000');
    await setField(page, 'f-epochs', 1);
    await page.click('#train-button');
    await page.waitForSelector('#trial-list tr[data-trial="2"]');
    assert.match(await page.textContent('#trial-list tr[data-trial="2"] .trial-state'), /waiting for a free worker/);
    // The waiting trial is cancelled at once, from its row.
    await page.click('#trial-list tr[data-trial="2"] .cancel-trial');
    await page.waitForSelector('#trial-list tr[data-trial="2"][data-state="interrupted"]');
    // The first, still visible, is cancelled from its row while it trains.
    await page.waitForSelector('#trial-list tr[data-trial="1"] .cancel-trial');
    await page.click('#trial-list tr[data-trial="1"] .cancel-trial');
    await page.waitForSelector('#trial-list tr[data-trial="1"][data-state="interrupted"]', { timeout: 60_000 });
    await page.waitForSelector('.worker-list li.idle', { timeout: 60_000 });
    assert.doesNotMatch(await page.textContent('.worker-list'), /restarted/, 'the worker kept its data and stayed');

    const next = await trainAndWait(page);
    assert.equal(next.state, 'complete', next.status);
    assert.equal(await page.$$eval('#trial-list tbody tr', (rows) => rows.length), 3);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('a worker that crashes mid-trial is replaced and the trial retried once; a second crash fails it with the error', async () => {
  const { page, errors, close } = await openPage(browser, server.url);
  try {
    await startLongTrialOnOneWorker(page);
    // Training runs in slices of a few batches, so this lands between two slices of the trial.
    await newestWorker(page).evaluate(() => { setTimeout(() => { throw new Error('simulated crash'); }, 0); });
    // Attempt 2 trains from the start on a fresh worker, its first crash recorded.
    await page.waitForSelector('#trial-status[data-attempt="2"][data-state="running"]', { timeout: 60_000 });
    assert.match(await page.textContent('#trial-status'), /attempt 1 lost its worker: .*simulated crash/);
    await page.waitForSelector('.worker-list li.busy', { timeout: 60_000 });
    await page.waitForSelector('#epoch-table tbody tr', { timeout: 60_000 });
    assert.match(await page.textContent('.worker-list'), /restarted 1×/);
    await newestWorker(page).evaluate(() => { setTimeout(() => { throw new Error('simulated crash'); }, 0); });
    await page.waitForSelector('#trial-status[data-state="failed"]', { timeout: 60_000 });
    assert.match(await page.textContent('#trial-status'), /failed — .*simulated crash/);
    await page.waitForSelector('.worker-list li.idle', { timeout: 60_000 });
    assert.match(await page.textContent('.worker-list'), /restarted 2×/);

    await setField(page, 'f-epochs', 1);
    const next = await trainAndWait(page);
    assert.equal(next.state, 'complete', next.status);
    assert.ok(errors.every((e) => /simulated crash/.test(e)), JSON.stringify(errors));
  } finally {
    await close();
  }
});

test('a worker that hangs mid-trial is found by the watchdog: its trial fails, the worker is replaced, the next trial trains', async () => {
  const { page, errors, close } = await openPage(browser, server.url);
  try {
    await startLongTrialOnOneWorker(page);
    // An endless loop between two slices: the worker never speaks again, and never crashes.
    const started = Date.now();
    await newestWorker(page).evaluate(() => { setTimeout(() => { for (;;) {} }, 0); });
    await page.waitForSelector('#trial-status[data-state="failed"]', { timeout: 120_000 });
    const waited = (Date.now() - started) / 1000;
    const status = await page.textContent('#trial-status');
    assert.match(status, /failed — the worker stopped answering: not a word from it in (\d+) s while training/);
    // The silence allowed is the watchdog's floor for this small network: 20 s, not minutes.
    assert.ok(waited >= 19 && waited < 60, `found after ${waited} s`);
    assert.doesNotMatch(status, /attempt 2/, 'a hung trial is not tried again');
    await expectReplacedAndTraining(page);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('a protocol error from a slot that runs a trial fails that trial and replaces the worker', async () => {
  const { page, errors, close } = await openPage(browser, server.url);
  try {
    await startLongTrialOnOneWorker(page);
    await newestWorker(page).evaluate(() => postMessage({ type: 'protocol_error', message: 'simulated: cannot read the message' }));
    await page.waitForSelector('#trial-status[data-state="failed"]', { timeout: 60_000 });
    assert.match(await page.textContent('#trial-status'), /failed — the worker could not read a message: simulated/);
    await expectReplacedAndTraining(page);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('a worker that dies every time it starts is restarted after growing pauses, then given up with a notice', async () => {
  const { page, errors, close } = await openPage(browser, server.url, {
    beforeLoad: (p) => p.context().route('**/worker_loader.js', (route) => route.fulfill({ contentType: 'text/javascript', body: 'throw new Error("simulated broken worker");' })),
  });
  try {
    await waitForDataset(page, 'ready');
    await page.waitForSelector('.worker-list li.broken', { timeout: 60_000 });
    const notice = await page.textContent('#workers .notice');
    assert.match(notice, /worker 1 is out of service: stopped 4 times in a row \(last: .*simulated broken worker.*\)/);
    assert.match(await page.textContent('.worker-list'), /restarted 3×/);
    // No endless loop: nothing restarts any more.
    await page.waitForTimeout(3_000);
    assert.match(await page.textContent('.worker-list'), /restarted 3×/);
    assert.ok(errors.every((e) => /simulated broken worker/.test(e)), JSON.stringify(errors));
  } finally {
    await close();
  }
});

test('a network too large for a browser worker is refused before it starts', async () => {
  const { page, errors, close } = await openPage(browser, server.url);
  try {
    await waitForDataset(page, 'ready');
    await setField(page, 'f-batch', 4096);
    await setField(page, 'f-filters-1', 256);
    await page.click('#train-button');
    assert.match(await page.textContent('#form-error'), /this network needs about \d+\.\d GB to train on batches of 4096/);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

for (const [name, file, respond, expected] of [
  ['a missing file', 't10k-labels-idx1-ubyte.gz', { status: 404, body: 'not found' },
    /t10k-labels-idx1-ubyte\.gz could not be downloaded: the server answered 404/],
  ['a truncated file', 'train-labels-idx1-ubyte.gz', { body: fs.readFileSync(path.join(ROOT, 'public/mnist/train-labels-idx1-ubyte.gz')).subarray(0, 10_000) },
    /train-labels-idx1-ubyte\.gz: the file is not valid gzip/],
  ['a file with the wrong magic number', 't10k-images-idx3-ubyte.gz', { body: fs.readFileSync(path.join(ROOT, 'public/mnist/t10k-labels-idx1-ubyte.gz')) },
    /t10k-images-idx3-ubyte\.gz: wrong magic number 0x00000801: expected 0x00000803/],
]) {
  test(`${name} is reported in words, the page stays usable, and Try again loads it once mended`, async () => {
    const { page, errors, close } = await openPage(browser, server.url, {
      beforeLoad: (p) => p.route(`**/mnist/${file}`, (route) => route.fulfill({ contentType: 'application/octet-stream', ...respond })),
    });
    try {
      const text = await waitForDataset(page, 'failed');
      assert.match(text, /MNIST could not be loaded/);
      assert.match(text, expected);
      assert.equal(await page.isDisabled('#train-button'), true);
      // The server is mended: the retry button loads the data without reloading the page.
      await page.unroute(`**/mnist/${file}`);
      await page.click('#dataset-retry');
      await waitForDataset(page, 'ready');
      await page.waitForSelector('#train-button:not([disabled])', { timeout: 60_000 });
      // The only console error allowed is the browser's own note about the 404 response.
      assert.ok(errors.every((e) => /404/.test(e)), JSON.stringify(errors));
    } finally {
      await close();
    }
  });
}
