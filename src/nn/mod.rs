//! The CNN engine: layers with hand-written forward and backward passes, optimizers, learning-rate
//! schedules and the training loop.
//!
//! Shapes: a convolutional activation is stored channel-major across the whole batch, `C × B × H × W`,
//! so one convolution over a batch is a few large matrix products (im2col, or Winograd's 16);
//! after `Flatten` activations are
//! `B × features`, row per image. All tensors are flat `Vec<f32>` buffers owned by the layer that
//! writes them and reused from batch to batch.

pub mod arch;
pub mod bench;
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

pub use arch::{Architecture, LayerSpec, Padding};
pub use config::{ConfigError, LrDecay, OptimizerKind, TrainConfig, ValidConfig};
pub use model::Model;
pub use train::{train, EpochReport, TrainOutcome, TrainingData};
