//! A live experiment: studies whose trials train on the scheduler's workers, and what the page
//! shows of each trial while it runs.
//!
//! The studies decide (what to try, in which state a trial is); the scheduler only runs what
//! they hand out, and its events are told back to them here. So the page has one trial model,
//! the study's: a trial is Waiting, Running, Complete, Pruned, Failed (with its reason),
//! Diverged (a result the methods learn from) or Interrupted, and a finished trial never
//! changes. A single configuration is a study of one trial over a space that searches nothing.
//! Beside each trial the page keeps what the study does not need: every epoch's report, the
//! worker and attempt, the crashes it survived, and when it ran.
//!
//! A race (`add_race`) is one study per method over the same space, budget, images and seed;
//! the experiment keeps whether it is paused or cancelled, and what is left of it.
//!
//! Trials trained in segments (Hyperband, PBT) pause with a checkpoint, which the experiment
//! keeps while the trial is Paused, and hands to the request that resumes it (or, for PBT's
//! copies, to every request that starts from it — all made at the barrier, before any of them
//! trains on, so a copy gets the checkpoint as it was at the barrier). A checkpoint no paused
//! trial needs is dropped.

use super::presets::{apply, HyperparamError};
use super::race::{FieldError, RaceSetup};
use crate::chart::best_so_far::FinishedTrial;
use crate::chart::coverage::Tried;
use crate::data::validation::TrainingSet;
use crate::nn::config::{L2Hypergradient, LrDecay, LrHypergradient};
use crate::nn::train::Diverged;
use crate::nn::{EpochReport, TrainConfig};
use crate::protocol::{Paths, Stage, TrainRequest, TrialEnd};
use crate::scheduler::{Event, Fault, JobEnd, TrialRef};
use crate::tuning::fixed::ChosenPoints;
use crate::tuning::methods;
use crate::tuning::space::{SearchSpace, Value};
use crate::tuning::study::{Direction, FoldScores, Inherited, Outcome, Study, StudyConfig, TrialState};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One trial as the page shows it. Its state is the study's, except that a trial waiting for
/// a worker is Waiting (for the study, it is Running from the moment it is handed out).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveTrial {
    pub trial: TrialRef,
    /// The method's registry name ("single" for one configuration trained on its own).
    pub method: &'static str,
    /// The study's values for its space's params, and the unit-cube point standing for them.
    pub values: Vec<Value>,
    pub unit: Vec<f64>,
    /// The configuration it trains (the study's values on the study's base).
    pub config: TrainConfig,
    pub data: TrainingSet,
    pub seed: u32,
    /// The study's state of the trial.
    pub state: TrialState,
    /// Validation accuracy, once complete (the folds' mean under k-fold).
    pub score: Option<f64>,
    /// Under k-fold, each fold's score.
    pub folds: Option<FoldScores>,
    /// What it costs the budget, in training images.
    pub cost: u64,
    /// Epochs trained by the end of its last segment (trials trained in segments; else 0).
    pub reached: u32,
    /// Its score at the end of each segment, with the epochs reached (Hyperband's rungs, PBT's
    /// intervals).
    pub pauses: Vec<(u32, f64)>,
    /// Its Hyperband bracket or PBT member.
    pub group: Option<u32>,
    /// PBT's copies it made.
    pub lineage: Vec<Inherited>,
    /// The epochs its checkpoint had trained when the segment under way started.
    pub segment_from: u32,
    /// The paths of the hyperparameters it tuned by their hypergradients.
    pub paths: Option<Paths>,
    /// Every epoch's report, with its fold (from 0; 0 under hold-out).
    pub epochs: Vec<(u32, EpochReport)>,
    /// While an epoch trains: its fold, its number (1-based), and its batches done of all.
    pub epoch_progress: Option<(u32, u32, u32, u32)>,
    /// The attempt running or last run (a crash retries a trial once).
    pub attempt: u32,
    /// Earlier attempts that lost their worker: the attempt, and why.
    pub crashes: Vec<(u32, Fault)>,
    /// Why it failed or diverged, as data the page words in its language (the study's state
    /// keeps the English sentence the command line and the record show).
    pub why: Option<Why>,
    pub worker: Option<usize>,
    /// Page clock (ms), when training started and ended.
    pub started_ms: Option<f64>,
    pub finished_ms: Option<f64>,
}

/// Why a trial failed or diverged.
#[derive(Debug, Clone, PartialEq)]
pub enum Why {
    /// Its loss stopped being a number (in fold `fold` of `folds` under k-fold).
    Diverged { diverged: Diverged, fold: Option<(u32, u32)> },
    /// The method's values cannot train.
    Invalid(HyperparamError),
    /// The checkpoint it was to resume from was lost.
    CheckpointLost,
    /// Its worker refused it (in the worker's words).
    Refused(String),
    /// Its worker was lost.
    Lost(Fault),
}

impl LiveTrial {
    /// Seconds spent training so far (or in all, once finished).
    pub fn seconds(&self, now_ms: f64) -> Option<f64> {
        self.started_ms.map(|s| (self.finished_ms.unwrap_or(now_ms) - s) / 1000.0)
    }

    /// Whether the trial is waiting for a worker or training.
    pub fn is_active(&self) -> bool {
        !self.state.is_finished()
    }

    /// For a complete trial, the training images it cost and the seconds it took (the
    /// measured throughput the page's estimates use).
    pub fn throughput(&self) -> Option<(u64, f64)> {
        let seconds = (self.finished_ms? - self.started_ms?) / 1000.0;
        (self.state == TrialState::Complete && seconds > 0.0).then_some((self.cost, seconds))
    }
}

impl Tried for LiveTrial {
    fn id(&self) -> usize {
        self.trial.trial
    }
    fn unit(&self) -> &[f64] {
        &self.unit
    }
    fn state(&self) -> &TrialState {
        &self.state
    }
    fn score(&self) -> Option<f64> {
        self.score
    }
}

struct LiveStudy {
    study: Study,
    method: &'static str,
    /// Its trials tune the learning rate and L2 by hypergradients.
    hypergradients: bool,
    base: TrainConfig,
    data: TrainingSet,
    seed: u32,
    /// Asks no more trials (its race was cancelled, or its record is all told).
    stopped: bool,
    /// By trial id.
    runs: Vec<LiveTrial>,
}

/// Where a race stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaceState {
    Running,
    Paused,
    Done,
    Cancelled,
}

impl RaceState {
    /// As the page's `data-state` spells it.
    pub fn tag(self) -> &'static str {
        match self {
            RaceState::Running => "running",
            RaceState::Paused => "paused",
            RaceState::Done => "done",
            RaceState::Cancelled => "cancelled",
        }
    }
}

/// A race's studies and its setup.
pub struct Race {
    pub setup: RaceSetup,
    /// One study per method, in the setup's order.
    pub studies: Vec<usize>,
    pub paused: bool,
    pub cancelled: bool,
}

/// The studies of an experiment, in the order they were added.
#[derive(Default)]
pub struct LiveExperiment {
    studies: Vec<LiveStudy>,
    race: Option<Race>,
    /// The checkpoints of the paused trials.
    checkpoints: BTreeMap<TrialRef, Arc<[u8]>>,
    /// The largest checkpoint seen, in bytes.
    largest_checkpoint: usize,
}

/// Why one configuration cannot be trained.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SingleError {
    #[error("invalid configuration: {0}")]
    Config(#[from] crate::nn::config::ConfigError),
    #[error(transparent)]
    Data(#[from] crate::data::validation::SetError),
}

impl LiveExperiment {
    /// Add a study of one trial that trains `config` on `data` with `seed`. Refuses an invalid
    /// configuration or training set with the reason.
    pub fn add_single(&mut self, config: TrainConfig, data: TrainingSet, seed: u32) -> Result<usize, SingleError> {
        let valid = config.validate()?;
        let data = data.check()?;
        let cost = data.cost(valid.epochs);
        let study_config = StudyConfig { seed: seed as u64, direction: Direction::Maximize, budget: cost, batch_size: 1 };
        let study = Study::new(SearchSpace::nothing(), Box::new(ChosenPoints::single()), study_config, Box::new(move |_| cost));
        self.studies.push(LiveStudy { study, method: "single", hypergradients: false, base: config, data, seed, stopped: false, runs: Vec::new() });
        Ok(self.studies.len() - 1)
    }

    /// Start a race: one study per method of `setup`, replacing the race before (whose
    /// trials stay). Refuses a setup that cannot run, naming every bad field.
    pub fn add_race(&mut self, setup: RaceSetup) -> Result<Vec<usize>, Vec<FieldError>> {
        setup.check()?;
        let mut studies = Vec::new();
        for name in &setup.methods {
            let method = methods::by_name(name).expect("a checked setup names known methods");
            let mut study = method.study(setup.space.clone(), setup.study_config(), setup.cost_fn(), setup.resource());
            if let (Some(pruner), false) = (setup.pruner, method.acts_inside_training()) {
                study = study.with_pruner(pruner);
            }
            self.studies.push(LiveStudy {
                study,
                method: method.name,
                hypergradients: method.hypergradients,
                base: setup.base.clone(),
                data: setup.data,
                seed: setup.seed,
                stopped: false,
                runs: Vec::new(),
            });
            studies.push(self.studies.len() - 1);
        }
        self.race = Some(Race { setup, studies: studies.clone(), paused: false, cancelled: false });
        Ok(studies)
    }

    pub fn race(&self) -> Option<&Race> {
        self.race.as_ref()
    }

    /// Where the race stands (None before the first).
    pub fn race_state(&self) -> Option<RaceState> {
        let race = self.race.as_ref()?;
        let done = race.studies.iter().all(|&s| self.studies[s].is_over());
        Some(match (race.cancelled, done, race.paused) {
            (true, ..) => RaceState::Cancelled,
            (false, true, _) => RaceState::Done,
            (false, false, true) => RaceState::Paused,
            (false, false, false) => RaceState::Running,
        })
    }

    /// Pause or resume the race (the scheduler stops or starts dispatching; the studies are
    /// unchanged, so the race continues with the trials it would have run).
    pub fn set_paused(&mut self, paused: bool) {
        if let Some(race) = &mut self.race {
            race.paused = paused;
        }
    }

    /// Cancel the race: its studies ask no more trials. Returns its studies, whose queued and
    /// running trials the scheduler must cancel (they end Interrupted); finished ones stay.
    pub fn cancel_race(&mut self) -> Vec<usize> {
        let Some(race) = &mut self.race else { return Vec::new() };
        race.cancelled = true;
        for &s in &race.studies {
            self.studies[s].stopped = true;
            // A paused trial will not go on: it ends with the race.
            for run in self.studies[s].runs.iter_mut().filter(|r| r.state == TrialState::Paused) {
                run.state = TrialState::Interrupted;
            }
        }
        self.checkpoints.clear();
        race.studies.clone()
    }

    /// Stop one study asking for trials (a replayed record asks nothing it did not ask then).
    pub fn stop_study(&mut self, study: usize) {
        if let Some(live) = self.studies.get_mut(study) {
            live.stopped = true;
        }
    }

    /// Whether every study has finished all it will run.
    pub fn is_done(&self) -> bool {
        self.studies.iter().all(LiveStudy::is_over)
    }

    /// The method, budget and spend of a study.
    pub fn study_summary(&self, study: usize) -> Option<StudySummary> {
        let live = self.studies.get(study)?;
        let finished = live.runs.iter().filter(|r| r.state.is_finished() || r.state == TrialState::Paused);
        Some(StudySummary {
            study,
            method: live.method,
            budget: live.study.budget(),
            spent: finished.map(|r| r.cost).sum(),
            reserved: live.study.spent(),
            skipped: live.study.skipped(),
            over: live.is_over(),
            best: live.study.best().and_then(|t| Some((t.id, t.score?))),
        })
    }

    /// The study itself (its rounds, for "why this point next").
    pub fn study(&self, study: usize) -> Option<&Study> {
        self.studies.get(study).map(|s| &s.study)
    }

    /// The space a study searches.
    pub fn space(&self, study: usize) -> Option<&SearchSpace> {
        self.studies.get(study).map(|s| s.study.space())
    }

    /// Every trial the studies can hand out now, as requests for the workers; their runs are
    /// recorded as Running (the study's state once asked), to be started by the scheduler. A
    /// paused trial that goes on keeps its run, with its new segment.
    pub fn next_requests(&mut self) -> Vec<(TrialRef, TrainRequest)> {
        let mut out = Vec::new();
        for (index, live) in self.studies.iter_mut().enumerate() {
            if live.stopped {
                continue;
            }
            for (id, values) in live.study.ask_all() {
                let trial = TrialRef { study: index, trial: id };
                let segment = live.study.segment(id).expect("a trial just asked");
                let checkpoint = segment.resume_from.map(|from| self.checkpoints.get(&TrialRef { study: index, trial: from }).cloned());
                let config = apply(live.study.space(), &values, &live.base)
                    .map(|c| training_config(TrainConfig::clone(&c), live.hypergradients.then(|| live.study.space())));
                let failure = match (&config, &checkpoint) {
                    (Err(e), _) => Some((e.to_string(), Why::Invalid(e.clone()))),
                    (_, Some(None)) => Some(("the checkpoint it was to resume from was lost".to_string(), Why::CheckpointLost)),
                    _ => None,
                };
                let config = config.unwrap_or_else(|_| live.base.clone());
                if id == live.runs.len() {
                    live.runs.push(live_trial(trial, live, config.clone()));
                }
                let run = &mut live.runs[id];
                run.config = config.clone();
                run.values = values.clone();
                run.unit = live.study.trials()[id].unit.clone();
                run.state = TrialState::Waiting;
                run.segment_from = segment.from;
                run.started_ms = None;
                run.attempt = 1;
                if let Some((reason, why)) = failure {
                    run.why = Some(why);
                    live.study.tell(id, Outcome::Failed(reason)).expect("a trial just asked is running");
                    run.state = live.study.trials()[id].state.clone();
                    continue;
                }
                let stage = Stage { until: segment.until, resume: segment.resume_from.is_some(), stop_below: segment.stop_below };
                out.push((trial, TrainRequest { config, data: live.data, seed: live.seed, stage, checkpoint: checkpoint.flatten() }));
            }
            // A barrier may have stopped paused trials, which no worker will report on.
            for (run, t) in live.runs.iter_mut().zip(live.study.trials()) {
                if run.state == TrialState::Paused {
                    sync(run, t);
                }
            }
        }
        self.drop_unneeded_checkpoints();
        out
    }

    /// Show `trials` (handed out, not heard the end of: a race restored after the page went) as
    /// Interrupted until they start again. Only the page's view changes: for their studies they
    /// are still running, and they train again to the results they would have had.
    pub fn mark_interrupted(&mut self, trials: &[TrialRef]) {
        for &trial in trials {
            if let Some(run) = self.studies.get_mut(trial.study).and_then(|s| s.runs.get_mut(trial.trial)) {
                run.state = TrialState::Interrupted;
            }
        }
    }

    /// The checkpoints kept now: how many, and their bytes in all.
    pub fn checkpoints_kept(&self) -> (usize, usize) {
        (self.checkpoints.len(), self.checkpoints.values().map(|c| c.len()).sum())
    }

    /// The largest checkpoint seen so far, in bytes.
    pub fn largest_checkpoint(&self) -> usize {
        self.largest_checkpoint
    }

    /// Count a checkpoint of `bytes` among those seen (a rebuilt race keeps its record's).
    pub fn note_checkpoint(&mut self, bytes: usize) {
        self.largest_checkpoint = self.largest_checkpoint.max(bytes);
    }

    /// Keep only the checkpoints of trials still Paused (a request that resumes one holds its
    /// own reference).
    fn drop_unneeded_checkpoints(&mut self) {
        let studies = &self.studies;
        self.checkpoints.retain(|t, _| studies[t.study].study.trials().get(t.trial).is_some_and(|t| t.state == TrialState::Paused));
    }

    /// Tell the studies what the scheduler reported. Returns whether a trial changed.
    pub fn on_event(&mut self, event: &Event, now_ms: f64) -> bool {
        match event {
            Event::Started { trial, attempt, slot } => self.with_run(*trial, |run, _| {
                run.attempt = *attempt;
                run.worker = Some(*slot);
                run.started_ms = Some(now_ms);
            }),
            Event::Progress { trial, fold, epoch, batches_done, batches } => {
                self.with_run(*trial, |run, _| run.epoch_progress = Some((*fold, *epoch, *batches_done, *batches)))
            }
            Event::Epoch { trial, fold, report } => self.with_run(*trial, |run, _| {
                run.epochs.push((*fold, report.clone()));
                run.epoch_progress = None;
            }),
            // The next attempt trains from the start of the segment: the lost attempt's epochs go.
            Event::Retrying { trial, attempt, reason } => self.with_run(*trial, |run, _| {
                run.crashes.push((attempt - 1, reason.clone()));
                run.attempt = *attempt;
                run.worker = None;
                run.started_ms = None;
                let from = run.segment_from;
                run.epochs.retain(|(_, e)| e.epoch <= from);
                run.epoch_progress = None;
            }),
            Event::Ended { trial, end } => {
                if let JobEnd::Finished(TrialEnd::Paused { checkpoint, .. }) = end {
                    self.largest_checkpoint = self.largest_checkpoint.max(checkpoint.len());
                    self.checkpoints.insert(*trial, Arc::from(checkpoint.as_slice()));
                }
                let changed = self.with_run(*trial, |run, study| {
                    let outcome = match end {
                        JobEnd::Finished(TrialEnd::Completed { validation_accuracy, fold_scores, .. }) => match fold_scores.is_empty() {
                            true => Outcome::Complete(*validation_accuracy as f64),
                            false => Outcome::Folds(FoldScores { scores: fold_scores.iter().map(|&s| s as f64).collect() }),
                        },
                        JobEnd::Finished(TrialEnd::Diverged { diverged, fold }) => Outcome::Diverged(TrialEnd::divergence(diverged, *fold)),
                        JobEnd::Finished(TrialEnd::Rejected { reason }) => Outcome::Failed(reason.clone()),
                        JobEnd::Finished(TrialEnd::Paused { epochs_done, validation_accuracy, .. }) => {
                            Outcome::Paused { value: *validation_accuracy as f64, reached: *epochs_done }
                        }
                        JobEnd::Finished(TrialEnd::Pruned { validation_accuracy, images, .. }) => {
                            Outcome::Pruned { value: *validation_accuracy as f64, cost: *images }
                        }
                        JobEnd::Finished(TrialEnd::Stopped { .. }) | JobEnd::Cancelled => Outcome::Interrupted,
                        JobEnd::Failed(reason) => Outcome::Failed(reason.to_string()),
                    };
                    if let JobEnd::Finished(TrialEnd::Completed { paths, .. }) = end {
                        run.paths = paths.clone();
                    }
                    run.why = match end {
                        JobEnd::Finished(TrialEnd::Diverged { diverged, fold }) => Some(Why::Diverged { diverged: diverged.clone(), fold: *fold }),
                        JobEnd::Finished(TrialEnd::Rejected { reason }) => Some(Why::Refused(reason.clone())),
                        JobEnd::Failed(fault) => Some(Why::Lost(fault.clone())),
                        _ => None,
                    };
                    // The study hears the finishing attempt's epochs at its end, so an attempt lost
                    // to a crash leaves nothing behind. A trial the study already settled (it cannot
                    // be told twice) stays as it is.
                    let from = run.segment_from;
                    for accuracy in run.epochs.iter().filter(|(_, e)| e.epoch > from).filter_map(|(_, e)| e.validation_accuracy) {
                        let _ = study.report(trial.trial, accuracy as f64);
                    }
                    let _ = study.tell(trial.trial, outcome);
                    run.finished_ms = Some(now_ms);
                    run.worker = None;
                    run.epoch_progress = None;
                });
                self.drop_unneeded_checkpoints();
                changed
            }
            Event::Workers | Event::Notice(_) => false,
        }
    }

    /// Every trial of every study, in study then trial order.
    pub fn runs(&self) -> impl Iterator<Item = &LiveTrial> {
        self.studies.iter().flat_map(|s| s.runs.iter())
    }

    pub fn run(&self, trial: TrialRef) -> Option<&LiveTrial> {
        self.studies.get(trial.study)?.runs.get(trial.trial)
    }

    /// Each raced method's best complete trial, the best first: what the final test retrains.
    pub fn candidates(&self) -> Vec<Candidate> {
        let Some(race) = &self.race else { return Vec::new() };
        let mut candidates: Vec<Candidate> = race
            .studies
            .iter()
            .filter_map(|&study| {
                let (trial, score) = self.study_summary(study)?.best?;
                let run = self.run(TrialRef { study, trial })?;
                Some(Candidate { trial: run.trial, method: run.method, score, config: run.config.clone(), seed: race.setup.seed })
            })
            .collect();
        // Stable: equal scores keep the setup's order.
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
        candidates
    }

    /// Budget each study has reserved or spent, for the scheduler's dispatch.
    pub fn spent(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.studies.iter().enumerate().map(|(i, s)| (i, s.study.spent()))
    }

    /// Apply `f` to a trial's run and its study, then copy the study's state into the run.
    fn with_run(&mut self, trial: TrialRef, f: impl FnOnce(&mut LiveTrial, &mut Study)) -> bool {
        let Some(live) = self.studies.get_mut(trial.study) else { return false };
        let Some(run) = live.runs.get_mut(trial.trial) else { return false };
        f(run, &mut live.study);
        sync(run, &live.study.trials()[trial.trial]);
        true
    }
}

/// Copy the study's view of a trial into its run.
fn sync(run: &mut LiveTrial, t: &crate::tuning::study::Trial) {
    run.state = shown_state(&t.state, run);
    run.score = t.score;
    run.folds = t.folds.clone();
    run.cost = t.cost;
    run.reached = t.reached;
    run.pauses = t.pauses.clone();
    run.group = t.group;
    run.lineage = t.lineage.clone();
}

/// A study's finished trials among `runs`, as the best-so-far computations take them, with
/// their end times in seconds after `started_ms` (page or process clock).
pub fn finished_trials<'a>(runs: impl IntoIterator<Item = &'a LiveTrial>, study: usize, started_ms: f64) -> Vec<FinishedTrial> {
    runs.into_iter()
        .filter(|r| r.trial.study == study && r.state.is_finished())
        // Only a complete trial's score counts: a pruned one's is an estimate part of the way.
        .map(|r| FinishedTrial {
            trial: r.trial.trial,
            cost: r.cost,
            score: r.score.filter(|_| r.state == TrialState::Complete),
            finished_s: (r.finished_ms.unwrap_or(started_ms) - started_ms) / 1000.0,
        })
        .collect()
}

/// A method's best trial, which the final test may retrain.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub trial: TrialRef,
    pub method: &'static str,
    /// Its validation accuracy in the race.
    pub score: f64,
    pub config: TrainConfig,
    /// The race's seed, which the retraining uses too.
    pub seed: u32,
}

/// A study's method, budget and spend.
#[derive(Debug, Clone, PartialEq)]
pub struct StudySummary {
    pub study: usize,
    pub method: &'static str,
    /// In training images.
    pub budget: u64,
    /// What its finished trials cost.
    pub spent: u64,
    /// What its proposed trials will cost, finished or not.
    pub reserved: u64,
    /// Proposals skipped because their cost no longer fit (`Study::skipped`).
    pub skipped: usize,
    /// It will run nothing more.
    pub over: bool,
    /// Its best complete trial and score (the study's `best`: the first of equals).
    pub best: Option<(usize, f64)>,
}

impl LiveStudy {
    /// Every trial finished and none will come (its method or budget ran out, or it stopped).
    fn is_over(&self) -> bool {
        let finished = self.runs.iter().all(|r| r.state.is_finished());
        finished && (self.stopped || self.study.is_done())
    }
}

/// The state the page shows: the study's, except that a trial the study has handed out
/// (Running, for the study) is Waiting until a worker starts it.
fn shown_state(state: &TrialState, run: &LiveTrial) -> TrialState {
    match state {
        TrialState::Running if run.started_ms.is_none() => TrialState::Waiting,
        state => state.clone(),
    }
}

/// The configuration a trial trains: with the hypergradients switched on for a method that
/// tunes by them in `space` (the learning rate's replacing any decay schedule, which it would
/// fight). The learning rate and L2 move within the space's ranges for them where it searches
/// them, as any other method's points stay inside the space: unbounded, the learning rate's
/// hypergradient on a CNN with momentum drove a quarter of the runs from small rates up to where
/// training collapsed (BENCHMARKS.md). L2 starts at the trial's value, brought into its range (an
/// L2 of 0 has no logarithm to move).
fn training_config(mut config: TrainConfig, hypergradients: Option<&SearchSpace>) -> TrainConfig {
    if let Some(space) = hypergradients {
        let range = |name: &str| {
            let param = &space.params()[space.index_of(name)?];
            Some((param.from_unit(0.0).as_f64()? as f32, param.from_unit(1.0).as_f64()? as f32))
        };
        let mut lr = LrHypergradient::for_optimizer(config.optimizer);
        if let Some((_, high)) = range("learning_rate") {
            lr.max = high;
        }
        let mut l2 = L2Hypergradient::default();
        if let Some((low, high)) = range("l2").filter(|(low, _)| *low > 0.0) {
            (l2.min, l2.max) = (low, high);
        }
        config.lr_decay = LrDecay::None;
        config.lr_hypergradient = Some(lr);
        config.l2_hypergradient = Some(l2);
        config.l2 = config.l2.clamp(l2.min, l2.max);
    }
    config
}

/// A trial just handed out by its study, before any worker has it.
fn live_trial(trial: TrialRef, live: &LiveStudy, config: TrainConfig) -> LiveTrial {
    let t = &live.study.trials()[trial.trial];
    let state = match t.state {
        TrialState::Running => TrialState::Waiting,
        ref state => state.clone(),
    };
    LiveTrial {
        trial,
        method: live.method,
        values: t.values.clone(),
        unit: t.unit.clone(),
        config,
        data: live.data,
        seed: live.seed,
        state,
        score: t.score,
        folds: t.folds.clone(),
        cost: t.cost,
        reached: t.reached,
        pauses: t.pauses.clone(),
        group: t.group,
        lineage: t.lineage.clone(),
        segment_from: 0,
        paths: None,
        epochs: Vec::new(),
        epoch_progress: None,
        attempt: 1,
        crashes: Vec::new(),
        why: None,
        worker: None,
        started_ms: None,
        finished_ms: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::validation::CrossValidation;
    use crate::nn::train::Diverged;

    fn holdout(images: u32) -> TrainingSet {
        TrainingSet { images, validation: CrossValidation::Holdout }
    }

    fn report(epoch: u32, accuracy: f32) -> EpochReport {
        EpochReport {
            epoch,
            learning_rate: 0.01,
            train_loss: 0.5,
            train_accuracy: 0.8,
            validation_loss: Some(0.4),
            validation_accuracy: Some(accuracy),
            images_seen: 2_000 * epoch as u64,
        }
    }

    fn single(epochs: u32) -> (LiveExperiment, TrialRef) {
        let mut lab = LiveExperiment::default();
        let config = TrainConfig { epochs, ..TrainConfig::default() };
        let study = lab.add_single(config.clone(), holdout(2_000), 7).unwrap();
        let requests = lab.next_requests();
        assert_eq!(requests.len(), 1, "a single configuration is a study of one trial");
        assert_eq!(requests[0].1, TrainRequest { config, data: holdout(2_000), seed: 7, stage: Default::default(), checkpoint: None });
        assert!(lab.next_requests().is_empty(), "and only one");
        (lab, TrialRef { study, trial: 0 })
    }

    #[test]
    fn a_single_configuration_runs_as_a_study_of_one_trial() {
        let (mut lab, trial) = single(2);
        assert_eq!(lab.run(trial).unwrap().state, TrialState::Waiting, "until a worker starts it");
        lab.on_event(&Event::Started { trial, attempt: 1, slot: 1 }, 10.0);
        assert_eq!(lab.run(trial).unwrap().state, TrialState::Running);
        lab.on_event(&Event::Progress { trial, fold: 0, epoch: 1, batches_done: 10, batches: 32 }, 15.0);
        assert_eq!(lab.run(trial).unwrap().epoch_progress, Some((0, 1, 10, 32)));
        lab.on_event(&Event::Epoch { trial, fold: 0, report: report(1, 0.8) }, 20.0);
        assert_eq!(lab.run(trial).unwrap().epoch_progress, None);
        lab.on_event(&Event::Epoch { trial, fold: 0, report: report(2, 0.9) }, 30.0);
        lab.on_event(
            &Event::Ended {
                trial,
                end: JobEnd::Finished(TrialEnd::Completed { validation_accuracy: 0.9, validation_loss: 0.3, fold_scores: vec![], paths: None }),
            },
            40.0,
        );
        let run = lab.run(trial).unwrap();
        assert_eq!(run.state, TrialState::Complete);
        assert_eq!(run.score, Some(0.9f32 as f64));
        assert_eq!(run.epochs.len(), 2);
        assert_eq!(run.seconds(1e9), Some(0.03));
        assert_eq!(lab.spent().collect::<Vec<_>>(), vec![(0, 2 * 2_000)]);
    }

    #[test]
    fn each_end_becomes_the_study_state_it_means() {
        let diverged = Diverged { epoch: 2, batch: 17, loss: "NaN".into() };
        let cases = [
            (JobEnd::Cancelled, TrialState::Interrupted),
            (JobEnd::Finished(TrialEnd::Stopped { epochs_done: 1 }), TrialState::Interrupted),
            (JobEnd::Failed(Fault::Panicked("boom".into())), TrialState::Failed("the worker panicked: boom".into())),
            (JobEnd::Finished(TrialEnd::Rejected { reason: "invalid".into() }), TrialState::Failed("invalid".into())),
            (JobEnd::Finished(TrialEnd::Diverged { diverged: diverged.clone(), fold: None }), TrialState::Diverged(diverged.to_string())),
        ];
        for (end, state) in cases {
            let (mut lab, trial) = single(3);
            assert!(lab.on_event(&Event::Ended { trial, end }, 1.0));
            assert_eq!(lab.run(trial).unwrap().state, state);
            // A finished trial never changes, whatever arrives late.
            lab.on_event(
                &Event::Ended {
                    trial,
                    end: JobEnd::Finished(TrialEnd::Completed { validation_accuracy: 0.99, validation_loss: 0.0, fold_scores: vec![], paths: None }),
                },
                2.0,
            );
            assert_eq!(lab.run(trial).unwrap().state, state);
            assert_eq!(lab.run(trial).unwrap().score, None);
        }
    }

    #[test]
    fn a_crash_and_retry_are_recorded_on_the_trial_and_only_the_last_attempt_counts() {
        let (mut lab, trial) = single(2);
        lab.on_event(&Event::Started { trial, attempt: 1, slot: 0 }, 0.0);
        lab.on_event(&Event::Epoch { trial, fold: 0, report: report(1, 0.5) }, 1.0);
        lab.on_event(&Event::Retrying { trial, attempt: 2, reason: Fault::Panicked("boom".into()) }, 1.0);
        let run = lab.run(trial).unwrap();
        assert_eq!((run.attempt, run.state.clone()), (2, TrialState::Waiting), "waiting for a fresh worker");
        assert_eq!(run.crashes, vec![(1, Fault::Panicked("boom".into()))]);
        assert!(run.epochs.is_empty(), "the lost attempt's epochs go");
        lab.on_event(&Event::Started { trial, attempt: 2, slot: 0 }, 2.0);
        lab.on_event(&Event::Epoch { trial, fold: 0, report: report(1, 0.8) }, 3.0);
        lab.on_event(&Event::Epoch { trial, fold: 0, report: report(2, 0.9) }, 4.0);
        lab.on_event(
            &Event::Ended {
                trial,
                end: JobEnd::Finished(TrialEnd::Completed { validation_accuracy: 0.9, validation_loss: 0.3, fold_scores: vec![], paths: None }),
            },
            5.0,
        );
        let study = &lab.studies[0].study;
        assert_eq!(study.trials()[0].progress, vec![0.8f32 as f64, 0.9f32 as f64]);
        assert_eq!(lab.run(trial).unwrap().epochs.len(), 2);
    }

    #[test]
    fn the_candidates_are_each_methods_best_complete_trial_the_best_first() {
        let mut lab = LiveExperiment::default();
        let setup = RaceSetup { methods: vec!["grid".into(), "random".into()], seed: 11, ..RaceSetup::default() };
        lab.add_race(setup).unwrap();
        let requests = lab.next_requests();
        assert!(lab.candidates().is_empty(), "no trial has finished");
        let complete =
            |accuracy: f32| JobEnd::Finished(TrialEnd::Completed { validation_accuracy: accuracy, validation_loss: 0.3, fold_scores: vec![], paths: None });
        let of = |study: usize| requests.iter().filter(move |(t, _)| t.study == study).map(|(t, _)| *t).collect::<Vec<_>>();
        let (grid, random) = (of(0), of(1));
        assert!(grid.len() >= 2 && !random.is_empty());
        lab.on_event(&Event::Ended { trial: grid[0], end: complete(0.91) }, 1.0);
        lab.on_event(&Event::Ended { trial: grid[1], end: complete(0.95) }, 2.0);
        lab.on_event(&Event::Ended { trial: random[0], end: complete(0.97) }, 3.0);
        let candidates = lab.candidates();
        let got: Vec<(&str, TrialRef, f64)> = candidates.iter().map(|c| (c.method, c.trial, c.score)).collect();
        assert_eq!(got, vec![("random", random[0], 0.97f32 as f64), ("grid", grid[1], 0.95f32 as f64)]);
        assert_eq!(candidates[1].config, lab.run(grid[1]).unwrap().config);
        assert_eq!(candidates[0].seed, 11);
    }

    #[test]
    fn an_invalid_configuration_is_refused_before_any_study_exists() {
        let mut lab = LiveExperiment::default();
        let err = lab.add_single(TrainConfig { learning_rate: 0.0, ..TrainConfig::default() }, holdout(2_000), 1).unwrap_err();
        assert!(err.to_string().contains("learning rate"), "{err}");
        assert_eq!(lab.runs().count(), 0);
    }
}
