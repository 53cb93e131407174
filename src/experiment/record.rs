//! A race's record: every trial of every method — its params, state, score, folds, cost, time
//! and per-epoch curve — with the setup that produced it, as versioned JSON. `tunelab race
//! --out FILE.json` writes it; the page will import it (and export the same), so a race run
//! natively on a big machine opens in the browser.
//!
//! Format `tunelab-race`, version 1:
//! `{"format": "tunelab-race", "version": 1, "setup": RaceSetup, "workers": N,
//!   "studies": [{"method": "tpe", "budget": images, "spent": images, "trials": [{"id": 0,
//!   "params": {"learning_rate": 0.01, …}, "state": "complete", "reason": null, "score": 0.97,
//!   "folds": [0.96, 0.98] | null, "cost": images, "seconds": 12.5 | null,
//!   "epochs": [{"fold": 0, "epoch": 1, "learning_rate": …, "train_loss": …,
//!   "train_accuracy": …, "validation_loss": …, "validation_accuracy": …, "images_seen": …}]}]}]}`.
//! A state is one of the study's (`waiting`, `running`, `complete`, `pruned`, `failed`,
//! `diverged`, `interrupted`); `reason` says why for `failed` and `diverged`. Scores are
//! validation accuracies in [0, 1]; costs are training images. Seconds are to the millisecond;
//! `started` is a trial's start in seconds after the race's first trial started, and
//! `started_unix_ms` (when known) the wall-clock time of that moment. Fields added since the
//! first records are optional, so every record of version 1 still reads.
//!
//! A record can be rebuilt into a live race (`RaceRecord::rebuild`, `experiment::replay`): the
//! methods are asked again from the setup and told the recorded ends, so every view of the page
//! works on an imported race, and a record whose trials its methods would not have proposed from
//! its setup is found out.

use super::live::{LiveExperiment, Why};
use super::race::RaceSetup;
use super::replay::{replay, Afterwards, ReplayError, Segment, Segments};
use crate::nn::train::Diverged;
use crate::nn::EpochReport;
use crate::protocol::{Paths, TrialEnd};
use crate::scheduler::{Event, JobEnd, TrialRef};
use crate::tuning::space::{SearchSpace, Value};
use crate::tuning::study::TrialState;
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "tunelab-race";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RaceRecord {
    pub format: String,
    pub version: u32,
    pub setup: RaceSetup,
    /// Workers it ran on (no result depends on it).
    pub workers: usize,
    pub studies: Vec<StudyRecord>,
    /// The largest trial checkpoint the race kept (methods that pause trials), in bytes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub largest_checkpoint_bytes: usize,
    /// When the first trial started (ms since 1970, UTC), if the clock was known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_unix_ms: Option<f64>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One copy of population-based training: at `epochs`, the trial took `from`'s checkpoint, and
/// its values went from `before` to `after`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineageRecord {
    pub epochs: u32,
    pub from: usize,
    pub before: serde_json::Map<String, serde_json::Value>,
    pub after: serde_json::Map<String, serde_json::Value>,
}

/// A trial's score at the end of a segment: a Hyperband rung or a PBT interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PauseRecord {
    pub epochs: u32,
    pub score: f64,
}

fn params_of(space: &SearchSpace, values: &[Value]) -> serde_json::Map<String, serde_json::Value> {
    space.params().iter().zip(values).map(|(p, v)| (p.name.clone(), serde_json::json!(v))).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyRecord {
    pub method: String,
    pub budget: u64,
    pub spent: u64,
    pub trials: Vec<TrialRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    pub id: usize,
    pub params: serde_json::Map<String, serde_json::Value>,
    #[serde(flatten)]
    pub state: TrialState,
    pub score: Option<f64>,
    pub folds: Option<Vec<f64>>,
    pub cost: u64,
    pub seconds: Option<f64>,
    pub epochs: Vec<EpochRecord>,
    /// Epochs trained, for a trial trained in segments (Hyperband, PBT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reached: Option<u32>,
    /// Its score at the end of each segment: Hyperband's rungs, PBT's intervals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pauses: Vec<PauseRecord>,
    /// Its Hyperband bracket (in the order started) or PBT member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<u32>,
    /// PBT's copies it made, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lineage: Vec<LineageRecord>,
    /// The paths of the hyperparameters it tuned by hypergradients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Paths>,
    /// When it (its last segment) started, in seconds after the race's first trial started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<f64>,
    /// Where a diverged trial's loss stopped being a number (its `reason` in parts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diverged: Option<DivergedRecord>,
}

/// Where training diverged: the epoch, the batch (0: on the validation set), the loss it became,
/// and under k-fold the fold and the fold count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DivergedRecord {
    #[serde(flatten)]
    pub diverged: Diverged,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold: Option<(u32, u32)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub fold: u32,
    #[serde(flatten)]
    pub report: EpochReport,
}

impl RaceRecord {
    /// The record of `live`'s race (None before any race).
    pub fn of(live: &LiveExperiment, workers: usize) -> Option<Self> {
        Self::written(live, workers, None)
    }

    /// The record of `live`'s race, dated: `clock_zero_unix_ms` is the wall-clock time (ms since
    /// 1970) at which the clock `live` was told times in read 0.
    pub fn of_dated(live: &LiveExperiment, workers: usize, clock_zero_unix_ms: f64) -> Option<Self> {
        Self::written(live, workers, Some(clock_zero_unix_ms))
    }

    fn written(live: &LiveExperiment, workers: usize, clock_zero_unix_ms: Option<f64>) -> Option<Self> {
        let race = live.race()?;
        let origin = first_start(live);
        let studies = race
            .studies
            .iter()
            .map(|&s| {
                let summary = live.study_summary(s).expect("a race's study exists");
                let space = live.space(s).expect("a race's study exists");
                let trials = live
                    .runs()
                    .filter(|r| r.trial.study == s)
                    .map(|r| TrialRecord {
                        id: r.trial.trial,
                        params: params_of(space, &r.values),
                        state: r.state.clone(),
                        score: r.score,
                        folds: r.folds.as_ref().map(|f| f.scores.clone()),
                        cost: r.cost,
                        seconds: r.finished_ms.and(r.seconds(0.0)).map(to_ms),
                        epochs: r.epochs.iter().map(|(fold, report)| EpochRecord { fold: *fold, report: report.clone() }).collect(),
                        reached: r.group.map(|_| r.reached),
                        pauses: r.pauses.iter().map(|&(epochs, score)| PauseRecord { epochs, score }).collect(),
                        group: r.group,
                        lineage: r
                            .lineage
                            .iter()
                            .map(|c| LineageRecord { epochs: c.epochs, from: c.from, before: params_of(space, &c.before), after: params_of(space, &c.after) })
                            .collect(),
                        paths: r.paths.clone(),
                        started: r.started_ms.zip(origin).map(|(s, o)| to_ms((s - o) / 1000.0)),
                        diverged: match &r.why {
                            Some(Why::Diverged { diverged, fold }) => Some(DivergedRecord { diverged: diverged.clone(), fold: *fold }),
                            _ => None,
                        },
                    })
                    .collect();
                StudyRecord { method: summary.method.to_string(), budget: summary.budget, spent: summary.spent, trials }
            })
            .collect();
        Some(Self {
            format: FORMAT.into(),
            version: VERSION,
            setup: race.setup.clone(),
            workers,
            studies,
            largest_checkpoint_bytes: live.largest_checkpoint(),
            started_unix_ms: clock_zero_unix_ms.zip(origin).map(|(zero, o)| (zero + o).round()),
        })
    }

    /// Each trial's segments as the race ran them, for `replay`: a trial trained in one go is one
    /// segment; one trained in stretches (Hyperband's rungs, PBT's intervals) is one per pause and
    /// one for its end. A trial still waiting, running or paused has no end segment. The
    /// checkpoints of paused trials are not in a record: a rebuilt race is for looking at.
    pub fn segments(&self) -> Segments {
        let mut out = Segments::new();
        for (study, record) in self.studies.iter().enumerate() {
            for trial in &record.trials {
                let from_ms = (trial.started.unwrap_or(0.0) * 1000.0).round();
                let to_ms = from_ms + (trial.seconds.unwrap_or(0.0) * 1000.0).round();
                let mut list = std::collections::VecDeque::new();
                let mut from = 0;
                for pause in &trial.pauses {
                    let epochs = trial.epochs.iter().filter(|e| e.report.epoch > from && e.report.epoch <= pause.epochs);
                    list.push_back(Segment {
                        epochs: epochs.map(|e| (e.fold, e.report.clone())).collect(),
                        end: JobEnd::Finished(TrialEnd::Paused { epochs_done: pause.epochs, validation_accuracy: pause.score as f32, checkpoint: Vec::new() }),
                        started_ms: from_ms,
                        finished_ms: from_ms,
                    });
                    from = pause.epochs;
                }
                // A trial stopped at a pause took its end from its method, not from a worker: it
                // trained nothing after the pause (a divergence reports no epoch, but is a worker's).
                let trained_on = trial.pauses.is_empty()
                    || trial.epochs.iter().any(|e| e.report.epoch > from)
                    || matches!(trial.state, TrialState::Failed(_) | TrialState::Diverged(_));
                if let Some(end) = trial_end(trial).filter(|_| trained_on) {
                    let epochs = trial.epochs.iter().filter(|e| e.report.epoch > from);
                    list.push_back(Segment { epochs: epochs.map(|e| (e.fold, e.report.clone())).collect(), end, started_ms: from_ms, finished_ms: from_ms });
                }
                // The record keeps the times of the last segment that ran.
                if let Some(last) = list.back_mut() {
                    last.finished_ms = to_ms;
                }
                out.insert(TrialRef { study, trial: trial.id }, list);
            }
        }
        out
    }

    /// The race rebuilt from this record, to be looked at: its methods asked again from its
    /// setup and told its trials' ends. Trials still waiting or running in the record end
    /// Interrupted, as does the race then. Refuses a record whose setup cannot run or whose
    /// trials its methods would not have proposed, naming the first such trial.
    pub fn rebuild(&self) -> Result<LiveExperiment, RebuildError> {
        let methods: Vec<&str> = self.studies.iter().map(|s| s.method.as_str()).collect();
        if methods != self.setup.methods.iter().map(String::as_str).collect::<Vec<_>>() {
            return Err(RebuildError::Methods { setup: self.setup.methods.clone(), studies: methods.iter().map(|m| m.to_string()).collect() });
        }
        let replayed = replay(self.setup.clone(), self.segments(), Afterwards::Stop).map_err(|e| match e {
            ReplayError::Setup(errors) => RebuildError::Setup(errors),
            ReplayError::NeverAsked(t) => RebuildError::NotProposed { method: methods[t.study].to_string(), trial: t.trial },
        })?;
        let mut live = replayed.live;
        let unfinished = !replayed.pending.is_empty();
        for (trial, _) in replayed.pending {
            live.on_event(&Event::Ended { trial, end: JobEnd::Cancelled }, 0.0);
        }
        if unfinished || self.studies.iter().flat_map(|s| &s.trials).any(|t| t.state == TrialState::Interrupted) {
            live.cancel_race();
        }
        live.note_checkpoint(self.largest_checkpoint_bytes);
        // Every finished trial must come out as recorded: the same values, state and scores.
        let again = Self::of(&live, self.workers).expect("a rebuilt race");
        for (mine, theirs) in self.studies.iter().zip(&again.studies) {
            for trial in mine.trials.iter().filter(|t| t.state.is_finished()) {
                let same = theirs.trials.get(trial.id).is_some_and(|t| {
                    let (mut a, mut b) = (trial.clone(), t.clone());
                    (a.seconds, a.started, b.seconds, b.started) = (None, None, None, None);
                    a == b
                });
                if !same {
                    return Err(RebuildError::NotProposed { method: mine.method.clone(), trial: trial.id });
                }
            }
        }
        Ok(live)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a record is plain data")
    }

    /// Read a record, refusing another format or a version this build does not know.
    pub fn from_json(text: &str) -> Result<Self, ReadError> {
        let head: serde_json::Value = serde_json::from_str(text).map_err(|e| ReadError::NotJson(e.to_string()))?;
        if head.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(ReadError::NotARecord);
        }
        match head.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == VERSION as u64 => {}
            Some(v) => return Err(ReadError::Version(v)),
            None => return Err(ReadError::NoVersion),
        }
        serde_json::from_value(head).map_err(|e| ReadError::Malformed(e.to_string()))
    }

    /// Open a file's text as a race to look at: read, checked field by field, and rebuilt
    /// (`rebuild`). Refuses, with the reason, a file too large, not a record, or a record its
    /// methods would not have made.
    pub fn open(text: &str) -> Result<(Self, LiveExperiment), OpenError> {
        if text.len() > MAX_RECORD_BYTES {
            return Err(OpenError::TooLarge { bytes: text.len() });
        }
        let record = Self::from_json(text)?;
        let live = record.rebuild()?;
        Ok((record, live))
    }
}

/// The largest record a page opens (a race of thousands of trials is a few megabytes).
pub const MAX_RECORD_BYTES: usize = 64 << 20;

/// Why a text is not a race record this build reads.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    /// Not JSON (the JSON reader's words).
    #[error("it is not JSON ({0})")]
    NotJson(String),
    #[error("it is not a tunelab race record (its \"format\" is not \"{FORMAT}\")")]
    NotARecord,
    #[error("it is a race record of version {0}; this tunelab reads version {VERSION}")]
    Version(u64),
    #[error("the record has no \"version\"")]
    NoVersion,
    /// A field missing or of the wrong kind (the JSON reader's words, which name it).
    #[error("a field is wrong: {0}")]
    Malformed(String),
}

/// Why a file cannot be opened as a race.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpenError {
    #[error("the file is {bytes} bytes; a race record is at most {MAX_RECORD_BYTES} bytes")]
    TooLarge { bytes: usize },
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Rebuild(#[from] RebuildError),
}

/// Why a record cannot be rebuilt into a race.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RebuildError {
    #[error("its setup cannot run: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Setup(Vec<super::race::FieldError>),
    /// Its studies are not the setup's methods, in order.
    #[error("its studies ({}) are not its setup's methods ({})", studies.join(", "), setup.join(", "))]
    Methods { setup: Vec<String>, studies: Vec<String> },
    /// A trial its method, from this setup and seed, would not have proposed or scored so.
    #[error("trial {trial} of {method} is not what {method} proposes and scores from this setup and seed")]
    NotProposed { method: String, trial: usize },
}

/// The end a finished trial's record stands for (None for a trial not finished).
fn trial_end(trial: &TrialRecord) -> Option<JobEnd> {
    let score = trial.score.unwrap_or(0.0) as f32;
    Some(match &trial.state {
        TrialState::Complete => JobEnd::Finished(TrialEnd::Completed {
            validation_accuracy: score,
            validation_loss: 0.0,
            fold_scores: trial.folds.iter().flatten().map(|&s| s as f32).collect(),
            paths: trial.paths.clone(),
        }),
        TrialState::Pruned => JobEnd::Finished(TrialEnd::Pruned {
            epochs_done: trial.epochs.last().map_or(0, |e| e.report.epoch),
            validation_accuracy: score,
            images: trial.cost,
        }),
        TrialState::Failed(reason) => JobEnd::Finished(TrialEnd::Rejected { reason: reason.clone() }),
        TrialState::Diverged(reason) => {
            let (diverged, fold) = match &trial.diverged {
                Some(d) => (d.diverged.clone(), d.fold),
                // A record from before the parts were kept: the reason stands as the loss.
                None => (Diverged { epoch: trial.epochs.last().map_or(1, |e| e.report.epoch), batch: 0, loss: reason.clone() }, None),
            };
            JobEnd::Finished(TrialEnd::Diverged { diverged, fold })
        }
        TrialState::Interrupted => JobEnd::Cancelled,
        TrialState::Waiting | TrialState::Running | TrialState::Paused => return None,
    })
}

/// The earliest start among the race's trials, on the clock `live` was told.
fn first_start(live: &LiveExperiment) -> Option<f64> {
    let race = live.race()?;
    live.runs().filter(|r| race.studies.contains(&r.trial.study)).filter_map(|r| r.started_ms).min_by(f64::total_cmp)
}

/// Seconds to the millisecond (so a record read back and written again is the same text).
fn to_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::mnist::LabeledImages;
    use crate::data::validation::{CrossValidation, TrainingSet};
    use crate::experiment::synthetic_digits;
    use crate::experiment::threads::run_race;
    use crate::nn::TrainConfig;
    use crate::tuning::space::{Param, SearchSpace};
    use std::sync::Arc;

    #[test]
    fn a_race_is_written_and_read_back_whole() {
        let (pixels, labels) = synthetic_digits(400);
        let data = Arc::new(LabeledImages::from_parts(pixels, labels).unwrap());
        let setup = RaceSetup {
            methods: vec!["random".into(), "grid".into()],
            space: SearchSpace::new(vec![Param::log_float("learning_rate", 0.01, 0.1), Param::int("epochs", 1, 2)]).unwrap(),
            budget_epochs: 3,
            data: TrainingSet { images: 60, validation: CrossValidation::KFold { k: 3 } },
            seed: 5,
            proposals: 2,
            base: TrainConfig { batch_size: 16, conv_layers: 1, conv_filters: vec![4], dense_units: 0, ..Default::default() },
            pruner: None,
        };
        let live = run_race(setup.clone(), data, 2, &mut |_, _| {}).unwrap_or_else(|e| panic!("{e:?}")).live;
        let record = RaceRecord::of(&live, 2).unwrap();
        assert_eq!(record.studies.iter().map(|s| s.method.as_str()).collect::<Vec<_>>(), vec!["random", "grid"]);
        let trial = &record.studies[0].trials[0];
        assert_eq!(trial.params.keys().collect::<Vec<_>>(), vec!["epochs", "learning_rate"]);
        assert_eq!(trial.folds.as_ref().map(Vec::len), Some(3));
        assert_eq!(trial.epochs.len() as i64, 3 * trial.params["epochs"].as_i64().unwrap());
        let json = record.to_json();
        assert!(json.contains("\"state\": \"complete\"") && json.contains("\"format\": \"tunelab-race\""), "{json}");
        assert_eq!(RaceRecord::from_json(&json).unwrap(), record);
        assert_eq!(RaceRecord::from_json("{\"format\": \"tunelab-race\", \"version\": 9}").unwrap_err(), ReadError::Version(9));
        assert_eq!(RaceRecord::from_json("[]").unwrap_err(), ReadError::NotARecord);
        assert!(matches!(RaceRecord::from_json("{\"format\": \"tunelab-race\", \"version\": 1}").unwrap_err(), ReadError::Malformed(m) if m.contains("setup")));
    }

    /// Whatever the bytes — random, or a good record with characters changed, cut or moved — opening
    /// them answers with a race or a reason, never a panic.
    #[test]
    fn opening_arbitrary_bytes_never_panics() {
        use rand::{Rng, SeedableRng};
        let good = crate::experiment::small_race_record(&["random", "hyperband", "pbt"], CrossValidation::Holdout, false).to_json();
        assert!(RaceRecord::open(&good).is_ok());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
        let (mut opened, mut refused) = (0, 0);
        for round in 0..400 {
            let mut bytes = good.clone().into_bytes();
            match round % 4 {
                0 => (0..rng.random_range(1..4)).for_each(|_| {
                    let at = rng.random_range(0..bytes.len());
                    bytes[at] = b"0123456789.-e,:\"[]{}"[rng.random_range(0..20)];
                }),
                1 => bytes.truncate(rng.random_range(0..bytes.len())),
                2 => {
                    let at = rng.random_range(0..bytes.len());
                    let len = rng.random_range(1..40).min(bytes.len() - at);
                    bytes.drain(at..at + len);
                }
                _ => bytes = (0..rng.random_range(0..200)).map(|_| rng.random()).collect(),
            }
            match RaceRecord::open(&String::from_utf8_lossy(&bytes)) {
                Ok(_) => opened += 1,
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    refused += 1;
                }
            }
        }
        assert!(refused > 300 && opened > 0, "{opened} opened, {refused} refused");
        assert!(matches!(RaceRecord::open(&"x".repeat(MAX_RECORD_BYTES + 1)), Err(OpenError::TooLarge { .. })));
    }

    /// A record rebuilt into a race and recorded again is the same record, whatever the method:
    /// so an export imports and exports again identically.
    #[test]
    fn a_record_rebuilds_into_the_same_race() {
        let records = [
            crate::experiment::small_race_record(&["random", "tpe", "cma-es"], CrossValidation::KFold { k: 3 }, false),
            crate::experiment::small_race_record(&["grid", "gp-ei", "genetic"], CrossValidation::Holdout, true),
            crate::experiment::small_race_record(&["hyperband", "pbt", "hypergradient", "successive-halving"], CrossValidation::Holdout, false),
        ];
        for record in records {
            let rebuilt = record.rebuild().unwrap_or_else(|e| panic!("{e}"));
            let again = RaceRecord::of(&rebuilt, 2).unwrap();
            assert_eq!(again, record, "{:?}", record.setup.methods);
            assert_eq!(RaceRecord::from_json(&again.to_json()).unwrap().to_json(), record.to_json());
            assert_eq!(rebuilt.race_state(), Some(crate::experiment::live::RaceState::Done));
        }
    }

    /// A record whose trial its method would not have proposed or scored so is refused, naming
    /// the trial; so is one whose studies are not its setup's methods.
    #[test]
    fn a_record_its_methods_would_not_have_made_is_refused() {
        let record = crate::experiment::small_race_record(&["random", "tpe"], CrossValidation::Holdout, false);
        let mut moved = record.clone();
        moved.studies[1].trials[2].params.insert("learning_rate".into(), serde_json::json!(0.05));
        assert_eq!(moved.rebuild().err().unwrap(), RebuildError::NotProposed { method: "tpe".into(), trial: 2 });
        let mut scored = record.clone();
        scored.studies[0].trials[1].score = Some(0.999);
        assert_eq!(scored.rebuild().err().unwrap(), RebuildError::NotProposed { method: "random".into(), trial: 1 });
        let mut extra = record.clone();
        let mut ghost = extra.studies[0].trials[0].clone();
        ghost.id = extra.studies[0].trials.len() + 5;
        extra.studies[0].trials.push(ghost);
        assert!(matches!(extra.rebuild().err().unwrap(), RebuildError::NotProposed { .. }));
        let mut swapped = record.clone();
        swapped.studies.swap(0, 1);
        assert!(matches!(swapped.rebuild().err().unwrap(), RebuildError::Methods { .. }));
        let mut cut = record;
        cut.studies[0].trials.truncate(4);
        cut.studies[0].trials[3].state = TrialState::Running;
        let live = cut.rebuild().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(live.race_state(), Some(crate::experiment::live::RaceState::Cancelled));
        assert_eq!(
            live.runs().filter(|r| r.trial.study == 0).map(|r| r.state.name()).collect::<Vec<_>>(),
            vec!["complete", "complete", "complete", "interrupted"]
        );
    }
}
