//! 2×2 max-pooling with stride 2 on `C × B × H × W` activations. An odd last row or column is
//! dropped (floor), as in Keras and PyTorch. Backward sends each output gradient to the input
//! that won its window: the first (top-left first) holding the maximum, found again from the
//! input and output rather than remembered, so that forward is a plain maximum that vectorises.
//! Above a ReLU layer (`after_relu`), backward also takes the gradient through that ReLU — it
//! passes only where the winner is positive — in the same pass, so the layer below need not
//! read its output and this gradient again.
//!
//! The passes themselves, plain and four windows at a time, are in `fast/max_pool.rs`.

#![forbid(unsafe_code)]

use super::fast::max_pool::{max_pool_backward, max_pool_forward};
use super::layer::{ensure_len, Layer, Pass};

pub struct MaxPool2x2 {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// Its input is a ReLU's output, and backward hands down the gradient through that ReLU.
    after_relu: bool,
    output: Vec<f32>,
    grad_input: Vec<f32>,
}

impl MaxPool2x2 {
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        assert!(height >= 2 && width >= 2, "max-pool needs at least 2×2, got {height}×{width}");
        Self { channels, height, width, after_relu: false, output: Vec::new(), grad_input: Vec::new() }
    }

    /// Pooling a ReLU's output: backward passes each gradient on only where its window's winner
    /// is positive, which is the ReLU's gradient too (the layer below is built
    /// `with_relu_gradient_above`).
    pub fn after_relu(mut self) -> Self {
        self.after_relu = true;
        self
    }
}

impl Layer for MaxPool2x2 {
    fn describe(&self) -> String {
        "max-pool 2×2".into()
    }
    fn input_len(&self) -> usize {
        self.channels * self.height * self.width
    }
    fn output_len(&self) -> usize {
        self.channels * (self.height / 2) * (self.width / 2)
    }

    fn forward(&mut self, input: &[f32], batch: usize, _pass: &mut Pass<'_>) {
        let planes = self.channels * batch;
        ensure_len(&mut self.output, planes * (self.height / 2) * (self.width / 2));
        max_pool_forward(input, planes, self.height, self.width, &mut self.output);
    }

    fn output(&self) -> &[f32] {
        &self.output
    }

    fn backward(&mut self, input: &[f32], grad_output: &[f32], batch: usize, need_grad_input: bool) {
        if !need_grad_input {
            return;
        }
        let planes = self.channels * batch;
        ensure_len(&mut self.grad_input, planes * self.height * self.width);
        max_pool_backward(input, &self.output, grad_output, planes, self.height, self.width, self.after_relu, &mut self.grad_input);
    }

    fn grad_input(&self) -> &[f32] {
        &self.grad_input
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{rng_for, unit_f32};

    /// Against the definition on values with many ties (from five levels), at sizes that leave
    /// the four-window loop tails of every length and odd rows or columns to drop: each output is its window's maximum, and backward sends its gradient to
    /// the first input (top-left first) holding that maximum, nowhere else.
    #[test]
    fn picks_the_first_largest_of_each_window_and_routes_gradients_to_it() {
        for (h, w) in [(2, 2), (7, 9), (8, 11), (13, 13), (26, 26), (4, 17)] {
            check_against_the_definition(h, w);
        }
    }

    fn check_against_the_definition(h: usize, w: usize) {
        for relu in [false, true] {
            check_against_the_definition_with(h, w, relu);
        }
    }

    fn check_against_the_definition_with(h: usize, w: usize, relu: bool) {
        let (channels, batch) = (3, 2);
        let mut rng = rng_for(9, 0);
        let input: Vec<f32> = (0..channels * batch * h * w).map(|_| (unit_f32(&mut rng) * 5.0).floor() - 2.0).collect();
        let mut pool = if relu { MaxPool2x2::new(channels, h, w).after_relu() } else { MaxPool2x2::new(channels, h, w) };
        pool.forward(&input, batch, &mut Pass { training: true, rng: &mut rng });
        let (oh, ow) = (h / 2, w / 2);
        let grad: Vec<f32> = (0..channels * batch * oh * ow).map(|i| i as f32 + 1.0).collect();
        pool.backward(&input, &grad, batch, true);
        let mut want_grad = vec![0.0; input.len()];
        for p in 0..channels * batch {
            for y in 0..oh {
                for x in 0..ow {
                    let at = |dy: usize, dx: usize| p * h * w + (2 * y + dy) * w + 2 * x + dx;
                    let window = [at(0, 0), at(0, 1), at(1, 0), at(1, 1)];
                    let max = window.iter().map(|&i| input[i]).fold(f32::MIN, f32::max);
                    let first = *window.iter().find(|&&i| input[i] == max).unwrap();
                    let o = p * oh * ow + y * ow + x;
                    assert_eq!(pool.output()[o], max, "window {o}");
                    // Through the ReLU below too: only where the winner is positive.
                    want_grad[first] = if relu && max <= 0.0 { 0.0 } else { grad[o] };
                }
            }
        }
        assert_eq!(pool.grad_input(), &want_grad[..], "relu {relu}");
    }

    /// A convolution whose ReLU gradient the pool above takes gives the same gradients, bit for
    /// bit, as one taking it itself.
    #[test]
    fn taking_the_relu_gradient_in_the_pool_changes_no_bit() {
        use crate::nn::conv::{Conv2d, ConvShape};
        for (size, pad) in [(12, 1), (13, 0)] {
            let shape = ConvShape { in_channels: 3, height: size, width: size, kernel: 3, pad, even_output: false };
            let (filters, batch) = (5, 4);
            let mut grads = Vec::new();
            for fused in [false, true] {
                let mut rng = rng_for(4, 0);
                let conv = Conv2d::new(shape, filters, true, &mut rng);
                let mut conv = if fused { conv.with_relu_gradient_above() } else { conv };
                let (oh, ow) = (shape.out_height(), shape.out_width());
                let mut pool = if fused { MaxPool2x2::new(filters, oh, ow).after_relu() } else { MaxPool2x2::new(filters, oh, ow) };
                let input: Vec<f32> = (0..conv.input_len() * batch).map(|_| unit_f32(&mut rng) * 2.0 - 1.0).collect();
                conv.forward(&input, batch, &mut Pass { training: true, rng: &mut rng });
                pool.forward(conv.output(), batch, &mut Pass { training: true, rng: &mut rng });
                let grad: Vec<f32> = (0..pool.output_len() * batch).map(|_| unit_f32(&mut rng) - 0.5).collect();
                pool.backward(conv.output(), &grad, batch, true);
                conv.backward(&input, pool.grad_input(), batch, true);
                let mut bits: Vec<u32> = conv.grad_input().iter().map(|x| x.to_bits()).collect();
                conv.visit_params(&mut |t| bits.extend(t.grads.iter().map(|x| x.to_bits())));
                grads.push(bits);
            }
            assert!(grads[0] == grads[1], "size {size}, pad {pad}");
        }
    }
}
