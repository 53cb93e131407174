//! Grid search: every combination of each param's grid values (its listed `grid`, every choice
//! of a categorical, or `points` values evenly spaced on its scale), in a fixed order — the last
//! param changing fastest, like nested loops — or, with `shuffled`, in an order drawn from the
//! study's seed. It ignores the history and is exhausted after the last combination: the seed
//! document's method, and the baseline every other one is measured against.

use super::snapshot::Snapshot;
use super::space::{SearchSpace, Value};
use super::strategy::{Observation, Strategy};
use crate::rng::{below, Rng64};

#[derive(Debug, Clone)]
pub struct GridSearch {
    /// Values per param that has no `grid` list and is not categorical.
    pub points: usize,
    /// Visit the combinations in a seeded random order (a study cut short by its budget then
    /// samples the whole grid instead of its first corner).
    pub shuffled: bool,
    /// The combinations handed out so far.
    next: usize,
    /// With `shuffled`, the visiting order (drawn at the first ask).
    order: Option<Vec<usize>>,
    /// What the last batch was based on.
    snapshot: Option<Snapshot>,
}

impl GridSearch {
    pub fn new(points: usize, shuffled: bool) -> Self {
        Self { points: points.max(1), shuffled, next: 0, order: None, snapshot: None }
    }

    /// Every param's grid values.
    pub fn axes(&self, space: &SearchSpace) -> Vec<Vec<Value>> {
        space.params().iter().map(|p| p.grid_values(self.points)).collect()
    }

    /// How many combinations the grid has.
    pub fn size(&self, space: &SearchSpace) -> usize {
        self.axes(space).iter().map(Vec::len).product()
    }
}

impl Default for GridSearch {
    fn default() -> Self {
        Self::new(3, false)
    }
}

impl Strategy for GridSearch {
    fn name(&self) -> &'static str {
        "grid"
    }

    fn ask(&mut self, space: &SearchSpace, _history: &[Observation], n: usize, rng: &mut Rng64) -> Vec<Vec<Value>> {
        let axes = self.axes(space);
        let size: usize = axes.iter().map(Vec::len).product();
        if self.shuffled && self.order.is_none() {
            // A Fisher–Yates shuffle of the combinations' numbers.
            let mut order: Vec<usize> = (0..size).collect();
            for i in (1..size).rev() {
                order.swap(i, below(rng, i + 1));
            }
            self.order = Some(order);
        }
        let count = n.min(size - self.next);
        let positions = axes.iter().zip(space.params()).map(|(axis, p)| axis.iter().map(|v| p.to_unit(v)).collect()).collect();
        self.snapshot = Some(Snapshot::Grid { before: self.next, cells: size, axes: positions });
        let proposals = (self.next..self.next + count)
            .map(|k| {
                // Combination number → one index per axis, the last axis fastest.
                let mut rest = self.order.as_ref().map_or(k, |order| order[k]);
                let mut values = vec![Value::Int(0); axes.len()];
                for (axis, value) in axes.iter().zip(values.iter_mut()).rev() {
                    *value = axis[rest % axis.len()].clone();
                    rest /= axis.len();
                }
                values
            })
            .collect();
        self.next += count;
        proposals
    }

    fn snapshot(&self) -> Option<Snapshot> {
        self.snapshot.clone()
    }
}
