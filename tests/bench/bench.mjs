// The benchmark command's driver (run through `bash .ci/bench`): measures the engine natively
// (the release CLI, one thread) and in headless Chromium inside web workers (the release build's
// own worker, speaking the real protocol), then prints one table and writes BENCHMARKS.md.
// A benchmark, not a test: it asserts nothing, it reports medians.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, serve, launch } from '../e2e/harness.mjs';

// PyTorch 2.15, CPU, 1 thread, batch 64, training images/s on this machine kind (DESIGN.md).
const PYTORCH = { lenet5: 14_800, 'tfjs-example': 11_800 };
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 4096);

function native() {
  const cli = path.join(ROOT, 'target', 'release', 'tunelab');
  const out = execFileSync(cli, ['bench', '--json', '--runs', String(RUNS), '--images', String(IMAGES), '--data', path.join(ROOT, 'public', 'mnist')], { encoding: 'utf8' });
  return JSON.parse(out);
}

// Runs inside the page: start `count` workers, load each with the training pool (transferred),
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

// Runs inside the page: one fresh worker loaded with the training pool trains a real trial (the
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
    worker.onmessage = (e) => (e.data.type === type ? resolve(e.data) : e.data.type === 'epoch' ? null : reject(new Error(JSON.stringify(e.data))));
  });
  await next('ready');
  const loaded = next('data_loaded');
  worker.postMessage({ message: { type: 'load_data', count: labels.length }, images: images.buffer, labels: labels.buffer }, [images.buffer, labels.buffer]);
  await loaded;
  const finished = next('finished');
  worker.postMessage({ message: { type: 'train', trial: { trial_id: 1, attempt: 1 }, request: { config: { epochs: 1 }, subset_size: 2000, seed: 1 } } });
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
const here = path.dirname(new URL(import.meta.url).pathname);
const extra = Object.fromEntries(Object.entries(tfjsFiles).map(([url, [type, file]]) => [url, [type, fs.readFileSync(path.join(here, 'node_modules', file))]]));
extra['/bench.html'] = ['text/html', '<!doctype html><title>tunelab benchmark</title>'];
extra['/tfjs-bench-worker.js'] = ['text/javascript', fs.readFileSync(path.join(here, 'tfjs-bench-worker.js'))];

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

const server = await serve(undefined, extra);
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}bench.html`);
  const spec = { filter: '', batch: 64, runs: RUNS, images_per_run: IMAGES };
  console.error('measuring natively …');
  const nat = native();
  console.error('measuring in a web worker …');
  const [[one]] = await page.evaluate(browserBench, { count: 1, spec });
  console.error('measuring two workers at once …');
  // One worker, two at once, one, two, …, one: each pair of workers is compared with the single
  // worker just before and just after it, and the ratio is the median of those rounds. The
  // machine's speed drifts by up to 40% within a run, in spells of seconds to minutes; short
  // steps (about 1.5 s each, the two workers kept loaded between them) and a single worker on
  // both sides of each pair keep a spell from falling on one side of a ratio only.
  const scalingSpec = { ...spec, filter: 'lenet5', images_per_run: Math.min(IMAGES, 2048) };
  const SCALING_ROUNDS = Number(process.env.BENCH_SCALING_ROUNDS ?? 7);
  const steps = [1, ...Array.from({ length: SCALING_ROUNDS }, () => [2, 1]).flat()];
  const throughput = (reports) => reports.reduce((s, r) => s + r.report.networks[0].train.images_per_second, 0);
  const scaling = (await page.evaluate(browserBench, { count: 2, spec: scalingSpec, steps })).map(throughput);
  const singles = scaling.filter((_, i) => i % 2 === 0);
  const pairs = scaling.filter((_, i) => i % 2 === 1);
  const ratios = pairs.map((p, i) => p / ((singles[i] + singles[i + 1]) / 2));
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  console.error('measuring the memory of a worker that trained a trial …');
  const trial = await page.evaluate(trialMemory);
  console.error('measuring TF.js 4.22 (cpu training, wasm inference) …');
  const tfjs = await page.evaluate(tfjsBench, {
    names: one.report.networks.map((n) => n.name), batch: 64,
    trainRuns: Number(process.env.BENCH_TFJS_TRAIN_RUNS ?? 3), inferRuns: RUNS, inferImages: IMAGES,
  });
  const tf = Object.fromEntries(tfjs.map((t) => [t.name, t]));
  for (const t of tfjs) if (t.error) console.error(`TF.js ${t.name}: ${t.error}`);
  const oneWorker = median(singles);
  const twoWorkers = median(pairs);
  const roundRatios = ratios.map((r) => fmt(r, 2) + '×').join(', ');

  const byName = (report) => Object.fromEntries(report.networks.map((n) => [n.name, n]));
  const wasm = byName(one.report);
  const natv = byName(nat);
  const lines = [];
  lines.push('| network | train MFLOP/img | native train img/s (GFLOP/s) | wasm train img/s (GFLOP/s) | TF.js cpu train img/s | wasm / TF.js cpu | wasm / PyTorch | native / PyTorch | native inference img/s | wasm inference img/s (GFLOP/s) | TF.js wasm inference img/s | wasm / TF.js wasm |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const name of Object.keys(wasm)) {
    const w = wasm[name];
    const n = natv[name];
    const torch = PYTORCH[name];
    const t = tf[name] ?? {};
    const tTrain = t.training?.images_per_second;
    const tInfer = t.inference?.images_per_second;
    const gflops = (x) => (x.images_per_second * x.flop_per_image) / 1e9;
    lines.push(`| ${name} | ${fmt(w.train.flop_per_image / 1e6, 2)} | ${fmt(n?.train.images_per_second)} (${fmt(n ? gflops(n.train) : NaN, 1)}) | ${fmt(w.train.images_per_second)} (${fmt(gflops(w.train), 1)}) | ${fmt(tTrain, 1)} | ${tTrain ? fmt(w.train.images_per_second / tTrain, 0) + '×' : '—'} | ${torch ? fmt(w.train.images_per_second / torch, 2) + '×' : '—'} | ${torch && n ? fmt(n.train.images_per_second / torch, 2) + '×' : '—'} | ${fmt(n?.inference.images_per_second)} | ${fmt(w.inference.images_per_second)} (${fmt(gflops(w.inference), 1)}) | ${fmt(tInfer)} | ${tInfer ? fmt(w.inference.images_per_second / tInfer, 2) + '×' : '—'} |`);
  }
  const summary = [
    `f32 matrix product 512³ (ndarray → matrixmultiply): **${fmt(one.report.matmul_512_gflops, 1)} GFLOP/s** in wasm, ${fmt(nat.matmul_512_gflops, 1)} GFLOP/s natively. The engine's own kernel on a convolution's product (32×144 by 144×1,815, the ceiling for the networks' products): **${fmt(one.report.kernel_gflops, 1)} GFLOP/s** in wasm, ${fmt(nat.kernel_gflops, 1)} GFLOP/s natively.`,
    `LeNet-5 training with 1 worker: ${fmt(oneWorker)} img/s; with 2 workers at once: ${fmt(twoWorkers)} img/s in all (medians; runs of ${scalingSpec.images_per_run} images) — scaling **${fmt(median(ratios), 2)}×**, the median of ${SCALING_ROUNDS} rounds each comparing two workers with the single worker just before and after them (${roundRatios}).`,
    `wasm memory of a worker holding the 60,000-image training pool (47 MB of it), after training a trial of the default network (batch 64, validation in batches of 64): **${fmt(trial.wasm_memory_bytes / 1e6, 1)} MB**; after the whole benchmark above (every network, inference in batches of 256): ${fmt(one.wasm_memory_bytes / 1e6, 1)} MB. Wasm memory never shrinks, so these are peaks.`,
    `PyTorch anchors (DESIGN.md, 1 thread, batch 64): LeNet-5-like 14,800 img/s, TF.js-example 11,800 img/s.`,
    `TF.js ${tfjs.find((t) => t.version)?.version ?? '4.22'}: training on the \`cpu\` backend (batch 64, Adam; median of ${process.env.BENCH_TFJS_TRAIN_RUNS ?? 3} batches after one warm-up batch), inference on the \`wasm\` backend (batches of 256, single-threaded), each in its own worker in the same browser run.`,
  ];
  const cpu = (os.cpus()[0]?.model ?? 'unknown CPU').trim();
  const header = `Measured ${new Date().toISOString().slice(0, 10)} on ${cpu} (${os.cpus().length} cores), ${await browser.version()} headless; medians of ${RUNS} runs of ${IMAGES} images after a warm-up; training with Adam, batch 64; inference in batches of 256.`;
  const table = [header, '', ...lines, '', ...summary.map((s) => `- ${s}`)].join('\n');
  console.log(table);
  const file = path.join(ROOT, 'BENCHMARKS.md');
  const intro = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('<!-- results -->')[0] : '# Benchmarks\n\n';
  fs.writeFileSync(file, `${intro.trimEnd()}\n\n<!-- results -->\n${table}\n`);
  console.error(`wrote ${file}`);
} finally {
  await browser.close();
  await server.close();
}
