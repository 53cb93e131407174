//! TPE, the tree-structured Parzen estimator (Bergstra, Bardenet, Bengio & Kégl 2011,
//! "Algorithms for Hyper-Parameter Optimization"), as Optuna's `TPESampler` runs it today
//! (multivariate, Falkner et al. 2018's joint kernels; defaults of Optuna 4–5): after 10 random
//! trials, split the finished ones into the best γ(n) = min(⌈n/10⌉, 25) ("good") and the rest
//! ("bad"); model each group with a Parzen estimator and propose, out of 24 candidates drawn from
//! the good model, the one where the good/bad density ratio is highest — where expected
//! improvement is highest.
//!
//! Each estimator is a mixture with one kernel per trial plus a broad prior kernel. A kernel is a
//! product over the params, so a good trial's values stay together: a candidate drawn from it
//! keeps its correlations, and a candidate scores high only near good trials in every param at
//! once. Numeric params live in the unit interval (log params already log-scaled there) with
//! Gaussian kernels truncated to [0, 1], each as wide as the gap to its farther neighbouring
//! trial, clipped to [1/min(100, n + 2), 1]; an integer is weighed by its whole share of the
//! interval. A categorical param's kernel puts most of its weight on the trial's choice and a
//! little on each other one, so that no order is imagined between choices. With more than 25
//! trials in a group, older trials weigh less. The points of a batch already chosen count as bad
//! while the rest of the batch is chosen (Optuna's constant liar), so a batch spreads out.
//! `densities` exposes each param's good and bad densities for the charts.

use super::random::random_values;
use super::snapshot::Snapshot;
use super::space::{choice_at, choice_unit, Domain, SearchSpace, Value};
use super::stats::{draw_index, normal_mass, standard_normal};
use super::strategy::{Observation, Strategy};
use crate::rng::Rng64;

#[derive(Debug, Clone)]
pub struct Tpe {
    /// Random trials before the model is used.
    pub startup: usize,
    /// Candidates drawn from the good model per proposal.
    pub candidates: usize,
    /// What the last batch was based on.
    snapshot: Option<Snapshot>,
}

impl Default for Tpe {
    fn default() -> Self {
        Self { startup: 10, candidates: 24, snapshot: None }
    }
}

/// One param's kernels, one per trial and the prior last.
#[derive(Debug, Clone)]
enum Kernels {
    /// Truncated Gaussians on [0, 1]: means and widths.
    Numeric { means: Vec<f64>, widths: Vec<f64> },
    /// Per kernel, the probability of each choice.
    Categorical(Vec<Vec<f64>>),
}

/// A Parzen estimator over the whole space: a weighted mixture of product kernels.
#[derive(Debug, Clone)]
struct Mixture {
    weights: Vec<f64>,
    params: Vec<Kernels>,
}

/// The weight of each of `n` trials, oldest first (Optuna's `default_weights`): equal up to 25;
/// beyond, the newest 25 weigh 1 and the older ones ramp up from 1/n.
fn trial_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let ramp = n - 25;
    let mut w: Vec<f64> =
        (0..ramp).map(|i| if ramp == 1 { 1.0 / n as f64 } else { 1.0 / n as f64 + (1.0 - 1.0 / n as f64) * i as f64 / (ramp - 1) as f64 }).collect();
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

impl Mixture {
    /// The estimator of the trials at these unit points (oldest first).
    fn fit(space: &SearchSpace, points: &[&[f64]]) -> Self {
        let n = points.len();
        let mut weights = trial_weights(n);
        weights.push(1.0); // the prior
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        let params = space
            .params()
            .iter()
            .enumerate()
            .map(|(d, param)| match &param.domain {
                Domain::Categorical { choices } => {
                    // Each trial's kernel: 1 on its choice plus 1/(n + 1) on every choice,
                    // normalised; the prior's is uniform.
                    let k = choices.len();
                    let spread = 1.0 / (n + 1) as f64;
                    let mut rows: Vec<Vec<f64>> = points
                        .iter()
                        .map(|p| {
                            let mut row = vec![spread; k];
                            row[choice_at(p[d], k)] += 1.0;
                            let sum: f64 = row.iter().sum();
                            row.iter().map(|x| x / sum).collect()
                        })
                        .collect();
                    rows.push(vec![1.0 / k as f64; k]);
                    Kernels::Categorical(rows)
                }
                _ => {
                    let mut means: Vec<f64> = points.iter().map(|p| p[d]).collect();
                    let mut widths = neighbour_widths(&means);
                    means.push(0.5);
                    widths.push(1.0);
                    Kernels::Numeric { means, widths }
                }
            })
            .collect();
        Mixture { weights, params }
    }

    /// ln of the density at unit point `u` (for ints, of the integer's share; for categoricals,
    /// of the choice).
    fn ln_density(&self, space: &SearchSpace, u: &[f64]) -> f64 {
        let mut terms: Vec<f64> = self.weights.iter().map(|w| w.ln()).collect();
        for (d, kernels) in self.params.iter().enumerate() {
            match kernels {
                Kernels::Numeric { means, widths } => {
                    let share = space.params()[d].share_at(u[d]);
                    for ((t, &m), &s) in terms.iter_mut().zip(means).zip(widths) {
                        *t += ln_truncated_normal(u[d], share, m, s);
                    }
                }
                Kernels::Categorical(rows) => {
                    let c = choice_at(u[d], rows[0].len());
                    for (t, row) in terms.iter_mut().zip(rows) {
                        *t += row[c].max(1e-300).ln();
                    }
                }
            }
        }
        ln_sum_exp(&terms)
    }

    /// The density of param `d` alone at `u` (the mixture's marginal), for the charts.
    fn marginal(&self, space: &SearchSpace, d: usize, u: f64) -> f64 {
        match &self.params[d] {
            Kernels::Numeric { means, widths } => {
                let share = space.params()[d].share_at(u);
                self.weights.iter().zip(means).zip(widths).map(|((w, &m), &s)| w * ln_truncated_normal(u, share, m, s).exp()).sum()
            }
            Kernels::Categorical(rows) => {
                let c = choice_at(u, rows[0].len());
                self.weights.iter().zip(rows).map(|(w, row)| w * row[c]).sum()
            }
        }
    }

    /// A point drawn from the mixture: one kernel, then every param from it.
    fn sample(&self, space: &SearchSpace, rng: &mut Rng64) -> Vec<f64> {
        let k = draw_index(&self.weights, rng);
        self.params
            .iter()
            .zip(space.params())
            .map(|(kernels, param)| match kernels {
                Kernels::Numeric { means, widths } => {
                    let u = truncated_normal_draw(means[k], widths[k], rng);
                    // An integer stands at the middle of its share.
                    param.share_at(u).map_or(u, |(lo, hi)| (lo + hi) / 2.0)
                }
                Kernels::Categorical(rows) => choice_unit(draw_index(&rows[k], rng), rows[k].len()),
            })
            .collect()
    }
}

/// Each kernel's width: the gap to its farther neighbour in sorted order, the ends of [0, 1]
/// counting as neighbours except for the outermost trials (which take their one inner gap),
/// clipped to [1/min(100, n + 2), 1] for n trials (Optuna's "magic clip", its prior included).
fn neighbour_widths(means: &[f64]) -> Vec<f64> {
    let n = means.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| means[a].total_cmp(&means[b]));
    let sorted: Vec<f64> = std::iter::once(0.0).chain(order.iter().map(|&i| means[i])).chain(std::iter::once(1.0)).collect();
    let mut widths = vec![0.0; n];
    for (rank, &i) in order.iter().enumerate() {
        let (left, here, right) = (sorted[rank], sorted[rank + 1], sorted[rank + 2]);
        let mut w = (here - left).max(right - here);
        if n >= 2 && rank == 0 {
            w = right - here;
        } else if n >= 2 && rank == n - 1 {
            w = here - left;
        }
        widths[i] = w;
    }
    let lowest = 1.0 / ((n + 2) as f64).min(100.0);
    widths.into_iter().map(|w| w.clamp(lowest, 1.0)).collect()
}

/// ln of the density at `x` of a normal(mean, width) truncated to [0, 1]; with `share`, ln of
/// its probability of that interval instead.
fn ln_truncated_normal(x: f64, share: Option<(f64, f64)>, mean: f64, width: f64) -> f64 {
    let inside = normal_mass(-mean / width, (1.0 - mean) / width).max(1e-300);
    let p = match share {
        Some((lo, hi)) => normal_mass((lo - mean) / width, (hi - mean) / width),
        None => {
            let z = (x - mean) / width;
            (-0.5 * z * z).exp() / (width * (2.0 * std::f64::consts::PI).sqrt())
        }
    };
    p.max(1e-300).ln() - inside.ln()
}

fn ln_sum_exp(terms: &[f64]) -> f64 {
    let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    top + terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln()
}

/// A draw from normal(mean, width) truncated to [0, 1], by rejection (the interval holds at
/// least a third of any kernel centred in it with width ≤ 1), clamped if unlucky.
fn truncated_normal_draw(mean: f64, width: f64, rng: &mut Rng64) -> f64 {
    for _ in 0..64 {
        let x = mean + width * standard_normal(rng);
        if (0.0..=1.0).contains(&x) {
            return x;
        }
    }
    mean.clamp(0.0, 1.0)
}

/// The finished trials with a score split into the best γ(n) ("good") and the rest ("bad"),
/// each in trial order.
fn split(history: &[Observation]) -> (Vec<&[f64]>, Vec<&[f64]>) {
    let scored: Vec<(usize, f64)> = history.iter().enumerate().filter_map(|(i, o)| o.loss.map(|l| (i, l))).collect();
    let mut ranked = scored.clone();
    // A stable sort: equal losses rank in trial order.
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
    let good_count = scored.len().div_ceil(10).min(25);
    let mut is_good = vec![false; history.len()];
    for &(i, _) in &ranked[..good_count] {
        is_good[i] = true;
    }
    let (good, bad): (Vec<_>, Vec<_>) = scored.iter().partition(|(i, _)| is_good[*i]);
    (good.iter().map(|&(i, _)| history[i].unit.as_slice()).collect(), bad.iter().map(|&(i, _)| history[i].unit.as_slice()).collect())
}

impl Tpe {
    fn uses_model(&self, history: &[Observation]) -> bool {
        history.iter().filter(|o| o.loss.is_some()).count() >= self.startup.max(2)
    }

    /// The good and bad densities of param `param` at the unit coordinates `at`, as fitted to
    /// `history` (for the charts); None before the model is used.
    pub fn densities(&self, space: &SearchSpace, history: &[Observation], param: usize, at: &[f64]) -> Option<(Vec<f64>, Vec<f64>)> {
        if !self.uses_model(history) {
            return None;
        }
        let (good, bad) = split(history);
        let (l, g) = (Mixture::fit(space, &good), Mixture::fit(space, &bad));
        Some((at.iter().map(|&u| l.marginal(space, param, u)).collect(), at.iter().map(|&u| g.marginal(space, param, u)).collect()))
    }
}

impl Strategy for Tpe {
    fn name(&self) -> &'static str {
        "tpe"
    }

    fn ask(&mut self, space: &SearchSpace, history: &[Observation], n: usize, rng: &mut Rng64) -> Vec<Vec<Value>> {
        if !self.uses_model(history) {
            let scored = history.iter().filter(|o| o.loss.is_some()).count();
            self.snapshot = Some(Snapshot::Uniform { warming_up: Some((scored, self.startup.max(2))) });
            return (0..n).map(|_| random_values(space, rng)).collect();
        }
        let (good, bad) = split(history);
        self.snapshot = Some(Snapshot::Tpe { gamma: good.len() });
        let good_model = Mixture::fit(space, &good);
        let mut chosen: Vec<Vec<f64>> = Vec::with_capacity(n);
        for _ in 0..n {
            // The batch's points chosen so far are the newest bad trials.
            let liars: Vec<&[f64]> = bad.iter().copied().chain(chosen.iter().map(|p| p.as_slice())).collect();
            let bad_model = Mixture::fit(space, &liars);
            let mut best: Option<(f64, Vec<f64>)> = None;
            for _ in 0..self.candidates.max(1) {
                let x = good_model.sample(space, rng);
                let score = good_model.ln_density(space, &x) - bad_model.ln_density(space, &x);
                if best.as_ref().is_none_or(|(s, _)| score > *s) {
                    best = Some((score, x));
                }
            }
            chosen.push(best.expect("at least one candidate").1);
        }
        chosen.iter().map(|u| space.values_at(u)).collect()
    }

    fn snapshot(&self) -> Option<Snapshot> {
        self.snapshot.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuning::space::Param;

    #[test]
    fn a_truncated_normal_integrates_to_one_and_shares_sum_to_one() {
        let total: f64 = (0..10_000).map(|i| ln_truncated_normal((i as f64 + 0.5) / 10_000.0, None, 0.8, 0.3).exp() / 10_000.0).sum();
        assert!((total - 1.0).abs() < 1e-4, "{total}");
        let p = Param::log_int("filters", 4, 64);
        let shares: f64 = p.grid_values(100).iter().map(|v| ln_truncated_normal(0.0, p.share_at(p.to_unit(v)), 0.2, 0.05).exp()).sum();
        assert!((shares - 1.0).abs() < 1e-6, "{shares}");
    }

    #[test]
    fn widths_follow_the_neighbours() {
        // Sorted 0.1, 0.15, 0.6: the outer ones take their inner gap, the middle the larger one;
        // all clipped below at 1/(n + 2), here 1/7 with five trials.
        let w = neighbour_widths(&[0.6, 0.1, 0.15, 0.95, 0.97]);
        let want = [0.45, 1.0 / 7.0, 0.45, 0.35, 1.0 / 7.0];
        assert!(w.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12), "{w:?}");
        let w = neighbour_widths(&[0.5, 0.51, 0.52]);
        assert!(w.iter().all(|&x| (x - 0.2).abs() < 1e-12), "{w:?}");
        assert_eq!(neighbour_widths(&[0.3]), vec![0.7]);
    }

    #[test]
    fn older_trials_weigh_less_beyond_25() {
        assert_eq!(trial_weights(3), vec![1.0; 3]);
        let w = trial_weights(40);
        assert_eq!(w.len(), 40);
        assert!((w[0] - 1.0 / 40.0).abs() < 1e-12 && w[14] == 1.0 && w[15..].iter().all(|&x| x == 1.0));
        assert!(w.windows(2).all(|p| p[0] <= p[1]));
    }

    #[test]
    fn the_good_density_gathers_where_the_good_trials_are() {
        let space = SearchSpace::new(vec![Param::float("x", 0.0, 1.0), Param::categorical("c", &["a", "b", "c"])]).unwrap();
        // Scores best near x = 0.2 with choice "b".
        let history: Vec<Observation> = (0..40)
            .map(|i| {
                let x = (i as f64 + 0.5) / 40.0;
                let c = ["a", "b", "c"][i % 3];
                let values = vec![Value::Float(x), Value::Choice(c.into())];
                let loss = (x - 0.2).abs() + if c == "b" { 0.0 } else { 0.3 };
                Observation { unit: space.unit_of(&values), values, loss: Some(loss) }
            })
            .collect();
        let tpe = Tpe::default();
        let at = [0.2, 0.8];
        let (l, g) = tpe.densities(&space, &history, 0, &at).unwrap();
        assert!(l[0] / g[0] > 3.0 * l[1] / g[1], "good/bad at 0.2 {} vs at 0.8 {}", l[0] / g[0], l[1] / g[1]);
        let (l, g) = tpe.densities(&space, &history, 1, &[0.5, 0.1]).unwrap();
        assert!(l[0] / g[0] > l[1] / g[1], "choice b favoured");
        // And the proposals follow.
        let mut rng = crate::rng::rng_for(1, 0);
        let proposals = Tpe::default().ask(&space, &history, 20, &mut rng);
        let near = proposals.iter().filter(|v| (v[0].as_f64().unwrap() - 0.2).abs() < 0.15).count();
        assert!(near >= 14, "{near} of 20 proposals near the good region");
    }

    #[test]
    fn kernels_keep_a_good_trials_params_together() {
        // Good trials lie on the diagonal's two ends, (0.1, 0.1) and (0.9, 0.9); bad ones
        // everywhere else. A product of per-param densities would rate (0.1, 0.9) as highly as
        // (0.1, 0.1); the joint kernels must not.
        let space = SearchSpace::new(vec![Param::float("x", 0.0, 1.0), Param::float("y", 0.0, 1.0)]).unwrap();
        let mut history = Vec::new();
        for i in 0..100 {
            // γ(100) = 10 good trials, five at each end of the diagonal.
            let (x, y, loss) = match (i % 10, i / 10 % 2) {
                (0, 0) => (0.1, 0.1, 0.0),
                (0, _) => (0.9, 0.9, 0.0),
                _ => ((i as f64 * 0.37) % 1.0, (i as f64 * 0.61) % 1.0, 1.0),
            };
            let values = vec![Value::Float(x), Value::Float(y)];
            history.push(Observation { unit: space.unit_of(&values), values, loss: Some(loss) });
        }
        let (good, bad) = split(&history);
        let (l, g) = (Mixture::fit(&space, &good), Mixture::fit(&space, &bad));
        let on = l.ln_density(&space, &[0.1, 0.1]) - g.ln_density(&space, &[0.1, 0.1]);
        let off = l.ln_density(&space, &[0.1, 0.9]) - g.ln_density(&space, &[0.1, 0.9]);
        assert!(on > off + 1.0, "on the diagonal {on}, off it {off}");
        let mut rng = crate::rng::rng_for(3, 0);
        let proposals = Tpe::default().ask(&space, &history, 10, &mut rng);
        let mixed = proposals.iter().filter(|v| (v[0].as_f64().unwrap() - 0.5).signum() != (v[1].as_f64().unwrap() - 0.5).signum()).count();
        assert!(mixed <= 1, "{mixed} of 10 proposals mix the two good corners: {proposals:?}");
    }

    #[test]
    fn a_batch_spreads_out() {
        // One good trial: without the liar, every proposal of a batch would crowd the same spot.
        let space = SearchSpace::new(vec![Param::float("x", 0.0, 1.0)]).unwrap();
        let history: Vec<Observation> = (0..12)
            .map(|i| {
                let values = vec![Value::Float(i as f64 / 11.0)];
                Observation { unit: space.unit_of(&values), values, loss: Some((i as f64 / 11.0 - 0.5).abs()) }
            })
            .collect();
        let mut rng = crate::rng::rng_for(5, 0);
        let mut xs: Vec<f64> = Tpe::default().ask(&space, &history, 8, &mut rng).iter().map(|v| v[0].as_f64().unwrap()).collect();
        xs.sort_by(f64::total_cmp);
        let spread = xs[7] - xs[0];
        assert!(spread > 0.05, "batch {xs:?}");
    }
}
