//! Bayesian optimisation with a Gaussian process and expected improvement (Snoek, Larochelle &
//! Adams 2012, "Practical Bayesian Optimization of Machine Learning Algorithms").
//!
//! After a few random trials, the scores of the finished ones (standardised) are modelled as a
//! Gaussian process over the unit cube with a Matérn 5/2 kernel, one length-scale per dimension
//! (so that a param that does not matter gets a long one), a signal variance and a noise
//! variance, all fitted by maximising the marginal likelihood (a compass search in log space,
//! deterministic). The next point maximises expected improvement over the best score so far:
//! 2,048 random candidates, then local search from the best nine of them and from the best point
//! observed so far (as Optuna's `GPSampler` does; EI often peaks just beside the incumbent). A
//! batch of several points is chosen by the constant liar: each chosen point joins the data with
//! the best score as a pretend result, which pushes the next one elsewhere.
//!
//! Numerically defensive, as Optuna's GP code is: standardised scores (with a floor on their
//! spread), jitter on the diagonal (raised until the Cholesky factorisation succeeds), variances
//! clamped above zero, bounded hyperparameters. Ints and categoricals live in the cube like
//! floats; the cube's map to values rounds them. `model` exposes the fitted posterior, whose
//! mean, deviation and acquisition the UI draws on a 2-D slice.

use super::random::{random_unit, random_values};
use super::snapshot::{Hyper, Snapshot};
use super::space::{SearchSpace, Value};
use super::stats::{normal_cdf, normal_pdf};
use super::strategy::{Observation, Strategy};
use crate::rng::Rng64;

/// Local searches per proposal (Optuna's GPSampler also runs ten).
const REFINED: usize = 10;

#[derive(Debug, Clone)]
pub struct GpEi {
    /// Random trials before the model is used.
    pub startup: usize,
    /// Random candidates for the acquisition's maximum.
    pub candidates: usize,
    /// The hyperparameters fitted for the previous batch: the next fit starts from them.
    last: Option<Hyper>,
    /// What the last batch was based on.
    snapshot: Option<Snapshot>,
}

impl Default for GpEi {
    fn default() -> Self {
        Self::new(10, 2048)
    }
}

impl GpEi {
    pub fn new(startup: usize, candidates: usize) -> Self {
        Self { startup, candidates, last: None, snapshot: None }
    }
}

const LOG_LENGTH: (f64, f64) = (-4.6, 2.3); // 0.01 to 10 (the cube is 1 wide)
const LOG_SIGNAL: (f64, f64) = (-3.0, 3.0);
const LOG_NOISE: (f64, f64) = (-13.8, -0.7); // 1e-6 to 0.5 of the standardised variance

/// A fitted Gaussian process over the unit cube.
#[derive(Clone)]
pub struct GpModel {
    x: Vec<Vec<f64>>,
    hyper: Hyper,
    kernel: Kernel,
    /// Cholesky factor of K + noise·I (lower, row-major n×n).
    chol: Vec<f64>,
    alpha: Vec<f64>,
    /// Standardisation of the scores: loss = mean + scale · y.
    mean: f64,
    scale: f64,
    /// Best standardised score in the data (the incumbent EI improves on), and where it is
    /// (the first of equals).
    best: f64,
    incumbent: usize,
}

/// The kernel's constants out of log space, computed once per model (the kernel is evaluated
/// n² times per likelihood).
#[derive(Clone)]
struct Kernel {
    inverse_lengths: Vec<f64>,
    signal: f64,
}

impl Kernel {
    fn new(h: &Hyper) -> Self {
        Self { inverse_lengths: h.log_lengths.iter().map(|l| (-l).exp()).collect(), signal: h.log_signal.exp() }
    }

    /// Matérn 5/2: σ² (1 + √5 r + 5r²/3) e^(−√5 r), r the length-scaled distance.
    fn matern52(&self, a: &[f64], b: &[f64]) -> f64 {
        let r2: f64 = a.iter().zip(b).zip(&self.inverse_lengths).map(|((x, y), il)| ((x - y) * il).powi(2)).sum();
        let r = (5.0 * r2).sqrt();
        self.signal * (1.0 + r + r * r / 3.0) * (-r).exp()
    }
}

/// Lower Cholesky factor of the symmetric `n × n` matrix `a` (row-major), or None if it is not
/// positive definite.
fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = a[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solve L z = b (forward).
fn forward(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut z = vec![0.0; n];
    for i in 0..n {
        z[i] = (b[i] - (0..i).map(|k| l[i * n + k] * z[k]).sum::<f64>()) / l[i * n + i];
    }
    z
}

/// Solve Lᵀ z = b (backward).
fn backward(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut z = vec![0.0; n];
    for i in (0..n).rev() {
        z[i] = (b[i] - (i + 1..n).map(|k| l[k * n + i] * z[k]).sum::<f64>()) / l[i * n + i];
    }
    z
}

/// Factor K + noise·I, raising the jitter until it is positive definite.
fn factor(x: &[Vec<f64>], h: &Hyper) -> Option<Vec<f64>> {
    let n = x.len();
    let kernel = Kernel::new(h);
    let mut k = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let v = kernel.matern52(&x[i], &x[j]);
            k[i * n + j] = v;
            k[j * n + i] = v;
        }
    }
    let mut jitter = 1e-10 * h.log_signal.exp();
    for _ in 0..8 {
        let mut a = k.clone();
        for i in 0..n {
            a[i * n + i] += h.log_noise.exp() + jitter;
        }
        if let Some(l) = cholesky(&a, n) {
            return Some(l);
        }
        jitter *= 100.0;
    }
    None
}

/// Log marginal likelihood of standardised scores `y` (up to a constant).
fn log_likelihood(x: &[Vec<f64>], y: &[f64], h: &Hyper) -> f64 {
    let n = y.len();
    let Some(l) = factor(x, h) else { return f64::NEG_INFINITY };
    let z = forward(&l, n, y);
    -0.5 * z.iter().map(|v| v * v).sum::<f64>() - (0..n).map(|i| l[i * n + i].ln()).sum::<f64>()
}

/// Maximise the likelihood by compass search in log space, from the previous fit if there is
/// one (with smaller first steps), else from a fixed start.
fn fit_hyper(x: &[Vec<f64>], y: &[f64], d: usize, start: Option<&Hyper>) -> Hyper {
    let mut h = start.cloned().unwrap_or_else(|| Hyper { log_lengths: vec![(0.5f64).ln(); d], log_signal: 0.0, log_noise: (1e-3f64).ln() });
    let mut best = log_likelihood(x, y, &h);
    let mut step = if start.is_some() { 0.25 } else { 1.0 };
    let mut evaluations = 0;
    while step > 0.05 && evaluations < 40 * (d + 2) {
        let mut improved = false;
        for coordinate in 0..d + 2 {
            for sign in [1.0, -1.0] {
                let mut trial = h.clone();
                let (value, bounds) = match coordinate {
                    c if c < d => (&mut trial.log_lengths[c], LOG_LENGTH),
                    c if c == d => (&mut trial.log_signal, LOG_SIGNAL),
                    _ => (&mut trial.log_noise, LOG_NOISE),
                };
                *value = (*value + sign * step).clamp(bounds.0, bounds.1);
                let ll = log_likelihood(x, y, &trial);
                evaluations += 1;
                if ll > best + 1e-9 {
                    (best, h, improved) = (ll, trial, true);
                    break;
                }
            }
        }
        if !improved {
            step /= 2.0;
        }
    }
    h
}

impl GpModel {
    /// With `fitted`, those hyperparameters as they are; else fitted, starting from `start`.
    fn new(x: Vec<Vec<f64>>, losses: &[f64], fitted: Option<Hyper>, start: Option<&Hyper>) -> Option<Self> {
        let n = losses.len();
        let mean = losses.iter().sum::<f64>() / n as f64;
        let spread = (losses.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        let scale = if spread > 1e-12 { spread } else { 1.0 };
        let y: Vec<f64> = losses.iter().map(|v| (v - mean) / scale).collect();
        let d = x.first()?.len();
        let hyper = fitted.unwrap_or_else(|| fit_hyper(&x, &y, d, start));
        let chol = factor(&x, &hyper)?;
        let alpha = backward(&chol, n, &forward(&chol, n, &y));
        let incumbent = (0..n).min_by(|&a, &b| y[a].total_cmp(&y[b]).then(a.cmp(&b)))?;
        let best = y[incumbent];
        Some(Self { x, kernel: Kernel::new(&hyper), hyper, chol, alpha, mean, scale, best, incumbent })
    }

    /// Posterior mean and standard deviation of the (standardised) score at `u`.
    fn predict_standardised(&self, u: &[f64]) -> (f64, f64) {
        let n = self.x.len();
        let k: Vec<f64> = self.x.iter().map(|xi| self.kernel.matern52(xi, u)).collect();
        let mean = k.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
        let v = forward(&self.chol, n, &k);
        let variance = (self.kernel.signal - v.iter().map(|x| x * x).sum::<f64>()).max(1e-12);
        (mean, variance.sqrt())
    }

    /// Posterior mean and standard deviation of the loss at the unit point `u`.
    pub fn predict(&self, u: &[f64]) -> (f64, f64) {
        let (m, s) = self.predict_standardised(u);
        (self.mean + self.scale * m, self.scale * s)
    }

    /// Expected improvement (of the loss, below the best so far) at `u`, in loss units.
    pub fn expected_improvement(&self, u: &[f64]) -> f64 {
        let (m, s) = self.predict_standardised(u);
        let z = (self.best - m) / s;
        self.scale * ((self.best - m) * normal_cdf(z) + s * normal_pdf(z)).max(0.0)
    }

    /// Mean, deviation and expected improvement on an `m × m` grid over dimensions `i` and `j`
    /// of the cube, the other coordinates at `at` (row-major, `j` fastest).
    pub fn slice(&self, i: usize, j: usize, at: &[f64], m: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (mut means, mut deviations, mut improvements) = (Vec::new(), Vec::new(), Vec::new());
        for a in 0..m {
            for b in 0..m {
                let mut u = at.to_vec();
                u[i] = (a as f64 + 0.5) / m as f64;
                u[j] = (b as f64 + 0.5) / m as f64;
                let (mean, deviation) = self.predict(&u);
                means.push(mean);
                deviations.push(deviation);
                improvements.push(self.expected_improvement(&u));
            }
        }
        (means, deviations, improvements)
    }

    /// The fitted length-scale of each dimension (long: the score hardly depends on it).
    pub fn length_scales(&self) -> Vec<f64> {
        self.hyper.log_lengths.iter().map(|l| l.exp()).collect()
    }
}

impl GpEi {
    /// The posterior with the kernel hyperparameters `hyper` (a snapshot's) on `history`'s
    /// scored trials: the model a batch was chosen with, exactly.
    pub fn model_with(history: &[Observation], hyper: &Hyper) -> Option<GpModel> {
        let scored: Vec<&Observation> = history.iter().filter(|o| o.loss.is_some()).collect();
        GpModel::new(scored.iter().map(|o| o.unit.clone()).collect(), &scored.iter().map(|o| o.loss.unwrap()).collect::<Vec<_>>(), Some(hyper.clone()), None)
    }

    /// The posterior fitted to `history`, once there are enough scored trials.
    pub fn model(&self, history: &[Observation]) -> Option<GpModel> {
        let scored: Vec<&Observation> = history.iter().filter(|o| o.loss.is_some()).collect();
        if scored.len() < self.startup.max(2) {
            return None;
        }
        GpModel::new(scored.iter().map(|o| o.unit.clone()).collect(), &scored.iter().map(|o| o.loss.unwrap()).collect::<Vec<_>>(), None, self.last.as_ref())
    }

    /// The point of the cube with the highest expected improvement found.
    fn maximise(&self, model: &GpModel, d: usize, rng: &mut Rng64) -> Vec<f64> {
        let mut scored: Vec<(f64, Vec<f64>)> = (0..self.candidates.max(1))
            .map(|_| {
                let u = random_unit(d, rng);
                (model.expected_improvement(&u), u)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        // Refine by compass search in the cube: from the best point observed so far (EI is
        // often highest right beside it, where random candidates rarely land) and from the
        // best candidates.
        let incumbent = model.x[model.incumbent].clone();
        let mut best = scored[0].clone();
        let starts = std::iter::once((model.expected_improvement(&incumbent), incumbent)).chain(scored.into_iter().take(REFINED - 1));
        for (mut value, mut u) in starts {
            let mut step = 0.05;
            while step > 0.002 {
                let mut improved = false;
                for k in 0..d {
                    for sign in [1.0, -1.0] {
                        let mut v = u.clone();
                        v[k] = (v[k] + sign * step).clamp(0.0, 1.0);
                        let ei = model.expected_improvement(&v);
                        if ei > value {
                            (value, u, improved) = (ei, v, true);
                        }
                    }
                }
                if !improved {
                    step /= 2.0;
                }
            }
            if value > best.0 {
                best = (value, u);
            }
        }
        best.1
    }
}

impl Strategy for GpEi {
    fn name(&self) -> &'static str {
        "gp-ei"
    }

    fn ask(&mut self, space: &SearchSpace, history: &[Observation], n: usize, rng: &mut Rng64) -> Vec<Vec<Value>> {
        let Some(mut model) = self.model(history) else {
            let scored = history.iter().filter(|o| o.loss.is_some()).count();
            self.snapshot = Some(Snapshot::Uniform { warming_up: Some((scored, self.startup.max(2))) });
            return (0..n).map(|_| random_values(space, rng)).collect();
        };
        self.last = Some(model.hyper.clone());
        self.snapshot = Some(Snapshot::Gp { hyper: model.hyper.clone() });
        let mut x = model.x.clone();
        let mut losses: Vec<f64> = history.iter().filter_map(|o| o.loss).collect();
        let liar = losses.iter().cloned().fold(f64::INFINITY, f64::min);
        let mut proposals = Vec::with_capacity(n);
        for k in 0..n {
            let u = self.maximise(&model, space.len(), rng);
            let values = space.values_at(&u);
            // Its cube point as the space maps it back (rounded ints and choices).
            let point = space.unit_of(&values);
            proposals.push(values);
            if k + 1 < n {
                // The constant liar: pretend the point scored the best so far, keep the fitted
                // hyperparameters, and choose again.
                x.push(point);
                losses.push(liar);
                match GpModel::new(x.clone(), &losses, Some(model.hyper.clone()), None) {
                    Some(next) => model = next,
                    None => {
                        proposals.extend((k + 1..n).map(|_| random_values(space, rng)));
                        break;
                    }
                }
            }
        }
        proposals
    }

    fn snapshot(&self) -> Option<Snapshot> {
        self.snapshot.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::unit_f64;

    #[test]
    fn the_posterior_interpolates_and_is_unsure_far_from_the_data() {
        let x: Vec<Vec<f64>> = (0..8).map(|i| vec![i as f64 / 7.0]).collect();
        let losses: Vec<f64> = x.iter().map(|u| (6.0 * u[0]).sin()).collect();
        let model = GpModel::new(x.clone(), &losses, None, None).unwrap();
        for (u, loss) in x.iter().zip(&losses) {
            let (m, s) = model.predict(u);
            assert!((m - loss).abs() < 0.05 && s < 0.1, "at {u:?}: {m} ± {s} vs {loss}");
        }
        // Between data points the deviation grows, and the mean stays near the function.
        let (m, s) = model.predict(&[0.5 / 7.0]);
        assert!((m - (6.0 * 0.5f64 / 7.0).sin()).abs() < 0.1 && s > model.predict(&x[0]).1, "{m} ± {s}");
        // Expected improvement is largest near the minimum (sin(6u) is smallest at u ≈ 0.785).
        let (_, _, ei) = model.slice(0, 0, &[0.0], 20);
        let argmax = ei.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert!((argmax as f64 + 0.5) / 20.0 > 0.6, "EI peaks at {}", (argmax as f64 + 0.5) / 20.0);
    }

    #[test]
    fn a_dimension_that_does_not_matter_gets_a_long_length_scale() {
        let mut rng = crate::rng::rng_for(3, 0);
        let x: Vec<Vec<f64>> = (0..30).map(|_| vec![unit_f64(&mut rng), unit_f64(&mut rng)]).collect();
        let losses: Vec<f64> = x.iter().map(|u| (u[0] - 0.4).powi(2)).collect();
        let model = GpModel::new(x, &losses, None, None).unwrap();
        let l = model.length_scales();
        assert!(l[1] > 3.0 * l[0], "length-scales {l:?}");
    }

    #[test]
    fn identical_points_and_constant_scores_do_not_break_the_model() {
        let x = vec![vec![0.3, 0.3]; 12];
        let model = GpModel::new(x, &[1.0; 12], None, None).unwrap();
        let (m, s) = model.predict(&[0.9, 0.1]);
        assert!(m.is_finite() && s.is_finite() && s >= 0.0);
        assert!(model.expected_improvement(&[0.9, 0.1]).is_finite());
    }
}
