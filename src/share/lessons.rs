//! The built-in lessons: each one a link — an experiment, the controls it locks and the views it
//! hides — with a paragraph the page shows in the class's language (the catalogues' `Lesson*`
//! keys). Each is small enough to run in a few minutes on a classroom laptop.

use super::link::{encode_with, preset_rows, Classroom, Control, PanelState, View};
use crate::data::validation::CrossValidation;

/// A built-in lesson, by its id in links (`l=<id>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lesson {
    pub id: &'static str,
}

pub const LESSONS: [Lesson; 5] = [
    Lesson { id: "grid-vs-random" },
    Lesson { id: "bayes-vs-random" },
    Lesson { id: "early-stopping" },
    Lesson { id: "cross-validation" },
    Lesson { id: "hypergradients" },
];

pub fn by_id(id: &str) -> Option<&'static Lesson> {
    LESSONS.iter().find(|l| l.id == id)
}

fn methods(names: &[&str]) -> Vec<String> {
    names.iter().map(|m| m.to_string()).collect()
}

/// The search space of `preset`, with epochs fixed at `epochs` (so trials are quick).
fn space(preset: &str, epochs: u32) -> (String, Vec<crate::experiment::space_form::ParamRow>) {
    let mut rows = preset_rows(preset);
    if let Some(row) = rows.iter_mut().find(|r| r.name == "epochs") {
        row.on = false;
        row.fixed = epochs.to_string();
    }
    (preset.to_string(), rows)
}

impl Lesson {
    /// The experiment the lesson opens.
    pub fn state(&self) -> PanelState {
        let base = PanelState { subset: 2_000, validation: CrossValidation::Holdout, seed: 1, proposals: 4, median_pruning: false, ..PanelState::default() };
        match self.id {
            // The course's own space, searched the course's way and at random on the same budget
            // (Bergstra & Bengio 2012: random search tries more distinct values of what matters).
            "grid-vs-random" => PanelState { methods: methods(&["grid", "random"]), budget: 60, ..base },
            // A model of the scores so far chooses the next point; random search does not.
            "bayes-vs-random" => {
                let (preset, rows) = space("seed", 2);
                PanelState { methods: methods(&["random", "tpe", "gp-ei"]), preset, rows, budget: 60, ..base }
            }
            // Stopping poor trials early buys more trials with the same compute.
            "early-stopping" => PanelState { methods: methods(&["random", "successive-halving", "hyperband"]), budget: 80, median_pruning: true, ..base },
            // k folds give each score a spread: the same methods, scored by 5-fold.
            "cross-validation" => {
                let (preset, rows) = space("seed", 1);
                PanelState { methods: methods(&["random", "tpe"]), preset, rows, budget: 60, validation: CrossValidation::KFold { k: 5 }, ..base }
            }
            // The learning rate tuned by its gradient while the network trains.
            _ => {
                let (preset, rows) = space("seed", 3);
                PanelState { methods: methods(&["random", "hypergradient"]), preset, rows, budget: 48, ..base }
            }
        }
    }

    /// What the lesson locks and hides.
    pub fn classroom(&self) -> Classroom {
        let (lock, hide) = match self.id {
            "grid-vs-random" => (vec![Control::Methods, Control::Space], vec![View::Single]),
            "bayes-vs-random" => (vec![Control::Methods], vec![View::Single]),
            "early-stopping" => (vec![Control::Methods, Control::Median], vec![View::Single, View::Parallel]),
            "cross-validation" => (vec![Control::Methods, Control::Space], vec![View::Single]),
            _ => (vec![Control::Methods], vec![View::Single, View::Distinct]),
        };
        Classroom { lock, hide, lesson: Some(self.id.to_string()) }
    }

    /// The lesson's link fragment.
    pub fn fragment(&self) -> String {
        encode_with(&self.state(), &self.classroom())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::link::decode;

    #[test]
    fn every_lesson_is_a_short_link_to_a_race_that_can_run() {
        for lesson in LESSONS {
            let fragment = lesson.fragment();
            assert!(fragment.len() < 300, "{}: {fragment}", lesson.id);
            let opened = decode(&fragment);
            assert_eq!(opened.problems, vec![], "{}", lesson.id);
            assert_eq!((opened.state, opened.classroom), (lesson.state(), lesson.classroom()));
            let setup = lesson.state().setup().unwrap_or_else(|e| panic!("{}: {e:?}", lesson.id));
            assert_eq!(setup.problems(), vec![], "{}", lesson.id);
        }
    }
}
