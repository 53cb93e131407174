//! A study: one tuning method searching one space on one budget, as a list of trials.
//!
//! Trials go Waiting → Running → Complete | Pruned | Failed(reason) | Interrupted, and a finished
//! trial never changes. The method proposes trials in batches of a size fixed by the study's
//! configuration; batch k is proposed only once every trial of the earlier batches has finished,
//! from their results in trial order, with the study's one seeded generator. So the proposals
//! depend on the seed, the configuration and earlier results only — never on how many workers
//! ran the trials or which finished first — and a shared experiment replays identically.
//!
//! The budget is counted in cost units the caller defines — for the CNN, training images
//! processed (epoch-equivalents), so that every method in a race spends the same compute; for
//! `tunelab ask-tell`, evaluations. A trial's cost is reserved when it is proposed, and a batch
//! only takes the proposals that still fit, so the budget is never exceeded; a pruned trial
//! gives back what it did not use.

use super::space::{SearchSpace, Value};
use super::strategy::{Observation, Strategy};
use crate::rng::{rng_for, streams, Rng64};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Minimize,
    Maximize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum TrialState {
    Waiting,
    Running,
    Complete,
    Pruned,
    Failed(String),
    Interrupted,
}

impl std::fmt::Display for TrialState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrialState::Waiting => write!(f, "waiting"),
            TrialState::Running => write!(f, "running"),
            TrialState::Complete => write!(f, "complete"),
            TrialState::Pruned => write!(f, "pruned"),
            TrialState::Failed(reason) => write!(f, "failed ({reason})"),
            TrialState::Interrupted => write!(f, "interrupted"),
        }
    }
}

impl TrialState {
    pub fn is_finished(&self) -> bool {
        !matches!(self, TrialState::Waiting | TrialState::Running)
    }
}

/// How a running trial ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The objective's value (a non-finite value makes the trial Failed).
    Complete(f64),
    /// Stopped early with its last value, having used `cost` of its reserved cost.
    Pruned { value: f64, cost: u64 },
    Failed(String),
    /// Stopped from outside (a worker lost, a page closed); it taught nothing.
    Interrupted,
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
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StudyError {
    #[error("there is no trial {id}")]
    NoSuchTrial { id: usize },
    #[error("trial {id} is {state}, not running: a finished trial never changes, and a waiting one has not started")]
    NotRunning { id: usize, state: String },
}

/// What `ask` gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    /// Run this trial (it is now Running).
    Run { id: usize, values: Vec<Value> },
    /// Nothing to run until a running trial finishes (the next batch waits for it).
    Wait,
    /// The method is exhausted or the budget spent, and no trial is waiting.
    Done,
}

/// Prices a proposal in budget units.
pub type CostFn = Box<dyn Fn(&[Value]) -> u64>;

pub struct Study {
    space: SearchSpace,
    strategy: Box<dyn Strategy>,
    direction: Direction,
    budget: u64,
    batch_size: usize,
    cost: CostFn,
    rng: Rng64,
    trials: Vec<Trial>,
    /// Reserved or spent so far.
    spent: u64,
    batches: usize,
    /// No more batches: the method ran dry or the budget would be exceeded.
    closed: bool,
}

impl Study {
    /// `cost` prices a proposal in budget units (1 per evaluation for a plain objective).
    pub fn new(space: SearchSpace, strategy: Box<dyn Strategy>, seed: u64, direction: Direction, budget: u64, batch_size: usize, cost: CostFn) -> Self {
        Self { space, strategy, direction, budget, batch_size: batch_size.max(1), cost, rng: rng_for(seed, streams::TUNING), trials: Vec::new(), spent: 0, batches: 0, closed: false }
    }

    pub fn space(&self) -> &SearchSpace {
        &self.space
    }
    pub fn trials(&self) -> &[Trial] {
        &self.trials
    }
    pub fn method(&self) -> &'static str {
        self.strategy.name()
    }
    pub fn direction(&self) -> Direction {
        self.direction
    }
    /// Budget reserved by proposed trials or spent (never above `budget`).
    pub fn spent(&self) -> u64 {
        self.spent
    }
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// The next trial to run, if there is one now.
    pub fn ask(&mut self) -> Ask {
        if let Some(trial) = self.trials.iter_mut().find(|t| t.state == TrialState::Waiting) {
            trial.state = TrialState::Running;
            return Ask::Run { id: trial.id, values: trial.values.clone() };
        }
        if self.is_done() {
            return Ask::Done;
        }
        if self.closed || !self.trials.iter().all(|t| t.state.is_finished()) {
            return Ask::Wait;
        }
        // Either the batch has trials to hand out, or the study is now closed.
        self.propose_batch();
        self.ask()
    }

    /// Every trial that asks can give now (for a pool of workers).
    pub fn ask_all(&mut self) -> Vec<(usize, Vec<Value>)> {
        let mut runs = Vec::new();
        while let Ask::Run { id, values } = self.ask() {
            runs.push((id, values));
        }
        runs
    }

    fn propose_batch(&mut self) {
        let history: Vec<Observation> = self.trials.iter().map(|t| self.observation(t)).collect();
        let proposals = self.strategy.ask(&self.space, &history, self.batch_size, &mut self.rng);
        if proposals.is_empty() {
            self.closed = true;
        }
        for values in proposals {
            let cost = (self.cost)(&values);
            if self.spent + cost > self.budget {
                self.closed = true;
                break;
            }
            self.spent += cost;
            let unit = self.space.unit_of(&values);
            self.trials.push(Trial { id: self.trials.len(), batch: self.batches, values, unit, state: TrialState::Waiting, score: None, progress: Vec::new(), folds: None, cost });
        }
        self.batches += 1;
    }

    fn observation(&self, t: &Trial) -> Observation {
        let loss = match (&t.state, t.score) {
            (TrialState::Complete, Some(score)) => Some(self.oriented(score)),
            _ => None,
        };
        Observation { values: t.values.clone(), unit: t.unit.clone(), loss }
    }

    /// The score as a loss to minimise.
    fn oriented(&self, score: f64) -> f64 {
        match self.direction {
            Direction::Minimize => score,
            Direction::Maximize => -score,
        }
    }

    fn running(&mut self, id: usize) -> Result<&mut Trial, StudyError> {
        let trial = self.trials.get_mut(id).ok_or(StudyError::NoSuchTrial { id })?;
        if trial.state != TrialState::Running {
            return Err(StudyError::NotRunning { id, state: trial.state.to_string() });
        }
        Ok(trial)
    }

    /// A value reported by a running trial along the way.
    pub fn report(&mut self, id: usize, value: f64) -> Result<(), StudyError> {
        self.running(id)?.progress.push(value);
        Ok(())
    }

    /// How a running trial ended.
    pub fn tell(&mut self, id: usize, outcome: Outcome) -> Result<(), StudyError> {
        let trial = self.running(id)?;
        let mut refund = 0;
        match outcome {
            Outcome::Complete(value) if value.is_finite() => {
                trial.state = TrialState::Complete;
                trial.score = Some(value);
            }
            Outcome::Complete(value) => trial.state = TrialState::Failed(format!("its score is {value}, not a number")),
            Outcome::Pruned { value, cost } => {
                trial.state = TrialState::Pruned;
                trial.score = value.is_finite().then_some(value);
                refund = trial.cost.saturating_sub(cost);
                trial.cost -= refund;
            }
            Outcome::Failed(reason) => trial.state = TrialState::Failed(reason),
            Outcome::Interrupted => trial.state = TrialState::Interrupted,
        }
        self.spent -= refund;
        Ok(())
    }

    /// A running trial scored on every fold of a cross-validation: it completes with their
    /// mean (Failed if a fold's score is not a number), and keeps each fold's score.
    pub fn tell_folds(&mut self, id: usize, scores: FoldScores) -> Result<(), StudyError> {
        let mean = scores.mean();
        self.running(id)?.folds = Some(scores);
        self.tell(id, Outcome::Complete(mean))
    }

    /// The best complete trial (the first of equals).
    pub fn best(&self) -> Option<&Trial> {
        self.trials.iter().filter(|t| t.state == TrialState::Complete).min_by(|a, b| {
            let (x, y) = (self.oriented(a.score.unwrap()), self.oriented(b.score.unwrap()));
            x.total_cmp(&y).then(a.id.cmp(&b.id))
        })
    }

    /// Whether every trial has finished and no more will come.
    pub fn is_done(&self) -> bool {
        self.closed && self.trials.iter().all(|t| t.state.is_finished())
    }
}
