//! Random search: every param drawn independently and uniformly on its own scale — log-uniform
//! for log params — which is uniform in the unit cube (Bergstra & Bengio 2012, "Random Search
//! for Hyper-Parameter Optimization": with few parameters that matter, it covers each of them
//! far more densely than a grid of the same size). It ignores the history.

use super::space::{SearchSpace, Value};
use super::strategy::{Observation, Strategy};
use crate::rng::{unit_f64, Rng64};

#[derive(Debug, Default, Clone)]
pub struct RandomSearch;

impl Strategy for RandomSearch {
    fn name(&self) -> &'static str {
        "random"
    }

    fn ask(&mut self, space: &SearchSpace, _history: &[Observation], n: usize, rng: &mut Rng64) -> Vec<Vec<Value>> {
        (0..n).map(|_| space.values_at(&(0..space.len()).map(|_| unit_f64(rng)).collect::<Vec<_>>())).collect()
    }
}
