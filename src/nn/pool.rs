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
                    // The first (top-left first) of the largest wins, as a chain of strictly-
                    // greater comparisons would pick it; written as selects, without branches
                    // (which random data mispredicts half the time).
                    let (upper, lower) = (top[1] > top[0], bottom[1] > bottom[0]);
                    let a = if upper { top[1] } else { top[0] };
                    let b = if lower { bottom[1] } else { bottom[0] };
                    let down = b > a;
                    *out = if down { b } else { a };
                    *winner = if down { 2 + lower as u8 } else { upper as u8 };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{rng_for, unit_f32};

    /// Against the definition on values with many ties (from five levels), an odd width and
    /// height dropped: each output is its window's maximum, and backward sends its gradient to
    /// the first input (top-left first) holding that maximum, nowhere else.
    #[test]
    fn picks_the_first_largest_of_each_window_and_routes_gradients_to_it() {
        let (channels, batch, h, w) = (3, 2, 7, 9);
        let mut rng = rng_for(9, 0);
        let input: Vec<f32> = (0..channels * batch * h * w).map(|_| (unit_f32(&mut rng) * 5.0).floor() - 2.0).collect();
        let mut pool = MaxPool2x2::new(channels, h, w);
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
                    want_grad[first] = grad[o];
                }
            }
        }
        assert_eq!(pool.grad_input(), &want_grad[..]);
    }
}
