//! A trial of a study, and where it stands: the types the study, the methods and whoever runs
//! the trials share (`study.rs` says how trials go from state to state).

use super::space::Value;
use serde::{Deserialize, Serialize};

/// Whether the objective's score is to be minimised or maximised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Minimize,
    Maximize,
}

/// Where a trial stands. What the methods learn from each finished state:
///
/// - Complete: its score.
/// - Diverged: that its values are bad. Its training blew up (a loss that stopped being a
///   number): not a fault of the machinery, like a failure, but a verdict on a region of the
///   space, which the methods must learn to avoid. They see it with a loss as bad as the worst
///   complete trial's among those they are shown — recomputed at each proposal, so always within
///   the range of real results — and with no loss (as a failure) while no trial has completed.
///   It is the rule SMAC applies to crashed runs (a worst-case cost), with the worst seen so far
///   in place of a fixed constant, which would dwarf the real scores in a model-based method's
///   standardisation; and it keeps every method's rule simple (ranks, densities and the GP see
///   an ordinary bad result).
/// - Paused is not finished: a trial of a method that acts inside training has trained part of
///   the way and waits, with its checkpoint, for the method's decision (go on, or stop).
/// - Pruned, Failed (the objective could not score it: a crash, a score that is not a number)
///   and Interrupted (stopped from outside): nothing, as Optuna's samplers ignore failed trials;
///   they say nothing about their values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum TrialState {
    Waiting,
    Running,
    Paused,
    Complete,
    Pruned,
    Failed(String),
    Diverged(String),
    Interrupted,
}

impl std::fmt::Display for TrialState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrialState::Failed(reason) | TrialState::Diverged(reason) => write!(f, "{} ({reason})", self.name()),
            _ => f.write_str(self.name()),
        }
    }
}

impl TrialState {
    /// The state's name, lower case, without its reason (as the page's `data-state` and the
    /// race's record spell it).
    pub fn name(&self) -> &'static str {
        match self {
            TrialState::Waiting => "waiting",
            TrialState::Running => "running",
            TrialState::Paused => "paused",
            TrialState::Complete => "complete",
            TrialState::Pruned => "pruned",
            TrialState::Failed(_) => "failed",
            TrialState::Diverged(_) => "diverged",
            TrialState::Interrupted => "interrupted",
        }
    }

    pub fn is_finished(&self) -> bool {
        !matches!(self, TrialState::Waiting | TrialState::Running | TrialState::Paused)
    }
}

/// A trial scored on each of k folds of a cross-validation: its score is their mean, and their
/// spread is kept beside it.
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trial {
    /// Its number, in the order trials were proposed (from 0).
    pub id: usize,
    /// The batch of proposals it came from.
    pub batch: usize,
    pub values: Vec<Value>,
    /// The point of the unit cube that stands for `values` (the charts draw these).
    pub unit: Vec<f64>,
    pub state: TrialState,
    /// The objective's value, for a Complete trial (its last value for a Pruned one).
    pub score: Option<f64>,
    /// Values reported along the way (per epoch, for the CNN; per epoch of every fold in turn
    /// under k-fold cross-validation).
    pub progress: Vec<f64>,
    /// A cross-validated trial's score on each fold (its score is their mean).
    pub folds: Option<FoldScores>,
    /// The cost charged to the budget.
    pub cost: u64,
    /// Epochs trained by the end of its last segment (0 until one ends, and for a trial that
    /// trains in one piece).
    pub reached: u32,
    /// The segment under way or next: trained up to this many epochs (None: to its end).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<u32>,
    /// The trial whose checkpoint the segment starts from: itself when it goes on, another for
    /// population-based training's copy; None from scratch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_from: Option<usize>,
    /// Its score at the end of each segment, with the epochs reached: Hyperband's rungs,
    /// population-based training's intervals.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pauses: Vec<(u32, f64)>,
    /// Its Hyperband bracket or population member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<u32>,
    /// Population-based training's copies: at which epochs it took on which trial's checkpoint,
    /// and its values before and after.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lineage: Vec<Inherited>,
    /// Under a median pruner, the score the trial must have reached (its best so far) by each
    /// step to go on (None: no rule at that step); fixed when it was handed out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_below: Vec<Option<f64>>,
    /// What the segment under way reserved.
    #[serde(skip)]
    pub(super) segment_cost: u64,
}

/// One copy in population-based training's lineage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inherited {
    /// Epochs trained when it happened.
    pub epochs: u32,
    /// Whose checkpoint it took (itself, when it kept its weights).
    pub from: usize,
    pub before: Vec<Value>,
    pub after: Vec<Value>,
}

impl Trial {
    /// Trial `id` of batch `batch`, waiting to run with these values at this cost.
    pub(crate) fn waiting(id: usize, batch: usize, values: Vec<Value>, unit: Vec<f64>, cost: u64) -> Self {
        Trial {
            id,
            batch,
            values,
            unit,
            state: TrialState::Waiting,
            score: None,
            progress: Vec::new(),
            folds: None,
            cost,
            reached: 0,
            until: None,
            resume_from: None,
            pauses: Vec::new(),
            group: None,
            lineage: Vec::new(),
            stop_below: Vec::new(),
            segment_cost: cost,
        }
    }

    /// Complete with `score`, or Failed if it is not a number.
    pub(super) fn complete(&mut self, score: f64) {
        if score.is_finite() {
            self.state = TrialState::Complete;
            self.score = Some(score);
        } else {
            self.state = TrialState::Failed(format!("its score is {score}, not a number"));
        }
    }
}
