// End-to-end: the race, as a new user runs it — four methods on the seed's space with a small
// budget on the 2,000-image subset, in the real release build over HTTP in headless Chromium,
// with the real MNIST files and real web workers; then the same experiment on 1 worker, paused
// and resumed, cancelled, and natively on threads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, serve, launch, openPage, waitForDataset } from './harness.mjs';

const METHODS = ['grid', 'random', 'tpe', 'gp-ei'];
// 20 epoch-equivalents: every method's first proposal fits (the seed's space trains 5 to 20 epochs).
const BUDGET = 20;
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

/** Open the page at 1280×720 and set up the test's race (not started) on `workers` workers. */
async function setUpRace(workers, budget = BUDGET, methods = METHODS) {
  const opened = await openPage(browser, server.url);
  const { page } = opened;
  await page.setViewportSize({ width: 1280, height: 720 });
  await waitForDataset(page, 'ready');
  await page.fill('#race-workers', String(workers));
  await page.dispatchEvent('#race-workers', 'input');
  for (const box of await page.$$('input[name=race-method]')) {
    const want = methods.includes(await box.getAttribute('value'));
    if ((await box.isChecked()) !== want) await box.click();
  }
  await page.selectOption('#race-space', 'seed-grid');
  await page.fill('#race-budget', String(budget));
  await page.selectOption('#race-subset', '2000');
  await page.selectOption('#race-cv', 'holdout');
  await page.fill('#race-seed', '7');
  await page.waitForSelector('#race-start:not([disabled])', { timeout: 60_000 });
  return opened;
}

/** Every row of the trials table as "method #id params… state score". */
async function tableRows(page) {
  return page.$$eval('#trials-table tbody tr', (rows) =>
    rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent.trim()).filter((_, i, all) => i !== all.length - 1).join(' ')),
  );
}

let reference; // the uninterrupted race's rows on 2 workers

test('a race of four methods fills every view, and a row opens its trial', async () => {
  const { page, errors, close } = await setUpRace(2);
  try {
    // Bad input is marked at its field and keeps Start disabled.
    await page.fill('#race-budget', '3');
    await page.waitForSelector('#budget-error');
    assert.match(await page.textContent('#budget-error'), /smaller than one trial/);
    assert.equal(await page.isDisabled('#race-start'), true);
    await page.fill('#race-budget', String(BUDGET));
    await page.waitForSelector('#race-start:not([disabled])');
    assert.equal(await page.getAttribute('#race-status', 'data-state'), 'idle');
    // Before any trial has run, the time estimate comes from the workers' speed test.
    await page.waitForFunction(() => /≈ \S*\d.* \(from the workers' speed test/.test(document.querySelector('#race-cost').textContent), null, { timeout: 30_000 });

    await page.click('#race-start');
    await page.waitForSelector('#race-status[data-state="running"]');
    await page.waitForSelector('.coverage-map [data-trial][data-state="running"]', { timeout: 60_000 });
    await page.screenshot({ path: path.join(SHOTS, 'race-running-1280x720.png') });
    await page.waitForSelector('#race-status[data-state="done"]', { timeout: 600_000 });
    await page.screenshot({ path: path.join(SHOTS, 'race-done-1280x720.png') });

    const rows = await page.$$eval('#trials-table tbody tr', (rs) => rs.map((r) => ({ method: r.dataset.method, trial: r.dataset.trial, state: r.dataset.state })));
    for (const method of METHODS) {
      const complete = rows.filter((r) => r.method === method && r.state === 'complete').length;
      assert.ok(complete >= 1, `${method} completed a trial: ${JSON.stringify(rows)}`);
      // Its map shows as many scored points as it has complete trials, each with its state.
      const scored = await page.$$eval(`.coverage-map[data-method="${method}"] [data-trial][data-score]`, (els) => els.length);
      assert.equal(scored, complete, method);
      const marks = await page.$$eval(`.coverage-map[data-method="${method}"] [data-trial]`, (els) => els.map((e) => e.dataset.state));
      assert.equal(marks.length, rows.filter((r) => r.method === method).length, `${method}: one mark per trial`);
      assert.ok(marks.every((s) => s !== 'running' && s !== 'waiting'), `${method}: ${marks}`);
    }
    // One best-so-far line per method, each drawn.
    const lines = await page.$$eval('#best-so-far [data-method]', (ls) => ls.map((l) => [l.dataset.method, l.getAttribute('points').trim().length > 0]));
    assert.deepEqual(lines, METHODS.map((m) => [m, true]));
    // The progress bar counts what was spent, within the budget.
    const [spent, budget] = await page.$eval('#race-progress', (p) => [Number(p.dataset.spent), Number(p.dataset.budget)]);
    assert.equal(budget, 4 * BUDGET * 2000);
    assert.ok(spent > 0 && spent <= budget, `${spent} of ${budget}`);
    // Grid search tries few distinct learning rates: its map's x rug counts them.
    const gridDistinct = await page.$eval('.coverage-map[data-method="grid"] .rug[data-axis="x"]', (g) => Number(g.dataset.distinct));
    assert.equal(gridDistinct, 1, 'the first grid points share the smallest learning rate');

    // The keyboard reaches a map's trials: Home, then Enter opens the first.
    await page.focus('.coverage-map[data-method="random"] svg');
    await page.keyboard.press('Home');
    await page.waitForSelector('.coverage-map[data-method="random"] .focus-ring');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#trial-status[data-method="random"][data-trial="0"]');

    // A row opens its trial: curves, epochs and configuration.
    await page.click('#trials-table tbody tr[data-method="tpe"]');
    await page.waitForSelector('#trial-status[data-method="tpe"]');
    assert.ok((await page.$$eval('#epoch-table tbody tr', (r) => r.length)) >= 5);
    const points = await page.$$eval('#training-chart polyline', (ls) => ls.map((l) => l.getAttribute('points').trim().split(/\s+/).length));
    assert.ok(points.every((n) => n >= 5), `${points}`);
    const config = JSON.parse(await page.textContent('#config-json'));
    assert.ok(config.learning_rate > 0 && config.epochs >= 5);

    reference = await tableRows(page);

    // Holding a range of learning rates on the parallel coordinates filters the table and dims
    // the maps' other trials; "Show all trials" lets go.
    const total = reference.length;
    await page.evaluate(() => document.querySelector('#parallel').scrollIntoView());
    const box = await (await page.$('#parallel-coordinates .pc-grab')).boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.99);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.88, { steps: 4 });
    await page.mouse.up();
    await page.waitForSelector('#parallel-coordinates .pc-brush');
    const kept = await page.$$eval('#trials-table tbody tr td:nth-child(3)', (tds) => tds.map((td) => parseFloat(td.textContent)));
    assert.ok(kept.length >= 1 && kept.length < total, `${kept.length} of ${total} kept`);
    assert.ok(kept.every((lr) => lr < 0.002), `${kept}`);
    const dimmed = await page.$$eval('.coverage-map g.filtered-out', (g) => g.length);
    assert.equal(dimmed, total - kept.length);
    await page.click('#clear-brushes');
    await page.waitForFunction((n) => document.querySelectorAll('#trials-table tbody tr').length === n, total);
    // Colouring the lines by accuracy recolours them at once, the race being over.
    const line = '#parallel-coordinates .pc-line[data-method="tpe"]';
    const byMethod = await page.$eval(line, (l) => l.getAttribute('stroke'));
    await page.check('#pc-by-accuracy');
    await page.waitForFunction(([sel, s]) => document.querySelector(sel).getAttribute('stroke') !== s, [line, byMethod]);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('the same race on one worker gives the same trials and scores', async () => {
  assert.ok(reference, 'the first test ran');
  const { page, errors, close } = await setUpRace(1);
  try {
    await page.click('#race-start');
    await page.waitForSelector('#race-status[data-state="done"]', { timeout: 600_000 });
    assert.deepEqual(await tableRows(page), reference);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('a paused race starts nothing new, and resumed it ends as it would have', async () => {
  const { page, errors, close } = await setUpRace(2);
  try {
    await page.click('#race-start');
    await page.waitForSelector('#trials-table tr[data-state="complete"]', { timeout: 120_000 });
    await page.click('#race-pause');
    await page.waitForSelector('#race-status[data-state="paused"]');
    assert.ok(await page.$('#trials-table tr[data-state="waiting"]'), 'trials wait for the resume');
    // Running trials finish; then nothing runs, and nothing new starts.
    await page.waitForFunction(() => !document.querySelector('#trials-table tr[data-state="running"]'), null, { timeout: 120_000 });
    const paused = await tableRows(page);
    await page.waitForTimeout(3000);
    assert.deepEqual(await tableRows(page), paused);
    assert.equal(await page.getAttribute('#race-status', 'data-state'), 'paused');
    await page.click('#race-resume');
    await page.waitForSelector('#race-status[data-state="done"]', { timeout: 600_000 });
    assert.deepEqual(await tableRows(page), reference);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('a cancelled race interrupts its running trials and keeps the finished ones', async () => {
  const { page, errors, close } = await setUpRace(2, 60);
  try {
    await page.click('#race-start');
    await page.waitForSelector('#trials-table tr[data-state="complete"]', { timeout: 120_000 });
    await page.waitForSelector('#trials-table tr[data-state="running"]', { timeout: 60_000 });
    const before = await page.$$eval('#trials-table tr[data-state="complete"]', (rs) => rs.map((r) => `${r.dataset.method}#${r.dataset.trial} ${r.querySelector('.score').textContent}`));
    await page.click('#race-cancel');
    await page.click('#race-cancel-confirm');
    await page.waitForSelector('#race-status[data-state="cancelled"]', { timeout: 60_000 });
    // Running trials stop at their next batch.
    await page.waitForFunction(() => !document.querySelector('#trials-table tr[data-state="running"], #trials-table tr[data-state="waiting"]'), null, { timeout: 60_000 });
    const after = await page.$$eval('#trials-table tbody tr', (rs) => rs.map((r) => ({ id: `${r.dataset.method}#${r.dataset.trial}`, state: r.dataset.state, score: r.querySelector('.score').textContent })));
    for (const row of before) assert.ok(after.some((r) => `${r.id} ${r.score}` === row && r.state === 'complete'), `kept: ${row}`);
    assert.ok(after.some((r) => r.state === 'interrupted'), JSON.stringify(after));
    assert.ok(after.every((r) => r.state !== 'running' && r.state !== 'waiting'), JSON.stringify(after));
    assert.equal(await page.$$eval('.coverage-map [data-state="interrupted"]', (e) => e.length), after.filter((r) => r.state === 'interrupted').length);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('mid-race, a hung worker fails one trial and a crashed one none (its trial is retried); the race goes on to its end', async () => {
  const { page, errors, close } = await setUpRace(2, 100, ['random']);
  try {
    await page.click('#race-start');
    await page.waitForSelector('#trials-table tr[data-state="running"]', { timeout: 60_000 });
    const [first, second] = page.workers();
    // One worker loops for ever between two slices; the watchdog finds it.
    await first.evaluate(() => { setTimeout(() => { for (;;) {} }, 0); });
    await page.waitForSelector('#trials-table tr[data-state="failed"]', { timeout: 120_000 });
    // The other crashes once: its trial trains again on a fresh worker.
    await page.waitForSelector('#trials-table tr[data-state="running"]', { timeout: 60_000 });
    await second.evaluate(() => { setTimeout(() => { throw new Error('simulated crash'); }, 0); });
    await page.waitForSelector('#race-status[data-state="done"]', { timeout: 300_000 });
    const states = await page.$$eval('#trials-table tbody tr', (rs) => rs.map((r) => r.dataset.state));
    assert.equal(states.filter((s) => s === 'failed').length, 1, states.join(' '));
    assert.ok(states.filter((s) => s === 'complete').length >= 2, states.join(' '));
    await page.click('#trials-table tr[data-state="failed"]');
    assert.match(await page.textContent('#trial'), /the worker stopped answering/);
    assert.ok(errors.every((e) => /simulated crash/.test(e)), JSON.stringify(errors));
  } finally {
    await close();
  }
});

test('the native race on the same experiment agrees with the browser', () => {
  assert.ok(reference, 'the first test ran');
  const cli = path.join(ROOT, 'target', 'release', 'tunelab');
  const out = path.join(os.tmpdir(), `tunelab-race-${process.pid}.json`);
  execFileSync(cli, ['race', '--data', path.join(ROOT, 'public', 'mnist'), '--methods', METHODS.join(','), '--space', 'seed-grid', '--budget', String(BUDGET),
    '--subset', '2000', '--cv', 'holdout', '--seed', '7', '--workers', '2', '--out', out], { encoding: 'utf8' });
  const record = JSON.parse(fs.readFileSync(out, 'utf8'));
  fs.rmSync(out);
  assert.equal(record.format, 'tunelab-race');
  // Grid and random search propose without looking at scores: the same trials natively; each
  // score within the native-vs-wasm tolerance (README) of the browser's.
  for (const study of record.studies.filter((s) => s.method === 'grid' || s.method === 'random')) {
    const browserRows = reference.filter((r) => r.startsWith(study.method === 'grid' ? 'GRID' : 'RAND'));
    assert.equal(study.trials.length, browserRows.length, study.method);
    study.trials.forEach((t, i) => {
      const browserScore = parseFloat(browserRows[i].match(/([\d.]+)%/)[1]);
      assert.equal(t.state, 'complete');
      assert.ok(Math.abs(t.score * 100 - browserScore) <= 1.0, `${study.method} #${t.id}: native ${t.score * 100}% vs browser ${browserScore}%`);
    });
  }
});

test('every method races in the browser, and the race JSON holds the rungs, lineage and paths of those that act inside training', async () => {
  // 40 epoch-equivalents on the seed's space (5 to 20 epochs): Hyperband's most aggressive
  // bracket (three configurations to 7 epochs, the best resumed to 20), PBT's population of two,
  // hypergradient runs, and every other method of the registry beside them.
  const methods = ['grid', 'random', 'tpe', 'gp-ei', 'cma-es', 'genetic', 'hypergradient', 'successive-halving', 'hyperband', 'pbt'];
  const { page, errors, close } = await setUpRace(2, 40, methods);
  try {
    await page.click('#race-start');
    await page.waitForSelector('#race-status[data-state="done"]', { timeout: 600_000 });
    await page.screenshot({ path: path.join(SHOTS, 'race-inside-training-1280x720.png') });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
    const record = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
    assert.equal(record.format, 'tunelab-race');
    const study = (name) => record.studies.find((s) => s.method === name);
    assert.deepEqual(record.studies.map((s) => s.method), methods);
    for (const s of record.studies) assert.ok(s.spent > 0 && s.spent <= s.budget, `${s.method}: ${s.spent} of ${s.budget}`);
    // Hyperband: pruned trials stopped at their rung and paid for it only; a promoted trial
    // resumed from its checkpoint (its epochs count on, 1 to 20, never retrained).
    const hb = study('hyperband').trials;
    const pruned = hb.filter((t) => t.state === 'pruned');
    const complete = hb.filter((t) => t.state === 'complete');
    assert.ok(pruned.length >= 1 && complete.length >= 1, JSON.stringify(hb.map((t) => [t.state, t.reached])));
    for (const t of pruned) {
      assert.equal(t.reached, t.pauses.at(-1).epochs);
      assert.equal(t.cost, t.reached * 2000, `trial ${t.id} pays its ${t.reached} epochs`);
    }
    for (const t of complete) {
      assert.equal(t.reached, 20);
      assert.deepEqual(t.epochs.map((e) => e.epoch), Array.from({ length: 20 }, (_, i) => i + 1), `trial ${t.id}`);
    }
    assert.ok(record.largest_checkpoint_bytes > 100_000, `a checkpoint of ${record.largest_checkpoint_bytes} bytes`);
    // PBT: every member is in the population, and copies are in the lineage.
    const pbt = study('pbt').trials;
    assert.ok(pbt.length >= 2 && pbt.every((t) => t.group !== undefined && t.pauses.length >= 1), JSON.stringify(pbt));
    assert.ok(pbt.some((t) => t.lineage?.length > 0), 'the bottom member copies the top');
    // Hypergradient trials carry the paths of their learning rate and L2.
    for (const t of study('hypergradient').trials.filter((t) => t.state === 'complete')) {
      assert.ok(t.paths.learning_rate.values.length > 10 && t.paths.l2.values.length > 1, `trial ${t.id}`);
    }
    // Every method's "why this point next" panel opens from its map with a sentence and its
    // own drawing: the grid's cells, a uniform density or a model warming up, the rung ladder,
    // PBT's lineage, the hypergradients' paths.
    const drawing = {
      grid: '.grid-slice rect.grid-cell', 'successive-halving': '.ladder', hyperband: '.ladder', pbt: '.lineage svg circle', hypergradient: '.paths polyline',
    };
    for (const method of methods) {
      await page.click(`.why-button[data-method="${method}"]`);
      const panel = page.locator(`.why-next[data-method="${method}"]`);
      await panel.waitFor();
      assert.ok((await panel.locator('.why-sentence').first().textContent()).length > 40, method);
      if (drawing[method]) assert.ok((await panel.locator(drawing[method]).count()) >= 1, `${method}: ${drawing[method]}`);
    }
    await page.locator('.why-next').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, 'why-next-pbt-1280x720.png') });
    // The hypergradient trials' paths also cross their coverage map.
    assert.ok((await page.locator('.coverage-map[data-method="hypergradient"] polyline.hg-path').count()) >= 1);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
