//! 2×2 max-pooling with stride 2 on `C × B × H × W` activations. An odd last row or column is
//! dropped (floor), as in Keras and PyTorch. Backward sends each output gradient to the input
//! that won its window.

use super::layer::{ensure_len, Layer, Pass};

pub struct MaxPool2x2 {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    output: Vec<f32>,
    /// Which of the four inputs won each window: 0..=3 as (dy·2 + dx).
    winner: Vec<u8>,
    grad_input: Vec<f32>,
}

impl MaxPool2x2 {
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        assert!(height >= 2 && width >= 2, "max-pool needs at least 2×2, got {height}×{width}");
        Self { channels, height, width, output: Vec::new(), winner: Vec::new(), grad_input: Vec::new() }
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
        let (h, w) = (self.height, self.width);
        let (oh, ow) = (h / 2, w / 2);
        let planes = self.channels * batch;
        ensure_len(&mut self.output, planes * oh * ow);
        self.winner.resize(planes * oh * ow, 0);
        for p in 0..planes {
            let src = &input[p * h * w..][..h * w];
            let dst = &mut self.output[p * oh * ow..][..oh * ow];
            let win = &mut self.winner[p * oh * ow..][..oh * ow];
            for y in 0..oh {
                let r0 = &src[2 * y * w..][..2 * ow];
                let r1 = &src[(2 * y + 1) * w..][..2 * ow];
                let outs = dst[y * ow..][..ow].iter_mut().zip(&mut win[y * ow..][..ow]);
                for ((top, bottom), (out, winner)) in r0.chunks_exact(2).zip(r1.chunks_exact(2)).zip(outs) {
                    // Strictly greater: on a tie the first (top-left first) wins.
                    let (mut best, mut k) = (top[0], 0u8);
                    if top[1] > best {
                        (best, k) = (top[1], 1);
                    }
                    if bottom[0] > best {
                        (best, k) = (bottom[0], 2);
                    }
                    if bottom[1] > best {
                        (best, k) = (bottom[1], 3);
                    }
                    *out = best;
                    *winner = k;
                }
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
        let (h, w) = (self.height, self.width);
        let (oh, ow) = (h / 2, w / 2);
        let planes = self.channels * batch;
        ensure_len(&mut self.grad_input, planes * h * w);
        self.grad_input.fill(0.0);
        for p in 0..planes {
            let g = &grad_output[p * oh * ow..][..oh * ow];
            let win = &self.winner[p * oh * ow..][..oh * ow];
            let dst = &mut self.grad_input[p * h * w..][..h * w];
            for y in 0..oh {
                for x in 0..ow {
                    let k = win[y * ow + x] as usize;
                    dst[(2 * y + k / 2) * w + 2 * x + k % 2] = g[y * ow + x];
                }
            }
        }
    }

    fn grad_input(&self) -> &[f32] {
        &self.grad_input
    }
}
