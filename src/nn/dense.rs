//! Fully connected layer on `B × inputs` rows: `out = in · Wᵀ + b`, optionally through ReLU.
//! Backward: dW = dZᵀ · in, db = Σ_rows dZ, d(in) = dZ · W. The products are the convolution's
//! kernels (`fast/kernels.rs`): forward is a dot product of each input row with each weight row.

#![forbid(unsafe_code)]

use super::fast::kernels::{broadcast_product, dot_product, Strided, Write};
use super::layer::{ensure_len, init_uniform, Layer, ParamTensor, Pass};
use crate::rng::Rng64;

pub struct Dense {
    pub inputs: usize,
    pub outputs: usize,
    pub relu: bool,
    /// `outputs × inputs`, row-major.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    grad_weights: Vec<f32>,
    grad_bias: Vec<f32>,
    output: Vec<f32>,
    grad_pre_activation: Vec<f32>,
    grad_input: Vec<f32>,
}

impl Dense {
    pub fn new(inputs: usize, outputs: usize, relu: bool, rng: &mut Rng64) -> Self {
        let mut weights = vec![0.0; outputs * inputs];
        init_uniform(&mut weights, inputs, relu, rng);
        Self {
            inputs,
            outputs,
            relu,
            weights,
            bias: vec![0.0; outputs],
            grad_weights: vec![0.0; outputs * inputs],
            grad_bias: vec![0.0; outputs],
            output: Vec::new(),
            grad_pre_activation: Vec::new(),
            grad_input: Vec::new(),
        }
    }
}

impl Layer for Dense {
    fn describe(&self) -> String {
        format!("dense {}", self.outputs)
    }
    fn input_len(&self) -> usize {
        self.inputs
    }
    fn output_len(&self) -> usize {
        self.outputs
    }

    fn forward(&mut self, input: &[f32], batch: usize, _pass: &mut Pass<'_>) {
        let (i, o) = (self.inputs, self.outputs);
        ensure_len(&mut self.output, batch * o);
        dot_product(batch, o, i, input, i, &self.weights, i, &mut self.output, o, false);
        for row in self.output.chunks_exact_mut(o) {
            for (v, b) in row.iter_mut().zip(&self.bias) {
                let z = *v + b;
                // A comparison, not `f32::max` (a libm call in wasm).
                *v = if self.relu && z <= 0.0 { 0.0 } else { z };
            }
        }
    }

    fn output(&self) -> &[f32] {
        &self.output
    }

    fn backward(&mut self, input: &[f32], grad_output: &[f32], batch: usize, need_grad_input: bool) {
        let (i, o) = (self.inputs, self.outputs);
        ensure_len(&mut self.grad_pre_activation, batch * o);
        if self.relu {
            for ((g, &d), &out) in self.grad_pre_activation.iter_mut().zip(&grad_output[..batch * o]).zip(&self.output) {
                *g = if out > 0.0 { d } else { 0.0 };
            }
        } else {
            self.grad_pre_activation.copy_from_slice(&grad_output[..batch * o]);
        }
        self.grad_bias.fill(0.0);
        for row in self.grad_pre_activation.chunks_exact(o) {
            for (gb, g) in self.grad_bias.iter_mut().zip(row) {
                *gb += g;
            }
        }
        let dz = &self.grad_pre_activation;
        broadcast_product(o, i, batch, Strided::transposed(dz, o), input, i, &mut self.grad_weights, i, Write::Overwrite);
        if need_grad_input {
            ensure_len(&mut self.grad_input, batch * i);
            broadcast_product(batch, i, o, Strided::rows(dz, o), &self.weights, i, &mut self.grad_input, i, Write::Overwrite);
        }
    }

    fn grad_input(&self) -> &[f32] {
        &self.grad_input
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(ParamTensor<'_>)) {
        visit(ParamTensor { values: &mut self.weights, grads: &self.grad_weights, is_weight: true });
        visit(ParamTensor { values: &mut self.bias, grads: &self.grad_bias, is_weight: false });
    }
    fn param_count(&self) -> usize {
        self.weights.len() + self.bias.len()
    }
    fn forward_macs(&self) -> usize {
        self.inputs * self.outputs
    }
}
