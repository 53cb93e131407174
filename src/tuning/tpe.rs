//! TPE, the tree-structured Parzen estimator (Bergstra, Bardenet, Bengio & Kégl 2011,
//! "Algorithms for Hyper-Parameter Optimization"), as Optuna's `TPESampler` runs it: after a few
//! random trials, split the finished ones into the best γ(n) = min(⌈n/10⌉, 25) ("good") and the
//! rest ("bad"); model each group with a Parzen estimator — a mixture of one kernel per trial
//! plus a broad prior kernel — and propose, out of 24 candidates drawn from the good model, the
//! one where good/bad density ratio is highest, which is where expected improvement is highest.
//!
//! Numeric params live in the unit interval (log params already log-scaled there), with
//! Gaussian kernels truncated to [0, 1] whose widths reach to the neighbouring observations
//! (Optuna's rule, clipped to [1/min(100, n+1), 1]). Categorical params use a smoothed histogram
//! of choices instead, so that no order is imagined between them. The kernels multiply across
//! params (Optuna's `multivariate=True`), so correlated params are modelled together.
//! `densities` exposes each param's good and bad densities for the charts.

use super::random::random_values;
use super::space::{Domain, SearchSpace, Value};
use super::strategy::{Observation, Strategy};
use super::stats::{draw_index, normal_cdf, standard_normal};
use crate::rng::{below, Rng64};

#[derive(Debug, Clone)]
pub struct Tpe {
    /// Random trials before the model is used.
    pub startup: usize,
    /// Candidates drawn from the good model per proposal.
    pub candidates: usize,
}

impl Default for Tpe {
    fn default() -> Self {
        Self { startup: 10, candidates: 24 }
    }
}

/// One param's Parzen estimator over its unit coordinate.
#[derive(Debug, Clone)]
enum Estimator {
    /// Truncated Gaussians on [0, 1] with equal weights: (mean, width).
    Numeric(Vec<(f64, f64)>),
    /// Probability of each choice.
    Categorical(Vec<f64>),
}

/// The finished trials with a score, best first, split into good and bad.
fn split(history: &[Observation]) -> (Vec<&Observation>, Vec<&Observation>) {
    let mut scored: Vec<&Observation> = history.iter().filter(|o| o.loss.is_some()).collect();
    scored.sort_by(|a, b| a.loss.unwrap().total_cmp(&b.loss.unwrap()));
    let good = scored.len().div_ceil(10).clamp(1, 25).min(scored.len());
    let bad = scored.split_off(good);
    (scored, bad)
}

impl Estimator {
    fn fit(space: &SearchSpace, param: usize, group: &[&Observation]) -> Self {
        match &space.params()[param].domain {
            Domain::Categorical { choices } => {
                // Each trial counts 1 for its choice; a prior of 1 spread over all choices.
                let k = choices.len();
                let mut weights = vec![1.0 / k as f64; k];
                for o in group {
                    let Value::Choice(c) = &o.values[param] else { unreachable!("a categorical value") };
                    weights[choices.iter().position(|x| x == c).expect("a listed choice")] += 1.0;
                }
                let total: f64 = weights.iter().sum();
                Estimator::Categorical(weights.into_iter().map(|w| w / total).collect())
            }
            _ => {
                // Means: the observations and the prior's 0.5; each width reaches the farther
                // neighbour in sorted order (the ends count as neighbours).
                let mut means: Vec<f64> = group.iter().map(|o| o.unit[param]).collect();
                means.push(0.5);
                let mut order: Vec<usize> = (0..means.len()).collect();
                order.sort_by(|&a, &b| means[a].total_cmp(&means[b]));
                let n = means.len();
                let lowest = 1.0 / (n as f64).min(100.0);
                let mut kernels = vec![(0.0, 0.0); n];
                for (rank, &i) in order.iter().enumerate() {
                    let left = if rank == 0 { 0.0 } else { means[order[rank - 1]] };
                    let right = if rank + 1 == n { 1.0 } else { means[order[rank + 1]] };
                    let width = (means[i] - left).max(right - means[i]).clamp(lowest, 1.0);
                    kernels[i] = (means[i], width);
                }
                // The prior (last) is broad.
                kernels[n - 1].1 = 1.0;
                Estimator::Numeric(kernels)
            }
        }
    }

    /// Density at unit coordinate `u` (for a categorical, the probability of the choice whose
    /// share of the unit interval holds `u`).
    fn density(&self, u: f64) -> f64 {
        match self {
            Estimator::Numeric(kernels) => kernels.iter().map(|&(m, s)| truncated_normal_pdf(u, m, s)).sum::<f64>() / kernels.len() as f64,
            Estimator::Categorical(p) => p[((u * p.len() as f64).floor() as usize).min(p.len() - 1)],
        }
    }

    fn sample(&self, rng: &mut Rng64) -> f64 {
        match self {
            Estimator::Numeric(kernels) => {
                let (m, s) = kernels[below(rng, kernels.len())];
                // Rejection from the Gaussian (the window [0, 1] holds at least a third of
                // any kernel centred in it with width ≤ 1), clamped if unlucky.
                for _ in 0..64 {
                    let x = m + s * standard_normal(rng);
                    if (0.0..=1.0).contains(&x) {
                        return x;
                    }
                }
                m.clamp(0.0, 1.0)
            }
            Estimator::Categorical(p) => (draw_index(p, rng) as f64 + 0.5) / p.len() as f64,
        }
    }
}

/// Density at `x` of a normal(mean, width) truncated to [0, 1].
fn truncated_normal_pdf(x: f64, mean: f64, width: f64) -> f64 {
    let mass = (normal_cdf((1.0 - mean) / width) - normal_cdf(-mean / width)).max(1e-12);
    let z = (x - mean) / width;
    (-0.5 * z * z).exp() / (width * (2.0 * std::f64::consts::PI).sqrt() * mass)
}

impl Tpe {
    /// The good and bad densities of param `param` at the unit coordinates `at`, as fitted to
    /// `history` (for the charts); None before the model is used.
    pub fn densities(&self, space: &SearchSpace, history: &[Observation], param: usize, at: &[f64]) -> Option<(Vec<f64>, Vec<f64>)> {
        if history.iter().filter(|o| o.loss.is_some()).count() < self.startup.max(2) {
            return None;
        }
        let (good, bad) = split(history);
        let (l, g) = (Estimator::fit(space, param, &good), Estimator::fit(space, param, &bad));
        Some((at.iter().map(|&u| l.density(u)).collect(), at.iter().map(|&u| g.density(u)).collect()))
    }
}

impl Strategy for Tpe {
    fn name(&self) -> &'static str {
        "tpe"
    }

    fn ask(&mut self, space: &SearchSpace, history: &[Observation], n: usize, rng: &mut Rng64) -> Vec<Vec<Value>> {
        let scored = history.iter().filter(|o| o.loss.is_some()).count();
        if scored < self.startup.max(2) {
            return (0..n).map(|_| random_values(space, rng)).collect();
        }
        let (good, bad) = split(history);
        let good_models: Vec<Estimator> = (0..space.len()).map(|d| Estimator::fit(space, d, &good)).collect();
        let bad_models: Vec<Estimator> = (0..space.len()).map(|d| Estimator::fit(space, d, &bad)).collect();
        (0..n)
            .map(|_| {
                let mut best: Option<(f64, Vec<f64>)> = None;
                for _ in 0..self.candidates.max(1) {
                    let x: Vec<f64> = good_models.iter().map(|m| m.sample(rng)).collect();
                    let score: f64 = x.iter().zip(&good_models).zip(&bad_models).map(|((&u, l), g)| l.density(u).max(1e-300).ln() - g.density(u).max(1e-300).ln()).sum();
                    if best.as_ref().is_none_or(|(s, _)| score > *s) {
                        best = Some((score, x));
                    }
                }
                space.values_at(&best.expect("at least one candidate").1)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuning::space::Param;

    #[test]
    fn a_truncated_normal_integrates_to_one() {
        let total: f64 = (0..10_000).map(|i| truncated_normal_pdf((i as f64 + 0.5) / 10_000.0, 0.8, 0.3) / 10_000.0).sum();
        assert!((total - 1.0).abs() < 1e-4, "{total}");
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
}
