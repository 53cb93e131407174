//! Winograd's minimal filtering for the 3×3 convolutions, F(2×2, 3×3) and F(4×4, 3×3): each
//! m×m block of outputs is computed from its (m+2)×(m+2) input tile with (m+2)² multiplications
//! per (input, output) channel pair instead of 9m² — 16 instead of 36, or 36 instead of 144
//! (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks"). With tiles
//! transformed into an (m+2)²-entry domain, the sum over input channels is (m+2)² independent
//! matrix products — the same kernel (`kernels.rs`) im2col uses, on 2.25× (m = 2) or 4× (m = 4)
//! fewer multiply-adds. Each layer (and its input-gradient pass) takes the tile size that
//! computes fewer values for its image size, counting the tiles that hang over the edge.
//!
//! - forward:          Y  = Aᵀ [ U ⊙ V ] A,    U = G g Gᵀ (filters),  V = Bᵀ d B (input tiles)
//! - weight gradient:  dg = Gᵀ [ Σ_tiles (A dY Aᵀ) ⊙ V ] G
//! - input gradient:   a "full" convolution of dY with the filters turned 180° and their
//!   channels swapped — itself a Winograd forward pass.
//!
//! The matrices (with these names) are the paper's; every sum runs in a fixed order, so results
//! are reproducible exactly like im2col's, and differ from them only by rounding (F(4×4) rounds
//! a little more: its transforms multiply by up to 8; tests bound both against the definition).

use super::kernels::{broadcast_product, dot_product, Strided, Write};
use super::simd::{Shuffle4, Vector};
use crate::nn::conv_shape::ConvShape;
use std::ops::Range;

/// Target size, in f32 values, of one block of transformed input tiles (1 MB).
const BLOCK_VALUES: usize = 256 * 1024;

/// A training pass keeps its transformed input tiles for the weight gradient when they take at
/// most this many f32 values per image (24 KB; 1.3 MB for a batch of 64 on tfjs-example's
/// second layer): it saves one of the six transform passes of a training step at a memory cost a worker can afford only for small layers — the default
/// networks' layers (8–9K values per image) never keep theirs. Decided per layer, not per
/// batch, so a short last batch does not allocate what a full one would not. Kept or
/// recomputed, the values are the same.
const KEEP_PER_IMAGE: usize = 6 * 1024;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
type Quad = super::simd::Simd128;
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
type Quad = super::simd::Lanes4;
/// Tiles transformed at once, one per lane.
const LANES: usize = <Quad as Vector>::LANES;

/// One algorithm F(m×m, 3×3): its transforms as one-dimensional maps, applied along a tile's
/// rows and then its columns. Arrays are sized for the largest tile; entries past `T` (or `M`)
/// are ignored on the way in and zero on the way out.
trait Tiling {
    /// Outputs per tile side.
    const M: usize;
    /// Inputs per tile side.
    const T: usize = Self::M + 2;
    /// Bᵀ d.
    fn input(d: [Quad; 6]) -> [Quad; 6];
    /// Aᵀ m.
    fn output(m: [Quad; 6]) -> [Quad; 4];
    /// A y (the output transform run backwards, for the weight gradient).
    fn output_gradient(y: [Quad; 4]) -> [Quad; 6];
    /// G g.
    fn filter(g: [f32; 3]) -> [f32; 6];
    /// Gᵀ u.
    fn filter_gradient(u: [f32; 6]) -> [f32; 3];
}

/// F(2×2, 3×3): interpolation points 0, 1, −1, ∞; all coefficients ±1 (and ½ in G).
struct F2;

impl Tiling for F2 {
    const M: usize = 2;
    #[inline(always)]
    fn input(d: [Quad; 6]) -> [Quad; 6] {
        let z = Quad::zero();
        [d[0].sub(d[2]), d[1].add(d[2]), d[2].sub(d[1]), d[1].sub(d[3]), z, z]
    }
    #[inline(always)]
    fn output(m: [Quad; 6]) -> [Quad; 4] {
        let z = Quad::zero();
        [m[0].add(m[1]).add(m[2]), m[1].sub(m[2]).sub(m[3]), z, z]
    }
    #[inline(always)]
    fn output_gradient(y: [Quad; 4]) -> [Quad; 6] {
        let z = Quad::zero();
        [y[0], y[0].add(y[1]), y[0].sub(y[1]), z.sub(y[1]), z, z]
    }
    fn filter(g: [f32; 3]) -> [f32; 6] {
        [g[0], (g[0] + g[1] + g[2]) * 0.5, (g[0] - g[1] + g[2]) * 0.5, g[2], 0.0, 0.0]
    }
    fn filter_gradient(u: [f32; 6]) -> [f32; 3] {
        [u[0] + (u[1] + u[2]) * 0.5, (u[1] - u[2]) * 0.5, (u[1] + u[2]) * 0.5 + u[3]]
    }
}

/// F(4×4, 3×3): interpolation points 0, ±1, ±2, ∞ — the paper's matrices,
///
/// ```text
///      ⎡4  0 −5  0  1  0⎤        ⎡ 1/4    0     0 ⎤        ⎡1  1  1  1  1  0⎤
///      ⎢0 −4 −4  1  1  0⎥        ⎢−1/6 −1/6  −1/6 ⎥        ⎢0  1 −1  2 −2  0⎥
/// Bᵀ = ⎢0  4 −4 −1  1  0⎥    G = ⎢−1/6  1/6  −1/6 ⎥   Aᵀ = ⎢0  1  1  4  4  0⎥
///      ⎢0 −2 −1  2  1  0⎥        ⎢1/24 1/12   1/6 ⎥        ⎣0  1 −1  8 −8  1⎦
///      ⎢0  2 −1 −2  1  0⎥        ⎢1/24 −1/12  1/6 ⎥
///      ⎣0  4  0 −5  0  1⎦        ⎣   0    0     1 ⎦
/// ```
///
/// each applied with the shared sub-expressions that halve its operations.
struct F4;

/// `c` in every lane.
#[inline(always)]
fn splat(c: f32) -> Quad {
    // SAFETY: a reference to one value.
    unsafe { Quad::splat(&c) }
}

impl Tiling for F4 {
    const M: usize = 4;
    #[inline(always)]
    fn input(d: [Quad; 6]) -> [Quad; 6] {
        let (two, four) = (splat(2.0), splat(4.0));
        let (minus_two, minus_four, minus_five) = (splat(-2.0), splat(-4.0), splat(-5.0));
        let t0 = d[4].mul_add(d[2], minus_four); // d4 − 4 d2
        let t1 = d[3].mul_add(d[1], minus_four); // d3 − 4 d1
        let t2 = d[4].sub(d[2]);
        let t3 = d[3].sub(d[1]);
        [
            d[4].mul_add(d[2], minus_five).mul_add(d[0], four), // 4 d0 − 5 d2 + d4
            t0.add(t1),
            t0.sub(t1),
            t2.mul_add(t3, two),
            t2.mul_add(t3, minus_two),
            d[5].mul_add(d[3], minus_five).mul_add(d[1], four), // 4 d1 − 5 d3 + d5
        ]
    }
    #[inline(always)]
    fn output(m: [Quad; 6]) -> [Quad; 4] {
        let (a, b) = (m[1].add(m[2]), m[1].sub(m[2]));
        let (c, d) = (m[3].add(m[4]), m[3].sub(m[4]));
        [m[0].add(a).add(c), b.mul_add(d, splat(2.0)), a.mul_add(c, splat(4.0)), b.mul_add(d, splat(8.0)).add(m[5])]
    }
    #[inline(always)]
    fn output_gradient(y: [Quad; 4]) -> [Quad; 6] {
        let (p, q) = (y[0].add(y[2]), y[1].add(y[3]));
        let p4 = y[0].mul_add(y[2], splat(4.0)); // y0 + 4 y2
        let q4 = y[1].mul_add(y[3], splat(4.0)); // (2 y1 + 8 y3) / 2
        let q4 = q4.add(q4);
        [y[0], p.add(q), p.sub(q), p4.add(q4), p4.sub(q4), y[3]]
    }
    fn filter(g: [f32; 3]) -> [f32; 6] {
        let (even, odd) = (g[0] + g[2], g[1]);
        let (a, b) = (g[0] * (1.0 / 24.0) + g[2] * (1.0 / 6.0), g[1] * (1.0 / 12.0));
        [g[0] * 0.25, (even + odd) * (-1.0 / 6.0), (even - odd) * (-1.0 / 6.0), a + b, a - b, g[2]]
    }
    fn filter_gradient(u: [f32; 6]) -> [f32; 3] {
        let (s12, d12) = (u[1] + u[2], u[2] - u[1]);
        let (s34, d34) = (u[3] + u[4], u[3] - u[4]);
        [u[0] * 0.25 - s12 * (1.0 / 6.0) + s34 * (1.0 / 24.0), d12 * (1.0 / 6.0) + d34 * (1.0 / 12.0), (s34 - s12) * (1.0 / 6.0) + u[5]]
    }
}

/// Values one tile size computes per (input, output) channel pair for an `height × width`
/// output: its tiles times (m+2)², counting the tiles that hang over the edge and, as the
/// transforms do, whole groups of `LANES` tiles across.
fn tile_cost(out_height: usize, out_width: usize, m: usize) -> usize {
    out_height.div_ceil(m) * out_width.div_ceil(m).div_ceil(LANES) * LANES * (m + 2) * (m + 2)
}

/// The tile size computing fewer values; F(2×2) on a tie (it rounds less).
fn best_tile(out_height: usize, out_width: usize) -> usize {
    if tile_cost(out_height, out_width, 4) < tile_cost(out_height, out_width, 2) {
        4
    } else {
        2
    }
}

/// Run `$body` with `$w` the `Tiling` of tile size `$m`.
macro_rules! with_tiling {
    ($m:expr, $w:ident => $body:expr) => {
        match $m {
            2 => {
                type $w = F2;
                $body
            }
            4 => {
                type $w = F4;
                $body
            }
            m => unreachable!("no Winograd tiling with {m}×{m} outputs"),
        }
    };
}

/// One Winograd convolution's geometry: `channels` input planes of `height × width`, zero
/// padding `pad` on every side, `filters` output planes, 3×3 kernel, stride 1, tiles of
/// `m × m` outputs.
///
/// The transforms run on `LANES` horizontally adjacent tiles at once. Tile `tx` reads input
/// columns `m·tx .. m·tx + m + 2` (counting the padding), so the input is first copied into a
/// padded plane whose rows are split into m phases, column x going to phase `x mod m` at
/// `x / m`: then column `m·tx + i` of `LANES` adjacent tiles is one plain vector load, from
/// phase `i mod m` at `tx + i / m`. Outputs come back the same way, in phases, and are
/// interleaved as they are copied out.
#[derive(Debug, Clone, Copy)]
struct Plan {
    channels: usize,
    filters: usize,
    height: usize,
    width: usize,
    pad: usize,
    /// Outputs per tile side: 2 or 4.
    m: usize,
    /// The outputs computed: `out_height × out_width` at the top left of output planes of
    /// `plane_height × plane_width`, whose other values are set to zero.
    out_height: usize,
    out_width: usize,
    plane_height: usize,
    plane_width: usize,
    /// Output tiles per image, down and across (the last may hang over the edge).
    tiles_down: usize,
    tiles_across: usize,
    images_per_block: usize,
}

impl Plan {
    /// Outputs `out` computed into planes of `plane`; with `m` None, the tile size that
    /// computes fewer values.
    #[allow(clippy::too_many_arguments)]
    fn new(channels: usize, filters: usize, height: usize, width: usize, pad: usize, out: (usize, usize), plane: (usize, usize), m: Option<usize>) -> Self {
        let ((out_height, out_width), (plane_height, plane_width)) = (out, plane);
        // Outputs past the input's reach are fine (the padded planes are zero there).
        assert!(out_height <= plane_height && out_width <= plane_width, "outputs {out:?} fit planes {plane:?}");
        let m = m.unwrap_or_else(|| best_tile(out_height, out_width));
        let (tiles_down, tiles_across) = (out_height.div_ceil(m), out_width.div_ceil(m));
        let entries = (m + 2) * (m + 2);
        let images_per_block = (BLOCK_VALUES / (entries * channels.max(filters) * tiles_down * tiles_across).max(1)).max(1);
        Self { channels, filters, height, width, pad, m, out_height, out_width, plane_height, plane_width, tiles_down, tiles_across, images_per_block }
    }
    fn tiles(&self) -> usize {
        self.tiles_down * self.tiles_across
    }
    /// Entries of a transformed tile, (m+2)².
    fn entries(&self) -> usize {
        (self.m + 2) * (self.m + 2)
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
    /// Length of one phase of a padded input row: every column a group reads.
    fn input_phase(&self) -> usize {
        self.groups() * LANES + 1
    }
    fn input_plane(&self) -> usize {
        (self.m * self.tiles_down + 2) * self.m * self.input_phase()
    }
    /// Length of one phase of an output row.
    fn output_phase(&self) -> usize {
        self.groups() * LANES
    }
    fn output_plane(&self) -> usize {
        self.m * self.tiles_down * self.m * self.output_phase()
    }

    /// `U[ξ][f][c]` = (G g Gᵀ)[ξ] for filter `g` = `weights[f][c]` (3×3, row-major), with
    /// `weights` indexed `(f, c, ky, kx)` through `at`.
    #[allow(clippy::needless_range_loop)] // a transposition reads best with both indices
    fn transform_filters<W: Tiling>(&self, at: impl Fn(usize, usize, usize) -> f32, u: &mut Vec<f32>) {
        let (f_n, c_n, t) = (self.filters, self.channels, W::T);
        u.resize(t * t * f_n * c_n, 0.0);
        for f in 0..f_n {
            for c in 0..c_n {
                // G g: t × 3, column by column.
                let mut gg = [[0.0f32; 3]; 6];
                for k in 0..3 {
                    let column = W::filter([at(f, c, k), at(f, c, 3 + k), at(f, c, 6 + k)]);
                    for r in 0..t {
                        gg[r][k] = column[r];
                    }
                }
                // (G g) Gᵀ: t × t, row by row.
                for (r, row) in gg.iter().take(t).enumerate() {
                    for (col, x) in W::filter(*row).into_iter().take(t).enumerate() {
                        u[((r * t + col) * f_n + f) * c_n + c] = x;
                    }
                }
            }
        }
    }

    /// Copy images `images` of `input` (`channels × B × H × W`) into `padded`: plane (c, j) is
    /// `m·tiles_down + 2` rows of m phases, columns counted from the left padding. Only image
    /// values are written; the padding's zeros date from the allocation. Rows and columns no
    /// tile reads (past the outputs computed, see `Plan::out_height`) are left out.
    fn pad_input<W: Tiling>(&self, input: &[f32], batch: usize, images: Range<usize>, padded: &mut [f32]) {
        let (h, w, p, row_len) = (self.height, self.width, self.pad, W::M * self.input_phase());
        let (rows, cols) = (h.min(self.m * self.tiles_down + 2 - p), w.min(row_len - p));
        assert!(input.len() >= self.channels * batch * h * w && images.end <= batch, "input holds the batch");
        for c in 0..self.channels {
            for (j, b) in images.clone().enumerate() {
                let src = &input[(c * batch + b) * h * w..][..h * w];
                let dst = &mut padded[(c * self.images_per_block + j) * self.input_plane()..][..self.input_plane()];
                for (y, row) in src.chunks_exact(w).take(rows).enumerate() {
                    split_columns::<W>(&row[..cols], p, &mut dst[(y + p) * row_len..][..row_len]);
                }
            }
        }
    }

    /// `V[ξ][c][t]` = (Bᵀ d B)[ξ] for the input tile `d` of every tile `t` of the block
    /// (`padded` as `pad_input` wrote it), entry (ξ, c) starting at `(ξ·C + c)·stride`.
    #[allow(clippy::needless_range_loop)] // a transposition reads best with both indices
    fn transform_input<W: Tiling>(&self, padded: &[f32], images: usize, v: &mut [f32]) {
        let (m, t) = (W::M, W::T);
        let (phase, stride, c_n) = (self.input_phase(), self.stride(), self.channels);
        assert!(padded.len() >= c_n * self.images_per_block * self.input_plane() && images <= self.images_per_block);
        // Every tile group's lanes end before `images · tiles + LANES ≤ stride`, so every
        // store below ends inside row (ξ, c) of `v`.
        assert!(v.len() >= t * t * c_n * stride && images * self.tiles() + LANES <= stride);
        for c in 0..c_n {
            for j in 0..images {
                let plane = &padded[(c * self.images_per_block + j) * self.input_plane()..][..self.input_plane()];
                for ty in 0..self.tiles_down {
                    for g in 0..self.groups() {
                        let tx = g * LANES;
                        assert!(tx + 1 + LANES <= phase);
                        // d B for each of the tile's input rows.
                        let mut db = [[Quad::zero(); 6]; 6];
                        for (r, out) in db.iter_mut().take(t).enumerate() {
                            let row = &plane[(m * ty + r) * m * phase..][..m * phase];
                            let mut d = [Quad::zero(); 6];
                            for (i, x) in d.iter_mut().take(t).enumerate() {
                                // SAFETY: column m·tx + i: phase i mod m, at tx + i/m ≤ tx + 1;
                                // the load ends at tx + 1 + LANES ≤ phase (asserted).
                                *x = unsafe { Quad::load(row.as_ptr().add((i % m) * phase + tx + i / m)) };
                            }
                            *out = W::input(d);
                        }
                        let tile = j * self.tiles() + ty * self.tiles_across + tx;
                        // Bᵀ (d B), column by column; the lanes past the row's last tile land on
                        // tiles written later (or on the stride's slack).
                        for k in 0..t {
                            let column = W::input(std::array::from_fn(|r| db[r][k]));
                            for (r, x) in column.into_iter().take(t).enumerate() {
                                let at = ((r * t + k) * c_n + c) * stride + tile;
                                debug_assert!(at + LANES <= v.len());
                                // SAFETY: inside row (ξ, c) (asserted at the top, once: a check
                                // per store slowed the transform noticeably in V8).
                                unsafe { x.store(v.as_mut_ptr().add(at)) };
                            }
                        }
                    }
                }
            }
        }
    }

    /// `M[ξ] = U[ξ] · V[ξ]` for every entry ξ: `filters × channels` times `channels × tiles`.
    fn multiply(&self, u: &[f32], v: &[f32], m: &mut [f32], tiles: usize) {
        let (f_n, c_n, stride) = (self.filters, self.channels, self.stride());
        for xi in 0..self.entries() {
            let a = Strided::rows(&u[xi * f_n * c_n..][..f_n * c_n], c_n);
            broadcast_product(f_n, tiles, c_n, a, &v[xi * c_n * stride..], stride, &mut m[xi * f_n * stride..], stride, Write::Overwrite);
        }
    }

    /// Y = Aᵀ M A for every tile of the block, plus `bias` and through ReLU if asked, written
    /// into images `images` of `out` (`filters` planes per image of `plane_height ×
    /// plane_width`, zero outside the outputs computed), dropping what hangs over the edge. A
    /// row of the `LANES` tiles' results — one vector per output column of a tile, a tile per
    /// lane — is turned by shuffles into the `m · LANES` outputs it covers, in order.
    #[allow(clippy::too_many_arguments)]
    fn transform_output<W: Tiling>(&self, m: &[f32], batch: usize, images: Range<usize>, out: &mut [f32], bias: Option<&[f32]>, relu: bool) {
        let (tm, t) = (W::M, W::T);
        let (oh, ow, stride) = (self.out_height, self.out_width, self.stride());
        let (ph, pw) = (self.plane_height, self.plane_width);
        assert!(out.len() >= self.filters * batch * ph * pw && images.end <= batch, "output holds the batch");
        assert!(m.len() >= t * t * self.filters * stride);
        for f in 0..self.filters {
            let b0 = splat(bias.map_or(0.0, |b| b[f]));
            for (j, b) in images.clone().enumerate() {
                let plane = &mut out[(f * batch + b) * ph * pw..][..ph * pw];
                if (ph, pw) != (oh, ow) {
                    for row in plane[..oh * pw].chunks_exact_mut(pw) {
                        row[ow..].fill(0.0);
                    }
                    plane[oh * pw..].fill(0.0);
                }
                for ty in 0..self.tiles_down {
                    for g in 0..self.groups() {
                        let tx = g * LANES;
                        let tile = j * self.tiles() + ty * self.tiles_across + tx;
                        let mut mm = [Quad::zero(); 36];
                        for (xi, x) in mm.iter_mut().take(t * t).enumerate() {
                            // SAFETY: tile + LANES ≤ stride, inside row (ξ, f) (asserted above).
                            *x = unsafe { Quad::load(m.as_ptr().add((xi * self.filters + f) * stride + tile)) };
                        }
                        // Aᵀ M: m × t, column by column.
                        let mut am = [[Quad::zero(); 6]; 4];
                        for k in 0..t {
                            let column = W::output(std::array::from_fn(|r| if r < t { mm[r * t + k] } else { Quad::zero() }));
                            for r in 0..tm {
                                am[r][k] = column[r];
                            }
                        }
                        // (Aᵀ M) A, row by row, each row into the image.
                        for (r, row) in am.iter().take(tm).enumerate() {
                            let y = tm * ty + r;
                            if y >= oh {
                                break;
                            }
                            let mut cols = [Quad::zero(); 4];
                            for (col, v) in W::output(*row).into_iter().take(tm).enumerate() {
                                let z = b0.add(v);
                                cols[col] = if relu { z.relu() } else { z };
                            }
                            let values = in_order::<W>(cols);
                            let (x0, row_out) = (tm * tx, &mut plane[y * pw..][..ow]);
                            for (q, v) in values.into_iter().take(tm).enumerate() {
                                let x = x0 + 4 * q;
                                if x + 4 <= ow {
                                    // SAFETY: x + 4 ≤ ow, the row's length.
                                    unsafe { v.store(row_out.as_mut_ptr().add(x)) };
                                } else if x < ow {
                                    let mut lanes = [0.0f32; 4];
                                    // SAFETY: four writable values.
                                    unsafe { v.store(lanes.as_mut_ptr()) };
                                    // 1 to 3 values, as fixed moves (a `memcpy` call
                                    // per edge tile cost more than the transform).
                                    let edge = &mut row_out[x..];
                                    match edge.len() {
                                        1 => edge.copy_from_slice(&lanes[..1]),
                                        2 => edge.copy_from_slice(&lanes[..2]),
                                        _ => edge.copy_from_slice(&lanes[..3]),
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `dM[ξ][f][t]` = (A dY Aᵀ)[ξ] for the m×m block of output gradient `dY` of every tile of
    /// the block (zero where the tile hangs over the edge). `staged` holds dY split into
    /// phases, zero past the edges (only real positions are ever written).
    fn transform_output_gradient<W: Tiling>(&self, dy: &[f32], batch: usize, images: Range<usize>, staged: &mut [f32], dm: &mut [f32]) {
        let (tm, t) = (W::M, W::T);
        let (oh, ow, phase, stride) = (self.out_height, self.out_width, self.output_phase(), self.stride());
        assert!(dy.len() >= self.filters * batch * oh * ow && images.end <= batch);
        assert!(dm.len() >= t * t * self.filters * stride && staged.len() >= self.filters * self.images_per_block * self.output_plane());
        // As in `transform_input`: every load below ends inside the staged plane (a group's
        // lanes end at `groups · LANES`, the phase's length), every store inside row (ξ, f).
        assert!(images.len() * self.tiles() + LANES <= stride);
        for f in 0..self.filters {
            for (j, b) in images.clone().enumerate() {
                let plane = &mut staged[(f * self.images_per_block + j) * self.output_plane()..][..self.output_plane()];
                let src = &dy[(f * batch + b) * oh * ow..][..oh * ow];
                for (y, row) in src.chunks_exact(ow).enumerate() {
                    split_columns::<W>(row, 0, &mut plane[y * tm * phase..][..tm * phase]);
                }
                for ty in 0..self.tiles_down {
                    for g in 0..self.groups() {
                        let tx = g * LANES;
                        let mut y = [[Quad::zero(); 4]; 4];
                        for (r, y_row) in y.iter_mut().take(tm).enumerate() {
                            for (col, value) in y_row.iter_mut().take(tm).enumerate() {
                                let at = ((tm * ty + r) * tm + col) * phase + tx;
                                debug_assert!(at + LANES <= plane.len());
                                // SAFETY: see the asserts at the top.
                                *value = unsafe { Quad::load(plane.as_ptr().add(at)) };
                            }
                        }
                        // A dY: t × m, column by column.
                        let mut ay = [[Quad::zero(); 4]; 6];
                        for col in 0..tm {
                            let column = W::output_gradient(std::array::from_fn(|r| y[r][col]));
                            for r in 0..t {
                                ay[r][col] = column[r];
                            }
                        }
                        // (A dY) Aᵀ, row by row.
                        let tile = j * self.tiles() + ty * self.tiles_across + tx;
                        for (r, row) in ay.iter().take(t).enumerate() {
                            for (col, x) in W::output_gradient(*row).into_iter().take(t).enumerate() {
                                let at = ((r * t + col) * self.filters + f) * stride + tile;
                                debug_assert!(at + LANES <= dm.len());
                                // SAFETY: see the asserts at the top.
                                unsafe { x.store(dm.as_mut_ptr().add(at)) };
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Write `row`, shifted right by `shift` columns, into `out` = m phases of equal length: column
/// `x + shift` goes to phase `(x + shift) mod m`, at `(x + shift) / m`. (One store per value
/// with m a constant: rows are 5–28 values, too short for a loop per phase to pay.)
fn split_columns<W: Tiling>(row: &[f32], shift: usize, out: &mut [f32]) {
    let m = W::M;
    let len = out.len() / m;
    assert!((row.len() + shift).div_ceil(m) <= len, "row fits its phases");
    for (x, &value) in row.iter().enumerate() {
        let column = x + shift;
        // SAFETY: column / m < len (asserted), so the index is inside `out`.
        unsafe { *out.get_unchecked_mut((column % m) * len + column / m) = value };
    }
}

/// One output row of `LANES` = 4 adjacent tiles: `cols[c]` holds column `c` of each tile (a
/// tile per lane). Returns the row's `4·m` outputs in order, four per vector (the first `m`
/// vectors are meaningful).
#[inline(always)]
fn in_order<W: Tiling>(cols: [Quad; 4]) -> [Quad; 4] {
    const { assert!(LANES == 4) };
    if W::M == 2 {
        // t0c0 t0c1 t1c0 t1c1 | t2c0 t2c1 t3c0 t3c1
        let (first, second) = Quad::interleave(cols[0], cols[1]);
        [first, second, Quad::zero(), Quad::zero()]
    } else {
        // A 4×4 transpose: vector l becomes tile l's four outputs.
        let (c01_low, c01_high) = Quad::interleave(cols[0], cols[1]); // t0c0 t0c1 t1c0 t1c1 | t2c0 t2c1 t3c0 t3c1
        let (c23_low, c23_high) = Quad::interleave(cols[2], cols[3]);
        let (t0, t1) = Quad::interleave_pairs(c01_low, c23_low);
        let (t2, t3) = Quad::interleave_pairs(c01_high, c23_high);
        [t0, t1, t2, t3]
    }
}

/// dg = Gᵀ dU G for each (f, c): the t×t `dU[ξ][f][c]` back to a 3×3 filter gradient, written
/// to `grad[(f·C + c)·9 ..]`.
fn filter_gradient<W: Tiling>(du: &[f32], filters: usize, channels: usize, grad: &mut [f32]) {
    let t = W::T;
    for f in 0..filters {
        for c in 0..channels {
            // Gᵀ dU: 3 × t, column by column.
            let mut gu = [[0.0f32; 6]; 3];
            for k in 0..t {
                let column = W::filter_gradient(std::array::from_fn(|r| if r < t { du[((r * t + k) * filters + f) * channels + c] } else { 0.0 }));
                for r in 0..3 {
                    gu[r][k] = column[r];
                }
            }
            // (Gᵀ dU) G, row by row.
            let g = &mut grad[(f * channels + c) * 9..][..9];
            for (r, row) in gu.iter().enumerate() {
                g[r * 3..][..3].copy_from_slice(&W::filter_gradient(*row));
            }
        }
    }
}

/// Scratch buffers of one plan. `padded` and `grad` must keep zeros where no image value goes,
/// so they are allocated once, zeroed, at their full size.
struct Staging {
    padded: Vec<f32>,
    grad: Vec<f32>,
}

impl Staging {
    fn new() -> Self {
        Self { padded: Vec::new(), grad: Vec::new() }
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
    /// The forward pass's transformed input, block after block (see `KEEP_PER_IMAGE`).
    kept: Vec<f32>,
    /// The batch whose transformed input `kept` holds, if it does.
    kept_batch: Option<usize>,
}

impl WinogradConv {
    /// Worth using for this layer? 3×3 kernels only; a single input channel gives the products
    /// nothing to sum over; and the best tiling must compute at most 16/3 values per output
    /// and channel pair against the direct method's 9 (F(2×2) with 75% of its outputs real):
    /// below that the transforms cost more than the multiplications saved.
    pub fn suits(shape: &ConvShape) -> bool {
        let (oh, ow) = (shape.out_height(), shape.out_width());
        shape.kernel == 3 && shape.pad <= 1 && shape.in_channels >= 4 && 3 * tile_cost(oh, ow, best_tile(oh, ow)) <= 16 * oh * ow
    }

    pub fn new(shape: &ConvShape, filters: usize) -> Self {
        Self::with_tile(shape, filters, None)
    }

    /// With `m` Some(2) or Some(4), that tile size for both passes (tests cover each).
    fn with_tile(shape: &ConvShape, filters: usize, m: Option<usize>) -> Self {
        assert!(shape.kernel == 3 && shape.pad <= 1, "Winograd for 3×3 convolutions needs a 3×3 kernel and padding 0 or 1: {shape:?}");
        let (h, w, pad) = (shape.height, shape.width, shape.pad);
        let out = (shape.out_height(), shape.out_width());
        let forward = Plan::new(shape.in_channels, filters, h, w, pad, out, out, m);
        // The input gradient reaches input rows up to the last output row + 2 − pad: all of
        // them unless the layer leaves out its last output row (`even_output`), and then the
        // last input row gets nothing and is only zeroed.
        let reached = ((out.0 + 2 - pad).min(h), (out.1 + 2 - pad).min(w));
        let backward = Plan::new(filters, shape.in_channels, out.0, out.1, 2 - pad, reached, (h, w), m);
        Self {
            forward,
            backward,
            forward_staging: Staging::new(),
            backward_staging: Staging::new(),
            u: Vec::new(),
            u_backward: Vec::new(),
            v: Vec::new(),
            m: Vec::new(),
            du: Vec::new(),
            kept: Vec::new(),
            kept_batch: None,
        }
    }

    /// Whether a training pass keeps its transformed input for the weight gradient.
    fn keeps_transformed_input(&self) -> bool {
        let plan = &self.forward;
        plan.entries() * plan.channels * plan.tiles() <= KEEP_PER_IMAGE
    }

    /// `out = relu?(bias + conv(input, weights))`; `weights` is `filters × channels × 3 × 3`.
    /// A training pass (`training`) may keep the transformed input for `weight_gradient`.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(&mut self, input: &[f32], batch: usize, weights: &[f32], bias: &[f32], relu: bool, out: &mut [f32], training: bool) {
        let plan = self.forward;
        let c_n = plan.channels;
        let block = plan.entries() * c_n * plan.stride();
        let keep = training && self.keeps_transformed_input();
        with_tiling!(plan.m, W => {
            plan.transform_filters::<W>(|f, c, i| weights[(f * c_n + c) * 9 + i], &mut self.u);
            let (v, per_block) = if keep { (at_least(&mut self.kept, batch.div_ceil(plan.images_per_block) * block), block) } else { (at_least(&mut self.v, block), 0) };
            run::<W>(&plan, &self.u, input, batch, &mut self.forward_staging, v, per_block, &mut self.m, out, Some(bias), relu);
        });
        self.kept_batch = keep.then_some(batch);
    }

    /// dW (overwritten) from the layer's input and the gradient at its output (after ReLU).
    pub fn weight_gradient(&mut self, input: &[f32], dy: &[f32], batch: usize, grad_weights: &mut [f32]) {
        let plan = self.forward;
        with_tiling!(plan.m, W => self.weight_gradient_with::<W>(plan, input, dy, batch, grad_weights))
    }

    fn weight_gradient_with<W: Tiling>(&mut self, plan: Plan, input: &[f32], dy: &[f32], batch: usize, grad_weights: &mut [f32]) {
        let (f_n, c_n, stride, entries) = (plan.filters, plan.channels, plan.stride(), plan.entries());
        let block = entries * c_n * stride;
        let kept = self.kept_batch.take() == Some(batch);
        let v = at_least(&mut self.v, block);
        let dm = at_least(&mut self.m, entries * f_n * stride);
        let du = at_least(&mut self.du, entries * f_n * c_n);
        zeroed(&mut self.forward_staging.grad, f_n * plan.images_per_block * plan.output_plane());
        for (i, start) in (0..batch).step_by(plan.images_per_block).enumerate() {
            let images = start..(start + plan.images_per_block).min(batch);
            let n = images.len() * plan.tiles();
            let v: &[f32] = if kept {
                &self.kept[i * block..][..block]
            } else {
                plan.pad_input::<W>(input, batch, images.clone(), self.forward_staging.padded(&plan));
                plan.transform_input::<W>(&self.forward_staging.padded, images.len(), v);
                v
            };
            plan.transform_output_gradient::<W>(dy, batch, images, &mut self.forward_staging.grad, dm);
            for xi in 0..entries {
                let du = &mut du[xi * f_n * c_n..][..f_n * c_n];
                dot_product(f_n, c_n, n, &dm[xi * f_n * stride..], stride, &v[xi * c_n * stride..], stride, du, c_n, start > 0);
            }
        }
        filter_gradient::<W>(du, f_n, c_n, grad_weights);
    }

    /// dX from the gradient at the output (after ReLU): dY convolved with the filters turned
    /// 180° and their channels swapped.
    pub fn input_gradient(&mut self, dy: &[f32], batch: usize, weights: &[f32], grad_input: &mut [f32]) {
        let plan = self.backward;
        let c_n = plan.filters; // the layer's input channels
        with_tiling!(plan.m, W => {
            plan.transform_filters::<W>(|c, f, i| weights[(f * c_n + c) * 9 + (8 - i)], &mut self.u_backward);
            let v = at_least(&mut self.v, plan.entries() * plan.channels * plan.stride());
            run::<W>(&plan, &self.u_backward, dy, batch, &mut self.backward_staging, v, 0, &mut self.m, grad_input, None, false);
        })
    }
}

/// A whole Winograd convolution, block of images by block of images. Block `i`'s transformed
/// input goes to `v` at `i · per_block` (0: every block in the same place).
#[allow(clippy::too_many_arguments)]
fn run<W: Tiling>(
    plan: &Plan,
    u: &[f32],
    input: &[f32],
    batch: usize,
    staging: &mut Staging,
    v: &mut [f32],
    per_block: usize,
    m: &mut Vec<f32>,
    out: &mut [f32],
    bias: Option<&[f32]>,
    relu: bool,
) {
    let (stride, entries) = (plan.stride(), plan.entries());
    let block = entries * plan.channels * stride;
    let m = at_least(m, entries * plan.filters * stride);
    for (i, start) in (0..batch).step_by(plan.images_per_block).enumerate() {
        let images = start..(start + plan.images_per_block).min(batch);
        let v = &mut v[i * per_block..][..block];
        plan.pad_input::<W>(input, batch, images.clone(), staging.padded(plan));
        plan.transform_input::<W>(&staging.padded, images.len(), v);
        plan.multiply(u, v, m, images.len() * plan.tiles());
        plan.transform_output::<W>(m, batch, images, out, bias, relu);
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

    const SHAPES: [(usize, usize, usize, usize); 6] = [(4, 7, 6, 1), (5, 9, 9, 0), (8, 14, 14, 1), (16, 13, 13, 0), (6, 5, 5, 0), (4, 11, 10, 1)];

    #[test]
    fn forward_matches_the_definition_with_bias_and_relu() {
        for (c, h, w, pad) in SHAPES {
            let shape = ConvShape { in_channels: c, height: h, width: w, kernel: 3, pad, even_output: false };
            let (batch, filters) = (3, 5);
            let input = random(c * batch * h * w, 1);
            let weights = random(filters * c * 9, 2);
            let bias = random(filters, 3);
            let expected = direct(&input, &shape, batch, &weights, filters);
            let plane = shape.out_height() * shape.out_width();
            for relu in [false, true] {
                for m in [2, 4] {
                    let mut out = vec![f32::NAN; filters * batch * plane];
                    WinogradConv::with_tile(&shape, filters, Some(m)).forward(&input, batch, &weights, &bias, relu, &mut out, false);
                    for (i, (&got, &e)) in out.iter().zip(&expected).enumerate() {
                        let z = bias[i / (batch * plane)] as f64 + e;
                        let want = if relu { z.max(0.0) } else { z };
                        assert!((got as f64 - want).abs() < 1e-4, "{shape:?} F({m}×{m}) relu {relu} at {i}: {got} vs {want}");
                    }
                }
            }
        }
    }

    /// Both gradients against the definition: for L = Σ dY ⊙ conv(X, W), dW = Σ dY · X
    /// (shifted) and dX = Σ dY · W (shifted), checked along unit vectors.
    #[test]
    fn gradients_match_the_definition() {
        for (c, h, w, pad) in SHAPES {
            let shape = ConvShape { in_channels: c, height: h, width: w, kernel: 3, pad, even_output: false };
            let (batch, filters) = (2, 3);
            let input = random(c * batch * h * w, 4);
            let weights = random(filters * c * 9, 5);
            let plane = shape.out_height() * shape.out_width();
            let dy = random(filters * batch * plane, 6);
            // L is linear in W (and in X): its derivative along each unit vector is exact.
            let loss = |x: &[f32], wt: &[f32]| -> f64 { direct(x, &shape, batch, wt, filters).iter().zip(&dy).map(|(o, g)| o * *g as f64).sum() };
            let want_dw: Vec<f64> = (0..weights.len()).map(|i| loss(&input, &unit(weights.len(), i))).collect();
            let want_dx: Vec<(usize, f64)> = (0..input.len()).step_by(7).map(|i| (i, loss(&unit(input.len(), i), &weights))).collect();
            for m in [2, 4] {
                let mut conv = WinogradConv::with_tile(&shape, filters, Some(m));
                let mut dw = vec![0.0; weights.len()];
                conv.weight_gradient(&input, &dy, batch, &mut dw);
                let mut dx = vec![0.0; input.len()];
                conv.input_gradient(&dy, batch, &weights, &mut dx);
                for (i, &want) in want_dw.iter().enumerate() {
                    assert!((dw[i] as f64 - want).abs() < 1e-4, "{shape:?} F({m}×{m}) dW[{i}]: {} vs {want}", dw[i]);
                }
                for &(i, want) in &want_dx {
                    assert!((dx[i] as f64 - want).abs() < 1e-4, "{shape:?} F({m}×{m}) dX[{i}]: {} vs {want}", dx[i]);
                }
            }
        }
    }

    fn unit(len: usize, i: usize) -> Vec<f32> {
        let mut unit = vec![0.0; len];
        unit[i] = 1.0;
        unit
    }

    /// The weight gradient from the transformed input a training pass kept is bit for bit the
    /// one computed afresh (blocks of a few images, so several blocks are kept).
    #[test]
    fn kept_transformed_input_gives_the_same_weight_gradient() {
        let shape = ConvShape { in_channels: 16, height: 13, width: 13, kernel: 3, pad: 0, even_output: false };
        let (batch, filters) = (9, 4);
        let input = random(16 * batch * 169, 7);
        let weights = random(filters * 16 * 9, 8);
        let dy = random(filters * batch * 121, 9);
        let mut out = vec![0.0; filters * batch * 121];
        let mut grads = Vec::new();
        for training in [true, false] {
            let mut conv = WinogradConv::new(&shape, filters);
            conv.forward.images_per_block = 2;
            conv.forward(&input, batch, &weights, &vec![0.0; filters], false, &mut out, training);
            assert_eq!(conv.kept_batch.is_some(), training);
            let mut dw = vec![0.0; weights.len()];
            conv.weight_gradient(&input, &dy, batch, &mut dw);
            grads.push(dw);
        }
        assert!(grads[0].iter().zip(&grads[1]).all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    #[test]
    fn only_layers_where_it_pays_use_it() {
        let shape = |in_channels, height, pad| ConvShape { in_channels, height, width: height, kernel: 3, pad, even_output: false };
        // tfjs-example's second layer: 11×11 outputs from 3×3 tiles of 4×4 (a group of 4 across):
        // 3.6 values per output.
        assert!(WinogradConv::suits(&shape(16, 13, 0)));
        assert_eq!(WinogradConv::new(&shape(16, 13, 0), 8).forward.m, 4);
        assert!(WinogradConv::new(&shape(16, 13, 0), 32).keeps_transformed_input());
        assert!(WinogradConv::suits(&shape(32, 7, 1))); // 7×7 from 4×4 tiles of 2×2: 5.2
        assert_eq!(WinogradConv::new(&shape(32, 7, 1), 8).forward.m, 2);
        // The default networks' layers are too large to keep their transformed input.
        assert!(!WinogradConv::new(&shape(16, 14, 1), 32).keeps_transformed_input());
        assert!(!WinogradConv::new(&shape(32, 7, 1), 32).keeps_transformed_input());
        assert!(!WinogradConv::suits(&shape(32, 5, 0))); // 3×3 from one 4×4 tile, 3 lanes idle: 16
        assert!(!WinogradConv::suits(&shape(32, 5, 1))); // 5×5: 7.7
        assert!(!WinogradConv::suits(&shape(1, 28, 1))); // one input channel
        assert!(!WinogradConv::suits(&ConvShape { kernel: 5, ..shape(6, 14, 0) }));
    }
}
