//! The tuning engine: search spaces, studies on equal budgets, and the methods behind one
//! `Strategy` interface (issue 4 adds them one by one). Pure core: tested natively, shared by
//! the browser and the command line.

pub mod ask_tell;
pub mod cmaes;
pub mod cv;
pub mod fixed;
pub mod final_eval;
pub mod genetic;
pub mod gp;
pub mod grid;
pub mod presets;
pub mod random;
pub mod runner;
pub mod space;
pub mod stats;
pub mod strategy;
pub mod study;
pub mod tpe;

#[cfg(test)]
mod contract;
#[cfg(test)]
mod quality;

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
