//! Winograd's minimal filtering, F(2×2, 3×3), for the 3×3 convolutions: each 2×2 block of
//! outputs is computed from its 4×4 input tile with 16 multiplications per (input, output)
//! channel pair instead of 36 (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural
//! Networks"). With tiles transformed into a 16-entry domain, the sum over input channels is
//! 16 independent matrix products — the same kernel (`kernels.rs`) im2col uses, on 2.25× fewer
//! multiply-adds.
//!
//! - forward:          Y  = Aᵀ [ U ⊙ V ] A,    U = G g Gᵀ (filters),  V = Bᵀ d B (input tiles)
//! - weight gradient:  dg = Gᵀ [ Σ_tiles (A dY Aᵀ) ⊙ V ] G
//! - input gradient:   a "full" convolution of dY with the filters turned 180° and their
//!   channels swapped — itself a Winograd forward pass.
//!
//! The matrices (with these names) are the paper's; every sum runs in a fixed order, so results
//! are reproducible exactly like im2col's, and differ from them only by rounding.

use super::kernels::{broadcast_product, dot_product, Strided, Write};
use super::simd::Vector;
use super::conv::ConvShape;
use std::ops::Range;

/// Target size, in f32 values, of one block of transformed input tiles (1 MB).
const BLOCK_VALUES: usize = 256 * 1024;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
type Quad = super::simd::Simd128;
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
type Quad = super::simd::Lanes4;
/// Tiles transformed at once, one per lane.
const LANES: usize = <Quad as Vector>::LANES;

/// One Winograd convolution's geometry: `channels` input planes of `height × width`, zero
/// padding `pad` on every side, `filters` output planes, 3×3 kernel, stride 1.
///
/// The transforms run on `LANES` horizontally adjacent tiles at once. Tile `tx` reads input
/// columns `2·tx .. 2·tx + 4` (counting the padding), so the input is first copied into a
/// padded plane whose rows are split into even and odd columns: then the four columns a row of
/// tiles needs are four plain vector loads (even and odd at `tx`, even and odd at `tx + 1`).
/// Outputs come back the same way, as even and odd columns, and are interleaved as they are
/// copied out.
#[derive(Debug, Clone, Copy)]
struct Plan {
    channels: usize,
    filters: usize,
    height: usize,
    width: usize,
    pad: usize,
    out_height: usize,
    out_width: usize,
    /// Output tiles per image, down and across (the last may hang over the edge).
    tiles_down: usize,
    tiles_across: usize,
    images_per_block: usize,
}

impl Plan {
    fn new(channels: usize, filters: usize, height: usize, width: usize, pad: usize) -> Self {
        let (out_height, out_width) = (height + 2 * pad - 2, width + 2 * pad - 2);
        let (tiles_down, tiles_across) = (out_height.div_ceil(2), out_width.div_ceil(2));
        let images_per_block = (BLOCK_VALUES / (16 * channels.max(filters) * tiles_down * tiles_across).max(1)).max(1);
        Self { channels, filters, height, width, pad, out_height, out_width, tiles_down, tiles_across, images_per_block }
    }
    fn tiles(&self) -> usize {
        self.tiles_down * self.tiles_across
    }
    /// Share of the computed outputs that are real (the rest hang over the edge).
    fn efficiency(&self) -> f64 {
        (self.out_height * self.out_width) as f64 / (4 * self.tiles()) as f64
    }
    /// Distance between the rows (ξ, channel) of a block of transformed tiles; the last group
    /// of lanes may run `LANES − 1` tiles past the block.
    fn stride(&self) -> usize {
        self.images_per_block * self.tiles() + LANES
    }
    /// Vector groups per row of tiles.
    fn groups(&self) -> usize {
        self.tiles_across.div_ceil(LANES)
    }
    /// Length of the even (or odd) half of a padded input row: every column a group reads.
    fn input_half(&self) -> usize {
        self.groups() * LANES + 1
    }
    fn input_plane(&self) -> usize {
        (2 * self.tiles_down + 2) * 2 * self.input_half()
    }
    /// Length of the even (or odd) half of an output row.
    fn output_half(&self) -> usize {
        self.groups() * LANES
    }
    fn output_plane(&self) -> usize {
        2 * self.tiles_down * 2 * self.output_half()
    }

    /// `U[ξ][f][c]` = (G g Gᵀ)[ξ] for filter `g` = `weights[f][c]` (3×3, row-major), with
    /// `weights` indexed `(f, c, ky, kx)` through `at`.
    fn transform_filters(&self, at: impl Fn(usize, usize, usize) -> f32, u: &mut Vec<f32>) {
        let (f_n, c_n) = (self.filters, self.channels);
        u.resize(16 * f_n * c_n, 0.0);
        for f in 0..f_n {
            for c in 0..c_n {
                let g = |r: usize, k: usize| at(f, c, r * 3 + k);
                // G g: 4 × 3.
                let mut t = [[0.0f32; 3]; 4];
                for k in 0..3 {
                    t[0][k] = g(0, k);
                    t[1][k] = (g(0, k) + g(1, k) + g(2, k)) * 0.5;
                    t[2][k] = (g(0, k) - g(1, k) + g(2, k)) * 0.5;
                    t[3][k] = g(2, k);
                }
                // (G g) Gᵀ: 4 × 4.
                for (r, row) in t.iter().enumerate() {
                    let v = [row[0], (row[0] + row[1] + row[2]) * 0.5, (row[0] - row[1] + row[2]) * 0.5, row[2]];
                    for (col, x) in v.into_iter().enumerate() {
                        u[((r * 4 + col) * f_n + f) * c_n + c] = x;
                    }
                }
            }
        }
    }

    /// Copy images `images` of `input` (`channels × B × H × W`) into `padded`: plane (c, j) is
    /// `2·tiles_down + 2` rows of [even columns | odd columns], columns counted from the left
    /// padding. Only image values are written; the padding's zeros date from the allocation.
    fn pad_input(&self, input: &[f32], batch: usize, images: Range<usize>, padded: &mut [f32]) {
        let (h, w, p, half) = (self.height, self.width, self.pad, self.input_half());
        assert!(input.len() >= self.channels * batch * h * w && images.end <= batch, "input holds the batch");
        for c in 0..self.channels {
            for (j, b) in images.clone().enumerate() {
                let src = &input[(c * batch + b) * h * w..][..h * w];
                let dst = &mut padded[(c * self.images_per_block + j) * self.input_plane()..][..self.input_plane()];
                for (y, row) in src.chunks_exact(w).enumerate() {
                    split_columns(row, p, &mut dst[(y + p) * 2 * half..][..2 * half]);
                }
            }
        }
    }

    /// `V[ξ][c][t]` = (Bᵀ d B)[ξ] for the 4×4 input tile `d` of every tile `t` of the block
    /// (`padded` as `pad_input` wrote it), entry (ξ, c) starting at `(ξ·C + c)·stride`.
    fn transform_input(&self, padded: &[f32], images: usize, v: &mut [f32]) {
        let (half, stride, c_n) = (self.input_half(), self.stride(), self.channels);
        assert!(padded.len() >= c_n * self.images_per_block * self.input_plane() && images <= self.images_per_block);
        assert!(v.len() >= 16 * c_n * stride);
        for c in 0..c_n {
            for j in 0..images {
                let plane = &padded[(c * self.images_per_block + j) * self.input_plane()..][..self.input_plane()];
                for ty in 0..self.tiles_down {
                    for g in 0..self.groups() {
                        let tx = g * LANES;
                        // d B for each of the four input rows: columns (e, o, e', o') are the
                        // even and odd columns at tx and at tx + 1.
                        let mut w = [[Quad::zero(); 4]; 4];
                        for (r, wr) in w.iter_mut().enumerate() {
                            let row = &plane[(2 * ty + r) * 2 * half..][..2 * half];
                            let (even, odd) = row.split_at(half);
                            assert!(tx + 1 + LANES <= half);
                            // SAFETY: the four loads end at tx + 1 + LANES ≤ half (asserted).
                            let (e, e1, o, o1) = unsafe { (Quad::load(even.as_ptr().add(tx)), Quad::load(even.as_ptr().add(tx + 1)), Quad::load(odd.as_ptr().add(tx)), Quad::load(odd.as_ptr().add(tx + 1))) };
                            *wr = [e.sub(e1), o.add(e1), e1.sub(o), o.sub(o1)];
                        }
                        let tile = j * self.tiles() + ty * self.tiles_across + tx;
                        // Bᵀ (d B), column by column; the lanes past the row's last tile land on
                        // tiles written later (or on the stride's slack).
                        for k in 0..4 {
                            let out = [w[0][k].sub(w[2][k]), w[1][k].add(w[2][k]), w[2][k].sub(w[1][k]), w[1][k].sub(w[3][k])];
                            for (r, x) in out.into_iter().enumerate() {
                                let at = ((r * 4 + k) * c_n + c) * stride + tile;
                                assert!(at + LANES <= v.len());
                                // SAFETY: checked on the line above.
                                unsafe { x.store(v.as_mut_ptr().add(at)) };
                            }
                        }
                    }
                }
            }
        }
    }

    /// `M[ξ] = U[ξ] · V[ξ]` for the 16 entries: `filters × channels` times `channels × tiles`.
    fn multiply(&self, u: &[f32], v: &[f32], m: &mut [f32], tiles: usize) {
        let (f_n, c_n, stride) = (self.filters, self.channels, self.stride());
        for xi in 0..16 {
            let a = Strided::rows(&u[xi * f_n * c_n..][..f_n * c_n], c_n);
            broadcast_product(f_n, tiles, c_n, a, &v[xi * c_n * stride..], stride, &mut m[xi * f_n * stride..], stride, Write::Overwrite);
        }
    }

    /// Y = Aᵀ M A for every tile of the block, plus `bias` and through ReLU if asked, into
    /// `staged` (plane (f, j): rows of [even columns | odd columns]), then interleaved into
    /// images `images` of `out` (`filters × B × H' × W'`), dropping what hangs over the edge.
    #[allow(clippy::too_many_arguments)]
    fn transform_output(&self, m: &[f32], staged: &mut [f32], batch: usize, images: Range<usize>, out: &mut [f32], bias: Option<&[f32]>, relu: bool) {
        let (oh, ow, half, stride) = (self.out_height, self.out_width, self.output_half(), self.stride());
        assert!(out.len() >= self.filters * batch * oh * ow && images.end <= batch, "output holds the batch");
        assert!(m.len() >= 16 * self.filters * stride && staged.len() >= self.filters * self.images_per_block * self.output_plane());
        for f in 0..self.filters {
            // SAFETY: a reference to one value.
            let b0 = unsafe { Quad::splat(&bias.map_or(0.0, |b| b[f])) };
            for (j, b) in images.clone().enumerate() {
                let plane = &mut staged[(f * self.images_per_block + j) * self.output_plane()..][..self.output_plane()];
                for ty in 0..self.tiles_down {
                    for g in 0..self.groups() {
                        let tx = g * LANES;
                        let tile = j * self.tiles() + ty * self.tiles_across + tx;
                        let mut mm = [Quad::zero(); 16];
                        for (xi, x) in mm.iter_mut().enumerate() {
                            // SAFETY: tile + LANES ≤ stride, inside row (ξ, f) (asserted above).
                            *x = unsafe { Quad::load(m.as_ptr().add((xi * self.filters + f) * stride + tile)) };
                        }
                        // Aᵀ M: 2 × 4.
                        let mut t = [[Quad::zero(); 4]; 2];
                        for k in 0..4 {
                            t[0][k] = mm[k].add(mm[4 + k]).add(mm[8 + k]);
                            t[1][k] = mm[4 + k].sub(mm[8 + k]).sub(mm[12 + k]);
                        }
                        for (r, t) in t.iter().enumerate() {
                            let pair = [t[0].add(t[1]).add(t[2]), t[1].sub(t[2]).sub(t[3])];
                            for (col, y) in pair.into_iter().enumerate() {
                                let z = b0.add(y);
                                let z = if relu { z.relu() } else { z };
                                let at = ((2 * ty + r) * 2 + col) * half + tx;
                                assert!(at + LANES <= plane.len());
                                // SAFETY: checked on the line above.
                                unsafe { z.store(plane.as_mut_ptr().add(at)) };
                            }
                        }
                    }
                }
                let dst = &mut out[(f * batch + b) * oh * ow..][..oh * ow];
                for (y, row) in dst.chunks_exact_mut(ow).enumerate() {
                    let (even, odd) = plane[y * 2 * half..][..2 * half].split_at(half);
                    for (x, value) in row.iter_mut().enumerate() {
                        *value = if x & 1 == 0 { even[x / 2] } else { odd[x / 2] };
                    }
                }
            }
        }
    }

    /// `dM[ξ][f][t]` = (A dY Aᵀ)[ξ] for the 2×2 block of output gradient `dY` of every tile of
    /// the block (zero where the tile hangs over the edge). `staged` holds dY split into even
    /// and odd columns, zero past the edges (only real positions are ever written).
    fn transform_output_gradient(&self, dy: &[f32], batch: usize, images: Range<usize>, staged: &mut [f32], dm: &mut [f32]) {
        let (oh, ow, half, stride) = (self.out_height, self.out_width, self.output_half(), self.stride());
        assert!(dy.len() >= self.filters * batch * oh * ow && images.end <= batch);
        assert!(dm.len() >= 16 * self.filters * stride && staged.len() >= self.filters * self.images_per_block * self.output_plane());
        for f in 0..self.filters {
            for (j, b) in images.clone().enumerate() {
                let plane = &mut staged[(f * self.images_per_block + j) * self.output_plane()..][..self.output_plane()];
                let src = &dy[(f * batch + b) * oh * ow..][..oh * ow];
                for (y, row) in src.chunks_exact(ow).enumerate() {
                    split_columns(row, 0, &mut plane[y * 2 * half..][..2 * half]);
                }
                let zero = Quad::zero();
                for ty in 0..self.tiles_down {
                    for g in 0..self.groups() {
                        let tx = g * LANES;
                        let base = 2 * ty * 2 * half + tx;
                        assert!(base + 3 * half + LANES <= plane.len());
                        // SAFETY: the last load ends at base + 3·half + LANES (asserted).
                        let (y00, y01, y10, y11) = unsafe {
                            let p = plane.as_ptr().add(base);
                            (Quad::load(p), Quad::load(p.add(half)), Quad::load(p.add(2 * half)), Quad::load(p.add(3 * half)))
                        };
                        // A dY: 4 × 2, then (A dY) Aᵀ: 4 × 4.
                        let t = [[y00, y01], [y00.add(y10), y01.add(y11)], [y00.sub(y10), y01.sub(y11)], [zero.sub(y10), zero.sub(y11)]];
                        let tile = j * self.tiles() + ty * self.tiles_across + tx;
                        for (r, row) in t.iter().enumerate() {
                            let out = [row[0], row[0].add(row[1]), row[0].sub(row[1]), zero.sub(row[1])];
                            for (col, x) in out.into_iter().enumerate() {
                                let at = ((r * 4 + col) * self.filters + f) * stride + tile;
                                assert!(at + LANES <= dm.len());
                                // SAFETY: checked on the line above.
                                unsafe { x.store(dm.as_mut_ptr().add(at)) };
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Write `row`, shifted right by `shift` columns, into `out` = [even columns | odd columns]
/// (two halves of equal length): column `x + shift` goes to the even half at `(x + shift) / 2`
/// or the odd half at the same place.
fn split_columns(row: &[f32], shift: usize, out: &mut [f32]) {
    let (even, odd) = out.split_at_mut(out.len() / 2);
    // With an even shift, even x land in the even half.
    let (first, second) = if shift % 2 == 0 { (even, odd) } else { (odd, even) };
    for (d, &value) in first[shift / 2..].iter_mut().zip(row.iter().step_by(2)) {
        *d = value;
    }
    for (d, &value) in second[(shift + 1) / 2..].iter_mut().zip(row.iter().skip(1).step_by(2)) {
        *d = value;
    }
}

/// dg = Gᵀ dU G for each (f, c): the 4×4 `dU[ξ][f][c]` back to a 3×3 filter gradient, written
/// to `grad[(f·C + c)·9 ..]`.
fn filter_gradient(du: &[f32], filters: usize, channels: usize, grad: &mut [f32]) {
    for f in 0..filters {
        for c in 0..channels {
            let u = |r: usize, k: usize| du[((r * 4 + k) * filters + f) * channels + c];
            // Gᵀ dU: 3 × 4.
            let mut t = [[0.0f32; 4]; 3];
            for k in 0..4 {
                let (u0, u1, u2, u3) = (u(0, k), u(1, k), u(2, k), u(3, k));
                t[0][k] = u0 + (u1 + u2) * 0.5;
                t[1][k] = (u1 - u2) * 0.5;
                t[2][k] = (u1 + u2) * 0.5 + u3;
            }
            let g = &mut grad[(f * channels + c) * 9..][..9];
            for (r, row) in t.iter().enumerate() {
                g[r * 3] = row[0] + (row[1] + row[2]) * 0.5;
                g[r * 3 + 1] = (row[1] - row[2]) * 0.5;
                g[r * 3 + 2] = (row[1] + row[2]) * 0.5 + row[3];
            }
        }
    }
}

/// Scratch buffers of one plan. `padded` and `grad` must keep zeros where no image value goes,
/// so they are allocated once, zeroed, at their full size.
struct Staging {
    padded: Vec<f32>,
    output: Vec<f32>,
    grad: Vec<f32>,
}

impl Staging {
    fn new() -> Self {
        Self { padded: Vec::new(), output: Vec::new(), grad: Vec::new() }
    }
    fn padded(&mut self, plan: &Plan) -> &mut [f32] {
        zeroed(&mut self.padded, plan.channels * plan.images_per_block * plan.input_plane())
    }
}

/// `buffer`, all zeros the first time it is asked for at this length.
fn zeroed(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() != len {
        *buffer = vec![0.0; len];
    }
    buffer
}

/// `buffer`, at least `len` long; what it holds is of no importance (it is written before it
/// is read). The forward and backward plans share such buffers, so they only ever grow.
fn at_least(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    buffer
}

/// A 3×3 convolution layer's Winograd passes, with their scratch buffers.
pub struct WinogradConv {
    forward: Plan,
    /// The input gradient as a convolution of dY (`filters` planes of H'×W', padded by 2 − pad)
    /// back to `channels` planes of H×W.
    backward: Plan,
    forward_staging: Staging,
    backward_staging: Staging,
    u: Vec<f32>,
    u_backward: Vec<f32>,
    v: Vec<f32>,
    m: Vec<f32>,
    du: Vec<f32>,
}

impl WinogradConv {
    /// Worth using for this layer? 3×3 kernels only; a single input channel gives the products
    /// nothing to sum over, and tiles hanging far over the edge waste what Winograd saves.
    pub fn suits(shape: &ConvShape) -> bool {
        shape.kernel == 3 && shape.pad <= 1 && shape.in_channels >= 4 && Plan::new(shape.in_channels, 1, shape.height, shape.width, shape.pad).efficiency() >= 0.75
    }

    pub fn new(shape: &ConvShape, filters: usize) -> Self {
        assert!(shape.kernel == 3 && shape.pad <= 1, "Winograd F(2×2, 3×3) needs a 3×3 kernel and padding 0 or 1: {shape:?}");
        let forward = Plan::new(shape.in_channels, filters, shape.height, shape.width, shape.pad);
        let backward = Plan::new(filters, shape.in_channels, forward.out_height, forward.out_width, 2 - shape.pad);
        debug_assert_eq!((backward.out_height, backward.out_width), (shape.height, shape.width));
        Self { forward, backward, forward_staging: Staging::new(), backward_staging: Staging::new(), u: Vec::new(), u_backward: Vec::new(), v: Vec::new(), m: Vec::new(), du: Vec::new() }
    }

    /// `out = relu?(bias + conv(input, weights))`; `weights` is `filters × channels × 3 × 3`.
    pub fn forward(&mut self, input: &[f32], batch: usize, weights: &[f32], bias: &[f32], relu: bool, out: &mut [f32]) {
        let plan = self.forward;
        let c_n = plan.channels;
        plan.transform_filters(|f, c, i| weights[(f * c_n + c) * 9 + i], &mut self.u);
        run(&plan, &self.u, input, batch, &mut self.forward_staging, &mut self.v, &mut self.m, out, Some(bias), relu);
    }

    /// dW (overwritten) from the layer's input and the gradient at its output (after ReLU).
    pub fn weight_gradient(&mut self, input: &[f32], dy: &[f32], batch: usize, grad_weights: &mut [f32]) {
        let plan = self.forward;
        let (f_n, c_n, stride) = (plan.filters, plan.channels, plan.stride());
        let v = at_least(&mut self.v, 16 * c_n * stride);
        let dm = at_least(&mut self.m, 16 * f_n * stride);
        let du = at_least(&mut self.du, 16 * f_n * c_n);
        zeroed(&mut self.forward_staging.grad, f_n * plan.images_per_block * plan.output_plane());
        for start in (0..batch).step_by(plan.images_per_block) {
            let images = start..(start + plan.images_per_block).min(batch);
            let n = images.len() * plan.tiles();
            plan.pad_input(input, batch, images.clone(), self.forward_staging.padded(&plan));
            plan.transform_input(&self.forward_staging.padded, images.len(), v);
            plan.transform_output_gradient(dy, batch, images, &mut self.forward_staging.grad, dm);
            for xi in 0..16 {
                let du = &mut du[xi * f_n * c_n..][..f_n * c_n];
                dot_product(f_n, c_n, n, &dm[xi * f_n * stride..], stride, &v[xi * c_n * stride..], stride, du, c_n, start > 0);
            }
        }
        filter_gradient(du, f_n, c_n, grad_weights);
    }

    /// dX from the gradient at the output (after ReLU): dY convolved with the filters turned
    /// 180° and their channels swapped.
    pub fn input_gradient(&mut self, dy: &[f32], batch: usize, weights: &[f32], grad_input: &mut [f32]) {
        let plan = self.backward;
        let c_n = plan.filters; // the layer's input channels
        plan.transform_filters(|c, f, i| weights[(f * c_n + c) * 9 + (8 - i)], &mut self.u_backward);
        run(&plan, &self.u_backward, dy, batch, &mut self.backward_staging, &mut self.v, &mut self.m, grad_input, None, false);
    }
}

/// A whole Winograd convolution, block of images by block of images.
#[allow(clippy::too_many_arguments)]
fn run(plan: &Plan, u: &[f32], input: &[f32], batch: usize, staging: &mut Staging, v: &mut Vec<f32>, m: &mut Vec<f32>, out: &mut [f32], bias: Option<&[f32]>, relu: bool) {
    let stride = plan.stride();
    let v = at_least(v, 16 * plan.channels * stride);
    let m = at_least(m, 16 * plan.filters * stride);
    at_least(&mut staging.output, plan.filters * plan.images_per_block * plan.output_plane());
    for start in (0..batch).step_by(plan.images_per_block) {
        let images = start..(start + plan.images_per_block).min(batch);
        plan.pad_input(input, batch, images.clone(), staging.padded(plan));
        plan.transform_input(&staging.padded, images.len(), v);
        plan.multiply(u, v, m, images.len() * plan.tiles());
        plan.transform_output(m, &mut staging.output, batch, images, out, bias, relu);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::conv::direct_convolution as direct;
    use crate::rng::{rng_for, unit_f32};

    fn random(len: usize, seed: u64) -> Vec<f32> {
        let mut rng = rng_for(seed, 0);
        (0..len).map(|_| unit_f32(&mut rng) * 2.0 - 1.0).collect()
    }

    const SHAPES: [(usize, usize, usize, usize); 4] = [(4, 7, 6, 1), (5, 9, 9, 0), (8, 14, 14, 1), (16, 13, 13, 0)];

    #[test]
    fn forward_matches_the_definition_with_bias_and_relu() {
        for (c, h, w, pad) in SHAPES {
            let shape = ConvShape { in_channels: c, height: h, width: w, kernel: 3, pad };
            let (batch, filters) = (3, 5);
            let input = random(c * batch * h * w, 1);
            let weights = random(filters * c * 9, 2);
            let bias = random(filters, 3);
            let expected = direct(&input, &shape, batch, &weights, filters);
            let plane = shape.out_height() * shape.out_width();
            for relu in [false, true] {
                let mut out = vec![f32::NAN; filters * batch * plane];
                WinogradConv::new(&shape, filters).forward(&input, batch, &weights, &bias, relu, &mut out);
                for (i, (&got, &e)) in out.iter().zip(&expected).enumerate() {
                    let z = bias[i / (batch * plane)] as f64 + e;
                    let want = if relu { z.max(0.0) } else { z };
                    assert!((got as f64 - want).abs() < 1e-4, "{shape:?} relu {relu} at {i}: {got} vs {want}");
                }
            }
        }
    }

    /// Both gradients against the definition: for L = Σ dY ⊙ conv(X, W), dW = Σ dY · X
    /// (shifted) and dX = Σ dY · W (shifted), checked along unit vectors.
    #[test]
    fn gradients_match_the_definition() {
        for (c, h, w, pad) in SHAPES {
            let shape = ConvShape { in_channels: c, height: h, width: w, kernel: 3, pad };
            let (batch, filters) = (2, 3);
            let input = random(c * batch * h * w, 4);
            let weights = random(filters * c * 9, 5);
            let plane = shape.out_height() * shape.out_width();
            let dy = random(filters * batch * plane, 6);
            let mut conv = WinogradConv::new(&shape, filters);
            let mut dw = vec![0.0; weights.len()];
            conv.weight_gradient(&input, &dy, batch, &mut dw);
            let mut dx = vec![0.0; input.len()];
            conv.input_gradient(&dy, batch, &weights, &mut dx);
            // L is linear in W (and in X): its derivative along each unit vector is exact.
            let loss = |x: &[f32], wt: &[f32]| -> f64 { direct(x, &shape, batch, wt, filters).iter().zip(&dy).map(|(o, g)| o * *g as f64).sum() };
            for i in 0..weights.len() {
                let mut unit = vec![0.0; weights.len()];
                unit[i] = 1.0;
                let want = loss(&input, &unit);
                assert!((dw[i] as f64 - want).abs() < 1e-4, "{shape:?} dW[{i}]: {} vs {want}", dw[i]);
            }
            for i in (0..input.len()).step_by(7) {
                let mut unit = vec![0.0; input.len()];
                unit[i] = 1.0;
                let want = loss(&unit, &weights);
                assert!((dx[i] as f64 - want).abs() < 1e-4, "{shape:?} dX[{i}]: {} vs {want}", dx[i]);
            }
        }
    }

    #[test]
    fn only_layers_where_it_pays_use_it() {
        let shape = |in_channels, height, pad| ConvShape { in_channels, height, width: height, kernel: 3, pad };
        assert!(WinogradConv::suits(&shape(16, 13, 0))); // tfjs-example's second layer: 84% of outputs real
        assert!(WinogradConv::suits(&shape(32, 7, 1))); // 77%
        assert!(!WinogradConv::suits(&shape(32, 5, 0))); // 3×3 outputs from 2×2 tiles: 56%
        assert!(!WinogradConv::suits(&shape(1, 28, 1))); // one input channel
        assert!(!WinogradConv::suits(&ConvShape { kernel: 5, ..shape(6, 14, 0) }));
    }
}
