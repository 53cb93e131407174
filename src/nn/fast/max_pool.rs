//! 2×2 max-pooling's forward and backward passes over whole planes (the `MaxPool2x2` layer's
//! work), in plain Rust and four windows at a time in wasm simd128 or x86-64's SSE2, which give
//! the same bits.

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
