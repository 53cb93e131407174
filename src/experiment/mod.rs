//! The CNN experiment: the objective the tuning engine (`crate::tuning`) searches when it tunes
//! the CNN on MNIST — the search spaces over `TrainConfig`, one trial's training and scoring
//! (on the fixed validation split, or by stratified k-fold cross-validation: `data::validation`),
//! races of several methods on the workers, and the final test of the best configuration.
//!
//! - `presets`: the seed's grid and the other spaces, and how a point of one becomes a
//!   `TrainConfig`.
//! - `job`: one trial's training (hold-out or every fold of a k-fold), in slices, as a worker
//!   runs it.
//! - `race`: a race's setup — methods, space, budget, images, seed — checked field by field.
//! - `live`: studies whose trials train on the scheduler's workers, and what the page shows
//!   of each trial.
//! - `space_form`: the search space as the panel edits it, a row per hyperparameter.
//! - `record`: a race's trials as versioned JSON (`tunelab race --out`, the page's import).
//! - `replay`: a race rebuilt from how its trials ended, without training (an imported record,
//!   a race resumed after a reload).
//! - `threads`: the scheduler's workers as native threads, and a whole race run on them (the
//!   command line).
//! - `final_eval`: the best configuration retrained on the training file's 60,000 images and
//!   tested once.
//!
//! The dependency is one-way: this module uses the tuning engine, which knows nothing of the CNN.

#![forbid(unsafe_code)]

pub mod final_eval;
pub mod job;
pub mod journal;
pub mod live;
pub mod presets;
pub mod race;
pub mod record;
pub mod replay;
pub mod space_form;
#[cfg(not(target_arch = "wasm32"))]
pub mod threads;

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

/// A small race of `methods` on synthetic digits (60 images, two params, a budget of 8
/// epoch-equivalents): its setup and the training file, for the tests that run races.
#[cfg(test)]
pub(crate) fn small_race(
    methods: &[&str],
    validation: crate::data::validation::CrossValidation,
    median_pruning: bool,
) -> (race::RaceSetup, std::sync::Arc<crate::data::mnist::LabeledImages>) {
    use crate::data::mnist::LabeledImages;
    use crate::data::validation::TrainingSet;
    use crate::nn::TrainConfig;
    use crate::tuning::space::{Param, SearchSpace};
    let (pixels, labels) = synthetic_digits(400);
    let data = std::sync::Arc::new(LabeledImages::from_parts(pixels, labels).unwrap());
    let setup = race::RaceSetup {
        methods: methods.iter().map(|m| m.to_string()).collect(),
        space: SearchSpace::new(vec![Param::log_float("learning_rate", 0.005, 0.2), Param::int("epochs", 1, 3)]).unwrap(),
        budget_epochs: 8,
        data: TrainingSet { images: 60, validation },
        seed: 3,
        proposals: 2,
        base: TrainConfig { batch_size: 16, conv_layers: 1, conv_filters: vec![4], dense_units: 0, ..Default::default() },
        pruner: median_pruning.then(crate::tuning::median_pruner::MedianPruner::default),
    };
    (setup, data)
}

/// `small_race` run natively on two threads, as its record: for the tests of what reads and
/// writes records.
#[cfg(test)]
pub(crate) fn small_race_record(methods: &[&str], validation: crate::data::validation::CrossValidation, median_pruning: bool) -> record::RaceRecord {
    let (setup, data) = small_race(methods, validation, median_pruning);
    let live = threads::run_race(setup, data, 2, &mut |_, _| {}).unwrap_or_else(|e| panic!("{e:?}")).live;
    record::RaceRecord::of(&live, 2).unwrap()
}
