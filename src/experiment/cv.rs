//! How a trial is scored: on the fixed validation set (holdout), or by stratified k-fold
//! cross-validation over the training file's 60,000 images (k = 3, 5 or 10; the folds come from
//! the study's seed, so every method in a study is scored on the same ones). A k-fold trial
//! trains k times, and its score is the mean of the folds' scores, their spread kept beside it.
//! The budget counts what training costs: epochs × training images, summed over the folds.

use crate::data::folds::training_indices;
use crate::data::mnist::ImagesRef;
use crate::nn::{train, EpochReport, TrainOutcome, TrainingData, ValidConfig};
use crate::tuning::study::FoldScores;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CrossValidation {
    /// Train on the training split (or a subset of it), score on the fixed validation split.
    Holdout,
    /// Stratified k-fold over the training file's 60,000 images (or a stratified subset of them).
    KFold { k: u32 },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CvError {
    #[error("k-fold cross-validation takes k = 3, 5 or 10; got {k}")]
    BadK { k: u32 },
}

impl CrossValidation {
    pub fn validate(self) -> Result<Self, CvError> {
        match self {
            CrossValidation::KFold { k } if ![3, 5, 10].contains(&k) => Err(CvError::BadK { k }),
            scheme => Ok(scheme),
        }
    }

    /// Training runs per trial.
    pub fn runs(self) -> u64 {
        match self {
            CrossValidation::Holdout => 1,
            CrossValidation::KFold { k } => k as u64,
        }
    }

    /// Images a trial trains on, in budget units: `epochs` passes over its training images in
    /// each run. With holdout that is `train_images`; with k folds dealt from `fold_images`
    /// images, each run trains on all of them but one fold.
    pub fn cost(self, epochs: u32, train_images: u64, fold_images: u64) -> u64 {
        match self {
            CrossValidation::Holdout => epochs as u64 * train_images,
            CrossValidation::KFold { k } => {
                let k = k as u64;
                // `stratified_folds` deals round-robin: the first `fold_images mod k` folds hold one more.
                let per_run: u64 = (0..k).map(|f| fold_images - (fold_images / k + u64::from(f < fold_images % k))).sum();
                epochs as u64 * per_run
            }
        }
    }
}

/// Why a cross-validated trial has no score.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FoldError {
    #[error("diverged in fold {fold} of {folds}: {reason}")]
    Diverged { fold: usize, folds: usize, reason: String },
    #[error("stopped in fold {fold} of {folds}")]
    Stopped { fold: usize, folds: usize },
}

/// Train `config` on every fold of `train_file` (the indices in `folds` are its) but one and score it (validation accuracy after the
/// last epoch) on the one held out, for each fold in turn. `on_epoch(fold, report)` sees every
/// epoch of every fold and returns false to stop. Each fold trains from the same `seed`, so a
/// fold's result depends only on the configuration, the seed and the folds.
pub fn cross_validate(
    config: &ValidConfig,
    train_file: ImagesRef<'_>,
    folds: &[Vec<usize>],
    seed: u64,
    on_epoch: &mut dyn FnMut(usize, &EpochReport) -> bool,
) -> Result<FoldScores, FoldError> {
    let mut scores = Vec::with_capacity(folds.len());
    for (fold, held_out) in folds.iter().enumerate() {
        let train_on = training_indices(folds, fold);
        let (outcome, _) = train(config, TrainingData::fold(train_file, &train_on, held_out), seed, &mut |report| on_epoch(fold, report));
        match outcome {
            TrainOutcome::Completed { .. } => scores.push(outcome.final_validation_accuracy().expect("a held-out fold is never empty") as f64),
            TrainOutcome::Diverged { diverged, .. } => return Err(FoldError::Diverged { fold: fold + 1, folds: folds.len(), reason: diverged.to_string() }),
            TrainOutcome::Stopped { .. } => return Err(FoldError::Stopped { fold: fold + 1, folds: folds.len() }),
        }
    }
    Ok(FoldScores { scores })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::folds::stratified_folds;
    use crate::experiment::synthetic_digits;
    use crate::nn::TrainConfig;

    #[test]
    fn k_fold_scores_every_fold_on_images_it_did_not_train_on() {
        let (pixels, labels) = synthetic_digits(300);
        let images = ImagesRef { pixels: &pixels, labels: &labels };
        let config =
            TrainConfig { epochs: 2, batch_size: 16, conv_layers: 1, conv_filters: vec![4], dense_units: 0, learning_rate: 0.05, ..Default::default() }
                .validate()
                .unwrap();
        let folds = stratified_folds(&labels, 3, 1);
        let mut seen = Vec::new();
        let scores = cross_validate(&config, images, &folds, 2, &mut |fold, report| {
            seen.push((fold, report.epoch));
            true
        })
        .unwrap();
        assert_eq!(seen, vec![(0, 1), (0, 2), (1, 1), (1, 2), (2, 1), (2, 2)], "every epoch of every fold is reported");
        assert_eq!(scores.scores.len(), 3);
        assert!(scores.scores.iter().all(|&s| s > 0.8), "{:?}", scores.scores);
        let again = cross_validate(&config, images, &folds, 2, &mut |_, _| true).unwrap();
        assert_eq!(again, scores, "the same folds and seed give the same scores");
        // Stopping in the second fold ends the trial without a score.
        let stopped = cross_validate(&config, images, &folds, 2, &mut |fold, _| fold < 1).unwrap_err();
        assert_eq!(stopped, FoldError::Stopped { fold: 2, folds: 3 });
    }

    #[test]
    fn schemes_are_checked_and_priced_in_training_images() {
        assert_eq!(CrossValidation::KFold { k: 4 }.validate().unwrap_err().to_string(), "k-fold cross-validation takes k = 3, 5 or 10; got 4");
        assert!(CrossValidation::KFold { k: 5 }.validate().is_ok() && CrossValidation::Holdout.validate().is_ok());
        assert_eq!(CrossValidation::Holdout.cost(3, 5_000, 60_000), 15_000);
        // 5 folds of 60,000: each run trains on 48,000.
        assert_eq!(CrossValidation::KFold { k: 5 }.cost(2, 0, 60_000), 2 * 5 * 48_000);
        assert_eq!(CrossValidation::KFold { k: 3 }.runs(), 3);
        let scores = FoldScores { scores: vec![0.97, 0.98, 0.99] };
        assert!((scores.mean() - 0.98).abs() < 1e-12 && (scores.spread() - 0.01).abs() < 1e-12);
        assert_eq!(serde_json::to_string(&CrossValidation::KFold { k: 10 }).unwrap(), r#"{"kind":"k_fold","k":10}"#);
    }
}
