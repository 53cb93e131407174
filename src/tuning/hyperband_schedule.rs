//! Hyperband's brackets and successive halving's rungs, as exact integer arithmetic (Li,
//! Jamieson, DeSalvo, Rostamizadeh & Talwalkar, "Hyperband: a novel bandit-based approach to
//! hyperparameter optimization", JMLR 18, 2018, Algorithm 1; successive halving from Jamieson &
//! Talwalkar, AISTATS 2016).
//!
//! The resource is epochs, between `min_epochs` and `max_epochs`; R = max / min in units of the
//! minimum. With reduction factor η: s_max = ⌊log_η R⌋ (found with an integer loop: floating
//! `log(243) / log(3)` is 4.999…), and bracket s starts n = ⌈(s_max + 1) η^s / (s + 1)⌉
//! configurations at r = R η^−s, keeping the best ⌊n_i / η⌋ at each rung and training them to
//! r_i = R η^(i−s). Rungs are anchored at the maximum (…, R/η², R/η, R), as in the paper, so the
//! bracket s = 0 stops nothing. Epochs are whole: r_i is rounded half up, and never below the
//! minimum. A promoted configuration continues from its checkpoint, so it pays only the epochs
//! from its last rung to the next.

use serde::Serialize;

/// One rung of a bracket: how many configurations train up to how many epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rung {
    pub configurations: usize,
    /// Epochs trained in all by the end of the rung.
    pub epochs: u32,
}

/// A bracket: successive halving from `rungs[0]` down to its last rung.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bracket {
    /// s: the number of halvings (the bracket with s = 0 trains every configuration fully).
    pub s: u32,
    pub rungs: Vec<Rung>,
}

impl Bracket {
    /// Epochs its trials train in all when promoted ones continue from their checkpoints:
    /// Σ n_i (r_i − r_{i−1}).
    pub fn epochs_with_resume(&self) -> u64 {
        let mut before = 0;
        self.rungs
            .iter()
            .map(|r| {
                let more = (r.epochs - before) as u64 * r.configurations as u64;
                before = r.epochs;
                more
            })
            .sum()
    }

    /// Epochs its trials would train if each rung retrained from scratch: Σ n_i r_i.
    pub fn epochs_without_resume(&self) -> u64 {
        self.rungs.iter().map(|r| r.epochs as u64 * r.configurations as u64).sum()
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    #[error("the minimum epochs must be at least 1; got {0}")]
    MinEpochs(u32),
    #[error("the maximum epochs ({max}) must be at least the minimum ({min})")]
    Inverted { min: u32, max: u32 },
    #[error("the reduction factor η must be at least 2; got {0}")]
    Eta(u32),
}

/// s_max = ⌊log_η R⌋, by integer arithmetic.
pub fn s_max(r: u32, eta: u32) -> u32 {
    let (mut s, mut power) = (0u32, eta as u64);
    while power <= r as u64 {
        s += 1;
        power *= eta as u64;
    }
    s
}

/// Hyperband's brackets for epochs in `min_epochs..=max_epochs` and reduction factor `eta`, the
/// most aggressive first (s = s_max, …, 0).
pub fn brackets(min_epochs: u32, max_epochs: u32, eta: u32) -> Result<Vec<Bracket>, ScheduleError> {
    if min_epochs < 1 {
        return Err(ScheduleError::MinEpochs(min_epochs));
    }
    if max_epochs < min_epochs {
        return Err(ScheduleError::Inverted { min: min_epochs, max: max_epochs });
    }
    if eta < 2 {
        return Err(ScheduleError::Eta(eta));
    }
    // R in units of the minimum; the rungs' epochs are scaled back by it.
    let r = max_epochs / min_epochs;
    let top = s_max(r, eta);
    let eta = eta as u64;
    Ok((0..=top)
        .rev()
        .map(|s| {
            let eta_s = eta.pow(s);
            // n = ⌈(s_max + 1) η^s / (s + 1)⌉
            let n = ((top as u64 + 1) * eta_s).div_ceil(s as u64 + 1) as usize;
            let rungs = (0..=s)
                .map(|i| {
                    // r_i = R η^(i − s) in units of the minimum, rounded half up: (2 R η^i + η^s) div (2 η^s).
                    let units = (2 * r as u64 * eta.pow(i) + eta_s) / (2 * eta_s);
                    let epochs = if i == s { max_epochs } else { (units.max(1) * min_epochs as u64).min(max_epochs as u64) as u32 };
                    Rung { configurations: n / eta.pow(i) as usize, epochs }
                })
                .collect();
            Bracket { s, rungs }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(brackets: &[Bracket]) -> Vec<Vec<(usize, u32)>> {
        brackets.iter().map(|b| b.rungs.iter().map(|r| (r.configurations, r.epochs)).collect()).collect()
    }

    #[test]
    fn the_papers_schedules() {
        // Min 1, max 27, η = 3: 49 configurations; resume saves 423 − 357 epochs.
        let b = brackets(1, 27, 3).unwrap();
        assert_eq!(table(&b), vec![vec![(27, 1), (9, 3), (3, 9), (1, 27)], vec![(12, 3), (4, 9), (1, 27)], vec![(6, 9), (2, 27)], vec![(4, 27)]]);
        assert_eq!(b.iter().map(Bracket::epochs_without_resume).collect::<Vec<_>>(), vec![108, 99, 108, 108]);
        assert_eq!(b.iter().map(Bracket::epochs_with_resume).collect::<Vec<_>>(), vec![81, 78, 90, 108]);
        // JMLR Table 1: R = 81, η = 3 starts 81, 34, 15, 8 and 5 configurations.
        let b = brackets(1, 81, 3).unwrap();
        assert_eq!(b.iter().map(|b| b.rungs[0].configurations).collect::<Vec<_>>(), vec![81, 34, 15, 8, 5]);
        // Max 20 epochs, η = 3, rounded half up: 9×2 → 3×7 → 1×20; 5×7 → 1×20; 3×20.
        let b = brackets(1, 20, 3).unwrap();
        assert_eq!(table(&b), vec![vec![(9, 2), (3, 7), (1, 20)], vec![(5, 7), (1, 20)], vec![(3, 20)]]);
        assert_eq!(b.iter().map(Bracket::epochs_with_resume).collect::<Vec<_>>(), vec![46, 48, 60]);
    }

    #[test]
    fn s_max_is_exact_where_floating_logs_are_not() {
        assert_eq!(s_max(243, 3), 5);
        assert_eq!(s_max(242, 3), 4);
        assert_eq!(s_max(1, 3), 0);
        assert_eq!(s_max(1024, 2), 10);
    }

    #[test]
    fn every_rung_keeps_a_nth_of_the_last_and_the_budget_stays_near_the_formula() {
        for eta in 2..=5u32 {
            for r in 1..=200u32 {
                let top = s_max(r, eta) as u64;
                for b in brackets(1, r, eta).unwrap() {
                    for pair in b.rungs.windows(2) {
                        assert_eq!(pair[1].configurations, pair[0].configurations / eta as usize, "R {r} η {eta}");
                        assert!(pair[1].epochs > pair[0].epochs || pair[1].epochs == r, "R {r} η {eta}: {b:?}");
                    }
                    // B − Rη/(η−1) < Σ n_i r_i ≤ B + (s+1)·r, with B = (s_max+1)·R (the paper's target).
                    let budget = (top + 1) * r as u64;
                    let spent = b.epochs_without_resume() as f64;
                    let first = b.rungs[0].epochs as f64;
                    assert!(spent > budget as f64 - r as f64 * eta as f64 / (eta as f64 - 1.0) - 1.0, "R {r} η {eta} {b:?}");
                    assert!(spent <= budget as f64 + (b.s as f64 + 1.0) * first + r as f64, "R {r} η {eta} {b:?}");
                }
            }
        }
    }

    #[test]
    fn bad_bounds_are_refused() {
        assert_eq!(brackets(0, 9, 3), Err(ScheduleError::MinEpochs(0)));
        assert_eq!(brackets(5, 4, 3), Err(ScheduleError::Inverted { min: 5, max: 4 }));
        assert_eq!(brackets(1, 9, 1), Err(ScheduleError::Eta(1)));
        assert_eq!(table(&brackets(3, 3, 3).unwrap()), vec![vec![(1, 3)]], "min = max: one bracket training fully");
    }
}
