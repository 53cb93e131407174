// The benchmark's TF.js side (dev tooling only, never shipped): builds the same reference networks
// with TF.js 4.22 layers and measures training on the `cpu` backend (what a browser user has for
// conv nets today; the `wasm` backend cannot train them) and inference on the `wasm` backend
// (XNNPACK, single-threaded: no cross-origin isolation here, like our one worker).
importScripts('./tfjs/tf.min.js', './tfjs/tf-backend-wasm.min.js');
tf.wasm.setWasmPaths('./tfjs/');

function build(name) {
  const relu = 'relu';
  const conv = (filters, kernelSize, padding, first) =>
    tf.layers.conv2d({ filters, kernelSize, padding, activation: relu, ...(first ? { inputShape: [28, 28, 1] } : {}) });
  const pool = () => tf.layers.maxPooling2d({ poolSize: 2, strides: 2 });
  const layers = {
    lenet5: () => [conv(6, 5, 'same', true), pool(), conv(16, 5, 'valid'), pool(), tf.layers.flatten(), tf.layers.dense({ units: 120, activation: relu }), tf.layers.dense({ units: 84, activation: relu })],
    'tfjs-example': () => [conv(16, 3, 'valid', true), pool(), conv(32, 3, 'valid'), pool(), conv(32, 3, 'valid'), tf.layers.flatten(), tf.layers.dense({ units: 64, activation: relu })],
    'default-2conv': () => [conv(16, 3, 'same', true), pool(), conv(32, 3, 'same'), pool(), tf.layers.flatten(), tf.layers.dense({ units: 64, activation: relu })],
    'default-3conv': () => [conv(16, 3, 'same', true), pool(), conv(32, 3, 'same'), pool(), conv(32, 3, 'same'), tf.layers.flatten(), tf.layers.dense({ units: 64, activation: relu })],
    'default-4conv': () => [conv(16, 3, 'same', true), pool(), conv(32, 3, 'same'), pool(), conv(32, 3, 'same'), conv(64, 3, 'same'), tf.layers.flatten(), tf.layers.dense({ units: 64, activation: relu })],
  }[name]();
  const model = tf.sequential({ layers: [...layers, tf.layers.dense({ units: 10, activation: 'softmax' })] });
  model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy' });
  return model;
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function train(name, batch, runs) {
  await tf.setBackend('cpu');
  const model = build(name);
  const xs = tf.randomUniform([batch, 28, 28, 1]);
  const ys = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32'), 10);
  const results = [];
  for (let r = 0; r <= runs; r++) {
    const start = performance.now();
    await model.trainOnBatch(xs, ys);
    const ms = performance.now() - start;
    if (r > 0) results.push(batch / (ms / 1000));
  }
  tf.dispose([xs, ys]);
  model.dispose();
  return { images_per_second: median(results), runs: results };
}

async function infer(name, batch, runs, images) {
  await tf.setBackend('wasm');
  const model = build(name);
  const xs = tf.randomUniform([batch, 28, 28, 1]);
  const steps = Math.max(1, Math.ceil(images / batch));
  const results = [];
  for (let r = 0; r <= runs; r++) {
    const start = performance.now();
    for (let s = 0; s < steps; s++) {
      const out = model.predict(xs);
      await out.data();
      out.dispose();
    }
    const ms = performance.now() - start;
    if (r > 0) results.push((steps * batch) / (ms / 1000));
  }
  xs.dispose();
  model.dispose();
  return { images_per_second: median(results), runs: results };
}

onmessage = async (e) => {
  const { name, batch, trainRuns, inferRuns, inferImages } = e.data;
  try {
    const training = await train(name, batch, trainRuns);
    const inference = await infer(name, 256, inferRuns, inferImages);
    postMessage({ name, training, inference, version: tf.version.tfjs });
  } catch (err) {
    postMessage({ name, error: String(err && err.stack || err) });
  }
};
