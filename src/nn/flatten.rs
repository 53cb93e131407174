//! From the convolutional layout `C × B × S` (S = H·W) to one row per image, `B × (C·S)`,
//! which is what dense layers read. Backward does the reverse permutation.

#![forbid(unsafe_code)]

use super::layer::{ensure_len, Layer, Pass};

pub struct Flatten {
    pub channels: usize,
    pub plane: usize,
    output: Vec<f32>,
    grad_input: Vec<f32>,
}

impl Flatten {
    pub fn new(channels: usize, plane: usize) -> Self {
        Self { channels, plane, output: Vec::new(), grad_input: Vec::new() }
    }
}

impl Layer for Flatten {
    fn describe(&self) -> String {
        "flatten".into()
    }
    fn input_len(&self) -> usize {
        self.channels * self.plane
    }
    fn output_len(&self) -> usize {
        self.channels * self.plane
    }
    fn forward(&mut self, input: &[f32], batch: usize, _pass: &mut Pass<'_>) {
        let (c, s) = (self.channels, self.plane);
        ensure_len(&mut self.output, c * batch * s);
        for ci in 0..c {
            for b in 0..batch {
                self.output[(b * c + ci) * s..][..s].copy_from_slice(&input[(ci * batch + b) * s..][..s]);
            }
        }
    }
    fn output(&self) -> &[f32] {
        &self.output
    }
    fn backward(&mut self, _input: &[f32], grad_output: &[f32], batch: usize, need_grad_input: bool) {
        if !need_grad_input {
            return;
        }
        let (c, s) = (self.channels, self.plane);
        ensure_len(&mut self.grad_input, c * batch * s);
        for ci in 0..c {
            for b in 0..batch {
                self.grad_input[(ci * batch + b) * s..][..s].copy_from_slice(&grad_output[(b * c + ci) * s..][..s]);
            }
        }
    }
    fn grad_input(&self) -> &[f32] {
        &self.grad_input
    }
}
