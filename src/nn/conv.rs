//! k×k convolution, stride 1, "same" (zero padding k/2, output as large as the input) or
//! "valid" (no padding, output smaller by k − 1), with bias and ReLU fused in.
//!
//! Forward by im2col: the batch's input `C × B × H × W` is unrolled into a `k²C × B·H'·W'`
//! matrix whose column for output pixel (b, y, x) holds its k×k neighbourhood in every channel,
//! and the output `F × B·H'·W'` is one matrix product `W (F × k²C) · cols`. Backward reuses the
//! same unrolled matrix: dW = dZ · colsᵀ (natively, for most layers, as dWᵀ = cols · dZᵀ: see
//! `weight_gradient_by_broadcast`), and d(cols) = Wᵀ · dZ folded back onto the image (col2im).
//! The products are the engine's own kernels (`fast/kernels.rs`), a block of images at a time so
//! that the unrolled block stays in cache.
//!
//! Under a 2×2 max-pool a layer computes only the even part of its output, which is all the
//! max-pool reads (`ConvShape::even_output`).
//!
//! In wasm, 3×3 layers over several channels use Winograd's algorithm instead
//! (`fast/winograd.rs`), which needs 2.25× (2×2 tiles) or 4× (4×4 tiles) fewer multiplications;
//! it makes such a layer's training step faster there, though the transforms take back much of
//! the saving on images this small. Natively, where the product is 2–4× wider, im2col is faster
//! (`fast/policy.rs`). This file says what is computed; how it is made fast (unrolling, the
//! products, Winograd, the switches between them) is in `fast/`.

#![forbid(unsafe_code)]

pub use super::conv_shape::ConvShape;
use super::fast::im2col::{col2im, im2col, transpose};
use super::fast::kernels::{broadcast_product, dot_product, Strided, Write};
use super::fast::policy::{weight_gradient_by_broadcast, winograd_pays_here, CHUNK_VALUES, KEEP_UNROLLED};
use super::fast::sums::{lane_sum, relu_gradient_and_sum};
use super::fast::winograd::WinogradConv;
use super::layer::{ensure_len, init_uniform, Layer, ParamTensor, Pass};
use crate::rng::Rng64;

pub struct Conv2d {
    pub shape: ConvShape,
    pub filters: usize,
    pub relu: bool,
    /// The gradient arriving in `backward` has already been through this layer's ReLU (the
    /// max-pool above masks it, in the same pass that routes it: see `MaxPool2x2::after_relu`).
    relu_gradient_above: bool,
    chunk_values: usize,
    /// `filters × (in_channels · k²)`, row-major; column index is `(c·k + ky)·k + kx`.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    grad_weights: Vec<f32>,
    grad_bias: Vec<f32>,
    /// Unrolled blocks: one, or (training natively) one per block of the batch, kept from
    /// forward for backward.
    cols: Vec<f32>,
    /// The batch whose blocks `cols` holds from a training forward pass, if it does.
    kept_batch: Option<usize>,
    output: Vec<f32>,
    grad_pre_activation: Vec<f32>,
    grad_cols: Vec<f32>,
    grad_input: Vec<f32>,
    /// dZ of one block transposed, and dWᵀ, where the weight gradient is a broadcast product.
    grad_transposed: Vec<f32>,
    grad_weights_transposed: Vec<f32>,
    /// Winograd's algorithm where it pays (3×3 kernels over several channels); im2col otherwise.
    winograd: Option<WinogradConv>,
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
            relu_gradient_above: false,
            chunk_values: CHUNK_VALUES,
            weights,
            bias: vec![0.0; filters],
            grad_weights: vec![0.0; filters * k],
            grad_bias: vec![0.0; filters],
            cols: Vec::new(),
            kept_batch: None,
            output: Vec::new(),
            grad_pre_activation: Vec::new(),
            grad_cols: Vec::new(),
            grad_input: Vec::new(),
            grad_transposed: Vec::new(),
            grad_weights_transposed: Vec::new(),
            winograd: (WinogradConv::suits(&shape) && winograd_pays_here()).then(|| WinogradConv::new(&shape, filters)),
        }
    }

    /// The layer above takes the gradient through this layer's ReLU (a max-pool built with
    /// `after_relu`), so backward skips that pass and reads the gradient as it comes.
    pub fn with_relu_gradient_above(mut self) -> Self {
        assert!(self.relu, "only a ReLU layer's gradient can be masked above it");
        self.relu_gradient_above = true;
        self
    }

    /// Use im2col even where Winograd would apply (tests compare the two).
    pub fn without_winograd(mut self) -> Self {
        self.winograd = None;
        self
    }

    /// Use Winograd wherever the layer's shape suits it, even on a machine where it does not
    /// pay (tests compare the two).
    pub fn with_winograd(mut self) -> Self {
        self.winograd = WinogradConv::suits(&self.shape).then(|| WinogradConv::new(&self.shape, self.filters));
        self
    }

    fn out_plane(&self) -> usize {
        self.shape.out_height() * self.shape.out_width()
    }

    /// Images unrolled at a time: enough for one matrix product to be efficient, few enough
    /// for the block to stay in cache.
    fn images_per_chunk(&self) -> usize {
        (self.chunk_values / (self.shape.patch_len() * self.out_plane()).max(1)).max(1)
    }

    /// Distance between rows of the unrolled block: room for a whole block whatever the batch,
    /// so that the padding's zeros stay where `im2col` expects them.
    fn block_stride(&self) -> usize {
        self.images_per_chunk() * self.out_plane()
    }

    /// Room for `blocks` unrolled blocks, zeroed when first allocated (see `im2col`); it only
    /// grows, and every block has the same layout, so the padding's zeros stay valid.
    fn prepare_cols(&mut self, blocks: usize) {
        let len = blocks * self.shape.patch_len() * self.block_stride();
        if self.cols.len() < len {
            self.cols = vec![0.0; len];
        }
    }

    /// Set the block size (tests use tiny blocks to cover the blocked paths).
    pub fn with_chunk_values(mut self, values: usize) -> Self {
        self.chunk_values = values;
        // A new block layout: the padding's zeros must be laid out afresh.
        (self.cols, self.kept_batch) = (Vec::new(), None);
        self
    }
}

impl Conv2d {
    /// dW and (if asked) dX from dZ.
    fn backward_from(&mut self, input: &[f32], dz_all: &[f32], batch: usize, need_grad_input: bool) {
        let (k, plane, f) = (self.shape.patch_len(), self.out_plane(), self.filters);
        let n = batch * plane;
        if need_grad_input {
            let input_len = batch * self.input_len();
            ensure_len(&mut self.grad_input, input_len);
        }
        if let Some(winograd) = &mut self.winograd {
            winograd.weight_gradient(input, dz_all, batch, &mut self.grad_weights);
            if need_grad_input {
                winograd.input_gradient(dz_all, batch, &self.weights, &mut self.grad_input);
            }
            return;
        }
        // Block by block, as forward: unroll the block again (unless forward kept it), add its
        // share of dW, and fold its input gradient back. The blocks are the same on every
        // machine, so the sums are too.
        let (per_chunk, stride) = (self.images_per_chunk(), self.block_stride());
        let kept = self.kept_batch.take() == Some(batch);
        self.prepare_cols(1);
        if need_grad_input {
            ensure_len(&mut self.grad_cols, k * stride);
        }
        let by_broadcast = weight_gradient_by_broadcast(f, k);
        if by_broadcast {
            ensure_len(&mut self.grad_transposed, per_chunk * plane * f);
            ensure_len(&mut self.grad_weights_transposed, k * f);
        }
        for (i, start) in (0..batch).step_by(per_chunk).enumerate() {
            let images = start..(start + per_chunk).min(batch);
            let cols = images.len() * plane;
            let dz = &dz_all[start * plane..];
            let block = &mut self.cols[if kept { i } else { 0 } * k * stride..][..k * stride];
            if !kept {
                im2col(input, &self.shape, batch, images.clone(), block, stride);
            }
            if by_broadcast {
                transpose(dz, n, f, cols, &mut self.grad_transposed);
                let write = if start > 0 { Write::Accumulate } else { Write::Overwrite };
                broadcast_product(k, f, cols, Strided::rows(block, stride), &self.grad_transposed, f, &mut self.grad_weights_transposed, f, write);
            } else {
                dot_product(f, k, cols, dz, n, block, stride, &mut self.grad_weights, k, start > 0);
            }
            if need_grad_input {
                broadcast_product(k, cols, f, Strided::transposed(&self.weights, k), dz, n, &mut self.grad_cols, stride, Write::Overwrite);
                col2im(&self.grad_cols, &self.shape, batch, images, &mut self.grad_input, stride);
            }
        }
        if by_broadcast {
            transpose(&self.grad_weights_transposed, f, k, f, &mut self.grad_weights);
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

    fn forward(&mut self, input: &[f32], batch: usize, pass: &mut Pass<'_>) {
        let (k, plane, f) = (self.shape.patch_len(), self.out_plane(), self.filters);
        let n = batch * plane;
        ensure_len(&mut self.output, f * n);
        if let Some(winograd) = &mut self.winograd {
            winograd.forward(input, batch, &self.weights, &self.bias, self.relu, &mut self.output, pass.training);
            return;
        }
        // Block by block, each block small enough to stay in cache. A training pass keeps every
        // block for backward natively, and in wasm a batch that is one block (see
        // `KEEP_UNROLLED`); otherwise backward unrolls them again.
        let (per_chunk, stride) = (self.images_per_chunk(), self.block_stride());
        let keep = pass.training && (KEEP_UNROLLED || batch <= per_chunk);
        self.prepare_cols(if keep { batch.div_ceil(per_chunk) } else { 1 });
        for (i, start) in (0..batch).step_by(per_chunk).enumerate() {
            let images = start..(start + per_chunk).min(batch);
            let cols = images.len() * plane;
            let block = &mut self.cols[if keep { i } else { 0 } * k * stride..][..k * stride];
            im2col(input, &self.shape, batch, images.clone(), block, stride);
            // Bias and ReLU are applied as each tile of the product is stored.
            let write = Write::Bias { bias: &self.bias, relu: self.relu };
            broadcast_product(f, cols, k, Strided::rows(&self.weights, k), block, stride, &mut self.output[start * plane..], n, write);
        }
        self.kept_batch = keep.then_some(batch);
    }

    fn output(&self) -> &[f32] {
        &self.output
    }

    fn backward(&mut self, input: &[f32], grad_output: &[f32], batch: usize, need_grad_input: bool) {
        let (plane, f) = (self.out_plane(), self.filters);
        let n = batch * plane;
        // dZ, the gradient before the ReLU, and the bias gradient as each filter's row goes by:
        // the incoming gradient itself if the layer above already masked it, else masked here
        // (it passes where the output was positive). Both give the same values and sums.
        let mut pre_activation = std::mem::take(&mut self.grad_pre_activation);
        let dz_all: &[f32] = if self.relu_gradient_above {
            for (dy, grad_bias) in grad_output[..f * n].chunks_exact(n).zip(&mut self.grad_bias) {
                *grad_bias = lane_sum(dy);
            }
            &grad_output[..f * n]
        } else {
            ensure_len(&mut pre_activation, f * n);
            let rows = pre_activation.chunks_exact_mut(n).zip(grad_output[..f * n].chunks_exact(n)).zip(self.output.chunks_exact(n));
            for (((dz, dy), out), grad_bias) in rows.zip(&mut self.grad_bias) {
                *grad_bias = if self.relu {
                    relu_gradient_and_sum(dy, out, dz)
                } else {
                    dz.copy_from_slice(dy);
                    lane_sum(dz)
                };
            }
            &pre_activation
        };
        self.backward_from(input, dz_all, batch, need_grad_input);
        self.grad_pre_activation = pre_activation;
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
    /// The layer as the network defines it, whole output included (what PyTorch computes), so
    /// that throughput figures compare like with like.
    fn forward_macs(&self) -> usize {
        self.filters * self.shape.patch_len() * self.shape.full_out_height() * self.shape.full_out_width()
    }
}

/// The definition, in f64, the obvious way (tests check im2col and Winograd against it):
/// out[f, b, y, x] = Σ w[f, c, ky, kx] · in[c, b, y + ky − pad, x + kx − pad], no bias.
#[cfg(test)]
pub(crate) fn direct_convolution(input: &[f32], s: &ConvShape, batch: usize, weights: &[f32], filters: usize) -> Vec<f64> {
    let (c_n, h, w, k, p) = (s.in_channels, s.height, s.width, s.kernel, s.pad as isize);
    let (oh, ow) = (s.out_height(), s.out_width());
    let mut out = vec![0.0; filters * batch * oh * ow];
    for f in 0..filters {
        for b in 0..batch {
            for y in 0..oh {
                for x in 0..ow {
                    let mut acc = 0.0f64;
                    for c in 0..c_n {
                        for ky in 0..k {
                            for kx in 0..k {
                                let (sy, sx) = (y as isize + ky as isize - p, x as isize + kx as isize - p);
                                if sy >= 0 && sy < h as isize && sx >= 0 && sx < w as isize {
                                    acc +=
                                        weights[((f * c_n + c) * k + ky) * k + kx] as f64 * input[((c * batch + b) * h + sy as usize) * w + sx as usize] as f64;
                                }
                            }
                        }
                    }
                    out[((f * batch + b) * oh + y) * ow + x] = acc;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_for;

    #[test]
    fn im2col_matches_direct_convolution_for_same_and_valid_padding() {
        let mut rng = rng_for(1, 0);
        for (kernel, pad) in [(3, 1), (3, 0), (5, 0), (5, 2), (1, 0)] {
            let shape = ConvShape { in_channels: 2, height: 7, width: 6, kernel, pad, even_output: false };
            let (b, f) = (3, 3);
            let mut conv = Conv2d::new(shape, f, false, &mut rng);
            conv.bias = vec![0.1, -0.2, 0.3];
            let input: Vec<f32> = (0..conv.input_len() * b).map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0).collect();
            let plane = shape.out_height() * shape.out_width();
            let expected: Vec<f64> =
                direct_convolution(&input, &shape, b, &conv.weights, f).iter().enumerate().map(|(i, v)| v + conv.bias[i / (b * plane)] as f64).collect();
            conv.forward(&input, b, &mut Pass { training: true, rng: &mut rng });
            let whole = conv.output().to_vec();
            // The same in blocks of one image.
            let mut blocked = conv.with_chunk_values(shape.patch_len() * shape.out_height() * shape.out_width());
            blocked.forward(&input, b, &mut Pass { training: false, rng: &mut rng });
            assert_eq!(whole.len(), expected.len());
            for ((a, c), e) in whole.iter().zip(blocked.output()).zip(&expected) {
                assert!((*a as f64 - e).abs() < 1e-5, "kernel {kernel} pad {pad}: {a} vs {e}");
                assert_eq!(a.to_bits(), c.to_bits(), "blocked and whole-batch forward agree exactly");
            }
        }
    }

    /// The weight gradient matches its definition, dW[f, c, ky, kx] = Σ dZ[f, b, y, x] ·
    /// in[c, b, y + ky − pad, x + kx − pad], on both of its paths (dot products, and natively
    /// for many filters and long patches the broadcast product of the transposed dZ), whole
    /// and in blocks of two images (the blocks' sums accumulate).
    #[test]
    fn weight_gradient_matches_its_definition_on_both_paths() {
        let mut rng = rng_for(3, 0);
        for (in_channels, filters) in [(2, 4), (8, 16)] {
            let shape = ConvShape { in_channels, height: 6, width: 5, kernel: 3, pad: 1, even_output: false };
            let b = 5;
            let k = shape.patch_len();
            let expect_broadcast = !cfg!(target_arch = "wasm32") && filters == 16;
            assert_eq!(weight_gradient_by_broadcast(filters, k), expect_broadcast, "{filters} filters × {k}");
            let input: Vec<f32> = (0..in_channels * b * 30).map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0).collect();
            let grad: Vec<f32> = (0..filters * b * 30).map(|i| ((i * 13 % 7) as f32 - 3.0) / 5.0).collect();
            // The definition, with no ReLU in the way (linear layer).
            let mut expected = vec![0.0f64; filters * k];
            for f in 0..filters {
                for c in 0..in_channels {
                    for (ky, kx) in (0..3).flat_map(|ky| (0..3).map(move |kx| (ky, kx))) {
                        let mut sum = 0.0f64;
                        for bi in 0..b {
                            for (y, x) in (0..6).flat_map(|y| (0..5).map(move |x| (y, x))) {
                                let (sy, sx) = (y as isize + ky as isize - 1, x as isize + kx as isize - 1);
                                if (0..6).contains(&sy) && (0..5).contains(&sx) {
                                    sum += grad[((f * b + bi) * 6 + y) * 5 + x] as f64 * input[((c * b + bi) * 6 + sy as usize) * 5 + sx as usize] as f64;
                                }
                            }
                        }
                        expected[f * k + (c * 3 + ky) * 3 + kx] = sum;
                    }
                }
            }
            for chunk in [None, Some(2 * k * 30)] {
                let conv = Conv2d::new(shape, filters, false, &mut rng).without_winograd();
                let mut conv = match chunk {
                    Some(values) => conv.with_chunk_values(values),
                    None => conv,
                };
                conv.forward(&input, b, &mut Pass { training: true, rng: &mut rng });
                conv.backward(&input, &grad, b, false);
                for (i, (got, want)) in conv.grad_weights.iter().zip(&expected).enumerate() {
                    assert!((*got as f64 - want).abs() < 1e-4 * (1.0 + want.abs()), "{filters} filters, blocks {chunk:?}, entry {i}: {got} vs {want}");
                }
            }
        }
    }

    /// A layer that computes only the even part of its output (`even_output`), under the
    /// max-pool that reads only that part, gives what the whole layer and the pool give:
    /// the pooled output, the input gradient (its last row and column zero) and the weight
    /// gradient — by im2col and by Winograd, valid and same padding, odd and even sizes.
    #[test]
    fn even_output_under_a_max_pool_changes_nothing() {
        use crate::nn::max_pool::MaxPool2x2;
        let mut rng = rng_for(4, 0);
        for (height, pad, winograd) in [(13, 0, false), (13, 0, true), (7, 1, false), (7, 1, true), (12, 0, true), (9, 1, true)] {
            let whole = ConvShape { in_channels: 6, height, width: height, kernel: 3, pad, even_output: false };
            let even = ConvShape { even_output: true, ..whole };
            let (b, f) = (3, 8);
            let build = |shape: ConvShape, rng: &mut Rng64| {
                let conv = Conv2d::new(shape, f, true, &mut rng_for(5, 0)).with_relu_gradient_above();
                let conv = if winograd { conv.with_winograd() } else { conv.without_winograd() };
                let pool = MaxPool2x2::new(f, shape.out_height(), shape.out_width()).after_relu();
                let _ = rng;
                (conv, pool)
            };
            let input: Vec<f32> = (0..6 * b * height * height).map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0).collect();
            let mut results = Vec::new();
            for shape in [whole, even] {
                let (mut conv, mut pool) = build(shape, &mut rng);
                conv.bias = vec![0.05; f];
                assert_eq!(conv.winograd.is_some(), winograd);
                conv.forward(&input, b, &mut Pass { training: true, rng: &mut rng });
                pool.forward(conv.output(), b, &mut Pass { training: true, rng: &mut rng });
                let grad: Vec<f32> = (0..pool.output().len()).map(|i| ((i * 13 % 7) as f32 - 3.0) / 5.0).collect();
                pool.backward(conv.output(), &grad, b, true);
                conv.backward(&input, pool.grad_input(), b, true);
                results.push((pool.output().to_vec(), conv.grad_input().to_vec(), conv.grad_weights.clone()));
            }
            let what = format!("{height}×{height}, pad {pad}, winograd {winograd}");
            let close = |x: &[f32], y: &[f32], part: &str| {
                assert_eq!(x.len(), y.len(), "{what}: {part} sizes");
                for (p, q) in x.iter().zip(y) {
                    // Winograd may tile the two differently (9 outputs take 4×4 tiles, 8 take
                    // 2×2), and its tilings round differently.
                    let tolerance = if winograd { 1e-4 } else { 1e-5 };
                    assert!((p - q).abs() <= tolerance * (1.0 + q.abs()), "{what} {part}: {p} vs {q}");
                }
            };
            close(&results[0].0, &results[1].0, "pooled output");
            close(&results[0].1, &results[1].1, "input gradient");
            close(&results[0].2, &results[1].2, "weight gradient");
            if height % 2 == 1 && pad == 0 {
                assert!(even.out_height() < whole.out_height(), "{what}: the even layer computes less");
            }
        }
    }

    /// A layer that qualifies for Winograd gives what the im2col path gives, forward and
    /// backward, up to rounding.
    #[test]
    fn winograd_and_im2col_layers_agree() {
        let mut rng = rng_for(2, 0);
        for (height, pad) in [(7, 1), (9, 0)] {
            let shape = ConvShape { in_channels: 4, height, width: height, kernel: 3, pad, even_output: false };
            let (b, f) = (3, 5);
            let mut winograd = Conv2d::new(shape, f, true, &mut rng).with_winograd();
            assert!(winograd.winograd.is_some(), "{shape:?} uses Winograd");
            let mut im2col = Conv2d { weights: winograd.weights.clone(), bias: vec![0.05; f], ..Conv2d::new(shape, f, true, &mut rng) }.without_winograd();
            winograd.bias = im2col.bias.clone();
            let input: Vec<f32> = (0..winograd.input_len() * b).map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0).collect();
            let grad: Vec<f32> = (0..winograd.output_len() * b).map(|i| ((i * 13 % 7) as f32 - 3.0) / 5.0).collect();
            for conv in [&mut winograd, &mut im2col] {
                conv.forward(&input, b, &mut Pass { training: true, rng: &mut rng });
                conv.backward(&input, &grad, b, true);
            }
            let close = |x: &[f32], y: &[f32], what: &str| {
                assert_eq!(x.len(), y.len());
                for (p, q) in x.iter().zip(y) {
                    assert!((p - q).abs() < 1e-4 * (1.0 + q.abs()), "{shape:?} {what}: {p} vs {q}");
                }
            };
            close(winograd.output(), im2col.output(), "output");
            close(&winograd.grad_weights, &im2col.grad_weights, "weight gradient");
            close(winograd.grad_input(), im2col.grad_input(), "input gradient");
        }
    }
}
