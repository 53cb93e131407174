//! The interface of the methods that act inside training — successive halving, Hyperband,
//! population-based training — beside `Strategy`, the interface of the methods that only
//! propose points.
//!
//! Such a method trains its trials in segments, up to a number of epochs (the resource) at a
//! time. A trial that reaches the end of a segment is Paused, its whole training state kept as a
//! checkpoint by whoever runs it (`nn::checkpoint`). When every trial handed out has paused or
//! finished — a barrier — the study shows the method every trial and asks what to do next:
//! start new trials, continue paused ones from their checkpoints (from their own, or, for
//! population-based training, from another trial's with changed values), or stop them. Rungs
//! and intervals are synchronous, so the decisions depend on the results only, never on the
//! worker count or on which trial finished first.

use super::space::{SearchSpace, Value};
use super::trial::{Direction, Trial, TrialState};
use crate::rng::Rng64;
use serde::{Deserialize, Serialize};

/// What a trial's training is measured in for these methods: epochs, from `min` to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// The fewest epochs a trial trains before a method may judge it.
    pub min: u32,
    /// The epochs a trial trains to its end.
    pub max: u32,
    /// What one epoch costs the budget (training images, over all of a trial's runs).
    pub unit_cost: u64,
    /// The space's param that is the resource (epochs), if the space searches it: a method
    /// sets it to `max` in the points it starts, as every trial is configured to train `max`
    /// epochs and stopped, or paused, on the way.
    pub param: Option<usize>,
}

/// What the method is shown at a barrier.
pub struct Barrier<'a> {
    pub space: &'a SearchSpace,
    /// Every trial so far, in the order started; none is Waiting or Running.
    pub trials: &'a [Trial],
    pub direction: Direction,
    pub resource: Resource,
    /// Budget not yet reserved or spent.
    pub budget_left: u64,
}

impl Barrier<'_> {
    /// A paused trial's last score as a loss to minimise (None if it is not a number).
    pub fn paused_loss(&self, trial: &Trial) -> Option<f64> {
        let (_, score) = trial.pauses.last()?;
        score.is_finite().then(|| match self.direction {
            Direction::Minimize => *score,
            Direction::Maximize => -score,
        })
    }

    /// These trials, best last score first (ties and scores that are not numbers: the lower
    /// trial number first, numbers before the rest).
    pub fn ranked(&self, mut ids: Vec<usize>) -> Vec<usize> {
        let key = |id: &usize| self.paused_loss(&self.trials[*id]).unwrap_or(f64::INFINITY);
        ids.sort_by(|a, b| key(a).total_cmp(&key(b)).then(a.cmp(b)));
        ids
    }

    /// The trials Paused now, in trial order.
    pub fn paused(&self) -> Vec<usize> {
        self.trials.iter().filter(|t| t.state == TrialState::Paused).map(|t| t.id).collect()
    }

    /// What training a trial further, to `until` epochs, from where `from` stands costs.
    pub fn cost_to(&self, from: u32, until: u32) -> u64 {
        until.saturating_sub(from) as u64 * self.resource.unit_cost
    }

    /// `values` with the resource param (if the space searches it) at the maximum.
    pub fn at_full_resource(&self, mut values: Vec<Value>) -> Vec<Value> {
        if let Some(i) = self.resource.param {
            let param = &self.space.params()[i];
            values[i] = param.nearest(self.resource.max as f64);
        }
        values
    }
}

/// What a method does at a barrier.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// A new trial of `values`, trained from scratch to `until` epochs; `group` is its bracket
    /// (Hyperband) or population member (PBT).
    Start { values: Vec<Value>, until: u32, group: u32 },
    /// A paused trial trains on from its checkpoint to `until` epochs (promoted).
    Continue { trial: usize, until: u32 },
    /// Population-based training's exploit and explore: a paused trial takes on `from`'s
    /// checkpoint (weights, optimizer, epoch) with `values` (`from`'s, perturbed), and trains on
    /// to `until` epochs. `from` may be the trial itself (it kept its own weights but its values
    /// changed) — or not change at all.
    Inherit { trial: usize, from: usize, values: Vec<Value>, until: u32 },
    /// A paused trial ends, Pruned at the epochs it reached.
    Stop { trial: usize },
}

/// A method that acts inside training.
pub trait Supervisor {
    /// Short name, as the command line and the links spell it.
    fn name(&self) -> &'static str;

    /// What to do next, given every trial so far; nothing means the method is done. The study
    /// applies the decisions in order, skipping a start that no longer fits the budget and
    /// stopping a paused trial whose continuation does not.
    fn decide(&mut self, barrier: &Barrier<'_>, rng: &mut Rng64) -> Vec<Decision>;
}
