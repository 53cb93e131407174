//! A race's trials in the file format of Optuna's `JournalStorage` (a `JournalFileBackend`
//! file: one JSON operation per line), so that Optuna opens each method as a study of its own —
//! `optuna.load_study(study_name="tpe", storage=JournalStorage(JournalFileBackend(path)))` — with
//! its params, distributions, values, states and intermediate values, and optuna-dashboard draws
//! it. The operations are Optuna's own: `CREATE_STUDY` (op 0) per method, maximizing, then one
//! `CREATE_TRIAL` (op 4) per trial carrying the whole trial, as Optuna writes for `add_trial`.
//!
//! Mapping: a float or integer param is Optuna's `FloatDistribution` / `IntDistribution` over its
//! range (log scale kept), a categorical its `CategoricalDistribution` (internally the choice's
//! index). States: complete → COMPLETE with the score as value; pruned → PRUNED; failed,
//! diverged and interrupted → FAIL (Optuna has no other word for them; `user_attrs` keep
//! tunelab's state and reason); running or paused → RUNNING; waiting → WAITING. Intermediate
//! values are the validation accuracy after each epoch (under k-fold, the mean over the folds
//! that reached it). Times appear when the record is dated (`started_unix_ms`).

use crate::experiment::record::{RaceRecord, TrialRecord};
use crate::tuning::space::{Domain, Param};
use crate::tuning::trial::TrialState;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

const CREATE_STUDY: u32 = 0;
const CREATE_TRIAL: u32 = 4;
const WORKER: &str = "tunelab-export";
/// Optuna's `StudyDirection.MAXIMIZE`.
const MAXIMIZE: u32 = 2;

/// The journal of `record`: a study per method, named by the method's registry name.
pub fn to_journal(record: &RaceRecord) -> String {
    let mut out = String::new();
    for study in &record.studies {
        push(&mut out, json!({"op_code": CREATE_STUDY, "worker_id": WORKER, "study_name": study.method, "directions": [MAXIMIZE]}));
    }
    for (study_id, study) in record.studies.iter().enumerate() {
        for trial in &study.trials {
            push(&mut out, create_trial(record, study_id, trial));
        }
    }
    out
}

fn push(out: &mut String, op: Value) {
    out.push_str(&op.to_string());
    out.push('\n');
}

/// Optuna's `TrialState` numbers.
fn state_code(state: &TrialState) -> u32 {
    match state {
        TrialState::Running | TrialState::Paused => 0,
        TrialState::Complete => 1,
        TrialState::Pruned => 2,
        TrialState::Failed(_) | TrialState::Diverged(_) | TrialState::Interrupted => 3,
        TrialState::Waiting => 4,
    }
}

fn create_trial(record: &RaceRecord, study_id: usize, trial: &TrialRecord) -> Value {
    let space = record.setup.space.params();
    let mut op = Map::new();
    op.insert("op_code".into(), json!(CREATE_TRIAL));
    op.insert("worker_id".into(), json!(WORKER));
    op.insert("study_id".into(), json!(study_id));
    let start = record.started_unix_ms.map(|t0| t0 + trial.started.unwrap_or(0.0) * 1000.0);
    op.insert("datetime_start".into(), json!(start.map(iso)));
    // Optuna reads a "datetime_complete" it is given: null would not parse, so it is left out.
    if let (Some(start), Some(seconds), true) = (start, trial.seconds, trial.state.is_finished()) {
        op.insert("datetime_complete".into(), json!(iso(start + seconds * 1000.0)));
    }
    op.insert("state".into(), json!(state_code(&trial.state)));
    op.insert("value".into(), json!(trial.score.filter(|_| trial.state == TrialState::Complete)));
    op.insert("values".into(), Value::Null);
    op.insert("distributions".into(), space.iter().map(|p| (p.name.clone(), json!(distribution(p)))).collect::<Map<_, _>>().into());
    op.insert("params".into(), space.iter().filter_map(|p| Some((p.name.clone(), internal(p, trial.params.get(&p.name)?)?))).collect::<Map<_, _>>().into());
    let mut attrs = Map::new();
    attrs.insert("tunelab_state".into(), json!(trial.state.name()));
    if let TrialState::Failed(reason) | TrialState::Diverged(reason) = &trial.state {
        attrs.insert("reason".into(), json!(reason));
    }
    attrs.insert("cost_images".into(), json!(trial.cost));
    if let Some(folds) = &trial.folds {
        attrs.insert("fold_scores".into(), json!(folds));
    }
    op.insert("user_attrs".into(), attrs.into());
    op.insert("system_attrs".into(), json!({}));
    op.insert("intermediate_values".into(), intermediate(trial).into_iter().map(|(e, v)| (e.to_string(), json!(v))).collect::<Map<_, _>>().into());
    op.into()
}

/// Optuna's `distribution_to_json` of a param.
fn distribution(param: &Param) -> String {
    let d = match &param.domain {
        Domain::Float { low, high, log } => json!({"name": "FloatDistribution", "attributes": {"step": null, "low": low, "high": high, "log": log}}),
        Domain::Int { low, high, log } => json!({"name": "IntDistribution", "attributes": {"log": log, "step": 1, "low": low, "high": high}}),
        Domain::Categorical { choices } => json!({"name": "CategoricalDistribution", "attributes": {"choices": choices}}),
    };
    d.to_string()
}

/// A value as Optuna stores it: a number as a float, a choice as its index.
fn internal(param: &Param, value: &Value) -> Option<Value> {
    match &param.domain {
        Domain::Categorical { choices } => choices.iter().position(|c| Some(c.as_str()) == value.as_str()).map(|i| json!(i)),
        _ => value.as_f64().map(|x| json!(x)),
    }
}

/// The validation accuracy after each epoch, averaged over the folds that reached it.
fn intermediate(trial: &TrialRecord) -> BTreeMap<u32, f64> {
    let mut sums: BTreeMap<u32, (f64, u32)> = BTreeMap::new();
    for e in &trial.epochs {
        if let Some(a) = e.report.validation_accuracy {
            let s = sums.entry(e.report.epoch).or_default();
            *s = (s.0 + a as f64, s.1 + 1);
        }
    }
    sums.into_iter().map(|(epoch, (sum, n))| (epoch, sum / n as f64)).collect()
}

/// A time (ms since 1970, UTC) as ISO 8601 with microseconds, as Optuna writes it.
pub fn iso(unix_ms: f64) -> String {
    let micros = (unix_ms * 1000.0).round() as i64;
    let (days, in_day) = (micros.div_euclid(86_400_000_000), micros.rem_euclid(86_400_000_000));
    let (year, month, day) = civil_from_days(days);
    let seconds = in_day / 1_000_000;
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00", seconds / 3600, seconds / 60 % 60, seconds % 60, in_day % 1_000_000)
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, http://howardhinnant.github.io/date_algorithms.html).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::validation::CrossValidation;
    use crate::experiment::small_race_record;

    #[test]
    fn each_method_is_a_study_and_each_trial_one_operation() {
        let mut record = small_race_record(&["grid", "gp-ei"], CrossValidation::Holdout, true);
        record.started_unix_ms = Some(1_796_092_213_000.0);
        let journal = to_journal(&record);
        let ops: Vec<Value> = journal.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let trials: Vec<&TrialRecord> = record.studies.iter().flat_map(|s| &s.trials).collect();
        assert_eq!(ops.len(), 2 + trials.len());
        assert_eq!(ops[0]["study_name"], "grid");
        assert_eq!(ops[1]["directions"], json!([2]));
        for (op, trial) in ops[2..].iter().zip(&trials) {
            assert_eq!(op["op_code"], 4);
            let complete = trial.state == TrialState::Complete;
            assert_eq!(op["state"], json!(if complete { 1 } else { 2 }), "{op}");
            assert_eq!(op["value"], json!(trial.score.filter(|_| complete)));
            assert_eq!(op["params"]["epochs"].as_f64(), trial.params["epochs"].as_f64());
            let lr: Value = serde_json::from_str(op["distributions"]["learning_rate"].as_str().unwrap()).unwrap();
            assert_eq!(lr["attributes"]["log"], true);
            assert_eq!(op["intermediate_values"].as_object().unwrap().len(), trial.epochs.len());
            assert!(op["datetime_start"].as_str().unwrap().starts_with("2026-12-01T"));
            assert!(op["datetime_complete"].is_string());
        }
    }

    #[test]
    fn times_are_written_as_optuna_writes_them() {
        assert_eq!(iso(0.0), "1970-01-01T00:00:00.000000+00:00");
        // 2026-12-01T02:30:13.089484Z, from Optuna's own journal.
        assert_eq!(iso(1_796_092_213_089.484), "2026-12-01T02:30:13.089484+00:00");
        assert_eq!(iso(951_782_400_000.0), "2000-02-29T00:00:00.000000+00:00");
        assert_eq!(iso(-86_400_000.0), "1969-12-31T00:00:00.000000+00:00");
    }
}
