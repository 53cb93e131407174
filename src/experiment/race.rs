//! A race: several tuning methods search one space on the same budget, the same training images
//! and the same seed, one study per method, their trials sharing the workers.
//!
//! `RaceSetup` is the experiment as the page's panel and the command line's flags give it,
//! checked field by field (`check` names the field and says why in the form's words), so that
//! the page can mark each bad field and the command line can refuse with the same sentence.
//!
//! The budget is counted per method in epoch-equivalents of the training subset (one pass over
//! its images): training images are what a trial costs, whatever its batch size or fold count,
//! so every method spends the same compute.
//!
//! Seeds: every trial of a race trains with the experiment's seed — the same subset and folds,
//! and the same training seed (initial weights, shuffling, dropout). The seed does not depend on
//! the configuration, so two methods trying the same point get the same score, and two points
//! differ only by what their values do, not by a different draw of the initial weights (common
//! random numbers). Each method's own choices draw from the same seed through its study's
//! generator, so the methods that start with random draws (random search, TPE's and GP-EI's
//! warm-up) start at the same points: they part ways once the models take over, in plain sight.

use super::job::images_scored;
use super::presets::{apply, check_for_training, HyperparamError};
use crate::data::validation::{SetError, TrainingSet};
use crate::nn::bench::Calibration;
use crate::nn::TrainConfig;
use crate::tuning::median_pruner::MedianPruner;
use crate::tuning::methods;
use crate::tuning::space::{SearchSpace, Value};
use crate::tuning::study::{CostFn, Direction, StudyConfig};
use crate::tuning::supervisor::Resource;
use serde::{Deserialize, Serialize};

/// The most proposals per round a race takes.
pub const MAX_PROPOSALS: usize = 64;

/// A race as the user sets it up. The worker count is not part of it: it changes no result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RaceSetup {
    /// The methods' registry names, in the order they are shown.
    pub methods: Vec<String>,
    pub space: SearchSpace,
    /// Per method, in epoch-equivalents of the training subset.
    pub budget_epochs: u32,
    pub data: TrainingSet,
    pub seed: u32,
    /// Trials each method proposes at a time (its next round waits for all of them).
    pub proposals: usize,
    /// The values of the hyperparameters the space does not search.
    pub base: TrainConfig,
    /// Stop poor trials early by the median-stopping rule, for every method that proposes
    /// points (those that act inside training have their own rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruner: Option<MedianPruner>,
}

/// A field of the experiment panel (and its command-line flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Methods,
    Space,
    Budget,
    Subset,
    Validation,
    Proposals,
}

/// Why a field's value cannot run.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: Field,
    pub problem: SetupProblem,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.problem.fmt(f)
    }
}

/// What is wrong with a race's setup: kept as data so that the page can say it in its language
/// (`text::problems`); `Display` is the command line's English.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SetupProblem {
    #[error("choose at least one method to race")]
    NoMethod,
    #[error("unknown method {name:?}; the methods are {}", methods::names().collect::<Vec<_>>().join(", "))]
    UnknownMethod { name: String },
    #[error("each method races once")]
    RepeatedMethod,
    #[error("switch on at least one hyperparameter to search")]
    NoParam,
    /// A param the CNN does not know, or whose range reaches values it cannot train with.
    #[error(transparent)]
    Space(#[from] HyperparamError),
    /// Methods that pause and resume trials (their registry names) with k-fold validation.
    #[error("{} pause and resume trials, which needs hold-out validation, not k-fold", pausing.iter().map(|m| methods::by_name(m).map_or(*m, |m| m.label)).collect::<Vec<_>>().join(" and "))]
    PausingNeedsHoldout { pausing: Vec<&'static str> },
    #[error(transparent)]
    Data(#[from] SetError),
    #[error("proposals per round: a whole number from 1 to {MAX_PROPOSALS}")]
    Proposals,
    #[error("the budget must be at least one epoch-equivalent")]
    NoBudget,
    /// The budget buys less than the cheapest trial, which costs `need` epoch-equivalents.
    #[error("the budget is smaller than one trial: the cheapest trial costs {need} epoch-equivalents")]
    BudgetBelowOneTrial { need: u64 },
}

impl Default for RaceSetup {
    /// The default race: grid, random and the two Bayesian methods on the seed's 243-point grid,
    /// 2,000 training images, hold-out, 100 epoch-equivalents each (BENCHMARKS.md shows it ends
    /// within three minutes on a four-core laptop).
    fn default() -> Self {
        Self {
            methods: ["grid", "random", "tpe", "gp-ei"].map(String::from).to_vec(),
            space: super::presets::seed_grid(),
            budget_epochs: 100,
            data: TrainingSet { images: 2_000, validation: crate::data::validation::CrossValidation::Holdout },
            seed: 1,
            proposals: 4,
            base: TrainConfig::default(),
            pruner: None,
        }
    }
}

impl RaceSetup {
    /// Every field that cannot run, with the reason (empty: the race can start).
    pub fn problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        let mut bad = |field, problem: SetupProblem| out.push(FieldError { field, problem });
        if self.methods.is_empty() {
            bad(Field::Methods, SetupProblem::NoMethod);
        }
        for name in &self.methods {
            if methods::by_name(name).is_err() {
                bad(Field::Methods, SetupProblem::UnknownMethod { name: name.clone() });
            }
        }
        if self.methods.iter().enumerate().any(|(i, m)| self.methods[..i].contains(m)) {
            bad(Field::Methods, SetupProblem::RepeatedMethod);
        }
        let space_ok = if self.space.is_empty() {
            bad(Field::Space, SetupProblem::NoParam);
            false
        } else if let Err(e) = check_for_training(&self.space, &self.base) {
            bad(Field::Space, e.into());
            false
        } else {
            true
        };
        let pausing: Vec<&str> = self.methods.iter().filter_map(|m| methods::by_name(m).ok()).filter(|m| m.acts_inside_training()).map(|m| m.name).collect();
        if !pausing.is_empty() && self.data.validation != crate::data::validation::CrossValidation::Holdout {
            bad(Field::Validation, SetupProblem::PausingNeedsHoldout { pausing });
        }
        let data_ok = match self.data.check() {
            Ok(_) => true,
            Err(e) => {
                let field = if matches!(e, SetError::Validation(_)) { Field::Validation } else { Field::Subset };
                bad(field, e.into());
                false
            }
        };
        if !(1..=MAX_PROPOSALS).contains(&self.proposals) {
            bad(Field::Proposals, SetupProblem::Proposals);
        }
        if self.budget_epochs == 0 {
            bad(Field::Budget, SetupProblem::NoBudget);
        } else if space_ok && data_ok {
            let cheapest = self.cheapest_trial();
            if self.budget_images() < cheapest {
                let need = cheapest.div_ceil(self.data.images as u64);
                bad(Field::Budget, SetupProblem::BudgetBelowOneTrial { need });
            }
        }
        out
    }

    /// The setup, if it can run; else every problem.
    pub fn check(&self) -> Result<&Self, Vec<FieldError>> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(problems)
        }
    }

    /// The budget per method in training images.
    pub fn budget_images(&self) -> u64 {
        self.budget_epochs as u64 * self.data.images as u64
    }

    /// What a trial at `values` costs, in training images (epochs × images over its runs).
    pub fn cost_of(&self, values: &[Value]) -> u64 {
        let epochs = apply(&self.space, values, &self.base).map_or(self.base.epochs, |c| c.epochs);
        self.data.cost(epochs)
    }

    /// The price list a study charges its proposals by.
    pub fn cost_fn(&self) -> CostFn {
        let setup = self.clone();
        Box::new(move |values| setup.cost_of(values))
    }

    /// The cheapest trial the space allows: its fewest epochs.
    fn cheapest_trial(&self) -> u64 {
        let epochs = match self.space.index_of("epochs") {
            Some(i) => self.space.params()[i].from_unit(0.0).as_f64().map_or(self.base.epochs, |e| e as u32),
            None => self.base.epochs,
        };
        self.data.cost(epochs.max(1))
    }

    /// Epochs as the resource of the methods that act inside training: the space's range of
    /// epochs if it searches them, else 1 to the configuration's epochs; an epoch costs one pass
    /// over the training images of every run.
    pub fn resource(&self) -> Resource {
        let param = self.space.index_of("epochs");
        let (min, max) = match param {
            Some(i) => {
                let p = &self.space.params()[i];
                let epochs = |u: f64| p.from_unit(u).as_f64().map_or(self.base.epochs, |e| e as u32);
                (epochs(0.0), epochs(1.0))
            }
            None => (1, self.base.epochs),
        };
        Resource { min: min.max(1), max: max.max(1), unit_cost: self.data.cost(1), param }
    }

    /// How each method's study runs.
    pub fn study_config(&self) -> StudyConfig {
        StudyConfig { seed: self.seed as u64, direction: Direction::Maximize, budget: self.budget_images(), batch_size: self.proposals }
    }

    /// Budget images per second one worker gets through, estimated from a worker's
    /// calibration for a typical trial of this race (the space's middle point): its training at
    /// the calibrated training speed and its validation at the scoring speed. For the estimate
    /// before any trial has run; complete trials measure it better.
    pub fn calibrated_rate(&self, calibration: &Calibration) -> Option<f64> {
        let middle = self.space.values_at(&vec![0.5; self.space.len()]);
        let epochs = apply(&self.space, &middle, &self.base).map_or(self.base.epochs, |c| c.epochs).max(1);
        let cost = self.data.cost(epochs) as f64;
        let seconds = cost / calibration.train_images_per_second + images_scored(self.data, epochs) as f64 / calibration.score_images_per_second;
        let rate = cost / seconds;
        (rate.is_finite() && rate > 0.0).then_some(rate)
    }
}

/// Wall time left, in seconds: `images_left` to train at `images_per_second` per worker on
/// `workers` workers (None until a rate is known).
pub fn estimate_seconds(images_left: u64, images_per_second: Option<f64>, workers: usize) -> Option<f64> {
    let rate = images_per_second.filter(|r| *r > 0.0)?;
    Some(images_left as f64 / (rate * workers.max(1) as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::validation::CrossValidation;
    use crate::tuning::space::Param;

    fn fields(setup: &RaceSetup) -> Vec<(Field, String)> {
        setup.problems().into_iter().map(|e| (e.field, e.to_string())).collect()
    }

    #[test]
    fn the_default_race_can_run() {
        let setup = RaceSetup::default();
        assert_eq!(fields(&setup), vec![]);
        assert_eq!(setup.budget_images(), 200_000);
        // The seed's cheapest point trains 5 epochs on 2,000 images.
        assert_eq!(setup.cheapest_trial(), 10_000);
    }

    #[test]
    fn every_bad_field_is_named_with_its_reason() {
        let setup = RaceSetup { methods: vec![], proposals: 0, ..RaceSetup::default() };
        assert_eq!(
            fields(&setup),
            vec![(Field::Methods, "choose at least one method to race".into()), (Field::Proposals, "proposals per round: a whole number from 1 to 64".into())]
        );
        let setup = RaceSetup { methods: vec!["grid".into(), "annealing".into(), "grid".into()], ..RaceSetup::default() };
        let problems = fields(&setup);
        assert!(problems[0].1.starts_with("unknown method \"annealing\""), "{problems:?}");
        assert_eq!(problems[1], (Field::Methods, "each method races once".into()));
        let setup = RaceSetup { budget_epochs: 4, ..RaceSetup::default() };
        assert_eq!(fields(&setup), vec![(Field::Budget, "the budget is smaller than one trial: the cheapest trial costs 5 epoch-equivalents".into())]);
        let setup = RaceSetup { budget_epochs: 0, ..RaceSetup::default() };
        assert_eq!(fields(&setup)[0].0, Field::Budget);
        let setup = RaceSetup { data: TrainingSet { images: 2, validation: CrossValidation::KFold { k: 3 } }, ..RaceSetup::default() };
        assert_eq!(fields(&setup), vec![(Field::Subset, "each trial needs at least 3 training images, one per fold; got 2".into())]);
        let setup = RaceSetup { data: TrainingSet { images: 2_000, validation: CrossValidation::KFold { k: 4 } }, ..RaceSetup::default() };
        assert_eq!(fields(&setup), vec![(Field::Validation, "k-fold cross-validation takes k = 3, 5 or 10; got 4".into())]);
        let setup = RaceSetup { space: SearchSpace::nothing(), ..RaceSetup::default() };
        assert_eq!(fields(&setup), vec![(Field::Space, "switch on at least one hyperparameter to search".into())]);
        let setup = RaceSetup { space: SearchSpace::new(vec![Param::float("dropout", 0.0, 1.0)]).unwrap(), ..RaceSetup::default() };
        assert!(fields(&setup)[0].1.starts_with("dropout at 1:"));
    }

    #[test]
    fn a_calibration_prices_a_typical_trial_with_its_validation() {
        // The default race: 2,000 images, hold-out; the space's middle has 10 epochs.
        let setup = RaceSetup::default();
        let calibration = Calibration { train_images_per_second: 4_000.0, score_images_per_second: 14_000.0 };
        let (cost, scored) = (10.0 * 2_000.0, 9.0 * 2_000.0 + 10_000.0);
        let rate = setup.calibrated_rate(&calibration).unwrap();
        assert!((rate - cost / (cost / 4_000.0 + scored / 14_000.0)).abs() < 1e-9, "{rate}");
        assert!(rate < 4_000.0, "validation slows a trial below the training speed");
        assert_eq!(setup.calibrated_rate(&Calibration { train_images_per_second: 0.0, ..calibration }), None);
    }

    #[test]
    fn a_trial_costs_its_epochs_over_its_runs() {
        let setup = RaceSetup { data: TrainingSet { images: 3_000, validation: CrossValidation::KFold { k: 3 } }, ..RaceSetup::default() };
        let values = vec![Value::Float(0.01), Value::Int(10), Value::Int(64), Value::Int(3), Value::Float(0.001)];
        // Three runs, each on two thirds of the images, ten epochs each.
        assert_eq!(setup.cost_of(&values), 10 * 3 * 2_000);
        assert_eq!(estimate_seconds(10_000, Some(1_000.0), 2), Some(5.0));
        assert_eq!(estimate_seconds(10_000, None, 2), None);
    }
}
