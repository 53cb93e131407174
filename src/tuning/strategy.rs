//! The one interface every tuning method implements. A method proposes points of the search
//! space in batches; the study (`study.rs`) hands them out as trials, collects their scores and
//! shows the method what earlier batches found. Methods never see timing, worker counts or
//! failed trials' scores, so a replay on any machine proposes the same points; a diverged trial
//! they see as a result as bad as the worst (`study::TrialState` gives the rule).

use super::snapshot::Snapshot;
use super::space::{SearchSpace, Value};
use crate::rng::Rng64;

/// What a method may learn from one finished trial, in trial order.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The trial's values, and the point of the unit cube that stands for them.
    pub values: Vec<Value>,
    pub unit: Vec<f64>,
    /// The score to minimise (the study negates a maximised objective); for a diverged trial,
    /// the worst complete trial's. None when the trial failed, was pruned or interrupted, or
    /// diverged before any trial completed, and for a proposal the study skipped because it no
    /// longer fit the budget: methods must not learn from those.
    pub loss: Option<f64>,
}

/// A tuning method.
pub trait Strategy {
    /// Short name, as the command line and the links spell it.
    fn name(&self) -> &'static str;

    /// Up to `n` new points, given every finished trial of the earlier batches (`history`, in
    /// the order proposed: the i-th entry is the method's i-th proposal, skipped ones included) and the study's generator.
    /// Fewer than `n` is allowed (an evolutionary method ending a generation); none means the
    /// method has nothing more to propose.
    fn ask(&mut self, space: &SearchSpace, history: &[Observation], n: usize, rng: &mut Rng64) -> Vec<Vec<Value>>;

    /// What the last `ask` was based on, for "why this point next" (None: nothing to show).
    fn snapshot(&self) -> Option<Snapshot> {
        None
    }
}

/// The bookkeeping of a method that proposes whole generations (CMA-ES, the genetic algorithm):
/// the current generation's points not yet handed out, and which entries of the history are the
/// generation's. A study asks again only once every trial it handed out has finished, so when
/// the queue is empty the whole generation is in the history.
#[derive(Debug, Clone, Default)]
pub struct GenerationQueue {
    /// Points handed out so far, over all generations.
    proposed: usize,
    /// Where the current generation starts among them.
    start: usize,
    /// The rest of the current generation, last first.
    pending: Vec<Vec<f64>>,
}

impl GenerationQueue {
    /// Whether the current generation is all handed out (and so, at the next ask, evaluated).
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Points handed out so far.
    pub fn proposed(&self) -> usize {
        self.proposed
    }

    /// Points of the current generation handed out so far.
    pub fn position(&self) -> usize {
        self.proposed - self.start
    }

    /// The history's entries for the generation last handed out (none before the first).
    pub fn finished<'a>(&self, history: &'a [Observation]) -> &'a [Observation] {
        &history[self.start.min(history.len())..self.proposed.min(history.len())]
    }

    /// Begin a generation of these points (unit cube).
    pub fn start(&mut self, mut points: Vec<Vec<f64>>) {
        self.start = self.proposed;
        points.reverse();
        self.pending = points;
    }

    /// Up to `n` of the generation's points, in order, as values of `space`.
    pub fn hand_out(&mut self, space: &SearchSpace, n: usize) -> Vec<Vec<Value>> {
        let count = n.min(self.pending.len());
        self.proposed += count;
        (0..count).map(|_| space.values_at(&self.pending.pop().expect("a pending point"))).collect()
    }
}
