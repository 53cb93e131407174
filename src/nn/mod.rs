//! The CNN engine: layers with hand-written forward and backward passes, optimizers, learning-rate
//! schedules and the training loop.
//!
//! Shapes: a convolutional activation is stored channel-major across the whole batch, `C × B × H × W`,
//! so one convolution over a batch is a few large matrix products (im2col, or Winograd's 16);
//! after `Flatten` activations are
//! `B × features`, row per image. All tensors are flat `Vec<f32>` buffers owned by the layer that
//! writes them and reused from batch to batch.
//!
//! Where to read, from the training run down:
//!
//! - `config`: one run's hyperparameters and their validation; `TrainConfig::architecture()`.
//! - `train`: the training loop (epochs, batches, optimizer steps, validation).
//! - `model`: a network built from an `Architecture`: forward, backward, evaluation.
//! - `arch`: networks as data (layer specs), checked for shape, with their cost.
//! - `layer`: the interface every layer shares; then one file per layer: `conv` (with its
//!   geometry in `conv_shape`), `max_pool`, `dense`, `flatten`, `dropout`.
//! - `loss`, `optimizer`, `schedule`: softmax cross-entropy, the optimizers, learning-rate decay.
//! - `checkpoint`: a run's whole state as bytes, and a run resumed from them.
//! - `bench`: throughput measurements.
//! - `fast/`: how the layers are made fast (matrix kernels, SIMD, im2col, Winograd); the only
//!   place with `unsafe` code.
//!
//! Modules depend on each other without cycles (`tests/module_graph.rs` checks it): `config`
//! uses `arch`, `model` builds from `arch`, `train` uses `config` and `model`, `checkpoint` uses
//! `train`, and `fast/` uses
//! nothing above it but `conv_shape`.

pub mod arch;
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod conv;
pub mod conv_shape;
pub mod dense;
pub mod dropout;
pub mod fast;
pub mod flatten;
pub mod layer;
pub mod loss;
pub mod max_pool;
pub mod model;
pub mod optimizer;
pub mod schedule;
pub mod train;

#[cfg(test)]
mod gradient_check;
#[cfg(test)]
mod hypergradient_check;

pub use arch::{Architecture, LayerSpec, Padding};
pub use config::{ConfigError, LrDecay, OptimizerKind, TrainConfig, ValidConfig};
pub use model::Model;
pub use train::{train, EpochReport, TrainOutcome, TrainingData};
