//! The ask-tell loop of `tunelab ask-tell`, over JSON lines, so that anyone can tune their own
//! objective from any language: the session prints `{"trial": 0, "params": {...}}` for each
//! proposal and reads `{"trial": 0, "value": 1.25}` or `{"trial": 0, "state": "failed"}` back.
//! A bad line is answered with an error (the command prints it on standard error) and changes
//! nothing; the session goes on. The command line only moves lines between this and the
//! terminal, so the loop is tested here, natively.

use super::methods;
use super::space::{SearchSpace, Value};
use super::study::{Direction, Outcome, Study, StudyConfig, Trial, TrialState};
use serde::Deserialize;
use serde_json::json;

pub struct Session {
    study: Study,
}

/// One result line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    trial: usize,
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
        let strategy = methods::by_name(method_name)?.make();
        Ok(Self { study: Study::new(space, strategy, StudyConfig { seed, direction, budget, batch_size: batch }, Box::new(|_| 1)) })
    }

    pub fn study(&self) -> &Study {
        &self.study
    }

    /// The proposals to print now, as JSON lines.
    pub fn proposals(&mut self) -> Vec<String> {
        let runs = self.study.ask_all();
        runs.iter().map(|(id, values)| format!("{{\"trial\":{id},\"params\":{}}}", params_json(self.study.space(), values))).collect()
    }

    /// One line of input. Blank lines are ignored.
    pub fn handle(&mut self, line: &str) -> Result<(), String> {
        let line = line.trim();
        if line.is_empty() {
            return Ok(());
        }
        let reply: Reply = serde_json::from_str(line)
            .map_err(|e| format!("cannot read {line:?}: {e}; expected {{\"trial\": ID, \"value\": NUMBER}} or {{\"trial\": ID, \"state\": \"failed\"}}"))?;
        let outcome = match (reply.value, reply.state.as_deref()) {
            (Some(value), None) => Outcome::Complete(value),
            (None, Some("failed")) => Outcome::Failed(reply.reason.unwrap_or_else(|| "reported failed".into())),
            (None, Some(other)) => return Err(format!("trial {}: unknown state {other:?} (only \"failed\" can be reported)", reply.trial)),
            (Some(_), Some(_)) => return Err(format!("trial {}: give a value or a state, not both", reply.trial)),
            (None, None) => return Err(format!("trial {}: give a \"value\" or \"state\": \"failed\"", reply.trial)),
        };
        self.study.tell(reply.trial, outcome).map_err(|e| e.to_string())
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
        let unanswered = count(&|t| !t.state.is_finished());
        format!("{{\"best\":{best},\"trials\":{},\"complete\":{complete},\"failed\":{failed},\"unanswered\":{unanswered}}}", trials.len())
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
                s.handle(&format!("{{\"trial\": {id}, \"value\": {}}}", (x - 1.0).powi(2))).unwrap();
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
        assert!(s.handle("   ").is_ok());
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
