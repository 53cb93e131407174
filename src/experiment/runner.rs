//! A whole CNN study, run in this thread: a method searches a space of training configurations
//! on a budget of training images, each trial scored by validation accuracy — on the fixed
//! validation split (holdout, training on a stratified subset of the training split) or by
//! k-fold cross-validation over a stratified subset of the training file's 60,000 images — and the
//! best configuration is retrained on all of them and tested once. The browser runs the same steps
//! with trials spread over workers; this is the single-threaded reference, and what the command
//! line and the tests use.

use super::cv::{cross_validate, CrossValidation, FoldError};
use super::final_eval::{retrain_and_test, FinalEvaluation};
use super::presets::apply;
use crate::data::folds::stratified_folds;
use crate::data::mnist::ImagesRef;
use crate::data::subset::stratified_subset;
use crate::nn::{train, EpochReport, TrainConfig, TrainOutcome, TrainingData};
use crate::tuning::space::{SearchSpace, Value};
use crate::tuning::strategy::Strategy;
use crate::tuning::study::{Direction, Outcome, Study, StudyConfig, Trial};

/// What a study trains on and how it scores.
#[derive(Debug, Clone)]
pub struct StudySetup {
    pub seed: u64,
    /// Training images per trial: a stratified subset of the training split (holdout) or of
    /// the training file (k-fold), the same for every trial.
    pub images: usize,
    pub validation: CrossValidation,
    /// Budget in training images (epochs × images, summed over folds).
    pub budget: u64,
    /// Trials proposed at a time.
    pub batch: usize,
    /// Values of the hyperparameters the space does not set.
    pub base: TrainConfig,
}

impl StudySetup {
    /// Whether the setup can run: at least one training image per trial (so every trial costs
    /// budget and the study ends), and for k-fold at least k, so that no fold is empty.
    pub fn check(&self) -> Result<(), String> {
        self.validation.validate().map_err(|e| e.to_string())?;
        let least = self.validation.runs().max(1) as usize;
        if self.images < least {
            let what = if least > 1 { format!("{least} training images, one per fold") } else { "1 training image".into() };
            return Err(format!("each trial needs at least {what}; got {}", self.images));
        }
        Ok(())
    }
}

/// A finished study: its trials (with their per-fold scores under k-fold), and the final test
/// of the best.
pub struct StudyResult {
    pub study: Study,
    pub final_evaluation: Option<Result<FinalEvaluation, String>>,
}

/// Run a study to its end. `train_file` is the training file's 60,000 images (its last sixth is the
/// validation split), `test` the test images, used only for the final evaluation (skipped if
/// `test` is None).
/// `on_trial` sees each trial as it finishes. The setup must pass `StudySetup::check`.
pub fn run_study(
    space: SearchSpace,
    method: Box<dyn Strategy>,
    setup: &StudySetup,
    train_file: ImagesRef<'_>,
    test: Option<ImagesRef<'_>>,
    on_trial: &mut dyn FnMut(&Trial),
) -> StudyResult {
    assert_eq!(setup.check(), Ok(()), "a checked study setup");
    let (train_split, validation) = train_file.train_validation_split();
    let (scheme, images) = (setup.validation, setup.images);
    // What the trials train on: a subset of the training split (holdout), or the folds of a
    // subset of the training file (k-fold) — only the one the scheme uses is drawn.
    let (holdout_subset, folds): (Vec<usize>, Vec<Vec<usize>>) = match scheme {
        CrossValidation::Holdout => (stratified_subset(train_split.labels, images, setup.seed), Vec::new()),
        CrossValidation::KFold { k } => {
            let cv_subset = stratified_subset(train_file.labels, images, setup.seed);
            let subset_labels: Vec<u8> = cv_subset.iter().map(|&i| train_file.labels[i]).collect();
            // Folds of positions in the subset, turned into indices of the training file.
            (
                Vec::new(),
                stratified_folds(&subset_labels, k as usize, setup.seed).into_iter().map(|fold| fold.into_iter().map(|p| cv_subset[p]).collect()).collect(),
            )
        }
    };
    let (train_images, fold_images) = (holdout_subset.len() as u64, folds.iter().map(Vec::len).sum::<usize>() as u64);
    let (cost_space, base) = (space.clone(), setup.base.clone());
    let cost = Box::new(move |values: &[Value]| {
        let epochs = apply(&cost_space, values, &base).map_or(base.epochs, |c| c.epochs);
        scheme.cost(epochs, train_images, fold_images)
    });
    let config = StudyConfig { seed: setup.seed, direction: Direction::Maximize, budget: setup.budget, batch_size: setup.batch };
    let mut study = Study::new(space.clone(), method, config, cost);
    study.optimize(
        |trial| {
            let config = match apply(&space, trial.values, &setup.base) {
                Ok(config) => config,
                Err(e) => return Outcome::Failed(e.to_string()),
            };
            // Each epoch's validation accuracy is reported (every fold's in turn under k-fold).
            let mut report = |r: &EpochReport| {
                trial.report(r.validation_accuracy.unwrap_or(f32::NAN) as f64);
                true
            };
            match scheme {
                CrossValidation::Holdout => {
                    let (outcome, _) = train(&config, TrainingData::subset(train_split, &holdout_subset, Some(validation)), setup.seed, &mut report);
                    match outcome {
                        TrainOutcome::Completed { .. } => Outcome::Complete(outcome.final_validation_accuracy().map_or(f64::NAN, f64::from)),
                        TrainOutcome::Diverged { diverged, .. } => Outcome::Diverged(diverged.to_string()),
                        TrainOutcome::Stopped { .. } => Outcome::Interrupted,
                    }
                }
                CrossValidation::KFold { .. } => match cross_validate(&config, train_file, &folds, setup.seed, &mut |_, r| report(r)) {
                    Ok(scores) => Outcome::Folds(scores),
                    Err(e @ FoldError::Diverged { .. }) => Outcome::Diverged(e.to_string()),
                    Err(e @ FoldError::Stopped { .. }) => Outcome::Failed(e.to_string()),
                },
            }
        },
        |trial| on_trial(trial),
    );
    let final_evaluation = match (test, study.best()) {
        (Some(test), Some(best)) => Some(
            apply(&space, &best.values, &setup.base)
                .map_err(|e| e.to_string())
                .and_then(|config| retrain_and_test(&config, train_file, test, setup.seed, &mut |_| true)),
        ),
        _ => None,
    };
    StudyResult { study, final_evaluation }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::synthetic_digits;
    use crate::nn::OptimizerKind;
    use crate::tuning::random::RandomSearch;
    use crate::tuning::space::Param;
    use crate::tuning::study::TrialState;

    #[test]
    fn setups_that_cannot_run_are_refused() {
        let setup = |images, validation| StudySetup { seed: 0, images, validation, budget: 100, batch: 1, base: TrainConfig::default() };
        assert_eq!(setup(0, CrossValidation::Holdout).check().unwrap_err(), "each trial needs at least 1 training image; got 0");
        assert_eq!(setup(2, CrossValidation::KFold { k: 3 }).check().unwrap_err(), "each trial needs at least 3 training images, one per fold; got 2");
        assert_eq!(setup(9, CrossValidation::KFold { k: 4 }).check().unwrap_err(), "k-fold cross-validation takes k = 3, 5 or 10; got 4");
        assert!(setup(3, CrossValidation::KFold { k: 3 }).check().is_ok() && setup(1, CrossValidation::Holdout).check().is_ok());
    }

    #[test]
    fn a_study_trains_its_trials_within_budget_and_tests_the_best() {
        let (pixels, labels) = synthetic_digits(600);
        let train_file = ImagesRef { pixels: &pixels, labels: &labels };
        let (test_pixels, test_labels) = synthetic_digits(100);
        let test = ImagesRef { pixels: &test_pixels, labels: &test_labels };
        let space = SearchSpace::new(vec![Param::log_float("learning_rate", 0.005, 0.2), Param::int("epochs", 1, 2)]).unwrap();
        let base = TrainConfig { batch_size: 16, conv_layers: 1, conv_filters: vec![4], dense_units: 0, ..Default::default() };
        for validation in [CrossValidation::Holdout, CrossValidation::KFold { k: 3 }] {
            let setup = StudySetup { seed: 1, images: 200, validation, budget: 3_000, batch: 2, base: base.clone() };
            let mut finished = 0;
            let result = run_study(space.clone(), Box::new(RandomSearch), &setup, train_file, Some(test), &mut |_| finished += 1);
            assert_eq!(finished, result.study.trials().len());
            let trials = result.study.trials();
            assert!(!trials.is_empty() && result.study.spent() <= 3_000, "{validation:?}: {} trials, {} spent", trials.len(), result.study.spent());
            for t in trials {
                assert_eq!(t.state, TrialState::Complete, "{validation:?}");
                let epochs = t.values[1].as_f64().unwrap() as usize;
                let runs = validation.runs() as usize;
                assert_eq!(t.progress.len(), epochs * runs, "one report per epoch per fold");
                assert_eq!(t.folds.as_ref().map(|f| f.scores.len()), (runs > 1).then_some(runs));
                if let Some(folds) = &t.folds {
                    assert_eq!(t.score, Some(folds.mean()));
                    assert!(folds.spread().is_finite());
                }
            }
            let best = result.study.best().unwrap();
            assert!(best.score.unwrap() > 0.5, "{validation:?}: best {:?}", best.score);
            let final_eval = result.final_evaluation.unwrap().unwrap();
            assert_eq!(final_eval.train_images, 600);
            assert!(final_eval.test_accuracy > 0.5, "{final_eval:?}");
        }
    }

    #[test]
    fn a_diverging_trial_ends_diverged_under_holdout_and_k_fold() {
        let (pixels, labels) = synthetic_digits(300);
        let train_file = ImagesRef { pixels: &pixels, labels: &labels };
        // With lr·λ₂ ≥ 50 the weight decay step multiplies every weight by −49 or less: twenty
        // batches overflow f32.
        let space = SearchSpace::new(vec![Param::log_float("learning_rate", 5.0, 10.0)]).unwrap();
        let base = TrainConfig {
            epochs: 1,
            batch_size: 4,
            conv_layers: 1,
            conv_filters: vec![4],
            dense_units: 0,
            optimizer: OptimizerKind::SGD,
            l2: 10.0,
            ..Default::default()
        };
        for (validation, reason) in [
            (CrossValidation::Holdout, "training diverged in epoch 1"),
            (CrossValidation::KFold { k: 3 }, "diverged in fold 1 of 3: training diverged in epoch 1"),
        ] {
            let setup = StudySetup { seed: 1, images: 120, validation, budget: 480, batch: 1, base: base.clone() };
            let result = run_study(space.clone(), Box::new(RandomSearch), &setup, train_file, None, &mut |_| {});
            let trials = result.study.trials();
            assert!(trials.len() >= 2, "{validation:?}: {} trials", trials.len());
            for t in trials {
                let TrialState::Diverged(why) = &t.state else { panic!("{validation:?}: trial {} is {}", t.id, t.state) };
                assert!(why.starts_with(reason), "{validation:?}: {why}");
                assert_eq!(t.score, None);
            }
            assert!(result.study.best().is_none() && result.final_evaluation.is_none());
        }
    }
}
