//! A study: one tuning method searching one space on one budget, as a list of trials.
//!
//! Trials go Waiting → Running → Complete | Pruned | Failed(reason) | Diverged(reason) |
//! Interrupted, and a finished trial never changes (`TrialState` says what the methods learn from
//! each). The method proposes trials in batches of a size fixed by the study's
//! configuration; batch k is proposed only once every trial of the earlier batches has finished,
//! from their results in trial order, with the study's one seeded generator. So the proposals
//! depend on the seed, the configuration and earlier results only — never on how many workers
//! ran the trials or which finished first — and a shared experiment replays identically.
//!
//! The budget is counted in cost units the caller defines — for the CNN, training images
//! processed (epoch-equivalents), so that every method in a race spends the same compute; for
//! `tunelab ask-tell`, evaluations. A trial's cost is reserved when it is proposed, so the
//! budget is never exceeded; a pruned trial gives back what it did not use. A proposal that no
//! longer fits what is left is skipped, not run — the method sees it as a trial that taught
//! nothing, so its proposals and its history stay in step — and the method goes on proposing;
//! it ends when a batch's worth of its proposals in a row fit nothing (or nothing is left). So a method
//! whose points cost different amounts (epochs in the space) spends its budget down to what its
//! own proposals can use, rather than stopping at its first unaffordable one.
//!
//! `ask` and `tell` drive a study trial by trial (the browser's workers, `tunelab ask-tell`);
//! `optimize` runs one to its end in this thread with an objective function.

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

/// How a study runs, besides its space, method and prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudyConfig {
    /// Seeds the study's one generator, from which the method draws all its randomness: the same
    /// seed, configuration and results give the same trials on any machine.
    pub seed: u64,
    /// Whether the objective's score is to be minimised (a loss, `tunelab ask-tell`'s default)
    /// or maximised (an accuracy, for the CNN).
    pub direction: Direction,
    /// The most the trials may cost in all, in the units the study's `CostFn` prices them in
    /// (training images for the CNN, evaluations for `tunelab ask-tell`).
    pub budget: u64,
    /// Trials proposed at a time (0 counts as 1): the next batch is proposed only once every
    /// trial of this one has finished, so a batch as large as the number of workers keeps them
    /// all busy.
    pub batch_size: usize,
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
/// - Pruned, Failed (the objective could not score it: a crash, a score that is not a number)
///   and Interrupted (stopped from outside): nothing, as Optuna's samplers ignore failed trials;
///   they say nothing about their values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum TrialState {
    Waiting,
    Running,
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
            TrialState::Complete => "complete",
            TrialState::Pruned => "pruned",
            TrialState::Failed(_) => "failed",
            TrialState::Diverged(_) => "diverged",
            TrialState::Interrupted => "interrupted",
        }
    }

    pub fn is_finished(&self) -> bool {
        !matches!(self, TrialState::Waiting | TrialState::Running)
    }
}

/// How a running trial ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The objective's value (a non-finite value makes the trial Failed).
    Complete(f64),
    /// Scored on every fold of a cross-validation: Complete with their mean (Failed if that is
    /// not a number), each fold's score kept on the trial.
    Folds(FoldScores),
    /// Stopped early with its last value, having used `cost` of its reserved cost.
    Pruned {
        value: f64,
        cost: u64,
    },
    Failed(String),
    /// Its training diverged (why and when): the methods learn that its values are bad (see
    /// `TrialState`).
    Diverged(String),
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

impl Trial {
    /// Complete with `score`, or Failed if it is not a number.
    fn complete(&mut self, score: f64) {
        if score.is_finite() {
            self.state = TrialState::Complete;
            self.score = Some(score);
        } else {
            self.state = TrialState::Failed(format!("its score is {score}, not a number"));
        }
    }
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
    config: StudyConfig,
    cost: CostFn,
    rng: Rng64,
    trials: Vec<Trial>,
    /// Every proposal, in the order the method made them (its history's order).
    proposals: Vec<Proposal>,
    /// Reserved or spent so far.
    spent: u64,
    batches: usize,
    /// Proposals skipped in a row (since the last one that fitted).
    skipped_in_a_row: usize,
    /// No more batches: the method ran dry, the budget is spent, or a batch's worth of
    /// proposals in a row did not fit.
    closed: bool,
}

/// One of the method's proposals: run as a trial, or skipped because its cost no longer fit.
#[derive(Debug, Clone)]
enum Proposal {
    Trial(usize),
    Skipped { values: Vec<Value>, unit: Vec<f64> },
}

impl Study {
    /// `strategy` searches `space` as `config` says; `cost` prices a proposal in budget units
    /// (1 per evaluation for a plain objective).
    pub fn new(space: SearchSpace, strategy: Box<dyn Strategy>, config: StudyConfig, cost: CostFn) -> Self {
        let config = StudyConfig { batch_size: config.batch_size.max(1), ..config };
        Self {
            space,
            strategy,
            config,
            cost,
            rng: rng_for(config.seed, streams::TUNING),
            trials: Vec::new(),
            proposals: Vec::new(),
            skipped_in_a_row: 0,
            spent: 0,
            batches: 0,
            closed: false,
        }
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
    pub fn config(&self) -> &StudyConfig {
        &self.config
    }
    pub fn direction(&self) -> Direction {
        self.config.direction
    }
    /// Budget reserved by proposed trials or spent (never above `budget`).
    pub fn spent(&self) -> u64 {
        self.spent
    }
    pub fn budget(&self) -> u64 {
        self.config.budget
    }
    /// Proposals skipped because their cost no longer fit the budget.
    pub fn skipped(&self) -> usize {
        self.proposals.iter().filter(|p| matches!(p, Proposal::Skipped { .. })).count()
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

    /// Every trial that asks can give now (for several workers at once).
    pub fn ask_all(&mut self) -> Vec<(usize, Vec<Value>)> {
        let mut runs = Vec::new();
        while let Ask::Run { id, values } = self.ask() {
            runs.push((id, values));
        }
        runs
    }

    fn propose_batch(&mut self) {
        let history = self.history();
        let proposals = self.strategy.ask(&self.space, &history, self.config.batch_size, &mut self.rng);
        let ran_dry = proposals.is_empty();
        for values in proposals {
            let cost = (self.cost)(&values);
            let unit = self.space.unit_of(&values);
            if self.spent + cost > self.config.budget {
                self.proposals.push(Proposal::Skipped { values, unit });
                self.skipped_in_a_row += 1;
                continue;
            }
            self.spent += cost;
            self.skipped_in_a_row = 0;
            self.proposals.push(Proposal::Trial(self.trials.len()));
            self.trials.push(Trial {
                id: self.trials.len(),
                batch: self.batches,
                values,
                unit,
                state: TrialState::Waiting,
                score: None,
                progress: Vec::new(),
                folds: None,
                cost,
            });
        }
        // Ran dry, spent all, or wants only what it can no longer afford: a batch's worth in a
        // row (counted across batches, as an evolutionary method's last batch of a generation
        // may be short).
        if ran_dry || self.spent == self.config.budget || self.skipped_in_a_row >= self.config.batch_size {
            self.closed = true;
        }
        self.batches += 1;
    }

    /// What the method is shown of its proposals so far, in the order it made them: a complete
    /// trial's loss; for a diverged one, the worst complete trial's loss (none while no trial has
    /// completed); no loss for the others, nor for a skipped proposal (see `TrialState`).
    pub fn history(&self) -> Vec<Observation> {
        let complete_loss = |t: &Trial| match (&t.state, t.score) {
            (TrialState::Complete, Some(score)) => Some(self.oriented(score)),
            _ => None,
        };
        let worst = self.trials.iter().filter_map(complete_loss).reduce(f64::max);
        self.proposals
            .iter()
            .map(|proposal| match proposal {
                Proposal::Trial(id) => {
                    let t = &self.trials[*id];
                    let loss = match t.state {
                        TrialState::Diverged(_) => worst,
                        _ => complete_loss(t),
                    };
                    Observation { values: t.values.clone(), unit: t.unit.clone(), loss }
                }
                Proposal::Skipped { values, unit } => Observation { values: values.clone(), unit: unit.clone(), loss: None },
            })
            .collect()
    }

    /// The score as a loss to minimise.
    fn oriented(&self, score: f64) -> f64 {
        match self.config.direction {
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
            Outcome::Complete(value) => trial.complete(value),
            Outcome::Folds(scores) => {
                let mean = scores.mean();
                trial.folds = Some(scores);
                trial.complete(mean);
            }
            Outcome::Pruned { value, cost } => {
                trial.state = TrialState::Pruned;
                trial.score = value.is_finite().then_some(value);
                refund = trial.cost.saturating_sub(cost);
                trial.cost -= refund;
            }
            Outcome::Failed(reason) => trial.state = TrialState::Failed(reason),
            Outcome::Diverged(reason) => trial.state = TrialState::Diverged(reason),
            Outcome::Interrupted => trial.state = TrialState::Interrupted,
        }
        self.spent -= refund;
        Ok(())
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

    /// Run the study to its end in this thread: every trial `ask` gives is evaluated by
    /// `objective`, which reports values along the way through its `TrialRun` and returns how
    /// the trial ended; the values are recorded (as `report` does) and the outcome told, trial
    /// after trial, until the method or the budget runs out. `on_finished` sees each trial as it
    /// finishes. The trials are those any number of workers driving `ask` and `tell` would get.
    /// It stops early only if a trial handed out by an earlier `ask` is still running (the next
    /// batch would wait for it).
    pub fn optimize(&mut self, mut objective: impl FnMut(&mut TrialRun<'_>) -> Outcome, mut on_finished: impl FnMut(&Trial)) {
        while let Ask::Run { id, values } = self.ask() {
            let mut run = TrialRun { id, values: &values, progress: Vec::new() };
            let outcome = objective(&mut run);
            for value in std::mem::take(&mut run.progress) {
                self.report(id, value).expect("the trial optimize runs is running");
            }
            self.tell(id, outcome).expect("the trial optimize runs is running");
            on_finished(&self.trials[id]);
        }
    }
}

/// A trial as `Study::optimize` hands it to the objective.
pub struct TrialRun<'a> {
    /// Its number, in the order trials were proposed.
    pub id: usize,
    /// The values to evaluate, in the space's order.
    pub values: &'a [Value],
    progress: Vec<f64>,
}

impl TrialRun<'_> {
    /// A value along the way (for the CNN, an epoch's validation accuracy), as `Study::report`.
    pub fn report(&mut self, value: f64) {
        self.progress.push(value);
    }
}
