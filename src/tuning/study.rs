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
//! Methods that act inside training (`Supervisor`: successive halving, Hyperband,
//! population-based training) train their trials in segments instead: a trial trains to a number
//! of epochs and is Paused, its checkpoint kept by whoever runs it; when every trial handed out
//! has paused or finished, the method decides what comes next (`supervisor.rs`). Any method's
//! trials may also be given a median-stopping pruner: each trial is handed out with the scores
//! it must reach epoch by epoch, fixed from the complete trials of earlier rounds, so whoever
//! runs it can stop it at exactly the epoch the rule says.
//!
//! `ask` and `tell` drive a study trial by trial (the browser's workers, `tunelab ask-tell`);
//! `optimize` runs one to its end in this thread with an objective function.

use super::median_pruner::MedianPruner;
use super::snapshot::Round;
use super::space::{SearchSpace, Value};
use super::strategy::{Observation, Strategy};
use super::supervisor::{Barrier, Decision, Resource, Supervisor};
pub use super::trial::{Direction, FoldScores, Inherited, Trial, TrialState};
use crate::rng::{rng_for, streams, Rng64};
use serde::{Deserialize, Serialize};

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

/// How a running trial ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The objective's value (a non-finite value makes the trial Failed).
    Complete(f64),
    /// Scored on every fold of a cross-validation: Complete with their mean (Failed if that is
    /// not a number), each fold's score kept on the trial.
    Folds(FoldScores),
    /// Trained to the end of its segment (`reached` epochs) with this score; its checkpoint is
    /// kept for the method's decision.
    Paused {
        value: f64,
        reached: u32,
    },
    /// Stopped early with its last value, its segment under way having used `cost` of what it
    /// reserved (for a trial of one segment, of the trial's cost).
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

/// Where a trial handed out starts and stops (see `Study::segment`).
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// The trial whose checkpoint to resume (None: from scratch).
    pub resume_from: Option<usize>,
    /// Epochs trained already.
    pub from: u32,
    /// Pause after this many epochs (None: train to the end).
    pub until: Option<u32>,
    /// Median pruning's scores to reach, step by step (empty: none).
    pub stop_below: Vec<Option<f64>>,
}

/// How a study's method chooses: by proposing points, or by acting inside training.
enum Searcher {
    Proposes(Box<dyn Strategy>),
    Supervises(Box<dyn Supervisor>),
}

pub struct Study {
    space: SearchSpace,
    searcher: Searcher,
    /// Epochs as a resource: what a supervised method's segments are priced in.
    resource: Option<Resource>,
    pruner: Option<MedianPruner>,
    config: StudyConfig,
    cost: CostFn,
    rng: Rng64,
    trials: Vec<Trial>,
    /// Every proposal, in the order the method made them (its history's order).
    proposals: Vec<Proposal>,
    /// Each batch's proposals and the method's state behind them.
    rounds: Vec<Round>,
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
            searcher: Searcher::Proposes(strategy),
            resource: None,
            pruner: None,
            config,
            cost,
            rng: rng_for(config.seed, streams::TUNING),
            trials: Vec::new(),
            proposals: Vec::new(),
            rounds: Vec::new(),
            skipped_in_a_row: 0,
            spent: 0,
            batches: 0,
            closed: false,
        }
    }

    /// A study whose method acts inside training, its segments priced in epochs of `resource`.
    pub fn supervised(space: SearchSpace, supervisor: Box<dyn Supervisor>, config: StudyConfig, resource: Resource) -> Self {
        let cost = resource.max as u64 * resource.unit_cost;
        let mut study = Self::new(space, Box::new(super::random::RandomSearch), config, Box::new(move |_| cost));
        study.searcher = Searcher::Supervises(supervisor);
        study.resource = Some(resource);
        study
    }

    /// The resource a supervised study's segments are measured in.
    pub fn resource(&self) -> Option<Resource> {
        self.resource
    }

    /// Stop trials by the median-stopping rule: each trial is handed out with the scores it must
    /// reach step by step, from the complete trials of the earlier rounds.
    pub fn with_pruner(mut self, pruner: MedianPruner) -> Self {
        self.pruner = Some(pruner);
        self
    }

    pub fn pruner(&self) -> Option<&MedianPruner> {
        self.pruner.as_ref()
    }

    /// Where a trial handed out starts and stops.
    pub fn segment(&self, id: usize) -> Option<Segment> {
        let t = self.trials.get(id)?;
        let from = if t.resume_from.is_some() { t.reached } else { 0 };
        Some(Segment { resume_from: t.resume_from, from, until: t.until, stop_below: t.stop_below.clone() })
    }

    /// Each batch the method proposed, with the state it proposed it from ("why this point
    /// next"); none for a method that acts inside training.
    pub fn rounds(&self) -> &[Round] {
        &self.rounds
    }

    pub fn space(&self) -> &SearchSpace {
        &self.space
    }
    pub fn trials(&self) -> &[Trial] {
        &self.trials
    }
    pub fn method(&self) -> &'static str {
        match &self.searcher {
            Searcher::Proposes(strategy) => strategy.name(),
            Searcher::Supervises(supervisor) => supervisor.name(),
        }
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
        if self.closed || !self.trials.iter().all(|t| t.state.is_finished() || t.state == TrialState::Paused) {
            return Ask::Wait;
        }
        // Either the batch has trials to hand out, or the study is now closed.
        match self.searcher {
            Searcher::Proposes(_) => self.propose_batch(),
            Searcher::Supervises(_) => self.supervise(),
        }
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
        let stop_below = self.stop_below();
        let Searcher::Proposes(strategy) = &mut self.searcher else { unreachable!("only a proposing method's study proposes batches") };
        let proposals = strategy.ask(&self.space, &history, self.config.batch_size, &mut self.rng);
        if let Some(snapshot) = strategy.snapshot().filter(|_| !proposals.is_empty()) {
            let units = proposals.iter().map(|values| self.space.unit_of(values)).collect();
            self.rounds.push(Round { batch: self.batches, seen: history.len(), proposals: units, snapshot });
        }
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
            let mut trial = self.new_trial(values, unit, cost);
            trial.stop_below = stop_below.clone();
            self.trials.push(trial);
        }
        // Ran dry, spent all, or wants only what it can no longer afford: a batch's worth in a
        // row (counted across batches, as an evolutionary method's last batch of a generation
        // may be short).
        if ran_dry || self.spent == self.config.budget || self.skipped_in_a_row >= self.config.batch_size {
            self.closed = true;
        }
        self.batches += 1;
    }

    fn new_trial(&self, values: Vec<Value>, unit: Vec<f64>, cost: u64) -> Trial {
        Trial::waiting(self.trials.len(), self.batches, values, unit, cost)
    }

    /// Under a median pruner, the scores a trial proposed now must reach step by step, from
    /// every complete trial so far (all of them of earlier rounds: a round is proposed once the
    /// one before has finished).
    fn stop_below(&self) -> Vec<Option<f64>> {
        let Some(pruner) = &self.pruner else { return Vec::new() };
        let reference: Vec<&[f64]> = self.trials.iter().filter(|t| t.state == TrialState::Complete).map(|t| t.progress.as_slice()).collect();
        let steps = reference.iter().map(|c| c.len()).max().unwrap_or(0);
        let mut thresholds = pruner.thresholds(&reference, steps as u32);
        // Oriented so that "below" means worse: a minimised score's thresholds are kept as they
        // are, and `median_pruner::worse_than` reads them with the study's direction.
        while thresholds.last() == Some(&None) {
            thresholds.pop();
        }
        thresholds
    }

    /// A barrier of a supervised study: the method decides, and its decisions are applied in
    /// order, each as far as the budget allows. Nothing to run afterwards closes the study, and
    /// a trial still paused then ends Pruned.
    fn supervise(&mut self) {
        let resource = self.resource.expect("a supervised study has a resource");
        let Searcher::Supervises(supervisor) = &mut self.searcher else { unreachable!("only a supervised study supervises") };
        let barrier =
            Barrier { space: &self.space, trials: &self.trials, direction: self.config.direction, resource, budget_left: self.config.budget - self.spent };
        let decisions = supervisor.decide(&barrier, &mut self.rng);
        let until_of = |until: u32| (until < resource.max).then_some(until);
        // The trials paused at this barrier: a copy may take the checkpoint of one that an
        // earlier decision already sent on.
        let paused: Vec<bool> = self.trials.iter().map(|t| t.state == TrialState::Paused).collect();
        for decision in decisions {
            let left = self.config.budget - self.spent;
            match decision {
                Decision::Start { values, until, group } => {
                    let until = until.clamp(1, resource.max);
                    let cost = until as u64 * resource.unit_cost;
                    let unit = self.space.unit_of(&values);
                    if cost > left {
                        self.proposals.push(Proposal::Skipped { values, unit });
                        continue;
                    }
                    self.spent += cost;
                    self.proposals.push(Proposal::Trial(self.trials.len()));
                    let mut trial = self.new_trial(values, unit, cost);
                    trial.until = until_of(until);
                    trial.group = Some(group);
                    self.trials.push(trial);
                }
                Decision::Continue { trial, until } => self.go_on(&paused, trial, trial, None, until, left, resource),
                Decision::Inherit { trial, from, values, until } => self.go_on(&paused, trial, from, Some(values), until, left, resource),
                Decision::Stop { trial } => self.stop_paused(trial),
            }
        }
        if !self.trials.iter().any(|t| t.state == TrialState::Waiting) {
            self.closed = true;
            for id in 0..self.trials.len() {
                self.stop_paused(id);
            }
        }
        self.batches += 1;
    }

    /// A paused trial trains on to `until` from `from`'s checkpoint (with new values, for a
    /// copy), if that fits what is left of the budget; else it stops.
    #[allow(clippy::too_many_arguments)]
    fn go_on(&mut self, paused: &[bool], id: usize, from: usize, values: Option<Vec<Value>>, until: u32, left: u64, resource: Resource) {
        let was_paused = |id: usize| paused.get(id) == Some(&true);
        if !was_paused(id) || !was_paused(from) || self.trials[id].state != TrialState::Paused {
            return;
        }
        let reached = self.trials[from].reached;
        let until = until.clamp(reached + 1, resource.max.max(reached + 1));
        let cost = (until - reached) as u64 * resource.unit_cost;
        if cost > left {
            self.stop_paused(id);
            return;
        }
        self.spent += cost;
        let batch = self.batches;
        let space = &self.space;
        let trial = &mut self.trials[id];
        if let Some(values) = values {
            trial.unit = space.unit_of(&values);
            trial.lineage.push(Inherited { epochs: reached, from, before: std::mem::replace(&mut trial.values, values.clone()), after: values });
        }
        trial.state = TrialState::Waiting;
        trial.batch = batch;
        trial.cost += cost;
        trial.segment_cost = cost;
        trial.reached = reached;
        trial.resume_from = Some(from);
        trial.until = (until < resource.max).then_some(until);
    }

    /// A paused trial ends, Pruned with its last score.
    fn stop_paused(&mut self, id: usize) {
        if let Some(trial) = self.trials.get_mut(id).filter(|t| t.state == TrialState::Paused) {
            trial.state = TrialState::Pruned;
            trial.score = trial.pauses.last().map(|p| p.1).filter(|s| s.is_finite());
        }
    }

    /// What the method is shown of its proposals so far, in the order it made them: a complete
    /// trial's loss; for a diverged one, the worst complete trial's loss (none while no trial has
    /// completed); no loss for the others, nor for a skipped proposal (see `TrialState`).
    pub fn history(&self) -> Vec<Observation> {
        self.history_seen(self.proposals.len())
    }

    /// The history as the method saw it when it had made `seen` proposals (a round's `seen`):
    /// its first `seen` observations, a diverged trial's loss the worst among them.
    pub fn history_seen(&self, seen: usize) -> Vec<Observation> {
        let seen = &self.proposals[..seen.min(self.proposals.len())];
        let complete_loss = |t: &Trial| match (&t.state, t.score) {
            (TrialState::Complete, Some(score)) => Some(self.oriented(score)),
            _ => None,
        };
        let worst = seen
            .iter()
            .filter_map(|p| match p {
                Proposal::Trial(id) => complete_loss(&self.trials[*id]),
                Proposal::Skipped { .. } => None,
            })
            .reduce(f64::max);
        seen.iter()
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
        let full = match (&self.searcher, self.resource) {
            (Searcher::Supervises(_), Some(resource)) => Some(resource.max),
            _ => None,
        };
        let trial = self.running(id)?;
        if let (Some(max), Outcome::Complete(_) | Outcome::Folds(_)) = (full, &outcome) {
            trial.reached = max;
        }
        let mut refund = 0;
        match outcome {
            Outcome::Complete(value) => trial.complete(value),
            Outcome::Folds(scores) => {
                let mean = scores.mean();
                trial.folds = Some(scores);
                trial.complete(mean);
            }
            Outcome::Paused { value, reached } => {
                trial.state = TrialState::Paused;
                trial.reached = reached;
                trial.pauses.push((reached, value));
            }
            Outcome::Pruned { value, cost } => {
                trial.state = TrialState::Pruned;
                trial.score = value.is_finite().then_some(value);
                refund = trial.segment_cost.saturating_sub(cost);
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
            let segment = self.segment(id).expect("the trial just asked");
            let mut run = TrialRun { id, values: &values, segment, progress: Vec::new() };
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
    /// Where it starts and stops.
    pub segment: Segment,
    progress: Vec<f64>,
}

impl TrialRun<'_> {
    /// A value along the way (for the CNN, an epoch's validation accuracy), as `Study::report`.
    pub fn report(&mut self, value: f64) {
        self.progress.push(value);
    }
}
