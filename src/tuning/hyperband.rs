//! Hyperband and successive halving, with epochs as the resource (Li, Jamieson, DeSalvo,
//! Rostamizadeh & Talwalkar, "Hyperband: a novel bandit-based approach to hyperparameter
//! optimization", JMLR 2018; successive halving from Jamieson & Talwalkar, AISTATS 2016).
//!
//! A bracket starts n configurations drawn at random and trains them to the first rung's
//! epochs; at each rung the best 1/η (by their score there) go on from their checkpoints to the
//! next rung, and the others stop, Pruned at the rung they reached, having paid only for what
//! they trained. Hyperband runs its brackets in turn, from the most aggressive (many
//! configurations, few epochs) to the one that trains a few configurations fully, and starts
//! again while the budget lasts; successive halving runs its most aggressive bracket only. The
//! rungs are barriers, so which configurations go on depends on the scores only.
//!
//! When what is left of the budget cannot pay a whole bracket, the bracket is shrunk: fewer
//! configurations at every rung (the same ratio η between rungs), as many as fit.

use super::hyperband_schedule::{brackets, Bracket, ScheduleError};
use super::random::random_values;
use super::supervisor::{Barrier, Decision, Supervisor};
use super::trial::TrialState;
use crate::rng::Rng64;

/// Successive halving's and Hyperband's reduction factor, as in the paper.
pub const DEFAULT_ETA: u32 = 3;

#[derive(Debug, Clone)]
pub struct Hyperband {
    eta: u32,
    /// Successive halving: the most aggressive bracket only.
    halving_only: bool,
    /// Brackets started so far.
    started: u32,
    /// The bracket under way.
    current: Option<Running>,
}

/// A bracket under way: its epochs per rung, the configurations each rung keeps (shrunk to the
/// budget), the rung reached, and the trials in it.
#[derive(Debug, Clone)]
struct Running {
    epochs: Vec<u32>,
    keep: Vec<usize>,
    rung: usize,
    trials: Vec<usize>,
}

impl Hyperband {
    /// Hyperband with reduction factor `eta` (at least 2).
    pub fn new(eta: u32) -> Result<Self, ScheduleError> {
        if eta < 2 {
            return Err(ScheduleError::Eta(eta));
        }
        Ok(Self { eta, halving_only: false, started: 0, current: None })
    }

    /// Successive halving: Hyperband's most aggressive bracket, repeated.
    pub fn successive_halving(eta: u32) -> Result<Self, ScheduleError> {
        Ok(Self { halving_only: true, ..Self::new(eta)? })
    }

    /// The brackets this method runs for epochs in `min..=max`, in the order it starts them.
    pub fn brackets(&self, min: u32, max: u32) -> Result<Vec<Bracket>, ScheduleError> {
        let mut all = brackets(min, max, self.eta)?;
        if self.halving_only {
            all.truncate(1);
        }
        Ok(all)
    }

    /// The next bracket that fits the budget (shrunk if it must), in turn from where the last
    /// one was; None when not even one configuration trained to the end fits.
    fn next_bracket(&mut self, barrier: &Barrier<'_>) -> Option<Running> {
        let all = self.brackets(barrier.resource.min, barrier.resource.max).ok()?;
        let unit = barrier.resource.unit_cost;
        for k in 0..all.len() {
            let bracket = &all[(self.started as usize + k) % all.len()];
            let epochs: Vec<u32> = bracket.rungs.iter().map(|r| r.epochs).collect();
            // The most configurations at the first rung, keeping the bracket's ratios, that fit.
            let first = bracket.rungs[0].configurations;
            for start in (1..=first).rev() {
                let keep: Vec<usize> = bracket.rungs.iter().map(|r| (r.configurations * start).div_ceil(first).max(1)).collect();
                let (mut cost, mut before) = (0u64, 0u32);
                for (n, e) in keep.iter().zip(&epochs) {
                    cost += *n as u64 * (e - before) as u64 * unit;
                    before = *e;
                }
                if cost <= barrier.budget_left {
                    self.started += 1;
                    return Some(Running { epochs, keep, rung: 0, trials: Vec::new() });
                }
            }
        }
        None
    }
}

impl Supervisor for Hyperband {
    fn name(&self) -> &'static str {
        if self.halving_only {
            "successive-halving"
        } else {
            "hyperband"
        }
    }

    fn decide(&mut self, barrier: &Barrier<'_>, rng: &mut Rng64) -> Vec<Decision> {
        if let Some(running) = &mut self.current {
            // The rung just trained: its paused trials, best first (failed and diverged ones
            // are out).
            let paused: Vec<usize> = running.trials.iter().copied().filter(|&id| barrier.trials[id].state == TrialState::Paused).collect();
            let next = running.rung + 1;
            if next < running.epochs.len() && !paused.is_empty() {
                let ranked = barrier.ranked(paused);
                let keep = running.keep[next];
                let until = running.epochs[next];
                running.rung = next;
                running.trials = ranked.iter().take(keep).copied().collect();
                return ranked
                    .iter()
                    .enumerate()
                    .map(|(place, &trial)| if place < keep { Decision::Continue { trial, until } } else { Decision::Stop { trial } })
                    .collect();
            }
            self.current = None;
        }
        let Some(mut running) = self.next_bracket(barrier) else { return Vec::new() };
        let group = self.started - 1;
        let until = running.epochs[0];
        let first = running.keep[0];
        // The new trials take the next numbers, in order.
        running.trials = (barrier.trials.len()..barrier.trials.len() + first).collect();
        self.current = Some(running);
        (0..first).map(|_| Decision::Start { values: barrier.at_full_resource(random_values(barrier.space, rng)), until, group }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuning::space::{Param, SearchSpace};
    use crate::tuning::study::{Direction, Outcome, Study, StudyConfig, TrialState};
    use crate::tuning::supervisor::Resource;

    fn space() -> SearchSpace {
        SearchSpace::new(vec![Param::log_float("lr", 1e-4, 1.0), Param::int("epochs", 1, 27)]).unwrap()
    }

    /// A learning curve: better with epochs, best at lr = 0.01.
    fn score(lr: f64, epochs: u32) -> f64 {
        let quality = 1.0 - (lr.log10() + 2.0).abs() / 4.0;
        quality * (1.0 - 0.5f64.powi(epochs as i32))
    }

    fn run(method: Hyperband, budget_epochs: u64) -> Study {
        let resource = Resource { min: 1, max: 27, unit_cost: 10, param: Some(1) };
        let config = StudyConfig { seed: 4, direction: Direction::Maximize, budget: budget_epochs * 10, batch_size: 4 };
        let mut study = Study::supervised(space(), Box::new(method), config, resource);
        study.optimize(
            |trial| {
                let lr = trial.values[0].as_f64().unwrap();
                assert_eq!(trial.values[1].as_f64(), Some(27.0), "every trial is configured for the maximum");
                match trial.segment.until {
                    Some(until) => Outcome::Paused { value: score(lr, until), reached: until },
                    None => Outcome::Complete(score(lr, 27)),
                }
            },
            |_| {},
        );
        assert!(study.is_done());
        study
    }

    #[test]
    fn successive_halving_keeps_the_best_third_at_each_rung_and_resumes_them() {
        // R = 27, η = 3: 27 configurations at 1 epoch, 9 at 3, 3 at 9, 1 at 27.
        let study = run(Hyperband::successive_halving(3).unwrap(), 27 + 9 * 2 + 3 * 6 + 18);
        let trials = study.trials();
        assert_eq!(trials.len(), 27, "one bracket");
        let reached = |epochs: u32| trials.iter().filter(|t| t.pauses.iter().any(|p| p.0 == epochs)).count();
        assert_eq!((reached(1), reached(3), reached(9)), (27, 9, 3));
        let complete: Vec<_> = trials.iter().filter(|t| t.state == TrialState::Complete).collect();
        assert_eq!(complete.len(), 1);
        assert_eq!(complete[0].reached, 27);
        // The winner had the best score at every rung it passed.
        let best_at_1 = trials.iter().max_by(|a, b| a.pauses[0].1.total_cmp(&b.pauses[0].1)).unwrap();
        assert_eq!(best_at_1.id, complete[0].id);
        // Pruned trials paid only for what they trained; promoted ones only the epochs between rungs.
        for t in trials {
            let epochs = if t.state == TrialState::Complete { 27 } else { t.pauses.last().unwrap().0 };
            assert_eq!(t.cost, epochs as u64 * 10, "trial {} at {epochs} epochs", t.id);
            if t.state == TrialState::Pruned {
                assert_eq!(t.score, Some(t.pauses.last().unwrap().1));
            }
        }
        assert_eq!(study.spent(), study.budget(), "the bracket costs exactly its epochs");
    }

    #[test]
    fn hyperband_runs_its_brackets_in_turn_and_shrinks_the_last_to_the_budget() {
        let method = Hyperband::new(3).unwrap();
        let brackets = method.brackets(1, 27).unwrap();
        let full: u64 = brackets.iter().map(|b| b.epochs_with_resume()).sum();
        let study = run(method, full + 30);
        let groups: Vec<u32> = study.trials().iter().filter_map(|t| t.group).collect();
        let max_group = *groups.iter().max().unwrap();
        assert_eq!(max_group as usize, brackets.len(), "every bracket, then a shrunk first bracket again");
        for (g, bracket) in brackets.iter().enumerate() {
            assert_eq!(groups.iter().filter(|&&x| x == g as u32).count(), bracket.rungs[0].configurations, "bracket {g}");
        }
        assert!(study.spent() <= study.budget());
        assert!(study.budget() - study.spent() < 27 * 10, "less than one full trial left unspent");
    }

    #[test]
    fn bad_settings_are_refused() {
        assert_eq!(Hyperband::new(1).unwrap_err(), ScheduleError::Eta(1));
        assert!(Hyperband::new(3).unwrap().brackets(5, 2).is_err());
        assert!(Hyperband::new(3).unwrap().brackets(0, 2).is_err());
    }
}
