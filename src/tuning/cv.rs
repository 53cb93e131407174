//! How a trial is scored: on the fixed validation set (holdout), or by stratified k-fold
//! cross-validation over the 60,000-image training pool (k = 3, 5 or 10; the folds come from
//! the study's seed, so every method in a study is scored on the same ones). A k-fold trial
//! trains k times, and its score is the mean of the folds' scores, their spread kept beside it.
//! The budget counts what training costs: epochs × training images, summed over the folds.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CrossValidation {
    /// Train on the training split (or a subset of it), score on the fixed validation split.
    Holdout,
    /// Stratified k-fold over the whole training pool.
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
    /// each run. With holdout that is `train_images`; with k folds of a `pool` of images, each
    /// run trains on the pool less one fold.
    pub fn cost(self, epochs: u32, train_images: u64, pool: u64) -> u64 {
        match self {
            CrossValidation::Holdout => epochs as u64 * train_images,
            CrossValidation::KFold { k } => {
                let k = k as u64;
                // `stratified_folds` deals round-robin: the first `pool mod k` folds hold one more.
                let per_run: u64 = (0..k).map(|f| pool - (pool / k + u64::from(f < pool % k))).sum();
                epochs as u64 * per_run
            }
        }
    }
}

/// A trial's per-fold scores, and what the study ranks it by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldScores {
    pub scores: Vec<f64>,
}

impl FoldScores {
    pub fn mean(&self) -> f64 {
        self.scores.iter().sum::<f64>() / self.scores.len() as f64
    }

    /// The sample standard deviation of the folds' scores (0 for one fold).
    pub fn spread(&self) -> f64 {
        let n = self.scores.len();
        if n < 2 {
            return 0.0;
        }
        let mean = self.mean();
        (self.scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
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
        let scores = FoldScores { scores: vec![0.97, 0.98, 0.99] };
        assert!((scores.mean() - 0.98).abs() < 1e-12 && (scores.spread() - 0.01).abs() < 1e-12);
        assert_eq!(serde_json::to_string(&CrossValidation::KFold { k: 10 }).unwrap(), r#"{"kind":"k_fold","k":10}"#);
    }
}
