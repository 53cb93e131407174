//! What a trial trains on and how it is scored: on the fixed validation split (hold-out,
//! training on a stratified subset of the training split), or by stratified k-fold
//! cross-validation over a stratified subset of the training file's 60,000 images (k = 3, 5 or
//! 10). The subset and the folds come from the experiment's seed, so every method of a race
//! trains and is scored on the same images. A k-fold trial trains k times; its score is the mean
//! of the folds' scores, their spread kept beside it. The budget counts what training costs:
//! epochs × training images, summed over the folds.

use super::folds::{stratified_folds, training_indices};
use super::subset::stratified_subset;
use serde::{Deserialize, Serialize};

/// Images in MNIST's training file, and in its training split (the rest, the last sixth, is the
/// validation split).
pub const TRAINING_FILE_IMAGES: u32 = 60_000;
pub const TRAINING_SPLIT_IMAGES: u32 = 50_000;

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

/// Why trials cannot train on a `TrainingSet`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SetError {
    #[error(transparent)]
    Validation(#[from] CvError),
    /// Fewer images than trials need: one, or one per fold under k-fold (`folds` is k then).
    #[error("each trial needs at least {}; got {got}", match folds { Some(k) => format!("{k} training images, one per fold"), None => "1 training image".into() })]
    TooFew { folds: Option<u32>, got: u32 },
    /// More images than the split they are drawn from holds.
    #[error("the training {} holds {most} images; got {got}", if *whole_file { "file" } else { "split" })]
    TooMany { whole_file: bool, most: u32, got: u32 },
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

    /// As a person reads it: "hold-out", "5-fold".
    pub fn label(self) -> String {
        match self {
            CrossValidation::Holdout => "hold-out".into(),
            CrossValidation::KFold { k } => format!("{k}-fold"),
        }
    }
}

/// The images every trial of an experiment trains and is scored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingSet {
    /// A stratified subset of this many images: of the training split (hold-out), or of the
    /// training file (k-fold).
    pub images: u32,
    pub validation: CrossValidation,
}

impl TrainingSet {
    /// Whether trials can train on it: at least one image (k under k-fold, one per fold), and no
    /// more than the split it is drawn from holds.
    pub fn check(self) -> Result<Self, SetError> {
        self.validation.validate()?;
        let (folds, most, whole_file) = match self.validation {
            CrossValidation::Holdout => (None, TRAINING_SPLIT_IMAGES, false),
            CrossValidation::KFold { k } => (Some(k), TRAINING_FILE_IMAGES, true),
        };
        if self.images < folds.unwrap_or(1) {
            return Err(SetError::TooFew { folds, got: self.images });
        }
        if self.images > most {
            return Err(SetError::TooMany { whole_file, most, got: self.images });
        }
        Ok(self)
    }

    /// What `epochs` epochs of one trial cost, in training images over all its runs.
    pub fn cost(self, epochs: u32) -> u64 {
        self.validation.cost(epochs, self.images as u64, self.images as u64)
    }

    /// The subset or folds, drawn from `labels` (the training file's) with `seed`. Under
    /// hold-out the subset comes from the first `train_split` images.
    pub fn draw(self, labels: &[u8], train_split: usize, seed: u64) -> Drawn {
        match self.validation {
            CrossValidation::Holdout => Drawn::Holdout { subset: stratified_subset(&labels[..train_split], self.images as usize, seed) },
            CrossValidation::KFold { k } => {
                let subset = stratified_subset(labels, self.images as usize, seed);
                let subset_labels: Vec<u8> = subset.iter().map(|&i| labels[i]).collect();
                // Folds of positions in the subset, turned into indices of the training file.
                let folds = stratified_folds(&subset_labels, (k as usize).min(subset.len()), seed);
                Drawn::KFold { folds: folds.into_iter().map(|fold| fold.into_iter().map(|p| subset[p]).collect()).collect() }
            }
        }
    }
}

/// A training set's images, as indices into the training file.
#[derive(Debug, Clone, PartialEq)]
pub enum Drawn {
    /// Train on `subset` (of the training split), score on the validation split.
    Holdout { subset: Vec<usize> },
    /// Fold f: train on every other fold, score on fold f.
    KFold { folds: Vec<Vec<usize>> },
}

impl Drawn {
    /// Training runs per trial.
    pub fn runs(&self) -> usize {
        match self {
            Drawn::Holdout { .. } => 1,
            Drawn::KFold { folds } => folds.len(),
        }
    }

    /// Run `run`'s training images, and the images it is scored on (None: the validation split).
    pub fn run(&self, run: usize) -> (Vec<usize>, Option<&[usize]>) {
        match self {
            Drawn::Holdout { subset } => (subset.clone(), None),
            Drawn::KFold { folds } => (training_indices(folds, run), Some(&folds[run])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_checked_and_priced_in_training_images() {
        assert_eq!(CrossValidation::KFold { k: 4 }.validate().unwrap_err().to_string(), "k-fold cross-validation takes k = 3, 5 or 10; got 4");
        assert!(CrossValidation::KFold { k: 5 }.validate().is_ok() && CrossValidation::Holdout.validate().is_ok());
        assert_eq!(CrossValidation::Holdout.cost(3, 5_000, 60_000), 15_000);
        // 5 folds of 60,000: each run trains on 48,000.
        assert_eq!(CrossValidation::KFold { k: 5 }.cost(2, 0, 60_000), 2 * 5 * 48_000);
        assert_eq!(CrossValidation::KFold { k: 3 }.runs(), 3);
        assert_eq!(serde_json::to_string(&CrossValidation::KFold { k: 10 }).unwrap(), r#"{"kind":"k_fold","k":10}"#);
    }

    #[test]
    fn training_sets_that_cannot_run_are_refused() {
        let set = |images, validation| TrainingSet { images, validation }.check().map_err(|e| e.to_string());
        assert_eq!(set(0, CrossValidation::Holdout).unwrap_err(), "each trial needs at least 1 training image; got 0");
        assert_eq!(set(2, CrossValidation::KFold { k: 3 }).unwrap_err(), "each trial needs at least 3 training images, one per fold; got 2");
        assert_eq!(set(9, CrossValidation::KFold { k: 4 }).unwrap_err(), "k-fold cross-validation takes k = 3, 5 or 10; got 4");
        assert_eq!(set(55_000, CrossValidation::Holdout).unwrap_err(), "the training split holds 50000 images; got 55000");
        assert!(set(55_000, CrossValidation::KFold { k: 5 }).is_ok() && set(3, CrossValidation::KFold { k: 3 }).is_ok());
    }

    #[test]
    fn the_same_seed_draws_the_same_images_and_folds_cover_the_subset_once() {
        let labels: Vec<u8> = (0..600).map(|i| (i * 7 % 10) as u8).collect();
        let set = TrainingSet { images: 120, validation: CrossValidation::KFold { k: 3 } };
        let drawn = set.draw(&labels, 500, 4);
        assert_eq!(drawn, set.draw(&labels, 500, 4));
        assert_eq!(drawn.runs(), 3);
        let (train, held_out) = drawn.run(1);
        let held_out = held_out.unwrap();
        assert_eq!(train.len() + held_out.len(), 120);
        assert!(held_out.iter().all(|i| !train.contains(i)));
        assert_eq!(set.cost(2), 2 * 2 * 120, "each of 3 runs trains on two thirds");
        let holdout = TrainingSet { images: 50, validation: CrossValidation::Holdout }.draw(&labels, 500, 4);
        let (train, held_out) = holdout.run(0);
        assert!(train.len() == 50 && train.iter().all(|&i| i < 500) && held_out.is_none());
    }
}
