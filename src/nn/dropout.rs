//! Inverted dropout: while training, each value is zeroed with probability `rate` and the rest
//! are scaled by 1/(1 − rate), so evaluation needs no rescaling. The mask comes from the trial's
//! seeded dropout stream, so a run is reproducible.

#![forbid(unsafe_code)]

use super::layer::{ensure_len, Layer, Pass};

pub struct Dropout {
    pub rate: f32,
    pub features: usize,
    /// Per value: 0 or 1/(1 − rate); empty after an evaluation pass.
    mask: Vec<f32>,
    output: Vec<f32>,
    grad_input: Vec<f32>,
}

impl Dropout {
    pub fn new(rate: f32, features: usize) -> Self {
        Self { rate, features, mask: Vec::new(), output: Vec::new(), grad_input: Vec::new() }
    }
}

impl Layer for Dropout {
    fn describe(&self) -> String {
        format!("dropout {}", self.rate)
    }
    fn input_len(&self) -> usize {
        self.features
    }
    fn output_len(&self) -> usize {
        self.features
    }
    fn forward(&mut self, input: &[f32], batch: usize, pass: &mut Pass<'_>) {
        let len = batch * self.features;
        ensure_len(&mut self.output, len);
        if !pass.training || self.rate == 0.0 {
            self.mask.clear();
            self.output.copy_from_slice(&input[..len]);
            return;
        }
        let keep = 1.0 / (1.0 - self.rate);
        ensure_len(&mut self.mask, len);
        for ((m, o), &x) in self.mask.iter_mut().zip(self.output.iter_mut()).zip(&input[..len]) {
            *m = if crate::rng::unit_f32(pass.rng) < self.rate { 0.0 } else { keep };
            *o = x * *m;
        }
    }
    fn output(&self) -> &[f32] {
        &self.output
    }
    fn backward(&mut self, _input: &[f32], grad_output: &[f32], batch: usize, need_grad_input: bool) {
        if !need_grad_input {
            return;
        }
        let len = batch * self.features;
        ensure_len(&mut self.grad_input, len);
        if self.mask.is_empty() {
            self.grad_input.copy_from_slice(&grad_output[..len]);
        } else {
            for ((g, &d), &m) in self.grad_input.iter_mut().zip(&grad_output[..len]).zip(&self.mask) {
                *g = d * m;
            }
        }
    }
    fn grad_input(&self) -> &[f32] {
        &self.grad_input
    }
}
