//! Gradient-based tuning, as a racing method: each trial starts at a point drawn at random
//! (as random search draws it) and then tunes its learning rate and its L2 strength while it
//! trains, by their hypergradients — the learning rate by hypergradient descent on the
//! training loss (Baydin et al., "Online learning rate adaptation with hypergradient descent",
//! ICLR 2018), L2 by the gradient of a held-out batch's loss through one training step (Luketina
//! et al., "Scalable gradient-based tuning of continuous regularization hyperparameters", ICML
//! 2016). The hypergradients themselves live in the trainer (`nn::train`, checked against
//! finite differences in `nn::hypergradient_check`); whoever runs the trials switches them on
//! for this method's (`methods::Method::hypergradients`). Each trial pays its full training.
//! What the method found is where the paths ended: the trial records them.

use super::random::random_values;
use super::space::{SearchSpace, Value};
use super::strategy::{Observation, Strategy};
use crate::rng::Rng64;

#[derive(Debug, Default, Clone)]
pub struct HypergradientStarts;

impl Strategy for HypergradientStarts {
    fn name(&self) -> &'static str {
        "hypergradient"
    }

    fn ask(&mut self, space: &SearchSpace, _history: &[Observation], n: usize, rng: &mut Rng64) -> Vec<Vec<Value>> {
        (0..n).map(|_| random_values(space, rng)).collect()
    }
}
