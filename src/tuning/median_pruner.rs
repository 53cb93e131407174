//! The median-stopping rule (Golovin et al., "Google Vizier", KDD 2017; Optuna's `MedianPruner`,
//! a `PercentilePruner` at 50 %): stop a trial whose best intermediate score so far is worse than
//! the median of earlier trials' scores at the same epoch.
//!
//! Optuna compares with every trial that has completed when the check runs, so its decisions
//! depend on which trials finished first. Here the reference is frozen when a trial is proposed:
//! the complete trials of earlier rounds. So the thresholds for each epoch are known before the
//! trial starts — the worker can stop it itself, at exactly the epoch the rule says — and the
//! result does not depend on the worker count or on finishing order.
//!
//! Optuna's parameters, with its defaults: no pruning until `startup_trials` (5) trials have
//! completed, nor before epoch `warmup_epochs` + 1 (0: from the first), nor at an epoch that
//! fewer than `min_trials` (1) reference trials reached. A score that is not a number stops the
//! trial at once.

use super::trial::Direction;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MedianPruner {
    pub startup_trials: usize,
    pub warmup_epochs: u32,
    pub min_trials: usize,
}

impl Default for MedianPruner {
    fn default() -> Self {
        Self { startup_trials: 5, warmup_epochs: 0, min_trials: 1 }
    }
}

/// The median as numpy's `percentile(…, 50)` computes it (the mean of the middle two of an even
/// count). None for no values.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 })
}

impl MedianPruner {
    /// For epochs 1..=`epochs`, the score a trial must have reached by then (its best so far) to
    /// go on, from `reference`: the per-epoch scores of complete trials. None where the rule
    /// does not apply (warm-up, too few trials reached that epoch, too few trials at all).
    pub fn thresholds(&self, reference: &[&[f64]], epochs: u32) -> Vec<Option<f64>> {
        (1..=epochs)
            .map(|epoch| {
                let at = reference.iter().filter_map(|curve| curve.get(epoch as usize - 1).copied()).collect();
                self.threshold(reference.len(), at, epoch > self.warmup_epochs)
            })
            .collect()
    }

    /// The threshold at one step, from the values the `reference_trials` complete trials
    /// reported at that step; None before the warm-up is over, with too few trials, or with too
    /// few values at that step.
    pub fn threshold(&self, reference_trials: usize, mut values: Vec<f64>, past_warmup: bool) -> Option<f64> {
        values.retain(|v| v.is_finite());
        if !past_warmup || reference_trials < self.startup_trials.max(1) || values.len() < self.min_trials.max(1) {
            return None;
        }
        median(&mut values)
    }
}

/// Whether a trial whose scores so far are `scores` (one per epoch) stops now: its latest score
/// is not a number, or its best so far is worse than the threshold at its latest epoch.
pub fn stops(thresholds: &[Option<f64>], scores: &[f64], direction: Direction) -> bool {
    if scores.is_empty() {
        return false;
    }
    worse_than(thresholds.get(scores.len() - 1).copied().flatten(), scores, direction)
}

/// Whether `scores` (a trial's so far, the latest last) fall below `threshold`: the latest is not
/// a number, or the best of them is worse than it.
pub fn worse_than(threshold: Option<f64>, scores: &[f64], direction: Direction) -> bool {
    let Some(&latest) = scores.last() else { return false };
    if !latest.is_finite() {
        return true;
    }
    let Some(threshold) = threshold else { return false };
    let finite = scores.iter().copied().filter(|s| s.is_finite());
    match direction {
        Direction::Maximize => finite.fold(f64::NEG_INFINITY, f64::max) < threshold,
        Direction::Minimize => finite.fold(f64::INFINITY, f64::min) > threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_numpys() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }

    // After Optuna's tests/pruners_tests/test_median.py: one complete trial reported 1 at step 0
    // (startup 0); a trial at 2 is pruned when minimising, kept at 1 or 0.
    #[test]
    fn optunas_median_cases() {
        let pruner = MedianPruner { startup_trials: 0, ..Default::default() };
        let reference: Vec<&[f64]> = vec![&[1.0]];
        let t = pruner.thresholds(&reference, 1);
        assert_eq!(t, vec![Some(1.0)]);
        assert!(stops(&t, &[2.0], Direction::Minimize));
        assert!(!stops(&t, &[1.0], Direction::Minimize), "equal to the median goes on");
        assert!(!stops(&t, &[0.0], Direction::Minimize));
        assert!(stops(&t, &[0.5], Direction::Maximize));
        assert!(stops(&t, &[f64::NAN], Direction::Maximize), "a score that is not a number stops");
    }

    #[test]
    fn the_best_so_far_counts_not_the_latest() {
        let pruner = MedianPruner { startup_trials: 1, ..Default::default() };
        let reference: Vec<&[f64]> = vec![&[0.5, 0.6, 0.7]];
        let t = pruner.thresholds(&reference, 3);
        assert!(!stops(&t, &[0.9, 0.65], Direction::Maximize), "0.9 earlier beats the median at epoch 2");
        assert!(stops(&t, &[0.55, 0.59], Direction::Maximize));
    }

    #[test]
    fn startup_warmup_and_min_trials_hold_the_rule_back() {
        let curves: Vec<Vec<f64>> = (0..5).map(|i| vec![0.1 * i as f64, 0.2 * i as f64]).collect();
        let reference: Vec<&[f64]> = curves.iter().map(Vec::as_slice).collect();
        assert_eq!(MedianPruner::default().thresholds(&reference[..4], 2), vec![None, None], "fewer than 5 complete trials");
        assert_eq!(MedianPruner::default().thresholds(&reference, 2), vec![Some(0.2), Some(0.4)]);
        let warm = MedianPruner { warmup_epochs: 1, ..Default::default() };
        assert_eq!(warm.thresholds(&reference, 2), vec![None, Some(0.4)]);
        let short: Vec<&[f64]> = vec![&[0.1], &[0.2], &[0.3, 0.4]];
        let pruner = MedianPruner { startup_trials: 3, min_trials: 2, ..Default::default() };
        assert_eq!(pruner.thresholds(&short, 2), vec![Some(0.2), None], "only one trial reached epoch 2");
    }
}
