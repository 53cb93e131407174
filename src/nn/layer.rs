//! The interface every layer shares (as in ConvNetJS): forward from an input buffer into the
//! layer's own output buffer, backward from the gradient of its output into its own input-gradient
//! buffer, and a visit over its trainable tensors for the optimizer.

#![forbid(unsafe_code)]

use crate::rng::Rng64;

/// What a forward pass is for: training (dropout active, its RNG advancing) or evaluation.
pub struct Pass<'a> {
    pub training: bool,
    pub rng: &'a mut Rng64,
}

/// One trainable tensor and its gradient. `is_weight` is false for biases, which L1/L2 leave alone.
pub struct ParamTensor<'a> {
    pub values: &'a mut [f32],
    pub grads: &'a [f32],
    pub is_weight: bool,
}

pub trait Layer: Send {
    /// A short name for messages and tests, e.g. "conv 16".
    fn describe(&self) -> String;
    /// Number of values this layer takes in per image.
    fn input_len(&self) -> usize;
    /// Number of values this layer puts out per image.
    fn output_len(&self) -> usize;
    /// Compute the output of a batch of `batch` images.
    fn forward(&mut self, input: &[f32], batch: usize, pass: &mut Pass<'_>);
    fn output(&self) -> &[f32];
    /// Given dLoss/dOutput, compute parameter gradients and, if asked, dLoss/dInput.
    /// `input` is the same buffer that the last `forward` read.
    fn backward(&mut self, input: &[f32], grad_output: &[f32], batch: usize, need_grad_input: bool);
    fn grad_input(&self) -> &[f32];
    /// Visit trainable tensors in a fixed order (weights, then bias).
    fn visit_params(&mut self, _visit: &mut dyn FnMut(ParamTensor<'_>)) {}
    /// Number of trainable values.
    fn param_count(&self) -> usize {
        0
    }
    /// Multiply–adds per image in the forward pass (for FLOP counts).
    fn forward_macs(&self) -> usize {
        0
    }
}

/// He-uniform initialisation (bound √(6/fan_in)), suited to ReLU layers; or LeCun-uniform
/// (√(3/fan_in)) for the output layer. Uniform rather than normal draws so that the initial
/// weights are bit-identical natively and in wasm (no transcendental functions involved).
pub fn init_uniform(values: &mut [f32], fan_in: usize, relu: bool, rng: &mut Rng64) {
    let bound = ((if relu { 6.0 } else { 3.0 }) / fan_in as f32).sqrt();
    for v in values.iter_mut() {
        *v = (crate::rng::unit_f32(rng) * 2.0 - 1.0) * bound;
    }
}

/// Resize a reusable buffer without shrinking its capacity.
pub(crate) fn ensure_len(buf: &mut Vec<f32>, len: usize) {
    buf.resize(len, 0.0);
}
