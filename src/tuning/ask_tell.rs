//! The ask-tell loop of `tunelab ask-tell`, over JSON lines, so that anyone can tune their own
//! objective from any language: the session prints `{"trial": 0, "params": {...}}` for each
//! proposal and reads `{"trial": 0, "value": 1.25}` or `{"trial": 0, "state": "failed"}` back.
//! A bad line is answered with an error (the command prints it on standard error) and changes
//! nothing; the session goes on. The command line only moves lines between this and the
//! terminal, so the loop is tested here, natively.
//!
//! Intermediate values, as Optuna's `trial.report` / `should_prune`: a client may send
//! `{"trial": 0, "step": 3, "value": 0.8}` while a trial runs, and is answered
//! `{"trial": 0, "prune": false}` — or `true`, and the trial then ends Pruned (it still counts
//! one evaluation). With the median pruner on, a trial is pruned when its best value so far is
//! worse than the median of the values the reference trials reported at the same step. The
//! reference is frozen when the trial is handed out — the trials of earlier rounds that
//! completed — so the answers do not depend on the order in which results come back.
//!
//! Methods that act inside training (successive halving, Hyperband, PBT) hand out each trial
//! with the resource it should train to (`"resource": R`, in the client's own unit: epochs,
//! steps), and a trial they promote comes back with `"resume": true` and a larger resource: the
//! client trains it on from where it stopped and replies with its value there. The budget then
//! counts resource units.

use super::median_pruner::{worse_than, MedianPruner};
use super::methods;
use super::space::{SearchSpace, Value};
use super::study::{Direction, Outcome, Study, StudyConfig, Trial, TrialState};
use super::supervisor::Resource;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

pub struct Session {
    study: Study,
    /// The median-stopping rule, when pruning is on.
    pruner: Option<MedianPruner>,
    /// Each trial's intermediate values, as (step, value), in the order reported.
    reported: BTreeMap<usize, Vec<(u64, f64)>>,
    /// Each trial's reference: the complete trials it is compared with, fixed when it was handed out.
    reference: BTreeMap<usize, Vec<usize>>,
}

/// One result line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    trial: usize,
    #[serde(default)]
    step: Option<u64>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

impl Session {
    /// `batch` proposals are kept outstanding at a time; `budget` counts evaluations. The method
    /// is one of the registry's (`methods::by_name`).
    pub fn new(space: SearchSpace, method_name: &str, seed: u64, budget: u64, direction: Direction, batch: usize) -> Result<Self, String> {
        Self::with_resource(space, method_name, seed, budget, direction, batch, None)
    }

    /// A session whose trials train a resource between `min` and `max` units (needed by the
    /// methods that act inside training; the budget then counts units).
    pub fn with_resource(
        space: SearchSpace,
        method_name: &str,
        seed: u64,
        budget: u64,
        direction: Direction,
        batch: usize,
        resource: Option<(u32, u32)>,
    ) -> Result<Self, String> {
        let method = methods::by_name(method_name)?;
        let config = StudyConfig { seed, direction, budget, batch_size: batch };
        let study = match (method.acts_inside_training(), resource) {
            (true, None) => {
                return Err(format!(
                    "{method_name} trains trials in stages: give the resource a trial trains to its end with --max-resource (and --min-resource)"
                ))
            }
            (true, Some(_)) if budget == u64::MAX => return Err(format!("{method_name} goes on while its budget lasts: give --budget (in resource units)")),
            (true, Some((min, max))) => {
                super::hyperband_schedule::brackets(min, max, 2).map_err(|e| e.to_string())?;
                method.study(space, config, Box::new(|_| 1), Resource { min, max, unit_cost: 1, param: None })
            }
            (false, _) => method.study(space, config, Box::new(|_| 1), Resource { min: 1, max: 1, unit_cost: 1, param: None }),
        };
        Ok(Self { study, pruner: None, reported: BTreeMap::new(), reference: BTreeMap::new() })
    }

    /// Prune by the median-stopping rule (otherwise every intermediate value is answered
    /// `"prune": false`).
    pub fn with_pruner(self, pruner: MedianPruner) -> Self {
        Self { pruner: Some(pruner), ..self }
    }

    pub fn study(&self) -> &Study {
        &self.study
    }

    /// The proposals to print now, as JSON lines.
    pub fn proposals(&mut self) -> Vec<String> {
        let runs = self.study.ask_all();
        for (id, _) in &runs {
            let batch = self.study.trials()[*id].batch;
            let complete = self.study.trials().iter().filter(|t| t.batch < batch && t.state == TrialState::Complete).map(|t| t.id).collect();
            self.reference.insert(*id, complete);
        }
        let staged = |id: usize| {
            let segment = self.study.segment(id)?;
            let until = segment.until.or_else(|| self.study.trials()[id].group.and(self.study.resource()).map(|r| r.max))?;
            Some(match segment.resume_from {
                Some(from) if from == id => format!(",\"resource\":{until},\"resume\":true"),
                // PBT's copy: go on from another trial's state, with these values.
                Some(from) => format!(",\"resource\":{until},\"resume\":true,\"from\":{from}"),
                None => format!(",\"resource\":{until}"),
            })
        };
        runs.iter()
            .map(|(id, values)| format!("{{\"trial\":{id},\"params\":{}{}}}", params_json(self.study.space(), values), staged(*id).unwrap_or_default()))
            .collect()
    }

    /// One line of input; an intermediate value is answered with the line to print. Blank lines
    /// are ignored.
    pub fn handle(&mut self, line: &str) -> Result<Option<String>, String> {
        let line = line.trim();
        if line.is_empty() {
            return Ok(None);
        }
        let reply: Reply = serde_json::from_str(line).map_err(|e| {
            format!("cannot read {line:?}: {e}; expected {{\"trial\": ID, \"value\": NUMBER}}, {{\"trial\": ID, \"state\": \"failed\"}} or {{\"trial\": ID, \"step\": K, \"value\": NUMBER}}")
        })?;
        if let Some(step) = reply.step {
            return self.intermediate(reply.trial, step, reply.value, reply.state.is_some()).map(Some);
        }
        let until = self.study.segment(reply.trial).and_then(|s| s.until);
        let outcome = match (reply.value, reply.state.as_deref()) {
            (Some(value), None) => match until {
                Some(reached) => Outcome::Paused { value, reached },
                None => Outcome::Complete(value),
            },
            (None, Some("failed")) => Outcome::Failed(reply.reason.unwrap_or_else(|| "reported failed".into())),
            (None, Some(other)) => return Err(format!("trial {}: unknown state {other:?} (only \"failed\" can be reported)", reply.trial)),
            (Some(_), Some(_)) => return Err(format!("trial {}: give a value or a state, not both", reply.trial)),
            (None, None) => return Err(format!("trial {}: give a \"value\" or \"state\": \"failed\"", reply.trial)),
        };
        self.study.tell(reply.trial, outcome).map_err(|e| e.to_string())?;
        Ok(None)
    }

    /// An intermediate value of a running trial: record it, and answer whether to prune.
    fn intermediate(&mut self, id: usize, step: u64, value: Option<f64>, with_state: bool) -> Result<String, String> {
        let Some(value) = value.filter(|_| !with_state) else {
            return Err(format!("trial {id}: an intermediate value is {{\"trial\": ID, \"step\": K, \"value\": NUMBER}}, without a state"));
        };
        self.study.report(id, value).map_err(|e| e.to_string())?;
        let values = self.reported.entry(id).or_default();
        values.push((step, value));
        let prune = match &self.pruner {
            None => false,
            Some(pruner) => {
                let reference = self.reference.get(&id).map(Vec::as_slice).unwrap_or_default();
                let at_step: Vec<f64> = reference.iter().filter_map(|r| self.reported.get(r)?.iter().find(|(s, _)| *s == step).map(|(_, v)| *v)).collect();
                let threshold = pruner.threshold(reference.len(), at_step, step >= pruner.warmup_epochs as u64);
                let own: Vec<f64> = self.reported[&id].iter().map(|(_, v)| *v).collect();
                worse_than(threshold, &own, self.study.direction())
            }
        };
        if prune {
            self.study.tell(id, Outcome::Pruned { value, cost: 1 }).map_err(|e| e.to_string())?;
        }
        Ok(format!("{{\"trial\":{id},\"prune\":{prune}}}"))
    }

    /// Whether the method or the budget has run out and every trial has an answer.
    pub fn is_done(&self) -> bool {
        self.study.is_done()
    }

    /// The closing line: the best trial and the counts.
    pub fn summary(&self) -> String {
        let trials = self.study.trials();
        let count = |f: &dyn Fn(&Trial) -> bool| trials.iter().filter(|t| f(t)).count();
        let best = match self.study.best() {
            Some(t) => format!("{{\"trial\":{},\"value\":{},\"params\":{}}}", t.id, json!(t.score), params_json(self.study.space(), &t.values)),
            None => "null".into(),
        };
        let (complete, failed) = (count(&|t| t.state == TrialState::Complete), count(&|t| matches!(t.state, TrialState::Failed(_))));
        let (pruned, unanswered) = (count(&|t| t.state == TrialState::Pruned), count(&|t| !t.state.is_finished()));
        format!("{{\"best\":{best},\"trials\":{},\"complete\":{complete},\"pruned\":{pruned},\"failed\":{failed},\"unanswered\":{unanswered}}}", trials.len())
    }
}

/// `{"name": value, ...}` in the space's order (a JSON object built field by field: serde_json's
/// map would sort the names).
fn params_json(space: &SearchSpace, values: &[Value]) -> String {
    let fields: Vec<String> = space.params().iter().zip(values).map(|(p, v)| format!("{}:{}", json!(p.name), json!(v))).collect();
    format!("{{{}}}", fields.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuning::space::Param;

    fn space() -> SearchSpace {
        SearchSpace::new(vec![Param::float("x", -5.0, 5.0), Param::categorical("kind", &["a", "b"])]).unwrap()
    }

    fn parse(line: &str) -> (usize, f64) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        (v["trial"].as_u64().unwrap() as usize, v["params"]["x"].as_f64().unwrap())
    }

    #[test]
    fn proposals_and_results_go_back_and_forth_as_json_lines() {
        let mut s = Session::new(space(), "random", 4, 6, Direction::Minimize, 2).unwrap();
        let mut answered = 0;
        loop {
            let lines = s.proposals();
            if lines.is_empty() {
                break;
            }
            assert!(lines.len() <= 2, "at most --batch outstanding");
            for line in lines {
                let (id, x) = parse(&line);
                assert!(line.contains("\"kind\":\"a\"") || line.contains("\"kind\":\"b\""), "{line}");
                assert_eq!(s.handle(&format!("{{\"trial\": {id}, \"value\": {}}}", (x - 1.0).powi(2))).unwrap(), None);
                answered += 1;
            }
        }
        assert_eq!(answered, 6);
        assert!(s.is_done());
        let summary: serde_json::Value = serde_json::from_str(&s.summary()).unwrap();
        assert_eq!((summary["trials"].as_u64(), summary["complete"].as_u64()), (Some(6), Some(6)));
        let best_x = summary["best"]["params"]["x"].as_f64().unwrap();
        let best = s.study().trials().iter().map(|t| t.score.unwrap()).fold(f64::INFINITY, f64::min);
        assert_eq!(summary["best"]["value"].as_f64().unwrap(), best);
        assert_eq!((best_x - 1.0).powi(2), best);
    }

    #[test]
    fn intermediate_values_are_answered_by_the_median_rule_against_earlier_rounds() {
        let pruner = MedianPruner { startup_trials: 2, ..Default::default() };
        let mut s = Session::new(space(), "random", 3, 10, Direction::Minimize, 2).unwrap().with_pruner(pruner);
        let ids = |lines: Vec<String>| lines.iter().map(|l| parse(l).0).collect::<Vec<_>>();
        let first = ids(s.proposals());
        assert_eq!(first.len(), 2);
        // The first round has nothing to compare with: every answer is "go on".
        for (id, curve) in first.iter().zip([[1.0, 0.8, 0.6], [2.0, 1.6, 1.2]]) {
            for (step, value) in curve.iter().enumerate() {
                assert_eq!(
                    s.handle(&format!("{{\"trial\": {id}, \"step\": {step}, \"value\": {value}}}")),
                    Ok(Some(format!("{{\"trial\":{id},\"prune\":false}}")))
                );
            }
            s.handle(&format!("{{\"trial\": {id}, \"value\": {}}}", curve[2])).unwrap();
        }
        let second = ids(s.proposals());
        let (c, d) = (second[0], second[1]);
        // d finishes first; c is still compared with the first round only (median 1.5 at step 0).
        assert_eq!(s.handle(&format!("{{\"trial\": {d}, \"step\": 0, \"value\": 0.5}}")), Ok(Some(format!("{{\"trial\":{d},\"prune\":false}}"))));
        s.handle(&format!("{{\"trial\": {d}, \"value\": 0.1}}")).unwrap();
        assert_eq!(s.handle(&format!("{{\"trial\": {c}, \"step\": 0, \"value\": 1.4}}")), Ok(Some(format!("{{\"trial\":{c},\"prune\":false}}"))));
        assert_eq!(
            s.handle(&format!("{{\"trial\": {c}, \"step\": 1, \"value\": 1.5}}")),
            Ok(Some(format!("{{\"trial\":{c},\"prune\":true}}"))),
            "best 1.4 > median 1.2 at step 1"
        );
        assert_eq!(s.study().trials()[c].state, TrialState::Pruned);
        assert_eq!(s.study().trials()[c].progress, vec![1.4, 1.5]);
        assert!(s.handle(&format!("{{\"trial\": {c}, \"step\": 2, \"value\": 1.0}}")).unwrap_err().contains("not running"));
        let summary: serde_json::Value = serde_json::from_str(&s.summary()).unwrap();
        assert_eq!(summary["pruned"].as_u64(), Some(1));
        // Without a pruner every answer is "go on"; a step needs a value and no state.
        let mut plain = Session::new(space(), "random", 3, 10, Direction::Minimize, 1).unwrap();
        let id = parse(&plain.proposals()[0]).0;
        assert_eq!(plain.handle(&format!("{{\"trial\": {id}, \"step\": 0, \"value\": 99}}")), Ok(Some(format!("{{\"trial\":{id},\"prune\":false}}"))));
        assert!(plain.handle(&format!("{{\"trial\": {id}, \"step\": 1}}")).unwrap_err().contains("an intermediate value is"));
        assert!(plain.handle(&format!("{{\"trial\": {id}, \"step\": 1, \"value\": 1, \"state\": \"failed\"}}")).unwrap_err().contains("without a state"));
    }

    #[test]
    fn hyperband_hands_out_the_resource_to_train_to_and_resumes_the_promoted() {
        assert!(Session::new(space(), "hyperband", 1, 100, Direction::Minimize, 1).err().unwrap().contains("--max-resource"));
        assert!(Session::with_resource(space(), "hyperband", 1, 100, Direction::Minimize, 1, Some((3, 1))).is_err(), "inverted bounds");
        // Successive halving, 1 to 9 steps, η = 3: nine trials to 1 step, three on to 3, one to 9.
        let mut s = Session::with_resource(space(), "successive-halving", 2, 9 + 3 * 2 + 6, Direction::Minimize, 1, Some((1, 9))).unwrap();
        let mut lines_seen = Vec::new();
        loop {
            let lines = s.proposals();
            if lines.is_empty() {
                break;
            }
            for line in lines {
                let v: serde_json::Value = serde_json::from_str(&line).unwrap();
                let (id, x, resource) = (v["trial"].as_u64().unwrap(), v["params"]["x"].as_f64().unwrap(), v["resource"].as_u64().unwrap());
                lines_seen.push((resource, v["resume"].as_bool().unwrap_or(false)));
                // The value improves with the resource; the best x is 1.
                s.handle(&format!("{{\"trial\": {id}, \"value\": {}}}", (x - 1.0).powi(2) + 1.0 / resource as f64)).unwrap();
            }
        }
        let count = |r: u64, resume: bool| lines_seen.iter().filter(|l| **l == (r, resume)).count();
        assert_eq!((count(1, false), count(3, true), count(9, true)), (9, 3, 1), "{lines_seen:?}");
        let summary: serde_json::Value = serde_json::from_str(&s.summary()).unwrap();
        assert_eq!((summary["trials"].as_u64(), summary["complete"].as_u64(), summary["pruned"].as_u64()), (Some(9), Some(1), Some(8)));
    }

    #[test]
    fn bad_lines_get_clear_errors_and_change_nothing() {
        let mut s = Session::new(space(), "random", 1, 10, Direction::Maximize, 1).unwrap();
        let (id, _) = parse(&s.proposals()[0]);
        for (line, expected) in [
            ("not json", "cannot read \"not json\""),
            ("{\"trial\": 5, \"value\": 1}", "there is no trial 5"),
            ("{\"trial\": 0}", "trial 0: give a \"value\" or \"state\": \"failed\""),
            ("{\"trial\": 0, \"state\": \"great\"}", "trial 0: unknown state \"great\""),
            ("{\"trial\": 0, \"value\": \"high\"}", "cannot read"),
            ("{\"trial\": 0, \"value\": 1, \"state\": \"failed\"}", "trial 0: give a value or a state, not both"),
        ] {
            let err = s.handle(line).unwrap_err();
            assert!(err.starts_with(expected), "{line}: {err}");
        }
        assert_eq!(s.handle("   "), Ok(None));
        assert_eq!(s.study().trials()[id].state, TrialState::Running);
        s.handle(&format!("{{\"trial\": {id}, \"state\": \"failed\", \"reason\": \"crashed\"}}")).unwrap();
        assert_eq!(s.study().trials()[id].state, TrialState::Failed("crashed".into()));
        assert!(s.handle(&format!("{{\"trial\": {id}, \"value\": 2}}")).unwrap_err().contains("not running"));
        // The session goes on.
        assert_eq!(s.proposals().len(), 1);
        assert!(Session::new(space(), "annealing", 1, 10, Direction::Minimize, 1)
            .err()
            .unwrap()
            .starts_with("unknown method \"annealing\"; the methods are grid, random, tpe, gp-ei, cma-es, genetic"));
    }
}
