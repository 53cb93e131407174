//! Random search: every param drawn independently and uniformly on its own scale — log-uniform
//! for log params — which is uniform in the unit cube (Bergstra & Bengio 2012, "Random Search
//! for Hyper-Parameter Optimization": with few parameters that matter, it covers each of them
//! far more densely than a grid of the same size). It ignores the history.

use super::snapshot::Snapshot;
use super::space::{SearchSpace, Value};
use super::strategy::{Observation, Strategy};
use crate::rng::{unit_f64, Rng64};

#[derive(Debug, Default, Clone)]
pub struct RandomSearch;

/// A uniform point of the `d`-dimensional unit cube.
pub fn random_unit(d: usize, rng: &mut Rng64) -> Vec<f64> {
    (0..d).map(|_| unit_f64(rng)).collect()
}

/// The values at a uniform point of the space's cube (the model-based methods' start-up trials
/// too).
pub fn random_values(space: &SearchSpace, rng: &mut Rng64) -> Vec<Value> {
    space.values_at(&random_unit(space.len(), rng))
}

impl Strategy for RandomSearch {
    fn name(&self) -> &'static str {
        "random"
    }

    fn ask(&mut self, space: &SearchSpace, _history: &[Observation], n: usize, rng: &mut Rng64) -> Vec<Vec<Value>> {
        (0..n).map(|_| random_values(space, rng)).collect()
    }

    fn snapshot(&self) -> Option<Snapshot> {
        Some(Snapshot::Uniform { warming_up: None })
    }
}
