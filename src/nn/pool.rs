//! 2×2 max-pooling with stride 2 on `C × B × H × W` activations. An odd last row or column is
//! dropped (floor), as in Keras and PyTorch. Backward sends each output gradient to the input
//! that won its window: the first (top-left first) holding the maximum, found again from the
//! input and output rather than remembered, so that forward is a plain maximum that vectorises.
//! Above a ReLU layer (`after_relu`), backward also takes the gradient through that ReLU — it
//! passes only where the winner is positive — in the same pass, so the layer below need not
//! read its output and this gradient again.

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

/// The larger of `a` and `b`, `a` on a tie (or when either is NaN) — exactly wasm's
/// `f32x4.pmax(a, b)`; a comparison and a select (`f32::max` is a libm call in wasm).
#[inline(always)]
fn larger(a: f32, b: f32) -> f32 {
    if a < b {
        b
    } else {
        a
    }
}

/// Max-pool `planes` planes of `h × w` from `input` into `out` (`planes × h/2 × w/2`).
pub fn max_pool_forward(input: &[f32], planes: usize, h: usize, w: usize, out: &mut [f32]) {
    #[cfg(any(all(target_arch = "wasm32", target_feature = "simd128"), target_arch = "x86_64"))]
    return simd::forward(input, planes, h, w, out);
    #[allow(unreachable_code)]
    max_pool_forward_portable(input, planes, h, w, out)
}

/// Each output gradient in `grad` to the first input of its window (top-left first) equal to
/// the window's output in `output`; zero elsewhere (including a dropped odd row or column).
/// With `relu`, only where that output is positive (the gradient through a ReLU below).
#[allow(clippy::too_many_arguments)]
pub fn max_pool_backward(input: &[f32], output: &[f32], grad: &[f32], planes: usize, h: usize, w: usize, relu: bool, grad_input: &mut [f32]) {
    if h % 2 == 1 || w % 2 == 1 {
        // The dropped row or column gets no gradient; every window writes all its four.
        grad_input[..planes * h * w].fill(0.0);
    }
    #[cfg(any(all(target_arch = "wasm32", target_feature = "simd128"), target_arch = "x86_64"))]
    return simd::backward(input, output, grad, planes, h, w, relu, grad_input);
    #[allow(unreachable_code)]
    max_pool_backward_portable(input, output, grad, planes, h, w, relu, grad_input)
}

/// `max_pool_forward` in plain Rust (the wasm version must match it bit for bit).
pub fn max_pool_forward_portable(input: &[f32], planes: usize, h: usize, w: usize, out: &mut [f32]) {
    let (oh, ow) = (h / 2, w / 2);
    for p in 0..planes {
        let src = &input[p * h * w..][..h * w];
        for (y, row) in out[p * oh * ow..][..oh * ow].chunks_exact_mut(ow).enumerate() {
            forward_row(&src[2 * y * w..][..2 * ow], &src[(2 * y + 1) * w..][..2 * ow], row);
        }
    }
}

/// One row of windows: down each column first, then across each pair.
#[inline(always)]
fn forward_row(top: &[f32], bottom: &[f32], out: &mut [f32]) {
    for ((o, t), b) in out.iter_mut().zip(top.chunks_exact(2)).zip(bottom.chunks_exact(2)) {
        *o = larger(larger(t[0], b[0]), larger(t[1], b[1]));
    }
}

/// `max_pool_backward` in plain Rust, without the zeroing of a dropped row or column.
#[allow(clippy::too_many_arguments)]
pub fn max_pool_backward_portable(input: &[f32], output: &[f32], grad: &[f32], planes: usize, h: usize, w: usize, relu: bool, grad_input: &mut [f32]) {
    let (oh, ow) = (h / 2, w / 2);
    for p in 0..planes {
        let x = &input[p * h * w..][..h * w];
        let (out, g) = (&output[p * oh * ow..][..oh * ow], &grad[p * oh * ow..][..oh * ow]);
        let dst = &mut grad_input[p * h * w..][..h * w];
        for y in 0..oh {
            backward_row(y, 0, w, x, &out[y * ow..][..ow], &g[y * ow..][..ow], relu, dst);
        }
    }
}

/// Windows `from..` of row `y` of one plane.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn backward_row(y: usize, from: usize, w: usize, x: &[f32], out: &[f32], g: &[f32], relu: bool, dst: &mut [f32]) {
    for i in from..out.len() {
        let (top, bottom) = (2 * y * w + 2 * i, (2 * y + 1) * w + 2 * i);
        let best = out[i];
        // Through the ReLU below, a gradient passes only where the winner is positive.
        let grad = if !relu || best > 0.0 { g[i] } else { 0.0 };
        // The first of the four equal to the maximum (the last if none is: only NaN does that).
        let a = x[top] == best;
        let b = !a && x[top + 1] == best;
        let c = !a && !b && x[bottom] == best;
        let d = !a && !b && !c;
        dst[top] = if a { grad } else { 0.0 };
        dst[top + 1] = if b { grad } else { 0.0 };
        dst[bottom] = if c { grad } else { 0.0 };
        dst[bottom + 1] = if d { grad } else { 0.0 };
    }
}

/// Four windows at a time (wasm simd128, or SSE2 on x86-64): a row pair's eight columns split
/// into even and odd lanes by one shuffle each; the comparisons become lane masks. (V8 turns
/// the scalar selects into branches, which random data mispredicts half the time.)
#[cfg(any(all(target_arch = "wasm32", target_feature = "simd128"), target_arch = "x86_64"))]
mod simd {
    use super::super::simd::four::*;
    use super::{backward_row, forward_row};

    pub(super) fn forward(input: &[f32], planes: usize, h: usize, w: usize, out: &mut [f32]) {
        let (oh, ow) = (h / 2, w / 2);
        assert!(input.len() >= planes * h * w && out.len() >= planes * oh * ow);
        for p in 0..planes {
            for y in 0..oh {
                let (top, bottom) = (p * h * w + 2 * y * w, p * h * w + (2 * y + 1) * w);
                let row = p * oh * ow + y * ow;
                let mut i = 0;
                while i + 4 <= ow {
                    // SAFETY: columns 2i .. 2i + 8 ≤ 2·ow ≤ w of rows inside plane p, and
                    // outputs i .. i + 4 ≤ ow of its row (lengths asserted above).
                    unsafe {
                        let t = input.as_ptr().add(top + 2 * i);
                        let b = input.as_ptr().add(bottom + 2 * i);
                        let v0 = pmax(load(t), load(b));
                        let v1 = pmax(load(t.add(4)), load(b.add(4)));
                        store(out.as_mut_ptr().add(row + i), pmax(evens(v0, v1), odds(v0, v1)));
                    }
                    i += 4;
                }
                let (t, b) = (&input[top + 2 * i..top + 2 * ow], &input[bottom + 2 * i..bottom + 2 * ow]);
                forward_row(t, b, &mut out[row + i..row + ow]);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn backward(input: &[f32], output: &[f32], grad: &[f32], planes: usize, h: usize, w: usize, relu: bool, grad_input: &mut [f32]) {
        let (oh, ow) = (h / 2, w / 2);
        assert!(input.len() >= planes * h * w && grad_input.len() >= planes * h * w);
        assert!(output.len() >= planes * oh * ow && grad.len() >= planes * oh * ow);
        for p in 0..planes {
            let x = &input[p * h * w..][..h * w];
            let dst = &mut grad_input[p * h * w..][..h * w];
            for y in 0..oh {
                let (out, g) = (&output[p * oh * ow + y * ow..][..ow], &grad[p * oh * ow + y * ow..][..ow]);
                let (top, bottom) = (2 * y * w, (2 * y + 1) * w);
                let mut i = 0;
                while i + 4 <= ow {
                    // SAFETY: as in `forward`: columns 2i .. 2i + 8 of two rows of the plane,
                    // outputs i .. i + 4 of the row.
                    unsafe {
                        let (best, mut gv) = (load(out.as_ptr().add(i)), load(g.as_ptr().add(i)));
                        if relu {
                            gv = and(gv, greater(best, zero()));
                        }
                        let (t0, t1) = (load(x.as_ptr().add(top + 2 * i)), load(x.as_ptr().add(top + 2 * i + 4)));
                        let (b0, b1) = (load(x.as_ptr().add(bottom + 2 * i)), load(x.as_ptr().add(bottom + 2 * i + 4)));
                        // Lane masks: the first of the window's four equal to its maximum.
                        let a = equal(evens(t0, t1), best);
                        let b = and_not(equal(odds(t0, t1), best), a);
                        let taken = or(a, b);
                        let c = and_not(equal(evens(b0, b1), best), taken);
                        let d = and_not(all_ones(), or(taken, c));
                        let (ga, gb, gc, gd) = (and(gv, a), and(gv, b), and(gv, c), and(gv, d));
                        let q = dst.as_mut_ptr();
                        store(q.add(top + 2 * i), interleave_low(ga, gb));
                        store(q.add(top + 2 * i + 4), interleave_high(ga, gb));
                        store(q.add(bottom + 2 * i), interleave_low(gc, gd));
                        store(q.add(bottom + 2 * i + 4), interleave_high(gc, gd));
                    }
                    i += 4;
                }
                backward_row(y, i, w, x, out, g, relu, dst);
            }
        }
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
