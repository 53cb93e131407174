//! Throughput measurements of the engine, shared by the native command line and the browser
//! worker: each passes its own clock (milliseconds), since the core cannot read one itself in
//! wasm. A measurement warms up first, then repeats and reports the median.

#![forbid(unsafe_code)]

use super::arch::Architecture;
use super::config::{OptimizerKind, TrainConfig};
use super::fast::gemm::{gemm, Mat};
use super::fast::kernels::{broadcast_product, Strided, Write};
use super::layer::Pass;
use super::loss::softmax_cross_entropy;
use super::model::Model;
use super::optimizer::Optimizer;
use crate::data::mnist::{ImagesRef, CLASSES};
use crate::rng::rng_for;
use serde::{Deserialize, Serialize};

/// The networks the benchmark measures, by name.
pub fn reference_networks() -> Vec<(&'static str, Architecture)> {
    let tuned = |conv_layers: u32| TrainConfig { conv_layers, ..Default::default() }.architecture();
    vec![
        ("lenet5", Architecture::lenet5()),
        ("tfjs-example", Architecture::tfjs_example()),
        ("default-2conv", tuned(2)),
        ("default-3conv", tuned(3)),
        ("default-4conv", tuned(4)),
    ]
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Median over the runs.
    pub images_per_second: f64,
    pub runs: Vec<f64>,
    /// FLOP per image of what was measured (a training step counts 3× the forward pass).
    pub flop_per_image: f64,
}

impl Throughput {
    pub fn gflops(&self) -> f64 {
        self.images_per_second * self.flop_per_image / 1e9
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Training throughput: Adam, batches of `batch` images from `data`, `runs` timed runs of
/// `images_per_run` images each after one untimed warm-up run.
pub fn training_throughput(arch: &Architecture, data: ImagesRef<'_>, batch: usize, images_per_run: usize, runs: usize, clock: &dyn Fn() -> f64) -> Throughput {
    let mut rng = rng_for(1, 1);
    let mut model = Model::build(arch, &mut rng).expect("reference networks fit");
    let mut optimizer = Optimizer::new(OptimizerKind::ADAM, 0.0, 0.0);
    let mut labels = Vec::with_capacity(batch);
    let mut indices: Vec<usize> = Vec::with_capacity(batch);
    let mut next = 0usize;
    let mut step = |model: &mut Model| {
        indices.clear();
        labels.clear();
        for _ in 0..batch {
            indices.push(next % data.len());
            labels.push(data.labels[next % data.len()]);
            next += 1;
        }
        model.load_batch(data, &indices);
        model.forward(batch, &mut Pass { training: true, rng: &mut rng });
        model.backward(&labels);
        optimizer.begin_step();
        model.visit_params(&mut |t| optimizer.update(0.001, t));
    };
    let steps = images_per_run.div_ceil(batch).max(1);
    let mut results = Vec::with_capacity(runs);
    for run in 0..=runs {
        let start = clock();
        for _ in 0..steps {
            step(&mut model);
        }
        let ms = clock() - start;
        if run > 0 {
            results.push((steps * batch) as f64 / (ms / 1000.0));
        }
    }
    Throughput { images_per_second: median(results.clone()), runs: results, flop_per_image: 6.0 * arch.forward_macs() as f64 }
}

/// Inference throughput: forward passes only, in batches of `batch`.
pub fn inference_throughput(arch: &Architecture, data: ImagesRef<'_>, batch: usize, images_per_run: usize, runs: usize, clock: &dyn Fn() -> f64) -> Throughput {
    let mut rng = rng_for(1, 1);
    let mut model = Model::build(arch, &mut rng).expect("reference networks fit");
    let indices: Vec<usize> = (0..batch).map(|i| i % data.len()).collect();
    let labels: Vec<u8> = indices.iter().map(|&i| data.labels[i]).collect();
    let steps = images_per_run.div_ceil(batch).max(1);
    let mut results = Vec::with_capacity(runs);
    let mut sink = 0usize;
    for run in 0..=runs {
        let start = clock();
        for _ in 0..steps {
            model.load_batch(data, &indices);
            let logits = model.forward(batch, &mut Pass { training: false, rng: &mut rng });
            sink += softmax_cross_entropy(logits, &labels, CLASSES, None).1;
        }
        let ms = clock() - start;
        if run > 0 {
            results.push((steps * batch) as f64 / (ms / 1000.0));
        }
    }
    // Keep the scored results alive so the forward passes are not optimised away.
    std::hint::black_box(sink);
    Throughput { images_per_second: median(results.clone()), runs: results, flop_per_image: 2.0 * arch.forward_macs() as f64 }
}

/// Batch size of the inference measurement (as for TF.js beside it).
pub const INFERENCE_BATCH: usize = 256;

/// What to measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchSpec {
    /// Only networks whose name contains this; all when empty.
    pub filter: String,
    pub batch: u32,
    pub runs: u32,
    pub images_per_run: u32,
}

impl Default for BenchSpec {
    fn default() -> Self {
        Self { filter: String::new(), batch: 64, runs: 5, images_per_run: 4096 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkBench {
    pub name: String,
    pub train: Throughput,
    pub inference: Throughput,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// A general 512³ product (ndarray → matrixmultiply): the ceiling a library gives.
    pub matmul_512_gflops: f64,
    /// The engine's own kernel on the forward product of tfjs-example's second convolution
    /// (32 filters × 144 patch values × 1,815 pixels): the ceiling for a network's products.
    pub kernel_gflops: f64,
    pub batch: u32,
    pub networks: Vec<NetworkBench>,
}

/// Measure every selected reference network, training (Adam, `spec.batch`) and inference
/// (batches of 256), plus the 512³ matrix product as the ceiling.
pub fn run_benchmark(spec: &BenchSpec, data: ImagesRef<'_>, clock: &dyn Fn() -> f64) -> BenchReport {
    let runs = spec.runs.max(1) as usize;
    let images = spec.images_per_run.max(1) as usize;
    let matmul_512_gflops = matmul_gflops(512, 512, 512, runs, clock);
    let kernel_gflops = kernel_gflops(32, 144, 1815, runs, clock);
    let networks = reference_networks()
        .into_iter()
        .filter(|(name, _)| name.contains(spec.filter.as_str()))
        .map(|(name, arch)| NetworkBench {
            name: name.to_string(),
            train: training_throughput(&arch, data, spec.batch.max(1) as usize, images, runs, clock),
            inference: inference_throughput(&arch, data, INFERENCE_BATCH, 2 * images, runs, clock),
        })
        .collect();
    BenchReport { matmul_512_gflops, kernel_gflops, batch: spec.batch, networks }
}

/// A worker's quick measure of its own speed on the default network, taken as its data
/// arrives, so the page can estimate a race's time before any trial has run (and keeps it
/// until real trials measure better).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Training images per second (Adam, batches of 64).
    pub train_images_per_second: f64,
    /// Images scored per second (forward passes in validation's batches, `EVAL_BATCH`).
    pub score_images_per_second: f64,
}

/// Measure a `Calibration` on `data`: a warm-up and three short runs each (about a thousand
/// training images in all, a fraction of a second), medians kept. None without images.
pub fn calibrate(data: ImagesRef<'_>, clock: &dyn Fn() -> f64) -> Option<Calibration> {
    if data.is_empty() {
        return None;
    }
    let arch = TrainConfig::default().architecture();
    Some(Calibration {
        train_images_per_second: training_throughput(&arch, data, 64, 256, 3, clock).images_per_second,
        // In validation's batches: larger ones would grow the worker's memory (which never
        // shrinks) past what its trials need, for a figure validation does not reach.
        score_images_per_second: inference_throughput(&arch, data, super::train::EVAL_BATCH, 512, 3, clock).images_per_second,
    })
}

/// GFLOP/s of an `m × k` by `k × n` f32 matrix product through ndarray (matrixmultiply).
pub fn matmul_gflops(m: usize, k: usize, n: usize, runs: usize, clock: &dyn Fn() -> f64) -> f64 {
    product_gflops(m, k, n, runs, clock, &mut |a, b, c| gemm(1.0, Mat::new(a, m, k), Mat::new(b, k, n), 0.0, c, m, n))
}

/// GFLOP/s of the engine's own kernel (`kernels::broadcast_product`) on an `m × k` by `k × n`
/// product.
pub fn kernel_gflops(m: usize, k: usize, n: usize, runs: usize, clock: &dyn Fn() -> f64) -> f64 {
    product_gflops(m, k, n, runs, clock, &mut |a, b, c| broadcast_product(m, n, k, Strided::rows(a, k), b, n, c, n, Write::Overwrite))
}

/// A matrix product `c = a · b` under test.
type Product<'a> = dyn FnMut(&[f32], &[f32], &mut [f32]) + 'a;

/// Median GFLOP/s of `product(a, b, c)` (`m × k` by `k × n`) over `runs` runs of about 2 GFLOP
/// each, after one warm-up run.
fn product_gflops(m: usize, k: usize, n: usize, runs: usize, clock: &dyn Fn() -> f64, product: &mut Product<'_>) -> f64 {
    let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
    let mut c = vec![0.0f32; m * n];
    let flop = 2.0 * (m * k * n) as f64;
    let repeats = ((2e9 / flop) as usize).clamp(1, 1000);
    let mut results = Vec::with_capacity(runs);
    for run in 0..=runs {
        let start = clock();
        for _ in 0..repeats {
            product(&a, &b, &mut c);
        }
        let ms = clock() - start;
        if run > 0 {
            results.push(flop * repeats as f64 / (ms / 1000.0) / 1e9);
        }
    }
    median(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_with_any_clock() {
        // A fake clock that advances 1 ms per reading: every run takes 1 ms.
        let t = std::cell::Cell::new(0.0);
        let clock = || {
            t.set(t.get() + 1.0);
            t.get()
        };
        let pixels = vec![0u8; 8 * 784];
        let labels: Vec<u8> = (0..8).collect();
        let data = ImagesRef { pixels: &pixels, labels: &labels };
        let tp = training_throughput(&Architecture::lenet5(), data, 4, 8, 3, &clock);
        assert_eq!(tp.runs, vec![8000.0; 3]);
        assert_eq!(tp.images_per_second, 8000.0);
        assert!(tp.gflops() > 0.0);
        assert_eq!(median(vec![3.0, 1.0, 2.0, 10.0]), 2.5);
        // 4 batches of 64 per run, 1 ms each; 512 images per scoring run, 1 ms each.
        assert_eq!(calibrate(data, &clock), Some(Calibration { train_images_per_second: 256_000.0, score_images_per_second: 512_000.0 }));
        assert_eq!(calibrate(ImagesRef { pixels: &[], labels: &[] }, &clock), None);
    }
}
