//! Chosen points: the configurations a person picked, proposed in the order given, then
//! nothing. Not a tuning method — it never looks at results — but it lets a hand-picked
//! configuration run as a study like any other: training one configuration on the page is a
//! study of one trial over a space that searches nothing.

use super::space::{SearchSpace, Value};
use super::strategy::{Observation, Strategy};
use crate::rng::Rng64;

#[derive(Debug, Clone)]
pub struct ChosenPoints {
    /// What is left to propose, last first.
    points: Vec<Vec<Value>>,
}

impl ChosenPoints {
    pub fn new(mut points: Vec<Vec<Value>>) -> Self {
        points.reverse();
        Self { points }
    }

    /// The one point of a space that searches nothing (`SearchSpace::nothing`).
    pub fn single() -> Self {
        Self::new(vec![Vec::new()])
    }
}

impl Strategy for ChosenPoints {
    fn name(&self) -> &'static str {
        "chosen"
    }

    fn ask(&mut self, _space: &SearchSpace, _history: &[Observation], n: usize, _rng: &mut Rng64) -> Vec<Vec<Value>> {
        (0..n).map_while(|_| self.points.pop()).collect()
    }
}
