//! k×k convolution, stride 1, "same" (zero padding k/2, output as large as the input) or
//! "valid" (no padding, output smaller by k − 1), with bias and ReLU fused in.
//!
//! Forward by im2col: the batch's input `C × B × H × W` is unrolled into a `k²C × B·H'·W'`
//! matrix whose column for output pixel (b, y, x) holds its k×k neighbourhood in every channel,
//! and the output `F × B·H'·W'` is one matrix product `W (F × k²C) · cols`. Backward reuses the
//! same unrolled matrix: dW = dZ · colsᵀ, and d(cols) = Wᵀ · dZ folded back onto the image
//! (col2im).

use super::gemm::{gemm, gemm_strided, Mat};
use std::ops::Range;

/// Target size, in f32 values, of one unrolled block of images (1 MB).
const CHUNK_VALUES: usize = 256 * 1024;
use super::layer::{ensure_len, init_uniform, Layer, ParamTensor, Pass};
use crate::rng::Rng64;

/// The geometry of a convolution: input size, kernel and padding, and so the output size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    pub in_channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: usize,
    pub pad: usize,
}

impl ConvShape {
    pub fn out_height(&self) -> usize {
        self.height + 2 * self.pad + 1 - self.kernel
    }
    pub fn out_width(&self) -> usize {
        self.width + 2 * self.pad + 1 - self.kernel
    }
    /// Rows of the unrolled input: one per (channel, ky, kx).
    pub fn patch_len(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }
}

pub struct Conv2d {
    pub shape: ConvShape,
    pub filters: usize,
    pub relu: bool,
    chunk_values: usize,
    /// `filters × (in_channels · k²)`, row-major; column index is `(c·k + ky)·k + kx`.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    grad_weights: Vec<f32>,
    grad_bias: Vec<f32>,
    cols: Vec<f32>,
    output: Vec<f32>,
    grad_pre_activation: Vec<f32>,
    grad_cols: Vec<f32>,
    grad_input: Vec<f32>,
}

impl Conv2d {
    pub fn new(shape: ConvShape, filters: usize, relu: bool, rng: &mut Rng64) -> Self {
        assert!(shape.kernel >= 1 && shape.height + 2 * shape.pad >= shape.kernel && shape.width + 2 * shape.pad >= shape.kernel, "kernel fits: {shape:?}");
        let k = shape.patch_len();
        let mut weights = vec![0.0; filters * k];
        init_uniform(&mut weights, k, relu, rng);
        Self {
            shape,
            filters,
            relu,
            chunk_values: CHUNK_VALUES,
            weights,
            bias: vec![0.0; filters],
            grad_weights: vec![0.0; filters * k],
            grad_bias: vec![0.0; filters],
            cols: Vec::new(),
            output: Vec::new(),
            grad_pre_activation: Vec::new(),
            grad_cols: Vec::new(),
            grad_input: Vec::new(),
        }
    }

    fn out_plane(&self) -> usize {
        self.shape.out_height() * self.shape.out_width()
    }

    /// Images unrolled at a time: enough for one matrix product to be efficient, few enough
    /// for the block to stay in cache.
    fn images_per_chunk(&self) -> usize {
        (self.chunk_values / (self.shape.patch_len() * self.out_plane()).max(1)).max(1)
    }

    /// Set the block size (tests use tiny blocks to cover the blocked paths).
    pub fn with_chunk_values(mut self, values: usize) -> Self {
        self.chunk_values = values;
        self
    }
}

/// For kernel offset `k` (0-based, before padding): the output columns `lo..hi` whose source
/// column `x + k − pad` lies inside an input of width `w`, and that source column for `lo`.
fn valid_span(k: usize, pad: usize, w: usize, out_w: usize) -> (usize, usize, usize) {
    let d = k as isize - pad as isize;
    let lo = (-d).max(0) as usize;
    let hi = ((w as isize - d).min(out_w as isize)).max(lo as isize) as usize;
    (lo, hi, (lo as isize + d) as usize)
}

/// Copy a short row. In wasm, `copy_from_slice` and `fill` become `memory.copy` and
/// `memory.fill`, whose per-call cost dwarfs a copy of 3 to 28 values, and im2col makes
/// hundreds of thousands of such copies per batch; so there we copy with 128-bit loads and
/// stores (the values are moved, not changed: results are identical).
#[inline(always)]
fn copy_row(dst: &mut [f32], src: &[f32]) {
    assert_eq!(dst.len(), src.len());
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    // SAFETY: every access is at an index below `n`, the length of both slices.
    unsafe {
        use core::arch::wasm32::{v128, v128_load, v128_store};
        let n = dst.len();
        let (d, s) = (dst.as_mut_ptr(), src.as_ptr());
        let mut i = 0;
        while i + 4 <= n {
            v128_store(d.add(i) as *mut v128, v128_load(s.add(i) as *const v128));
            i += 4;
        }
        // At most three left, written out so that no loop is turned back into a memcpy call.
        if i < n {
            *d.add(i) = *s.add(i);
        }
        if i + 1 < n {
            *d.add(i + 1) = *s.add(i + 1);
        }
        if i + 2 < n {
            *d.add(i + 2) = *s.add(i + 2);
        }
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    dst.copy_from_slice(src);
}

/// Zero a short row (see `copy_row`).
#[inline(always)]
fn zero_row(dst: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    // SAFETY: every access is at an index below `n`, the slice's length.
    unsafe {
        use core::arch::wasm32::{f32x4_splat, v128, v128_store};
        let n = dst.len();
        let d = dst.as_mut_ptr();
        let mut i = 0;
        while i + 4 <= n {
            v128_store(d.add(i) as *mut v128, f32x4_splat(0.0));
            i += 4;
        }
        if i < n {
            *d.add(i) = 0.0;
        }
        if i + 1 < n {
            *d.add(i + 1) = 0.0;
        }
        if i + 2 < n {
            *d.add(i + 2) = 0.0;
        }
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    dst.fill(0.0);
}

/// Unroll images `images` of `input` (`C × B × H × W`) into `cols` (`k²C × n·H'·W'`, n images).
fn im2col(input: &[f32], s: &ConvShape, batch: usize, images: Range<usize>, cols: &mut [f32]) {
    let (h, w, k) = (s.height, s.width, s.kernel);
    let (oh, ow) = (s.out_height(), s.out_width());
    let n = images.len() * oh * ow;
    for c in 0..s.in_channels {
        for ky in 0..k {
            for kx in 0..k {
                let row = &mut cols[((c * k + ky) * k + kx) * n..][..n];
                let (x_lo, x_hi, sx0) = valid_span(kx, s.pad, w, ow);
                for (j, b) in images.clone().enumerate() {
                    let src_plane = &input[(c * batch + b) * h * w..][..h * w];
                    for y in 0..oh {
                        let dst = &mut row[(j * oh + y) * ow..][..ow];
                        let sy = y as isize + ky as isize - s.pad as isize;
                        if sy < 0 || sy >= h as isize {
                            zero_row(dst);
                            continue;
                        }
                        let src = &src_plane[sy as usize * w..][..w];
                        zero_row(&mut dst[..x_lo]);
                        zero_row(&mut dst[x_hi..]);
                        copy_row(&mut dst[x_lo..x_hi], &src[sx0..sx0 + (x_hi - x_lo)]);
                    }
                }
            }
        }
    }
}

/// Fold `cols` (`k²C × n·H'·W'`) back onto the gradient of images `images` of `out`
/// (`C × B × H × W`), summing overlaps; those images' planes are overwritten.
fn col2im(cols: &[f32], s: &ConvShape, batch: usize, images: Range<usize>, out: &mut [f32]) {
    let (h, w, k) = (s.height, s.width, s.kernel);
    let (oh, ow) = (s.out_height(), s.out_width());
    for c in 0..s.in_channels {
        out[(c * batch + images.start) * h * w..(c * batch + images.end) * h * w].fill(0.0);
    }
    let n = images.len() * oh * ow;
    for c in 0..s.in_channels {
        for ky in 0..k {
            for kx in 0..k {
                let row = &cols[((c * k + ky) * k + kx) * n..][..n];
                let (x_lo, x_hi, sx0) = valid_span(kx, s.pad, w, ow);
                for (j, b) in images.clone().enumerate() {
                    let dst_plane = &mut out[(c * batch + b) * h * w..][..h * w];
                    for y in 0..oh {
                        let sy = y as isize + ky as isize - s.pad as isize;
                        if sy < 0 || sy >= h as isize {
                            continue;
                        }
                        let src = &row[(j * oh + y) * ow..][..ow];
                        let dst = &mut dst_plane[sy as usize * w + sx0..][..x_hi - x_lo];
                        for (d, v) in dst.iter_mut().zip(&src[x_lo..x_hi]) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
}

impl Layer for Conv2d {
    fn describe(&self) -> String {
        let k = self.shape.kernel;
        let padding = if self.shape.pad == 0 && k > 1 { ", valid" } else { "" };
        format!("conv {k}×{k}{padding}, {} filters", self.filters)
    }
    fn input_len(&self) -> usize {
        self.shape.in_channels * self.shape.height * self.shape.width
    }
    fn output_len(&self) -> usize {
        self.filters * self.out_plane()
    }

    fn forward(&mut self, input: &[f32], batch: usize, _pass: &mut Pass<'_>) {
        let (k, plane, f) = (self.shape.patch_len(), self.out_plane(), self.filters);
        let n = batch * plane;
        ensure_len(&mut self.output, f * n);
        // Block by block, each block small enough to stay in cache; backward unrolls its
        // blocks again rather than keeping the whole batch unrolled (memory is what a browser
        // worker runs out of first).
        let per_chunk = self.images_per_chunk();
        ensure_len(&mut self.cols, k * plane * per_chunk.min(batch));
        for start in (0..batch).step_by(per_chunk) {
            let images = start..(start + per_chunk).min(batch);
            let cols = images.len() * plane;
            im2col(input, &self.shape, batch, images.clone(), &mut self.cols);
            gemm_strided(1.0, Mat::new(&self.weights, f, k), Mat::new(&self.cols, k, cols), 0.0, &mut self.output[start * plane..], f, cols, n);
        }
        for (row, &b) in self.output.chunks_exact_mut(n).zip(&self.bias) {
            if self.relu {
                // Not `f32::max`: in wasm that is a call to libm's fmaxf (NaN rules differ from
                // the f32.max instruction); a comparison compiles to a branch-free select.
                row.iter_mut().for_each(|v| {
                    let z = *v + b;
                    *v = if z > 0.0 { z } else { 0.0 };
                });
            } else {
                row.iter_mut().for_each(|v| *v += b);
            }
        }
    }

    fn output(&self) -> &[f32] {
        &self.output
    }

    fn backward(&mut self, input: &[f32], grad_output: &[f32], batch: usize, need_grad_input: bool) {
        let (k, plane, f) = (self.shape.patch_len(), self.out_plane(), self.filters);
        let n = batch * plane;
        ensure_len(&mut self.grad_pre_activation, f * n);
        // Through the ReLU: the gradient passes where the output was positive.
        if self.relu {
            for ((g, &d), &o) in self.grad_pre_activation.iter_mut().zip(&grad_output[..f * n]).zip(&self.output) {
                *g = if o > 0.0 { d } else { 0.0 };
            }
        } else {
            self.grad_pre_activation.copy_from_slice(&grad_output[..f * n]);
        }
        for (g, row) in self.grad_bias.iter_mut().zip(self.grad_pre_activation.chunks_exact(n)) {
            *g = row.iter().sum();
        }
        if need_grad_input {
            let input_len = batch * self.input_len();
            ensure_len(&mut self.grad_input, input_len);
        }
        // Block by block, as forward: unroll the block again, add its share of dW, and fold
        // its input gradient back. The blocks are the same on every machine, so the sums are
        // too.
        let per_chunk = self.images_per_chunk();
        ensure_len(&mut self.cols, k * plane * per_chunk.min(batch));
        if need_grad_input {
            ensure_len(&mut self.grad_cols, k * plane * per_chunk.min(batch));
        }
        for start in (0..batch).step_by(per_chunk) {
            let images = start..(start + per_chunk).min(batch);
            let cols = images.len() * plane;
            im2col(input, &self.shape, batch, images.clone(), &mut self.cols);
            let dz = Mat::columns(&self.grad_pre_activation, f, n, start * plane, cols);
            let beta = if start == 0 { 0.0 } else { 1.0 };
            gemm(1.0, dz, Mat::new(&self.cols, k, cols).t(), beta, &mut self.grad_weights, f, k);
            if need_grad_input {
                gemm(1.0, Mat::new(&self.weights, f, k).t(), dz, 0.0, &mut self.grad_cols, k, cols);
                col2im(&self.grad_cols, &self.shape, batch, images, &mut self.grad_input);
            }
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
        self.filters * self.shape.patch_len() * self.out_plane()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_for;

    /// Direct convolution, the obvious way, to check im2col against.
    fn direct(input: &[f32], s: &ConvShape, b: usize, weights: &[f32], bias: &[f32], f: usize) -> Vec<f32> {
        let (c, h, w, k, p) = (s.in_channels, s.height, s.width, s.kernel, s.pad as isize);
        let (oh, ow) = (s.out_height(), s.out_width());
        let mut out = vec![0.0; f * b * oh * ow];
        for fi in 0..f {
            for bi in 0..b {
                for y in 0..oh {
                    for x in 0..ow {
                        let mut acc = bias[fi];
                        for ci in 0..c {
                            for ky in 0..k {
                                for kx in 0..k {
                                    let (sy, sx) = (y as isize + ky as isize - p, x as isize + kx as isize - p);
                                    if sy >= 0 && sy < h as isize && sx >= 0 && sx < w as isize {
                                        acc += weights[((fi * c + ci) * k + ky) * k + kx] * input[((ci * b + bi) * h + sy as usize) * w + sx as usize];
                                    }
                                }
                            }
                        }
                        out[((fi * b + bi) * oh + y) * ow + x] = acc;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn im2col_matches_direct_convolution_for_same_and_valid_padding() {
        let mut rng = rng_for(1, 0);
        for (kernel, pad) in [(3, 1), (3, 0), (5, 0), (5, 2), (1, 0)] {
            let shape = ConvShape { in_channels: 2, height: 7, width: 6, kernel, pad };
            let (b, f) = (3, 3);
            let mut conv = Conv2d::new(shape, f, false, &mut rng);
            conv.bias = vec![0.1, -0.2, 0.3];
            let input: Vec<f32> = (0..conv.input_len() * b).map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0).collect();
            let expected = direct(&input, &shape, b, &conv.weights, &conv.bias, f);
            conv.forward(&input, b, &mut Pass { training: true, rng: &mut rng });
            let whole = conv.output().to_vec();
            // The same in blocks of one image.
            let mut blocked = conv.with_chunk_values(shape.patch_len() * shape.out_height() * shape.out_width());
            blocked.forward(&input, b, &mut Pass { training: false, rng: &mut rng });
            assert_eq!(whole.len(), expected.len());
            for ((a, c), e) in whole.iter().zip(blocked.output()).zip(&expected) {
                assert!((a - e).abs() < 1e-5, "kernel {kernel} pad {pad}: {a} vs {e}");
                assert_eq!(a.to_bits(), c.to_bits(), "blocked and whole-batch forward agree exactly");
            }
        }
    }
}
