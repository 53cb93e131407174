//! Population-based training (Jaderberg et al., "Population based training of neural
//! networks", 2017), synchronous: a population of configurations drawn at random trains in
//! intervals of epochs; at the end of each, the members in the bottom part (by their score)
//! copy the weights — the whole checkpoint — and the values of a member of the top part chosen
//! at random (exploit), then perturb those values (explore): each continuous param is
//! multiplied by 0.8 or 1.2, or, one time in four, drawn afresh (as Ray Tune's
//! `PopulationBasedTraining` does), within its range. The others train on unchanged. Integers
//! and choices are copied, never perturbed: they include the network's shape, which a checkpoint
//! cannot change. Every copy is kept in the trial's lineage (who copied whom, at which epoch,
//! with which values before and after).
//!
//! A member is one trial throughout; its values are those it trains with now. The population
//! costs every member's training. Its size is what the budget pays for training each member
//! fully (at least 2, at most 10) unless set; the interval is a quarter of the epochs, and never
//! below the resource's minimum. When a population has trained to the end and the budget still
//! pays for two members, a new population starts.

use super::random::random_values;
use super::space::{Domain, SearchSpace, Value};
use super::supervisor::{Barrier, Decision, Supervisor};
use crate::rng::{unit_f64, Rng64};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PbtError {
    #[error("population-based training needs a population of at least 2; got {0}")]
    Population(usize),
    #[error("the part of the population that copies must be above 0 and at most a half; got {0}")]
    Fraction(f64),
}

#[derive(Debug, Clone)]
pub struct Pbt {
    /// Members (0: as many as the budget pays for, 2 to 10).
    population: usize,
    /// The bottom (and top) part: a quarter, as in the paper's truncation selection.
    fraction: f64,
    /// Each member's trial, once started.
    members: Vec<usize>,
    interval: u32,
}

/// The largest population chosen automatically.
const MAX_AUTO_POPULATION: usize = 10;

impl Default for Pbt {
    fn default() -> Self {
        Self { population: 0, fraction: 0.25, members: Vec::new(), interval: 0 }
    }
}

impl Pbt {
    /// `population` members (0: as the budget allows), the bottom `fraction` copying the top.
    pub fn new(population: usize, fraction: f64) -> Result<Self, PbtError> {
        if population == 1 {
            return Err(PbtError::Population(population));
        }
        if !(fraction > 0.0 && fraction <= 0.5) {
            return Err(PbtError::Fraction(fraction));
        }
        Ok(Self { population, fraction, ..Self::default() })
    }

    /// The members' values perturbed: every continuous param × 0.8 or × 1.2, or, with
    /// probability ¼, drawn afresh; clamped to its range.
    pub fn explore(space: &SearchSpace, values: &[Value], rng: &mut Rng64) -> Vec<Value> {
        space
            .params()
            .iter()
            .zip(values)
            .map(|(param, value)| match (&param.domain, value) {
                (Domain::Float { .. }, Value::Float(x)) => {
                    if unit_f64(rng) < 0.25 {
                        param.from_unit(unit_f64(rng))
                    } else {
                        param.nearest(x * if unit_f64(rng) < 0.5 { 0.8 } else { 1.2 })
                    }
                }
                _ => value.clone(),
            })
            .collect()
    }
}

impl Supervisor for Pbt {
    fn name(&self) -> &'static str {
        "pbt"
    }

    fn decide(&mut self, barrier: &Barrier<'_>, rng: &mut Rng64) -> Vec<Decision> {
        let resource = barrier.resource;
        let paused = barrier.paused();
        if !self.members.iter().any(|m| paused.contains(m)) {
            // No population yet, or the last one has finished: a new one, if the budget pays
            // for training at least two members fully.
            let full = barrier.cost_to(0, resource.max).max(1);
            let affordable = (barrier.budget_left / full) as usize;
            let size = match self.population {
                0 => affordable.min(MAX_AUTO_POPULATION),
                n => n.min(affordable),
            };
            if size < 2 {
                return Vec::new();
            }
            self.interval = resource.max.div_ceil(4).max(resource.min).clamp(1, resource.max);
            self.members = (barrier.trials.len()..barrier.trials.len() + size).collect();
            let until = self.interval;
            return (0..size as u32)
                .map(|group| Decision::Start { values: barrier.at_full_resource(random_values(barrier.space, rng)), until, group })
                .collect();
        }
        // Members still training: paused at the end of an interval (a failed or diverged one
        // has left the population).
        let alive: Vec<usize> = self.members.iter().copied().filter(|m| paused.contains(m)).collect();
        let Some(&first) = alive.first() else { return Vec::new() };
        let reached = barrier.trials[first].reached;
        let until = (reached + self.interval).min(resource.max);
        let ranked = barrier.ranked(alive.clone());
        let part = ((ranked.len() as f64 * self.fraction).ceil() as usize).min(ranked.len() / 2);
        let (top, bottom) = (&ranked[..part], &ranked[ranked.len() - part..]);
        alive
            .iter()
            .map(|&trial| {
                if bottom.contains(&trial) {
                    let from = top[(unit_f64(rng) * top.len() as f64) as usize % top.len()];
                    let values = Self::explore(barrier.space, &barrier.trials[from].values, rng);
                    Decision::Inherit { trial, from, values, until }
                } else {
                    Decision::Continue { trial, until }
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuning::space::Param;
    use crate::tuning::study::{Direction, Outcome, Study, StudyConfig, TrialState};
    use crate::tuning::supervisor::Resource;

    fn space() -> SearchSpace {
        SearchSpace::new(vec![Param::log_float("lr", 1e-4, 1.0), Param::int("layers", 1, 4), Param::int("epochs", 4, 16)]).unwrap()
    }

    /// A score that grows with the epochs trained at a good learning rate: each interval adds
    /// in proportion to how near lr is to 0.01, so copying a better member's state and values
    /// pays.
    fn run(population: usize, seed: u64) -> Study {
        let resource = Resource { min: 4, max: 16, unit_cost: 1, param: Some(2) };
        let config = StudyConfig { seed, direction: Direction::Maximize, budget: 8 * 16, batch_size: 4 };
        let mut study = Study::supervised(space(), Box::new(Pbt::new(population, 0.25).unwrap()), config, resource);
        // The score each trial's checkpoint stands at, by trial.
        let mut state = vec![0.0f64; 64];
        study.optimize(
            |trial| {
                let start = trial.segment.resume_from.map_or(0.0, |from| state[from]);
                let lr = trial.values[0].as_f64().unwrap();
                let epochs = trial.segment.until.unwrap_or(16) - trial.segment.from;
                let gain = epochs as f64 * (1.0 - (lr.log10() + 2.0).abs() / 4.0);
                state[trial.id] = start + gain;
                match trial.segment.until {
                    Some(until) => Outcome::Paused { value: state[trial.id], reached: until },
                    None => Outcome::Complete(state[trial.id]),
                }
            },
            |_| {},
        );
        study
    }

    #[test]
    fn the_bottom_quarter_copies_the_top_and_perturbs_only_continuous_values() {
        let study = run(8, 3);
        let trials = study.trials();
        assert_eq!(trials.len(), 8, "one trial per member");
        assert!(trials.iter().all(|t| t.state == TrialState::Complete && t.reached == 16));
        // Intervals of 4 epochs: paused at 4, 8 and 12; two members copy at each.
        for t in trials {
            assert_eq!(t.pauses.iter().map(|p| p.0).collect::<Vec<_>>(), vec![4, 8, 12], "{t:?}");
        }
        let copies: Vec<_> = trials.iter().flat_map(|t| t.lineage.iter().map(move |c| (t.id, c))).collect();
        assert_eq!(copies.len(), 3 * 2);
        // A trial's values at an epoch: its first, or those of its last copy before then.
        let values_at = |id: usize, epochs: u32| {
            let t = &trials[id];
            let mut v = t.lineage.first().map_or(&t.values, |c| &c.before);
            for c in t.lineage.iter().filter(|c| c.epochs < epochs) {
                v = &c.after;
            }
            v.clone()
        };
        for (id, copy) in &copies {
            assert_ne!(*id, copy.from, "a member copies another");
            let source = values_at(copy.from, copy.epochs);
            assert_eq!(copy.after[1..], source[1..], "integers are copied, not perturbed");
            let (Value::Float(a), Value::Float(b)) = (&copy.after[0], &source[0]) else { panic!() };
            assert!((1e-4..=1.0).contains(a) && a != b, "the learning rate is perturbed within its range");
        }
        // The budget pays every member's every epoch, nothing more.
        assert_eq!(study.spent(), 8 * 16);
        // Exploiting pays here: the population ends better than its members started.
        let start_best = trials.iter().map(|t| t.pauses[0].1).fold(f64::MIN, f64::max);
        let end_mean = trials.iter().map(|t| t.score.unwrap()).sum::<f64>() / 8.0;
        assert!(end_mean > 4.0 * start_best * 0.9, "{end_mean} against {start_best}");
        assert_eq!(run(8, 3).trials(), study.trials(), "the same seed, the same population");
    }

    #[test]
    fn a_population_below_two_or_a_bad_fraction_is_refused() {
        assert_eq!(Pbt::new(1, 0.25).unwrap_err(), PbtError::Population(1));
        assert_eq!(Pbt::new(4, 0.0).unwrap_err(), PbtError::Fraction(0.0));
        assert!(Pbt::new(4, 0.75).is_err());
        assert!(Pbt::new(0, 0.25).is_ok(), "0: as many as the budget pays for");
    }
}
