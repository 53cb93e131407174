//! The CNN experiment: the objective the tuning engine (`crate::tuning`) searches when it tunes
//! the CNN on MNIST — what trials train on, how they are scored (on the fixed validation split,
//! or by stratified k-fold cross-validation), the search spaces over `TrainConfig`, running a
//! whole study, and the final test of the best configuration.
//!
//! - `cv`: hold-out or k-fold scoring, and what a trial costs in training images.
//! - `presets`: the seed's grid and the other spaces, and how a point of one becomes a
//!   `TrainConfig`.
//! - `runner`: a whole study run in this thread, each trial trained and scored.
//! - `live`: studies whose trials train on the scheduler's workers (the page), and what the
//!   page shows of each trial.
//! - `final_eval`: the best configuration retrained on the training file's 60,000 images and
//!   tested once.
//!
//! The dependency is one-way: this module uses the tuning engine, which knows nothing of the CNN.

#![forbid(unsafe_code)]

pub mod cv;
pub mod final_eval;
pub mod live;
pub mod presets;
pub mod runner;

/// Synthetic digits for the tests that train: class k lights a 7×7 block at a place of its own,
/// over noise; the same `n` images every call.
#[cfg(test)]
pub(crate) fn synthetic_digits(n: usize) -> (Vec<u8>, Vec<u8>) {
    use crate::rng::{below, rng_for};
    let mut rng = rng_for(5, 0);
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let mut pixels = vec![0u8; n * 784];
    for (image, &label) in pixels.chunks_exact_mut(784).zip(&labels) {
        for p in image.iter_mut() {
            *p = below(&mut rng, 60) as u8;
        }
        let (y0, x0) = (2 + (label as usize / 5) * 12, 2 + (label as usize % 5) * 5);
        for y in y0..y0 + 7 {
            for x in x0..(x0 + 7).min(28) {
                image[y * 28 + x] = 255;
            }
        }
    }
    (pixels, labels)
}
