// The race's benchmark (run by `bash .ci/bench` after the engine's): how well a race uses its
// workers and how the page holds up, in the release build in headless Chromium, and the native
// race's scaling on threads. A benchmark, not a test: it asserts nothing; it prints its figures
// and writes them into BENCHMARKS.md between the race markers.
//
// - Workers busy: races of four methods on 1, 2 and 3 workers; from each trial's start and end
//   (the trials table's data attributes, page clock), the share of the workers' time spent
//   training while work remained (until the last trial started), and over the whole race.
// - The main thread: long tasks (PerformanceObserver 'longtask', > 50 ms) during each race, and
//   how often the trials table was redrawn (MutationObserver callbacks per second, at most); for
//   the small races, from a Chromium trace, the longest main-thread task's wall time beside its
//   CPU time (the difference is time spent waiting for a core the workers hold).
// - 1,000 trials: a race of 1,000 one-epoch trials; long tasks during it, and how long sorting
//   the table, paging it and switching a map axis take once it is done.
// - The default race (the panel's defaults) on this machine's workers, for the extrapolation to
//   a four-core laptop with three workers, beside the time the panel estimated before Start.
// - Native: `tunelab race` on 1 and 2 threads, trials per minute.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, launch, openPage, waitForDataset } from '../e2e/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '..', '..');
const SMALL = { methods: ['grid', 'random', 'tpe', 'gp-ei'], budget: 20 };

async function observe(page) {
  await page.addInitScript(() => {
    window.__longTasks = [];
    window.__redraws = [];
    new PerformanceObserver((list) => list.getEntries().forEach((e) => window.__longTasks.push([e.startTime, e.duration]))).observe({ type: 'longtask', buffered: true });
    const watch = () => {
      const body = document.querySelector('#race-trials');
      if (!body) return setTimeout(watch, 200);
      new MutationObserver(() => window.__redraws.push(performance.now())).observe(body, { subtree: true, childList: true, characterData: true, attributes: true });
    };
    watch();
  });
}

/** Set up the race on the page (methods, budget; optional space rows fixed) and start it. */
async function startRace(page, { methods, budget, workers, fixed = {}, space = 'seed-grid' }) {
  await page.fill('#race-workers', String(workers));
  await page.dispatchEvent('#race-workers', 'input');
  for (const box of await page.$$('input[name=race-method]')) {
    const want = methods.includes(await box.getAttribute('value'));
    if ((await box.isChecked()) !== want) await box.click();
  }
  await page.selectOption('#race-space', space);
  for (const [param, value] of Object.entries(fixed)) {
    await page.uncheck(`tr[data-param="${param}"] .param-on`);
    await page.fill(`tr[data-param="${param}"] .param-fixed`, String(value));
    await page.dispatchEvent(`tr[data-param="${param}"] .param-fixed`, 'change');
  }
  await page.fill('#race-budget', String(budget));
  await page.waitForSelector('#race-start:not([disabled])', { timeout: 60_000 });
  // Let the workers come up and load their data before the clock starts.
  await page.waitForFunction((n) => document.querySelectorAll('.worker-list li.idle').length >= n, workers, { timeout: 120_000 });
  estimates.push(await page.textContent('#race-cost'));
  const t0 = await page.evaluate(() => performance.now());
  await page.click('#race-start');
  return t0;
}

/** The panel's estimate line at each Start (the last is the race just started). */
const estimates = [];

/** Wait for the race's end; its figures. */
async function finish(page, t0, workers) {
  await page.waitForSelector('#race-status[data-state="done"]', { timeout: 3_600_000 });
  const t1 = await page.evaluate(() => performance.now());
  const trials = await page.$$eval('#trials-table tbody tr', (rs) => rs.map((r) => [Number(r.dataset.started), Number(r.dataset.finished)]));
  const pages = await page.$eval('#trials-page', (e) => e.textContent);
  const total = Number(pages.match(/(\d+) trials/)[1]);
  const wall = t1 - t0;
  const lastStart = Math.max(...trials.map((t) => t[0]));
  const overlap = (a, b, lo, hi) => Math.max(0, Math.min(b, hi) - Math.max(a, lo));
  const busyWhileWork = trials.reduce((s, [a, b]) => s + overlap(a, b, 0, lastStart), 0) / (workers * lastStart);
  const busyAll = trials.reduce((s, [a, b]) => s + (b - a), 0) / (workers * wall);
  const { longTasks, maxRedrawsPerSecond } = await page.evaluate((start) => {
    const during = window.__longTasks.filter(([s]) => s >= start);
    const per = {};
    window.__redraws.filter((t) => t >= start).forEach((t) => { const k = Math.floor(t / 1000); per[k] = (per[k] ?? 0) + 1; });
    return { longTasks: during, maxRedrawsPerSecond: Math.max(0, ...Object.values(per)) };
  }, t0);
  return { workers, trials: total, sampled: trials.length, wall, busyWhileWork, busyAll, longTasks, maxRedrawsPerSecond };
}

async function timed(page, action, until) {
  const t = Date.now();
  await action();
  await page.waitForFunction(until, null, { timeout: 60_000 });
  return Date.now() - t;
}

const fmt = (n, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const pct = (x) => `${fmt(100 * x, 1)}%`;
const lt = (r) => (r.longTasks.length ? `${r.longTasks.length} (longest ${fmt(Math.max(...r.longTasks.map((t) => t[1])))} ms)` : 'none');

/** The longest task on the page's main thread in a Chromium trace: [wall ms, CPU ms]. */
function longestTask(trace) {
  const events = JSON.parse(trace.toString()).traceEvents;
  const main = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const tasks = events.filter((e) => e.ph === 'X' && e.name === 'RunTask' && main.has(`${e.pid}:${e.tid}`));
  const longest = tasks.reduce((a, b) => (b.dur > (a?.dur ?? 0) ? b : a), null);
  return longest ? [longest.dur / 1000, (longest.tdur ?? 0) / 1000] : [0, 0];
}

const server = await serve();
const browser = await launch();
const out = [];
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
try {
  // Workers busy, 1–3 workers.
  const busy = [];
  for (const workers of [1, 2, 3]) {
    const { page, close } = await openPage(browser, server.url, { beforeLoad: observe });
    await page.setViewportSize({ width: 1280, height: 720 });
    await waitForDataset(page, 'ready', 120_000);
    await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'toplevel'] });
    const t0 = await startRace(page, { ...SMALL, workers });
    const result = await finish(page, t0, workers);
    busy.push({ ...result, longest: longestTask(await browser.stopTracing()) });
    console.error(JSON.stringify(busy.at(-1)));
    await close();
  }
  // 1,000 one-epoch trials.
  const { page, close } = await openPage(browser, server.url, { beforeLoad: observe });
  await page.setViewportSize({ width: 1280, height: 720 });
  await waitForDataset(page, 'ready', 120_000);
  const workersHere = Math.max(1, os.cpus().length);
  const t0 = await startRace(page, { methods: ['random', 'tpe', 'cma-es', 'genetic'], budget: 250, workers: workersHere, fixed: { epochs: 1, conv_layers: 1, batch_size: 128 } });
  const big = await finish(page, t0, workersHere);
  console.error(JSON.stringify({ ...big, longTasks: big.longTasks.length }));
  const scoreHeader = '#trials-table th:has(button:text-matches("validation accuracy"))';
  const sortMs = await timed(page, () => page.click(`${scoreHeader} button`), () => [...document.querySelectorAll('#trials-table th')].some((th) => th.textContent.includes('validation accuracy') && th.getAttribute('aria-sort') !== 'none'));
  const pageMs = await timed(page, () => page.click('.pager button:last-child'), () => /page 2 of/.test(document.querySelector('#trials-page')?.textContent ?? ''));
  const axisMs = await timed(page, () => page.selectOption('#map-x', '1'), () => true);
  const marks = await page.$$eval('.coverage-map [data-trial]', (m) => m.length);
  await close();
  // The default race, on this machine's workers.
  const d = await openPage(browser, server.url, { beforeLoad: observe });
  await d.page.setViewportSize({ width: 1280, height: 720 });
  await waitForDataset(d.page, 'ready', 120_000);
  const defaults = await d.page.$$eval('input[name=race-method]:checked', (b) => b.map((x) => x.value));
  const dt0 = await startRace(d.page, { methods: defaults, budget: 100, workers: workersHere });
  const estimate = estimates.at(-1).match(/≈ (\S+)/);
  const def = await finish(d.page, dt0, workersHere);
  const spent = await d.page.$eval('#race-progress', (p) => Number(p.dataset.spent));
  console.error(JSON.stringify({ ...def, longTasks: def.longTasks.length, spent }));
  await d.close();
  // Native scaling.
  const cli = path.join(ROOT, 'target', 'release', 'tunelab');
  const native = [];
  for (const workers of [1, 2]) {
    const file = path.join(os.tmpdir(), `race-bench-${workers}.json`);
    const t = Date.now();
    execFileSync(cli, ['race', '--data', path.join(ROOT, 'public', 'mnist'), '--methods', 'grid,random,tpe,gp-ei', '--budget', '40', '--seed', '3', '--workers', String(workers), '--out', file], { encoding: 'utf8' });
    const seconds = (Date.now() - t) / 1000;
    const record = JSON.parse(fs.readFileSync(file, 'utf8'));
    const n = record.studies.reduce((s, st) => s + st.trials.length, 0);
    native.push({ workers, trials: n, seconds, perMinute: (60 * n) / seconds });
    fs.rmSync(file);
  }

  const rate = def.busyAll * def.workers; // effective workers
  const imagesPerSecondPerWorker = spent / (def.wall / 1000) / rate;
  const laptopSeconds = spent / (3 * imagesPerSecondPerWorker * 0.95);
  out.push(`Measured ${new Date().toISOString().slice(0, 10)} on ${cpu} (${os.cpus().length} cores), Chromium headless, the release build (\`bash .ci/bench\`, \`tests/bench/race_bench.mjs\`).`, '');
  out.push('| race (grid, random, TPE, GP-EI; seed grid; 20 ep-eq each; 2k images) | trials | wall time | workers busy while work remained | busy over the whole race | long tasks (> 50 ms) | longest main-thread task: wall (CPU) | table redraws per second, at most |');
  out.push('|---|---|---|---|---|---|---|---|');
  for (const r of busy) out.push(`| ${r.workers} worker${r.workers > 1 ? 's' : ''} | ${r.trials} | ${fmt(r.wall / 1000, 1)} s | ${pct(r.busyWhileWork)} | ${pct(r.busyAll)} | ${lt(r)} | ${fmt(r.longest[0])} ms (${fmt(r.longest[1])} ms) | ${r.maxRedrawsPerSecond} |`);
  out.push('');
  out.push(`- **1,000 trials** (random, TPE, CMA-ES, GA; 250 one-epoch trials each, one conv layer, batch 128, on ${workersHere} workers): ${big.trials} trials in ${fmt(big.wall / 1000)} s; long tasks during the race: ${lt(big)}; at most ${big.maxRedrawsPerSecond} table redraws a second. Once done: sorting the table by score ${sortMs} ms, its next page ${pageMs} ms, switching the maps' x axis ${axisMs} ms (${marks} marks on the maps).`);
  out.push(`- **The default race** (the panel's defaults: ${defaults.join(', ')}; the seed's grid; 100 ep-eq each on 2,000 images; hold-out) on ${def.workers} workers here: ${fmt(def.wall / 1000)} s, ${def.trials} trials, ${fmt(spent)} training images, workers busy ${pct(def.busyAll)} of the race, long tasks ${lt(def)}; before Start, the panel estimated ${estimate ? `≈ ${estimate[1]} (m:ss) from the workers' speed test` : 'nothing'}. That is ${fmt(imagesPerSecondPerWorker)} images/s per busy worker; a four-core laptop running three workers whose cores train as fast as this machine's would need ${fmt(spent)} / (3 × ${fmt(imagesPerSecondPerWorker)} × 0.95) ≈ **${fmt(laptopSeconds)} s** (the 0.95: busy share while work remains). A laptop core half as fast doubles it.`);
  out.push(`- **Native race** (\`tunelab race --methods grid,random,tpe,gp-ei --budget 40 --seed 3\`): ${native.map((n) => `${n.workers} thread${n.workers > 1 ? 's' : ''}: ${n.trials} trials in ${fmt(n.seconds, 1)} s = ${fmt(n.perMinute, 1)} trials/min`).join('; ')}; 2 threads / 1 = **${fmt(native[1].perMinute / native[0].perMinute, 2)}×** (the same trials either way).`);
} finally {
  await browser.close();
  await server.close();
}
const text = out.join('\n');
console.log(text);
const file = path.join(ROOT, 'BENCHMARKS.md');
const doc = fs.readFileSync(file, 'utf8');
const [start, end] = ['<!-- race -->', '<!-- /race -->'];
if (doc.includes(start) && doc.includes(end)) {
  fs.writeFileSync(file, `${doc.split(start)[0]}${start}\n${text}\n${end}${doc.split(end)[1]}`);
  console.error(`wrote the race's figures into ${file}`);
}
