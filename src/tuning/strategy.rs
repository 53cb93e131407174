//! The one interface every tuning method implements. A method proposes points of the search
//! space in batches; the study (`study.rs`) hands them out as trials, collects their scores and
//! shows the method what earlier batches found. Methods never see timing, worker counts or
//! failed trials' scores, so a replay on any machine proposes the same points.

use super::space::{SearchSpace, Value};
use crate::rng::Rng64;

/// What a method may learn from one finished trial, in trial order.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The trial's values, and the point of the unit cube that stands for them.
    pub values: Vec<Value>,
    pub unit: Vec<f64>,
    /// The score to minimise (the study negates a maximised objective), or None when the trial
    /// failed, was interrupted, or has no finite score: methods must not learn from those.
    pub loss: Option<f64>,
}

/// A tuning method.
pub trait Strategy {
    /// Short name, as the command line and the links spell it.
    fn name(&self) -> &'static str;

    /// Up to `n` new points, given every finished trial of the earlier batches (`history`, in
    /// trial order: the i-th entry is the method's i-th proposal) and the study's generator.
    /// Fewer than `n` is allowed (an evolutionary method ending a generation); none means the
    /// method has nothing more to propose.
    fn ask(&mut self, space: &SearchSpace, history: &[Observation], n: usize, rng: &mut Rng64) -> Vec<Vec<Value>>;
}
