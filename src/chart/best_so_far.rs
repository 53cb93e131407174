//! Best so far: for one method of a race, the best validation score it has reached as it spends
//! compute — the race's main curve — and the ranking of methods at equal compute. This is the
//! curve's information only (which trial improved the best, at what point of the x axis); the
//! shell maps it to pixels, as Optuna splits its plots into an info step and a renderer.
//!
//! Compute and trial count follow the trials in the order the method proposed them, so the
//! curve is the same whatever the number of workers or the order trials finished in; wall time
//! follows the order they finished.

/// What the x axis counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Along {
    /// Compute spent, in epoch-equivalents of the training subset.
    Compute,
    /// Trials finished.
    Trials,
    /// Seconds since the race started.
    WallTime,
}

/// A finished trial as the curve needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedTrial {
    /// Its number in its study (proposal order).
    pub trial: usize,
    /// Training images it cost (epochs × images, over every fold).
    pub cost: u64,
    /// Its score if it completed (failed, diverged, pruned and interrupted trials have none:
    /// they spend compute and improve nothing).
    pub score: Option<f64>,
    /// Seconds since the race started, when it finished.
    pub finished_s: f64,
}

/// A point where the best so far changed: from `x` on, the best is `best`, found by `trial`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub x: f64,
    pub best: f64,
    pub trial: usize,
}

/// The steps of the best-so-far curve (maximising), one per improvement, with x counted
/// `along` the chosen axis; `images_per_epoch` turns costs into epoch-equivalents.
pub fn best_so_far(trials: &[FinishedTrial], along: Along, images_per_epoch: u64) -> Vec<Step> {
    let mut ordered: Vec<&FinishedTrial> = trials.iter().collect();
    match along {
        Along::Compute | Along::Trials => ordered.sort_by_key(|t| t.trial),
        Along::WallTime => ordered.sort_by(|a, b| a.finished_s.total_cmp(&b.finished_s).then(a.trial.cmp(&b.trial))),
    }
    let mut steps: Vec<Step> = Vec::new();
    let mut spent = 0u64;
    for (k, t) in ordered.into_iter().enumerate() {
        spent += t.cost;
        let x = match along {
            Along::Compute => spent as f64 / images_per_epoch.max(1) as f64,
            Along::Trials => (k + 1) as f64,
            Along::WallTime => t.finished_s,
        };
        if let Some(score) = t.score.filter(|s| s.is_finite()) {
            if steps.last().is_none_or(|s| score > s.best) {
                steps.push(Step { x, best: score, trial: t.trial });
            }
        }
    }
    steps
}

/// The best score among the trials that fit, in proposal order, within `share` of `budget`
/// (training images): a method's standing at equal compute (the race ranks at 25%, 50% and
/// 100%). None if no trial that fits has a score.
pub fn best_within(trials: &[FinishedTrial], budget: u64, share: f64) -> Option<f64> {
    let limit = budget as f64 * share;
    best_so_far(trials, Along::Compute, 1).into_iter().take_while(|s| s.x <= limit).last().map(|s| s.best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(trial: usize, cost: u64, score: Option<f64>, finished_s: f64) -> FinishedTrial {
        FinishedTrial { trial, cost, score, finished_s }
    }

    fn race() -> Vec<FinishedTrial> {
        // Finishing order differs from proposal order; trial 2 failed.
        vec![t(1, 2_000, Some(0.80), 5.0), t(0, 2_000, Some(0.70), 9.0), t(2, 4_000, None, 7.0), t(3, 2_000, Some(0.75), 12.0), t(4, 2_000, Some(0.90), 11.0)]
    }

    #[test]
    fn the_curve_steps_up_at_each_improvement_in_proposal_order() {
        let steps = best_so_far(&race(), Along::Compute, 2_000);
        assert_eq!(steps, vec![Step { x: 1.0, best: 0.70, trial: 0 }, Step { x: 2.0, best: 0.80, trial: 1 }, Step { x: 6.0, best: 0.90, trial: 4 }]);
        let by_count: Vec<f64> = best_so_far(&race(), Along::Trials, 2_000).iter().map(|s| s.x).collect();
        assert_eq!(by_count, vec![1.0, 2.0, 5.0]);
    }

    #[test]
    fn the_curve_does_not_depend_on_finishing_order_except_in_wall_time() {
        let mut shuffled = race();
        shuffled.reverse();
        assert_eq!(best_so_far(&shuffled, Along::Compute, 2_000), best_so_far(&race(), Along::Compute, 2_000));
        let wall = best_so_far(&race(), Along::WallTime, 2_000);
        assert_eq!(wall, vec![Step { x: 5.0, best: 0.80, trial: 1 }, Step { x: 11.0, best: 0.90, trial: 4 }]);
    }

    #[test]
    fn failed_trials_spend_compute_and_improve_nothing() {
        let failed_only = [t(0, 5_000, None, 1.0), t(1, 5_000, Some(f64::NAN), 2.0)];
        assert!(best_so_far(&failed_only, Along::Compute, 1_000).is_empty());
        assert_eq!(best_within(&failed_only, 10_000, 1.0), None);
    }

    #[test]
    fn methods_are_ranked_at_equal_compute() {
        // 12,000 images spent in all; a budget of 12,000.
        assert_eq!(best_within(&race(), 12_000, 0.25), Some(0.70));
        assert_eq!(best_within(&race(), 12_000, 0.5), Some(0.80));
        assert_eq!(best_within(&race(), 12_000, 1.0), Some(0.90));
        assert_eq!(best_within(&race(), 12_000, 0.1), None);
    }
}
