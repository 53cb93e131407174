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
//! validation accuracies in [0, 1]; costs are training images.

use super::live::LiveExperiment;
use super::race::RaceSetup;
use crate::nn::EpochReport;
use crate::protocol::Paths;
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
        let race = live.race()?;
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
                        seconds: r.finished_ms.and(r.seconds(0.0)),
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
                    })
                    .collect();
                StudyRecord { method: summary.method.to_string(), budget: summary.budget, spent: summary.spent, trials }
            })
            .collect();
        Some(Self { format: FORMAT.into(), version: VERSION, setup: race.setup.clone(), workers, studies, largest_checkpoint_bytes: live.largest_checkpoint() })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a record is plain data")
    }

    /// Read a record, refusing another format or a version this build does not know.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let head: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if head.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(format!("not a tunelab race record (its \"format\" is not {FORMAT:?})"));
        }
        match head.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == VERSION as u64 => {}
            Some(v) => return Err(format!("a race record of version {v}; this tunelab reads version {VERSION}")),
            None => return Err("the record has no \"version\"".into()),
        }
        serde_json::from_value(head).map_err(|e| format!("a bad race record: {e}"))
    }
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
        assert!(RaceRecord::from_json("{\"format\": \"tunelab-race\", \"version\": 9}").unwrap_err().contains("version 9"));
        assert!(RaceRecord::from_json("[]").unwrap_err().contains("not a tunelab race record"));
    }
}
