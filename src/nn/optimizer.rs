//! Optimizers: one step turns (learning rate, weights, gradients, state) into new weights and
//! state, tensor by tensor (the shape of burn's optimizers). Regularization enters here: for
//! weights (not biases) the gradient gets λ₂·w (L2) and λ₁·sign(w) (L1) added before the step.

#![forbid(unsafe_code)]

use super::config::OptimizerKind;
use super::layer::ParamTensor;

/// The optimizer's state, as a checkpoint carries it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OptimizerState {
    pub steps: u32,
    pub beta1_power: f32,
    pub beta2_power: f32,
    /// Per tensor: its first and second moment buffers (empty when the optimizer keeps none).
    pub buffers: Vec<(Vec<f32>, Vec<f32>)>,
    /// The last step's direction per tensor, when kept for the hypergradient (else empty).
    pub directions: Vec<Vec<f32>>,
}

/// Per-tensor state, created lazily on the first step in the order tensors are visited.
#[derive(Debug, Clone, Default)]
struct TensorState {
    first: Vec<f32>,
    second: Vec<f32>,
}

#[derive(Debug, Clone)]
pub struct Optimizer {
    pub kind: OptimizerKind,
    pub l2: f32,
    pub l1: f32,
    states: Vec<TensorState>,
    steps: u32,
    /// β₁ᵗ and β₂ᵗ for Adam's bias correction, kept as running products (bit-identical everywhere).
    beta1_power: f32,
    beta2_power: f32,
    next_tensor: usize,
    /// Keep each step's direction per tensor (for the hypergradient), in `directions`.
    record_directions: bool,
    directions: Vec<Vec<f32>>,
    /// Keep each step's ∂w/∂λ₂ per weight (for the L2 hypergradient), in `sensitivity`.
    record_l2_sensitivity: bool,
    sensitivity: Vec<Vec<f32>>,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind, l2: f32, l1: f32) -> Self {
        Self {
            kind,
            l2,
            l1,
            states: Vec::new(),
            steps: 0,
            beta1_power: 1.0,
            beta2_power: 1.0,
            next_tensor: 0,
            record_directions: false,
            directions: Vec::new(),
            record_l2_sensitivity: false,
            sensitivity: Vec::new(),
        }
    }

    /// Start a step: call once per batch before `update`-ing each tensor.
    pub fn begin_step(&mut self) {
        self.steps += 1;
        self.next_tensor = 0;
        if let OptimizerKind::Adam { beta1, beta2, .. } = self.kind {
            self.beta1_power *= beta1;
            self.beta2_power *= beta2;
        }
    }

    /// Update one tensor in place: w −= lr · d, where d is the step's direction for this
    /// optimizer (kept, when `record_directions` is on, for the learning rate's hypergradient).
    /// With `record_l2_sensitivity` on, it also keeps ∂w_new/∂λ₂ for each weight — the one-step
    /// Jacobian of the update with respect to the gradient, times ∂g̃/∂λ₂ = w — for the L2
    /// strength's hypergradient.
    pub fn update(&mut self, lr: f32, tensor: ParamTensor<'_>) {
        let index = self.next_tensor;
        self.next_tensor += 1;
        if self.states.len() <= index {
            self.states.push(TensorState::default());
        }
        if self.record_directions && self.directions.len() <= index {
            self.directions.push(Vec::new());
        }
        if self.record_l2_sensitivity && self.sensitivity.len() <= index {
            self.sensitivity.push(Vec::new());
        }
        let regularise = self.regulariser(tensor.is_weight);
        let state = &mut self.states[index];
        let len = tensor.values.len();
        let mut direction = if self.record_directions { Some(&mut self.directions[index]) } else { None };
        if let Some(d) = direction.as_deref_mut() {
            d.resize(len, 0.0);
        }
        let mut sensitivity = if self.record_l2_sensitivity && tensor.is_weight { Some(&mut self.sensitivity[index]) } else { None };
        if let Some(s) = sensitivity.as_deref_mut() {
            s.resize(len, 0.0);
        }
        let sensing = sensitivity.is_some();
        // Keep the direction and the sensitivity where they are kept, then step along the
        // direction. `jacobian` is ∂d/∂g̃ for this element (only computed when sensing).
        let mut apply = |i: usize, w: &mut f32, d: f32, jacobian: f32| {
            if let Some(kept) = direction.as_deref_mut() {
                kept[i] = d;
            }
            if let Some(kept) = sensitivity.as_deref_mut() {
                kept[i] = -lr * jacobian * *w;
            }
            *w -= lr * d;
        };
        match self.kind {
            OptimizerKind::Sgd => {
                for (i, (w, &g)) in tensor.values.iter_mut().zip(tensor.grads).enumerate() {
                    let d = regularise(*w, g);
                    apply(i, w, d, 1.0);
                }
            }
            OptimizerKind::Momentum { momentum } => {
                state.first.resize(len, 0.0);
                for (i, ((w, &g), v)) in tensor.values.iter_mut().zip(tensor.grads).zip(state.first.iter_mut()).enumerate() {
                    *v = momentum * *v + regularise(*w, g);
                    apply(i, w, *v, 1.0);
                }
            }
            OptimizerKind::RmsProp { rho, epsilon } => {
                state.second.resize(len, 0.0);
                for (i, ((w, &g), s)) in tensor.values.iter_mut().zip(tensor.grads).zip(state.second.iter_mut()).enumerate() {
                    let g = regularise(*w, g);
                    *s = rho * *s + (1.0 - rho) * g * g;
                    let root = s.sqrt();
                    let denominator = root + epsilon;
                    let jacobian = if !sensing {
                        0.0
                    } else if root > 0.0 {
                        1.0 / denominator - (1.0 - rho) * g * g / (root * denominator * denominator)
                    } else {
                        1.0 / denominator
                    };
                    apply(i, w, g / denominator, jacobian);
                }
            }
            OptimizerKind::Adam { beta1, beta2, epsilon } => {
                state.first.resize(len, 0.0);
                state.second.resize(len, 0.0);
                let c1 = 1.0 - self.beta1_power;
                let c2 = 1.0 - self.beta2_power;
                for (i, (((w, &g), m), v)) in tensor.values.iter_mut().zip(tensor.grads).zip(state.first.iter_mut()).zip(state.second.iter_mut()).enumerate() {
                    let g = regularise(*w, g);
                    *m = beta1 * *m + (1.0 - beta1) * g;
                    *v = beta2 * *v + (1.0 - beta2) * g * g;
                    let root = (*v / c2).sqrt();
                    let denominator = root + epsilon;
                    let jacobian = if !sensing {
                        0.0
                    } else if root > 0.0 {
                        (1.0 - beta1) / (c1 * denominator) - (1.0 - beta2) * (*m / c1) * g / (c2 * root * denominator * denominator)
                    } else {
                        (1.0 - beta1) / (c1 * denominator)
                    };
                    apply(i, w, (*m / c1) / denominator, jacobian);
                }
            }
        }
    }

    /// The gradient with regularisation added, for a weight (L2: λ₂·w, L1: λ₁·sign(w)) or a
    /// bias (nothing).
    fn regulariser(&self, is_weight: bool) -> impl Fn(f32, f32) -> f32 {
        let (l2, l1) = if is_weight { (self.l2, self.l1) } else { (0.0, 0.0) };
        move |w: f32, g: f32| g + l2 * w + if l1 != 0.0 && w != 0.0 { l1 * w.signum() } else { 0.0 }
    }

    /// Keep each step's direction, for the learning rate's hypergradient.
    pub fn record_directions(&mut self) {
        self.record_directions = true;
    }

    /// Keep each step's ∂w/∂λ₂ per weight, for the L2 strength's hypergradient.
    pub fn record_l2_sensitivity(&mut self) {
        self.record_l2_sensitivity = true;
    }

    /// ∇C₂ · ∂w/∂λ₂ for tensor `index`: `tensor.grads` (a held-out batch's gradient at the
    /// weights the last step reached) against what that step's weights owe to λ₂; summed in f64
    /// in a fixed order. 0 for a bias or before any step.
    pub fn gradient_dot_l2_sensitivity(&self, index: usize, tensor: &ParamTensor<'_>) -> f64 {
        let Some(s) = self.sensitivity.get(index) else { return 0.0 };
        tensor.grads.iter().zip(s).map(|(&g, &s)| g as f64 * s as f64).sum()
    }

    /// g · d_prev for tensor `index` (in visiting order): its regularised gradient now against
    /// the direction of the last step (0 before any), summed in f64 in a fixed order so the
    /// result is the same on every machine.
    pub fn gradient_dot_last_direction(&self, index: usize, tensor: &ParamTensor<'_>) -> f64 {
        let Some(d) = self.directions.get(index) else { return 0.0 };
        let regularise = self.regulariser(tensor.is_weight);
        tensor.values.iter().zip(tensor.grads).zip(d).map(|((&w, &g), &d)| regularise(w, g) as f64 * d as f64).sum()
    }

    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// Its state, for a checkpoint.
    pub(crate) fn state(&self) -> OptimizerState {
        let buffers = self.states.iter().map(|s| (s.first.clone(), s.second.clone())).collect();
        OptimizerState { steps: self.steps, beta1_power: self.beta1_power, beta2_power: self.beta2_power, buffers, directions: self.directions.clone() }
    }

    /// Take up the state a checkpoint saved (its kind and regularisation stay this one's).
    pub(crate) fn restore(&mut self, state: OptimizerState) {
        self.steps = state.steps;
        self.beta1_power = state.beta1_power;
        self.beta2_power = state.beta2_power;
        self.states = state.buffers.into_iter().map(|(first, second)| TensorState { first, second }).collect();
        self.directions = state.directions;
        self.next_tensor = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run `steps` steps on one weight tensor with a fixed gradient, and return the weights.
    fn run(kind: OptimizerKind, l2: f32, l1: f32, w0: [f32; 2], grads: &[[f32; 2]]) -> [f32; 2] {
        let mut opt = Optimizer::new(kind, l2, l1);
        let mut w = w0;
        for g in grads {
            opt.begin_step();
            opt.update(0.1, ParamTensor { values: &mut w, grads: g, is_weight: true });
        }
        w
    }

    fn close(a: [f32; 2], b: [f64; 2]) {
        for i in 0..2 {
            assert!((a[i] as f64 - b[i]).abs() < 1e-6, "{a:?} vs {b:?}");
        }
    }

    // Golden numbers computed by hand (and with PyTorch's update rules) for lr = 0.1.
    #[test]
    fn sgd_golden() {
        close(run(OptimizerKind::Sgd, 0.0, 0.0, [1.0, -2.0], &[[0.5, -1.0]]), [0.95, -1.9]);
        // L2 0.1: g + 0.1·w = [0.6, -1.2]; L1 0.1 adds 0.1·sign(w) = [0.1, -0.1].
        close(run(OptimizerKind::Sgd, 0.1, 0.0, [1.0, -2.0], &[[0.5, -1.0]]), [0.94, -1.88]);
        close(run(OptimizerKind::Sgd, 0.0, 0.1, [1.0, -2.0], &[[0.5, -1.0]]), [0.94, -1.89]);
    }

    #[test]
    fn momentum_golden() {
        // v1 = g = 0.5 → w = 0.95; v2 = 0.9·0.5 + 0.5 = 0.95 → w = 0.855.
        close(run(OptimizerKind::Momentum { momentum: 0.9 }, 0.0, 0.0, [1.0, 0.0], &[[0.5, 0.0], [0.5, 0.0]]), [0.855, 0.0]);
    }

    #[test]
    fn rmsprop_golden() {
        // s1 = 0.1·0.25 = 0.025; w = 1 − 0.1·0.5/(√0.025 + 1e-7) = 1 − 0.316227...
        let w = run(OptimizerKind::RmsProp { rho: 0.9, epsilon: 1e-7 }, 0.0, 0.0, [1.0, 0.0], &[[0.5, 0.0]]);
        close(w, [1.0 - 0.1 * 0.5 / (0.025f64.sqrt() + 1e-7), 0.0]);
    }

    #[test]
    fn adam_golden() {
        // With bias correction the first Adam step is lr·sign(g) (up to ε), whatever |g|.
        let w = run(OptimizerKind::ADAM, 0.0, 0.0, [1.0, -2.0], &[[0.5, -3.0]]);
        close(w, [0.9, -1.9]);
        // Second step with g = [0.5, 1.0]: m = [0.095, -0.17], v = [0.0004997..., 0.009991+0.001]
        let w2 = run(OptimizerKind::ADAM, 0.0, 0.0, [1.0, -2.0], &[[0.5, -3.0], [0.5, 1.0]]);
        let (b1, b2) = (0.9f64, 0.999f64);
        let m = [0.1 * 0.5 * b1 + 0.1 * 0.5, 0.1 * -3.0 * b1 + 0.1 * 1.0];
        let v = [0.001 * 0.25 * b2 + 0.001 * 0.25, 0.001 * 9.0 * b2 + 0.001 * 1.0];
        let (c1, c2) = (1.0 - b1 * b1, 1.0 - b2 * b2);
        let expect = [0.9 - 0.1 * (m[0] / c1) / ((v[0] / c2).sqrt() + 1e-7), -1.9 - 0.1 * (m[1] / c1) / ((v[1] / c2).sqrt() + 1e-7)];
        close(w2, expect);
    }

    #[test]
    fn biases_are_not_regularized() {
        let mut opt = Optimizer::new(OptimizerKind::Sgd, 1.0, 1.0);
        let mut b = [2.0f32];
        opt.begin_step();
        opt.update(0.1, ParamTensor { values: &mut b, grads: &[0.0], is_weight: false });
        assert_eq!(b, [2.0]);
    }
}
