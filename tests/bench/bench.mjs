// The benchmark command's driver (run through `bash .ci/bench`): measures the engine natively
// (the release CLI, one thread), PyTorch on the same networks and one thread when a Python with
// torch is found (pytorch_bench.py), and the engine in headless Chromium inside web workers (the
// release build's own worker, speaking the real protocol) next to TF.js, then prints one table
// and writes BENCHMARKS.md. A benchmark, not a test: it asserts nothing, it reports medians.
// BENCH_BROWSER=0 measures natively and PyTorch only (no app build needed) and writes nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '..', '..');
// PyTorch 2.15, CPU, 1 thread, batch 64, training images/s measured once on an Intel AVX-512
// machine (DESIGN.md): what the ratios divide by when PyTorch is not measured in the run. Other
// machines of the same kind differ by 2–3× (an AMD EPYC one: 5,300–6,500 and 3,200).
const PYTORCH_CONSTANTS = { lenet5: 14_800, 'tfjs-example': 11_800 };
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 4096);
const BATCH = 64;
const BROWSER = process.env.BENCH_BROWSER !== '0';

function native() {
  const cli = path.join(ROOT, 'target', 'release', 'tunelab');
  const out = execFileSync(cli, ['bench', '--json', '--batch', String(BATCH), '--runs', String(RUNS), '--images', String(IMAGES), '--data', path.join(ROOT, 'public', 'mnist')], { encoding: 'utf8' });
  return JSON.parse(out);
}

// The Pythons that may measure PyTorch, in order: $BENCH_PYTHON alone when it is set (a command
// on the PATH, or a path, relative ones from the repository's root; `none` skips PyTorch), else
// venv-torch/bin/python beside the repository, else python3. Installing torch is up to whoever
// runs the benchmark (BENCHMARKS.md says how); it is never installed here.
function pythons() {
  const chosen = process.env.BENCH_PYTHON;
  if (chosen) return chosen === 'none' ? [] : [chosen.includes('/') ? path.resolve(ROOT, chosen) : chosen];
  return [path.join(ROOT, '..', 'venv-torch', 'bin', 'python'), 'python3'];
}

// PyTorch on one thread, the same networks, batch, optimizer and runs as the engine's own figures
// (pytorch_bench.py), through the first Python that can import torch. Returns its report with
// `measured: true`, or `measured: false` and why each Python was passed over.
function pytorch(names) {
  const passedOver = [];
  for (const python of pythons()) {
    // Shown relative to the repository when it is beside it (../venv-torch/bin/python).
    const shown = path.isAbsolute(python) && !path.relative(ROOT, python).startsWith('../..') ? path.relative(ROOT, python) : python;
    if (path.isAbsolute(python) && !fs.existsSync(python)) {
      passedOver.push(`${shown} not found`);
      continue;
    }
    const args = [path.join(here, 'pytorch_bench.py'), '--json', '--nets', names.join(','), '--batch', String(BATCH), '--runs', String(RUNS), '--images', String(IMAGES), '--threads', '1'];
    const run = spawnSync(python, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' } });
    let report = null;
    try {
      report = JSON.parse(run.stdout.trim().split('\n').pop());
    } catch {}
    if (run.status === 0 && report && !report.error) return { ...report, measured: true, python: shown };
    passedOver.push(`${shown}: ${report?.error?.replace(/^\S+ /, '') ?? run.error?.message ?? `exit status ${run.status}`}`);
  }
  return { measured: false, passedOver: passedOver.length ? passedOver : ['BENCH_PYTHON=none'] };
}

// The CPU's model name, from /proc/cpuinfo (as pytorch_bench.py reads it).
function cpuModel() {
  try {
    const line = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1].trim();
  } catch {}
  return (os.cpus()[0]?.model ?? 'unknown CPU').trim();
}

// Runs inside the page: start `count` workers, load each with the training file's 60,000 images (transferred),
// then for each of `steps` — how many of the workers (the first n) run the benchmark `spec` at
// once — run it, and return each step's reports.
async function browserBench({ count, spec, steps = [count] }) {
  const gunzip = async (url) => {
    const res = await fetch(url);
    const stream = res.body.pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  };
  const images = (await gunzip('./mnist/train-images-idx3-ubyte.gz')).subarray(16);
  const labels = (await gunzip('./mnist/train-labels-idx1-ubyte.gz')).subarray(8);
  const start = (worker) => new Promise((resolve, reject) => {
    worker.onerror = (e) => reject(new Error(e.message));
    worker.onmessage = (e) => {
      const msg = e.data;
      if (msg.type === 'ready') {
        const im = images.slice();
        const lb = labels.slice();
        worker.postMessage({ message: { type: 'load_data', count: lb.length }, images: im.buffer, labels: lb.buffer }, [im.buffer, lb.buffer]);
      } else if (msg.type === 'data_loaded') {
        resolve(worker);
      } else {
        reject(new Error(JSON.stringify(msg)));
      }
    };
  });
  const workers = await Promise.all(Array.from({ length: count }, () => start(new Worker('./worker_loader.js'))));
  const run = (worker) => new Promise((resolve, reject) => {
    worker.onmessage = (e) => (e.data.type === 'benchmark_done' ? resolve(e.data) : reject(new Error(JSON.stringify(e.data))));
    worker.postMessage({ message: { type: 'benchmark', spec } });
  });
  const results = [];
  for (const n of steps) results.push(await Promise.all(workers.slice(0, n).map(run)));
  workers.forEach((w) => w.terminate());
  return results;
}

function fmt(n, digits = 0) {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—';
}

// Runs inside the page: one fresh worker loaded with the training file's 60,000 images trains a real trial (the
// default network, one epoch on 2,000 images, validated on 10,000), then reports its wasm memory,
// which never shrinks, so it is the peak of a worker holding the full training set.
async function trialMemory() {
  const gunzip = async (url) => {
    const res = await fetch(url);
    return new Uint8Array(await new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  };
  const images = (await gunzip('./mnist/train-images-idx3-ubyte.gz')).subarray(16).slice();
  const labels = (await gunzip('./mnist/train-labels-idx1-ubyte.gz')).subarray(8).slice();
  const worker = new Worker('./worker_loader.js');
  const next = (type) => new Promise((resolve, reject) => {
    worker.onmessage = (e) => (e.data.type === type ? resolve(e.data) : ['epoch', 'progress'].includes(e.data.type) ? null : reject(new Error(JSON.stringify(e.data))));
  });
  await next('ready');
  const loaded = next('data_loaded');
  worker.postMessage({ message: { type: 'load_data', count: labels.length }, images: images.buffer, labels: labels.buffer }, [images.buffer, labels.buffer]);
  await loaded;
  const finished = next('finished');
  worker.postMessage({ message: { type: "train", trial: { trial_id: 1, attempt: 1 }, request: { config: { epochs: 1 }, data: { images: 2000, validation: { kind: "holdout" } }, seed: 1 } } });
  const end = await finished;
  const memory = next('memory');
  worker.postMessage({ message: { type: 'report_memory' } });
  const { wasm_memory_bytes } = await memory;
  worker.terminate();
  return { wasm_memory_bytes, end: end.end.kind };
}

// TF.js, served beside the app for this run only.
const tfjsFiles = {
  '/tfjs/tf.min.js': ['text/javascript', '@tensorflow/tfjs/dist/tf.min.js'],
  '/tfjs/tf-backend-wasm.min.js': ['text/javascript', '@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js'],
  '/tfjs/tfjs-backend-wasm.wasm': ['application/wasm', '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'],
  '/tfjs/tfjs-backend-wasm-simd.wasm': ['application/wasm', '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'],
  '/tfjs/tfjs-backend-wasm-threaded-simd.wasm': ['application/wasm', '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm'],
};
function servedBeside() {
  const extra = Object.fromEntries(Object.entries(tfjsFiles).map(([url, [type, file]]) => [url, [type, fs.readFileSync(path.join(here, 'node_modules', file))]]));
  extra['/bench.html'] = ['text/html', '<!doctype html><title>tunelab benchmark</title>'];
  extra['/tfjs-bench-worker.js'] = ['text/javascript', fs.readFileSync(path.join(here, 'tfjs-bench-worker.js'))];
  return extra;
}

// Runs inside the page: TF.js in its own worker, one network at a time.
async function tfjsBench({ names, batch, trainRuns, inferRuns, inferImages }) {
  const out = [];
  for (const name of names) {
    const worker = new Worker('./tfjs-bench-worker.js');
    out.push(await new Promise((resolve) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => resolve({ name, error: e.message });
      worker.postMessage({ name, batch, trainRuns, inferRuns, inferImages });
    }));
    worker.terminate();
  }
  return out;
}

// The browser's part: one worker, then two at once, the memory of a trial, and TF.js.
async function inBrowser(names) {
  const { serve, launch } = await import('../e2e/harness.mjs');
  const server = await serve(undefined, servedBeside());
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}bench.html`);
    const spec = { filter: '', batch: BATCH, runs: RUNS, images_per_run: IMAGES };
    console.error('measuring in a web worker …');
    const [[one]] = await page.evaluate(browserBench, { count: 1, spec });
    console.error('measuring two workers at once …');
    // One worker, two at once, one, two, …, one: each pair of workers is compared with the single
    // worker just before and just after it, and the ratio is the median of those rounds. The
    // machine's speed drifts by up to 40% within a run, in spells of seconds to minutes; short
    // steps (about 1.5 s each, the two workers kept loaded between them) and a single worker on
    // both sides of each pair keep a spell from falling on one side of a ratio only.
    const scalingSpec = { ...spec, filter: 'lenet5', images_per_run: Math.min(IMAGES, 2048) };
    const rounds = Number(process.env.BENCH_SCALING_ROUNDS ?? 7);
    const steps = [1, ...Array.from({ length: rounds }, () => [2, 1]).flat()];
    const throughput = (reports) => reports.reduce((s, r) => s + r.report.networks[0].train.images_per_second, 0);
    const scaling = (await page.evaluate(browserBench, { count: 2, spec: scalingSpec, steps })).map(throughput);
    const singles = scaling.filter((_, i) => i % 2 === 0);
    const pairs = scaling.filter((_, i) => i % 2 === 1);
    const ratios = pairs.map((p, i) => p / ((singles[i] + singles[i + 1]) / 2));
    console.error('measuring the memory of a worker that trained a trial …');
    const trial = await page.evaluate(trialMemory);
    console.error('measuring TF.js 4.22 (cpu training, wasm inference) …');
    const tfjs = await page.evaluate(tfjsBench, {
      names: names ?? one.report.networks.map((n) => n.name), batch: BATCH,
      trainRuns: Number(process.env.BENCH_TFJS_TRAIN_RUNS ?? 3), inferRuns: RUNS, inferImages: IMAGES,
    });
    for (const t of tfjs) if (t.error) console.error(`TF.js ${t.name}: ${t.error}`);
    return { one, scalingSpec, rounds, singles, pairs, ratios, trial, tfjs, version: await browser.version() };
  } finally {
    await browser.close();
    await server.close();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const byName = (report) => Object.fromEntries((report?.networks ?? []).map((n) => [n.name, n]));

console.error('measuring natively …');
const nat = native();
const natv = byName(nat);
const names = Object.keys(natv);
console.error('measuring PyTorch (one thread) …');
const torch = pytorch(names);
if (!torch.measured) console.error(`PyTorch not measured in this run (${torch.passedOver.join('; ')}): the ratios divide by DESIGN.md's constants`);
const torchv = byName(torch);
const br = BROWSER ? await inBrowser(names) : null;
const wasm = byName(br?.one.report);
const tf = Object.fromEntries((br?.tfjs ?? []).map((t) => [t.name, t]));

// What the PyTorch ratios divide by: this run's figure, or else DESIGN.md's constant.
const torchTrain = (name) => (torch.measured ? torchv[name]?.train.images_per_second : PYTORCH_CONSTANTS[name]);
const per = torch.measured ? 'PyTorch measured in this run' : 'PyTorch constant, not measured in this run';
const ratio = (x, y, digits) => (x && y ? fmt(x / y, digits) + '×' : '—');
const withGflops = (x) => (x ? `${fmt(x.images_per_second)} (${fmt((x.images_per_second * x.flop_per_image) / 1e9, 1)})` : '—');
const lines = [];
lines.push(`| network | train MFLOP/img | native train img/s (GFLOP/s) | wasm train img/s (GFLOP/s) | TF.js cpu train img/s | wasm / TF.js cpu | ${torch.measured ? 'PyTorch train img/s (this run)' : 'PyTorch train img/s (constant: not measured in this run)'} | wasm / ${per} | native / ${per} | native inference img/s | wasm inference img/s (GFLOP/s) | TF.js wasm inference img/s | wasm / TF.js wasm |`);
lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const name of names) {
  const n = natv[name];
  const w = wasm[name];
  const torchFigure = torchTrain(name);
  const t = tf[name] ?? {};
  const tTrain = t.training?.images_per_second;
  const tInfer = t.inference?.images_per_second;
  lines.push(`| ${name} | ${fmt(n.train.flop_per_image / 1e6, 2)} | ${withGflops(n.train)} | ${withGflops(w?.train)} | ${fmt(tTrain, 1)} | ${ratio(w?.train.images_per_second, tTrain, 0)} | ${fmt(torchFigure)} | ${ratio(w?.train.images_per_second, torchFigure, 2)} | ${ratio(n.train.images_per_second, torchFigure, 2)} | ${fmt(n.inference.images_per_second)} | ${withGflops(w?.inference)} | ${fmt(tInfer)} | ${ratio(w?.inference.images_per_second, tInfer, 2)} |`);
}

const cpu = cpuModel();
const list = (figures) => figures.map(([name, x]) => `${name} ${fmt(x)}`).join(', ');
let torchLine;
if (torch.measured) {
  // The same networks on both sides: pytorch_bench.py counts FLOP per image as the engine does.
  const differ = torch.networks.filter((t) => t.train.flop_per_image !== natv[t.name]?.train.flop_per_image).map((t) => t.name);
  const check = differ.length ? `**FLOP per image differ from the engine's on ${differ.join(', ')}: not the same network**` : "each network's FLOP per image equal to the engine's";
  torchLine = `PyTorch ${torch.torch}, measured in this run on ${torch.cpu} (${torch.cpu_capability}), ${torch.threads} thread (\`torch.set_num_threads(1)\`), by \`${torch.python} tests/bench/pytorch_bench.py\` (${check}): Adam, batch ${torch.batch}, medians of ${torch.runs} runs of ${torch.images_per_run} images after a warm-up — training ${list(torch.networks.map((t) => [t.name, t.train.images_per_second]))} img/s; inference in batches of 256 ${list(torch.networks.map((t) => [t.name, t.inference.images_per_second]))} img/s. The "/ PyTorch" columns divide by these training figures.`;
} else {
  torchLine = `PyTorch **not measured in this run** (${torch.passedOver.join('; ')}): the "/ PyTorch" columns divide by DESIGN.md's constants, measured once on an Intel AVX-512 machine (PyTorch 2.15, 1 thread, batch 64): ${list(Object.entries(PYTORCH_CONSTANTS))} img/s — off by 2–3× on other machines of this kind (an AMD EPYC one: lenet5 5,300–6,500, tfjs-example 3,200), and none for the other networks. BENCHMARKS.md says how to measure it.`;
}
const summary = [];
if (br) {
  const { one, scalingSpec, rounds, singles, pairs, ratios, trial, tfjs } = br;
  summary.push(
    `f32 matrix product 512³ (ndarray → matrixmultiply): **${fmt(one.report.matmul_512_gflops, 1)} GFLOP/s** in wasm, ${fmt(nat.matmul_512_gflops, 1)} GFLOP/s natively. The engine's own kernel on a convolution's product (32×144 by 144×1,815, the ceiling for the networks' products): **${fmt(one.report.kernel_gflops, 1)} GFLOP/s** in wasm, ${fmt(nat.kernel_gflops, 1)} GFLOP/s natively.`,
    `LeNet-5 training with 1 worker: ${fmt(median(singles))} img/s; with 2 workers at once: ${fmt(median(pairs))} img/s in all (medians; runs of ${scalingSpec.images_per_run} images) — scaling **${fmt(median(ratios), 2)}×**, the median of ${rounds} rounds each comparing two workers with the single worker just before and after them (${ratios.map((r) => fmt(r, 2) + '×').join(', ')}).`,
    `wasm memory of a worker holding the training file's 60,000 images (47 MB of them), after training a trial of the default network (batch 64, validation in batches of 64): **${fmt(trial.wasm_memory_bytes / 1e6, 1)} MB**; after the whole benchmark above (every network, inference in batches of 256): ${fmt(one.wasm_memory_bytes / 1e6, 1)} MB. Wasm memory never shrinks, so these are peaks.`,
    torchLine,
    `TF.js ${tfjs.find((t) => t.version)?.version ?? '4.22'}: training on the \`cpu\` backend (batch 64, Adam; median of ${process.env.BENCH_TFJS_TRAIN_RUNS ?? 3} batches after one warm-up batch), inference on the \`wasm\` backend (batches of 256, single-threaded), each in its own worker in the same browser run.`,
  );
} else {
  summary.push(`f32 matrix product 512³ (ndarray → matrixmultiply): ${fmt(nat.matmul_512_gflops, 1)} GFLOP/s natively; the engine's own kernel on a convolution's product (32×144 by 144×1,815): ${fmt(nat.kernel_gflops, 1)} GFLOP/s natively.`, torchLine, 'No browser in this run (BENCH_BROWSER=0): no wasm or TF.js figures.');
}
const where = br ? `${br.version} headless` : 'no browser';
const header = `Measured ${new Date().toISOString().slice(0, 10)} on ${cpu} (${os.cpus().length} cores), ${where}; medians of ${RUNS} runs of ${IMAGES} images after a warm-up; training with Adam, batch ${BATCH}; inference in batches of 256.`;
const table = [header, '', ...lines, '', ...summary.map((s) => `- ${s}`)].join('\n');
console.log(table);
if (br) {
  const file = path.join(ROOT, 'BENCHMARKS.md');
  const intro = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('<!-- results -->')[0] : '# Benchmarks\n\n';
  fs.writeFileSync(file, `${intro.trimEnd()}\n\n<!-- results -->\n${table}\n`);
  console.error(`wrote ${file}`);
} else {
  console.error('BENCHMARKS.md left as it was (a run without the browser is not the whole table)');
}
