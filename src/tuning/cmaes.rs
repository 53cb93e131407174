//! CMA-ES, the covariance matrix adaptation evolution strategy (Hansen & Ostermeier 2001; as in
//! Hansen's tutorial, "The CMA Evolution Strategy: A Tutorial", 2016): each generation samples λ
//! points from a multivariate normal N(m, σ²C) over the unit cube, and moves the mean toward the
//! best μ of them (weighted), adapts the covariance C to the directions that paid (rank-one
//! update through an evolution path, plus the rank-μ update), and the step size σ by how far
//! the mean travelled compared with a random walk.
//!
//! Numeric params (floats and ints; ints are rounded by the cube's map) are the dimensions of the
//! normal distribution. Categorical params cannot be ordered, so — a documented rule of ours, as
//! in estimation-of-distribution algorithms — each keeps a probability per choice, sampled
//! independently and moved toward the choices of each generation's best μ. The search starts at
//! the cube's centre with σ = 1/6 (Optuna's `CmaEsSampler` default: the cube's width is six
//! standard deviations); a draw outside the cube is drawn again, and clamped only if a hundred
//! draws miss. The update learns from the point actually tried (integers rounded). Failed trials
//! are left out of their generation's ranking. `generations` exposes each generation's mean, step
//! size and covariance for the charts.

pub use super::snapshot::Generation;
use super::snapshot::Snapshot;
use super::space::{choice_at, choice_unit, Domain, SearchSpace, Value};
use super::stats::{draw_index, standard_normal};
use super::strategy::{GenerationQueue, Observation, Strategy};
use crate::rng::Rng64;

#[derive(Debug, Clone, Default)]
pub struct CmaEs {
    state: Option<State>,
    generations: Vec<Generation>,
}

#[derive(Debug, Clone)]
struct State {
    /// Which params are numeric (dimensions of the normal) and which categorical.
    numeric: Vec<usize>,
    categorical: Vec<usize>,
    d: usize,
    lambda: usize,
    weights: Vec<f64>,
    mu_eff: f64,
    c_sigma: f64,
    d_sigma: f64,
    c_c: f64,
    c_1: f64,
    c_mu: f64,
    chi_n: f64,
    mean: Vec<f64>,
    sigma: f64,
    c: Vec<f64>,
    /// Eigenvectors (columns of B, row-major) and square roots of eigenvalues of C.
    b: Vec<f64>,
    eigen: Vec<f64>,
    p_sigma: Vec<f64>,
    p_c: Vec<f64>,
    /// Per categorical param, the probability of each choice.
    choice_probabilities: Vec<Vec<f64>>,
    /// Generations completed (for the evolution path's correction).
    generations_done: usize,
    queue: GenerationQueue,
}

impl CmaEs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every generation's distribution so far (numeric params only).
    pub fn generations(&self) -> &[Generation] {
        &self.generations
    }
}

/// Eigen-decomposition of the symmetric `d × d` matrix `a` by cyclic Jacobi rotations:
/// (eigenvalues, eigenvectors as columns, row-major).
fn jacobi_eigen(a: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    for _sweep in 0..50 {
        let off: f64 = (0..d).flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| a[i * d + j] * a[i * d + j]).sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

impl State {
    fn new(space: &SearchSpace, batch: usize) -> Self {
        let numeric: Vec<usize> = (0..space.len()).filter(|&i| !matches!(space.params()[i].domain, Domain::Categorical { .. })).collect();
        let categorical: Vec<usize> = (0..space.len()).filter(|&i| matches!(space.params()[i].domain, Domain::Categorical { .. })).collect();
        // A space of categoricals only has no numeric dimension (d = 0); the constants below are
        // then computed for d = 1 and never used.
        let d = numeric.len();
        let df = d.max(1) as f64;
        // λ = 4 + ⌊3 ln d⌋ (at least the study's batch, so a batch never waits on a half
        // generation), μ = λ/2 with log-decreasing weights.
        let lambda = (4 + (3.0 * df.ln()).floor() as usize).max(batch).max(4);
        let mu = lambda / 2;
        let raw: Vec<f64> = (0..mu).map(|i| ((mu as f64 + 0.5).ln() - ((i + 1) as f64).ln()).max(0.0)).collect();
        let total: f64 = raw.iter().sum();
        let weights: Vec<f64> = raw.iter().map(|w| w / total).collect();
        let mu_eff = 1.0 / weights.iter().map(|w| w * w).sum::<f64>();
        let c_sigma = (mu_eff + 2.0) / (df + mu_eff + 5.0);
        let d_sigma = 1.0 + 2.0 * (((mu_eff - 1.0) / (df + 1.0)).sqrt() - 1.0).max(0.0) + c_sigma;
        let c_c = (4.0 + mu_eff / df) / (df + 4.0 + 2.0 * mu_eff / df);
        let c_1 = 2.0 / ((df + 1.3).powi(2) + mu_eff);
        let c_mu = (1.0 - c_1).min(2.0 * (mu_eff - 2.0 + 1.0 / mu_eff) / ((df + 2.0).powi(2) + mu_eff));
        let chi_n = df.sqrt() * (1.0 - 1.0 / (4.0 * df) + 1.0 / (21.0 * df * df));
        let mut identity = vec![0.0; d * d];
        for i in 0..d {
            identity[i * d + i] = 1.0;
        }
        let choice_probabilities = categorical
            .iter()
            .map(|&i| match &space.params()[i].domain {
                Domain::Categorical { choices } => vec![1.0 / choices.len() as f64; choices.len()],
                _ => unreachable!(),
            })
            .collect();
        Self {
            numeric,
            categorical,
            d,
            lambda,
            weights,
            mu_eff,
            c_sigma,
            d_sigma,
            c_c,
            c_1,
            c_mu,
            chi_n,
            mean: vec![0.5; d],
            sigma: 1.0 / 6.0,
            c: identity.clone(),
            b: identity,
            eigen: vec![1.0; d],
            p_sigma: vec![0.0; d],
            p_c: vec![0.0; d],
            choice_probabilities,
            generations_done: 0,
            queue: GenerationQueue::default(),
        }
    }

    /// Sample a generation of λ points.
    fn sample(&mut self, space: &SearchSpace, rng: &mut Rng64) {
        let d = self.d;
        let points = (0..self.lambda)
            .map(|_| {
                // A draw outside the cube is drawn again (up to 100 times, then clamped), as
                // the `cmaes` library Optuna uses does: clamping every draw would pile the
                // search onto the cube's faces.
                let mut x = vec![0.0; d];
                for attempt in 0..100 {
                    let z: Vec<f64> = (0..d).map(|_| standard_normal(rng)).collect();
                    for (k, xk) in x.iter_mut().enumerate() {
                        let y: f64 = (0..d).map(|j| self.b[k * d + j] * self.eigen[j] * z[j]).sum();
                        *xk = self.mean[k] + self.sigma * y;
                    }
                    if attempt == 99 || x.iter().all(|v| (0.0..=1.0).contains(v)) {
                        break;
                    }
                }
                let mut u = vec![0.5; space.len()];
                for (k, &param) in self.numeric.iter().enumerate() {
                    u[param] = x[k].clamp(0.0, 1.0);
                }
                for (probabilities, &param) in self.choice_probabilities.iter().zip(&self.categorical) {
                    u[param] = choice_unit(draw_index(probabilities, rng), probabilities.len());
                }
                u
            })
            .collect();
        self.queue.start(points);
    }

    /// Update from the finished generation `generation` (observations in proposal order).
    fn update(&mut self, generation: &[Observation]) {
        let d = self.d;
        let mut ranked: Vec<&Observation> = generation.iter().filter(|o| o.loss.is_some()).collect();
        if ranked.is_empty() {
            return;
        }
        ranked.sort_by(|a, b| a.loss.unwrap().total_cmp(&b.loss.unwrap()));
        let mu = self.weights.len().min(ranked.len());
        let total: f64 = self.weights[..mu].iter().sum();
        let weights: Vec<f64> = self.weights[..mu].iter().map(|w| w / total).collect();
        if d > 0 {
            self.update_numeric(&ranked[..mu], &weights);
        }
        self.update_categorical(&ranked[..mu], &weights);
    }

    /// Mean, paths, covariance and step size, from the selected `ranked` (best first). Written
    /// index by index, as the tutorial's formulas are.
    #[allow(clippy::needless_range_loop)]
    fn update_numeric(&mut self, ranked: &[&Observation], weights: &[f64]) {
        let (d, mu) = (self.d, ranked.len());
        // The selected steps y = (x − m)/σ, in the numeric dimensions.
        let steps: Vec<Vec<f64>> =
            ranked[..mu].iter().map(|o| self.numeric.iter().enumerate().map(|(k, &p)| (o.unit[p] - self.mean[k]) / self.sigma).collect()).collect();
        let y_w: Vec<f64> = (0..d).map(|k| weights.iter().zip(&steps).map(|(w, y)| w * y[k]).sum()).collect();
        for k in 0..d {
            self.mean[k] = (self.mean[k] + self.sigma * y_w[k]).clamp(0.0, 1.0);
        }
        // C^(−1/2) y_w = B D⁻¹ Bᵀ y_w.
        let bt_y: Vec<f64> = (0..d).map(|j| (0..d).map(|k| self.b[k * d + j] * y_w[k]).sum::<f64>() / self.eigen[j].max(1e-300)).collect();
        let c_inv_sqrt_y: Vec<f64> = (0..d).map(|k| (0..d).map(|j| self.b[k * d + j] * bt_y[j]).sum()).collect();
        let cs = self.c_sigma;
        for k in 0..d {
            self.p_sigma[k] = (1.0 - cs) * self.p_sigma[k] + (cs * (2.0 - cs) * self.mu_eff).sqrt() * c_inv_sqrt_y[k];
        }
        let norm_ps = self.p_sigma.iter().map(|x| x * x).sum::<f64>().sqrt();
        let h_sigma = if norm_ps / (1.0 - (1.0 - cs).powi(2 * (1 + self.generations_done as i32))).sqrt() < (1.4 + 2.0 / (d as f64 + 1.0)) * self.chi_n {
            1.0
        } else {
            0.0
        };
        let cc = self.c_c;
        for k in 0..d {
            self.p_c[k] = (1.0 - cc) * self.p_c[k] + h_sigma * (cc * (2.0 - cc) * self.mu_eff).sqrt() * y_w[k];
        }
        let delta = (1.0 - h_sigma) * cc * (2.0 - cc);
        for i in 0..d {
            for j in 0..d {
                let rank_mu: f64 = weights.iter().zip(&steps).map(|(w, y)| w * y[i] * y[j]).sum();
                self.c[i * d + j] =
                    (1.0 - self.c_1 - self.c_mu) * self.c[i * d + j] + self.c_1 * (self.p_c[i] * self.p_c[j] + delta * self.c[i * d + j]) + self.c_mu * rank_mu;
            }
        }
        self.sigma = (self.sigma * ((cs / self.d_sigma) * (norm_ps / self.chi_n - 1.0)).exp()).clamp(1e-6, 1.0);
        let (values, vectors) = jacobi_eigen(&self.c, d);
        self.eigen = values.iter().map(|v| v.max(1e-20).sqrt()).collect();
        self.b = vectors;
    }

    /// Each categorical's probabilities, toward the choices of the selected.
    fn update_categorical(&mut self, ranked: &[&Observation], weights: &[f64]) {
        let mu = ranked.len();
        for (probabilities, &param) in self.choice_probabilities.iter_mut().zip(&self.categorical) {
            let k = probabilities.len();
            let mut selected = vec![0.0; k];
            for (w, o) in weights.iter().zip(&ranked[..mu]) {
                selected[choice_at(o.unit[param], k)] += w;
            }
            for (p, s) in probabilities.iter_mut().zip(&selected) {
                *p = 0.7 * *p + 0.3 * s;
            }
            // Keep every choice possible.
            let floor = 0.02 / k as f64;
            let total: f64 = probabilities.iter().map(|p| p.max(floor)).sum();
            for p in probabilities.iter_mut() {
                *p = p.max(floor) / total;
            }
        }
    }

    fn snapshot(&self) -> Generation {
        Generation { mean: self.mean.clone(), sigma: self.sigma, covariance: self.c.clone() }
    }
}

impl Strategy for CmaEs {
    fn name(&self) -> &'static str {
        "cma-es"
    }

    fn ask(&mut self, space: &SearchSpace, history: &[Observation], n: usize, rng: &mut Rng64) -> Vec<Vec<Value>> {
        let state = self.state.get_or_insert_with(|| State::new(space, n));
        if state.queue.is_empty() {
            // The previous generation (if any) is all in the history now: learn, then sample.
            if state.queue.proposed() > 0 {
                let generation = state.queue.finished(history).to_vec();
                state.update(&generation);
                state.generations_done += 1;
            }
            state.sample(space, rng);
            self.generations.push(state.snapshot());
        }
        state.queue.hand_out(space, n)
    }

    fn snapshot(&self) -> Option<Snapshot> {
        let (state, generation) = (self.state.as_ref()?, self.generations.last()?);
        Some(Snapshot::Cmaes { index: self.generations.len() - 1, generation: generation.clone(), numeric: state.numeric.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_finds_the_eigenvalues_of_a_symmetric_matrix() {
        let a = [4.0, 1.0, 0.0, 1.0, 3.0, 1.0, 0.0, 1.0, 2.0];
        let (values, vectors) = jacobi_eigen(&a, 3);
        // A v = λ v for each column.
        for j in 0..3 {
            for i in 0..3 {
                let av: f64 = (0..3).map(|k| a[i * 3 + k] * vectors[k * 3 + j]).sum();
                assert!((av - values[j] * vectors[i * 3 + j]).abs() < 1e-10);
            }
        }
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        assert!((sorted.iter().sum::<f64>() - 9.0).abs() < 1e-10, "trace kept: {sorted:?}");
    }
}
