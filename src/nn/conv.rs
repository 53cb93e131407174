//! k×k convolution, stride 1, "same" (zero padding k/2, output as large as the input) or
//! "valid" (no padding, output smaller by k − 1), with bias and ReLU fused in.
//!
//! Forward by im2col: the batch's input `C × B × H × W` is unrolled into a `k²C × B·H'·W'`
//! matrix whose column for output pixel (b, y, x) holds its k×k neighbourhood in every channel,
//! and the output `F × B·H'·W'` is one matrix product `W (F × k²C) · cols`. Backward reuses the
//! same unrolled matrix: dW = dZ · colsᵀ (natively, for most layers, as dWᵀ = cols · dZᵀ: see
//! `weight_gradient_by_broadcast`), and d(cols) = Wᵀ · dZ folded back onto the image (col2im).
//! The products are the engine's own kernels (`kernels.rs`), a block of images at a time so
//! that the unrolled block stays in cache.
//!
//! Under a 2×2 max-pool a layer computes only the even part of its output, which is all the
//! pool reads (`ConvShape::even_output`).
//!
//! In wasm, 3×3 layers over several channels use Winograd's algorithm instead (`winograd.rs`),
//! which needs 2.25× (2×2 tiles) or 4× (4×4 tiles) fewer multiplications; it makes such a
//! layer's training step 1.15–1.55× faster there (the transforms take back much of the saving
//! on images this small). Natively, where the product is 2–4× wider, im2col is faster
//! (`winograd_pays_here`).

use super::kernels::{broadcast_product, dot_product, Strided, Write};
use std::ops::Range;

/// Target size, in f32 values, of one unrolled block of images (1 MB).
const CHUNK_VALUES: usize = 256 * 1024;
/// Whether a training pass keeps its unrolled input for backward instead of unrolling it
/// again: natively, where memory is plentiful (it saves half of im2col's work). In wasm, where a
/// worker's memory is what runs out first, only when the whole batch is one block — the block
/// is there anyway, so keeping it costs nothing (tfjs-example's last layer, whose runs of three
/// values made unrolling 19% of its time). Keeping several blocks was measured slower in wasm
/// too: a 2 MB kept unrolling read back from memory lost to unrolling again from a 43 KB input.
const KEEP_UNROLLED: bool = !cfg!(target_arch = "wasm32");

/// Whether the weight gradient dW = dZ · colsᵀ runs as the broadcast product dWᵀ = cols · dZᵀ
/// (dZ transposed block by block, a row of `filters` values per output pixel) rather than as
/// dot products of long rows. The dot products stream both operands from L2 for every few
/// entries and end each entry in a horizontal sum; the broadcast product keeps a tile of dWᵀ in
/// registers for the whole block: 1.5–2.5× faster natively with at least 16 filters (one
/// AVX-512 vector per pixel; 32 filters × 144 × 1,815: 146 against 60 GFLOP/s). The transpose
/// moves `filters` values per pixel against the product's `filters × patch` multiply-adds, so
/// short patches keep the dot products (a first layer's 9: its weight gradient took 1.8× as
/// long with the transpose). The rule depends on the shape only, never on the machine, so every
/// x86-64 machine sums alike. In wasm the dot products stay (four lanes gain little there).
fn weight_gradient_by_broadcast(filters: usize, patch: usize) -> bool {
    !cfg!(target_arch = "wasm32") && filters >= 16 && patch >= 64
}

/// `dst (cols × rows) ⟵ srcᵀ`, where `src` is `rows × cols` with rows `ld` apart. In strips of
/// 16 columns, so that the strip's rows of `dst` stay in L1 while `src` is read row by row.
fn transpose(src: &[f32], ld: usize, rows: usize, cols: usize, dst: &mut [f32]) {
    assert!(rows == 0 || cols == 0 || ((rows - 1) * ld + cols <= src.len() && rows * cols <= dst.len()), "transpose fits its buffers");
    for c0 in (0..cols).step_by(16) {
        let c1 = (c0 + 16).min(cols);
        for r in 0..rows {
            for (c, &v) in (c0..c1).zip(&src[r * ld + c0..r * ld + c1]) {
                dst[c * rows + r] = v;
            }
        }
    }
}

/// Whether Winograd's algorithm pays on this machine. Its transforms run four lanes wide; so
/// does the matrix product in wasm and without AVX2, and there the 2.25–4× fewer
/// multiplications win (measured in wasm: 1.15–1.55× per layer). With AVX2 or AVX-512 the
/// product runs 8–16 lanes wide with fused multiply-adds, 4–5× the transforms' pace, and plain
/// im2col trains faster (natively tfjs-example 8.9–9.8k images/s against 8.3–9.3k, the default
/// nets even).
fn winograd_pays_here() -> bool {
    super::kernels::product_lanes() <= 4
}

use super::layer::{ensure_len, init_uniform, lane_sum, relu_gradient_and_sum, Layer, ParamTensor, Pass};
use super::winograd::WinogradConv;
use crate::rng::Rng64;

/// The geometry of a convolution: input size, kernel and padding, and so the output size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    pub in_channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: usize,
    pub pad: usize,
    /// Compute only an even number of output rows and columns, leaving out an odd last one:
    /// a 2×2 max-pool above never reads it (it rounds down). On tfjs-example's second layer
    /// (11×11 outputs, 10×10 pooled) that is 17% of the layer's products, and its input
    /// gradient needs 12×12 values instead of 13×13 (the last row and column get nothing).
    /// The values computed are the same either way.
    pub even_output: bool,
}

impl ConvShape {
    /// Output rows: all of them (`full_out_height`), or an even number (`even_output`).
    pub fn out_height(&self) -> usize {
        self.full_out_height() & if self.even_output { !1 } else { !0 }
    }
    pub fn out_width(&self) -> usize {
        self.full_out_width() & if self.even_output { !1 } else { !0 }
    }
    /// The convolution's whole output, as the network defines it.
    pub fn full_out_height(&self) -> usize {
        self.height + 2 * self.pad + 1 - self.kernel
    }
    pub fn full_out_width(&self) -> usize {
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

/// For kernel offset `k` (0-based, before padding): the output columns `lo..hi` whose source
/// column `x + k − pad` lies inside an input of width `w`, and that source column for `lo`.
fn valid_span(k: usize, pad: usize, w: usize, out_w: usize) -> (usize, usize, usize) {
    let d = k as isize - pad as isize;
    let lo = (-d).max(0) as usize;
    let hi = ((w as isize - d).min(out_w as isize)).max(lo as isize) as usize;
    (lo, hi, (lo as isize + d) as usize)
}

/// im2col and col2im move hundreds of thousands of short runs (3 to 28 values) per batch, so
/// how a run is moved matters more than anything else in them. Measured in V8: a `memory.copy`
/// per run, or a loop over its vectors, costs two to four times the data movement itself. So a
/// run is moved as a fixed sequence of 4-value moves, the sequence chosen once per block of rows
/// (`Q` = how many full moves precede the last, overlapping one), with no loop or test per run.
/// Values are moved, never changed: results are identical however the moves fall.
///
/// SAFETY (both functions below): for `y < rows`, `src + y·src_stride .. + len` is readable and
/// `dst + y·dst_stride .. + len` writable, and the two never overlap.
unsafe fn copy_rows(dst: *mut f32, dst_stride: usize, src: *const f32, src_stride: usize, rows: usize, len: usize) {
    #[inline(always)]
    unsafe fn moves<const Q: usize>(dst: *mut f32, dst_stride: usize, src: *const f32, src_stride: usize, rows: usize, len: usize) {
        for y in 0..rows {
            let (d, s) = (dst.add(y * dst_stride), src.add(y * src_stride));
            for q in 0..Q {
                std::ptr::copy_nonoverlapping(s.add(4 * q), d.add(4 * q), 4);
            }
            // The last four, possibly overlapping the move before.
            std::ptr::copy_nonoverlapping(s.add(len - 4), d.add(len - 4), 4);
        }
    }
    /// Runs shorter than one move: exactly `L` values each, no loop per value.
    #[inline(always)]
    unsafe fn short<const L: usize>(dst: *mut f32, dst_stride: usize, src: *const f32, src_stride: usize, rows: usize) {
        for y in 0..rows {
            std::ptr::copy_nonoverlapping(src.add(y * src_stride), dst.add(y * dst_stride), L);
        }
    }
    match len {
        0 => {}
        1 => short::<1>(dst, dst_stride, src, src_stride, rows),
        2 => short::<2>(dst, dst_stride, src, src_stride, rows),
        3 => short::<3>(dst, dst_stride, src, src_stride, rows),
        4 => moves::<0>(dst, dst_stride, src, src_stride, rows, len),
        5..=8 => moves::<1>(dst, dst_stride, src, src_stride, rows, len),
        9..=12 => moves::<2>(dst, dst_stride, src, src_stride, rows, len),
        13..=16 => moves::<3>(dst, dst_stride, src, src_stride, rows, len),
        17..=20 => moves::<4>(dst, dst_stride, src, src_stride, rows, len),
        21..=24 => moves::<5>(dst, dst_stride, src, src_stride, rows, len),
        25..=28 => moves::<6>(dst, dst_stride, src, src_stride, rows, len),
        _ => {
            for y in 0..rows {
                std::ptr::copy_nonoverlapping(src.add(y * src_stride), dst.add(y * dst_stride), len);
            }
        }
    }
}

/// `dst[i] += src[i]` over the same runs as `copy_rows`: `Q` full 4-value adds, then the
/// last `R = len − 4·Q` (0 to 3) one at a time, both fixed per block.
unsafe fn add_rows(dst: *mut f32, dst_stride: usize, src: *const f32, src_stride: usize, rows: usize, len: usize) {
    #[inline(always)]
    unsafe fn adds<const Q: usize, const R: usize>(dst: *mut f32, dst_stride: usize, src: *const f32, src_stride: usize, rows: usize) {
        for y in 0..rows {
            let (d, s) = (dst.add(y * dst_stride), src.add(y * src_stride));
            for q in 0..Q {
                let (d4, s4) = (d.add(4 * q) as *mut [f32; 4], s.add(4 * q) as *const [f32; 4]);
                let (x, v) = (d4.read_unaligned(), s4.read_unaligned());
                d4.write_unaligned([x[0] + v[0], x[1] + v[1], x[2] + v[2], x[3] + v[3]]);
            }
            for i in 4 * Q..4 * Q + R {
                *d.add(i) += *s.add(i);
            }
        }
    }
    /// `adds::<Q, R>` for the `R` of this run length.
    #[inline(always)]
    unsafe fn by_rest<const Q: usize>(dst: *mut f32, dst_stride: usize, src: *const f32, src_stride: usize, rows: usize, len: usize) {
        match len % 4 {
            0 => adds::<Q, 0>(dst, dst_stride, src, src_stride, rows),
            1 => adds::<Q, 1>(dst, dst_stride, src, src_stride, rows),
            2 => adds::<Q, 2>(dst, dst_stride, src, src_stride, rows),
            _ => adds::<Q, 3>(dst, dst_stride, src, src_stride, rows),
        }
    }
    match len / 4 {
        0 => by_rest::<0>(dst, dst_stride, src, src_stride, rows, len),
        1 => by_rest::<1>(dst, dst_stride, src, src_stride, rows, len),
        2 => by_rest::<2>(dst, dst_stride, src, src_stride, rows, len),
        3 => by_rest::<3>(dst, dst_stride, src, src_stride, rows, len),
        4 => by_rest::<4>(dst, dst_stride, src, src_stride, rows, len),
        5 => by_rest::<5>(dst, dst_stride, src, src_stride, rows, len),
        6 => by_rest::<6>(dst, dst_stride, src, src_stride, rows, len),
        _ => {
            for y in 0..rows {
                for i in 0..len {
                    *dst.add(y * dst_stride + i) += *src.add(y * src_stride + i);
                }
            }
        }
    }
}

/// Natively with AVX-512, a run is moved or added 16 values at a time, the last part under a
/// lane mask: one masked load and one masked store per run of up to 16 values, where the
/// 4-value moves above take up to seven instructions (im2col and col2im were a quarter of a
/// training step's time natively). The same values land in the same places, and each sum of
/// col2im is the same addition: results are bit for bit those of `copy_rows` / `add_rows`.
/// The functions are only inlined into `avx512f` code (`im2col_avx512`, `col2im_avx512`).
#[cfg(target_arch = "x86_64")]
mod masked {
    use core::arch::x86_64::*;

    /// Full 16-value parts before the last, and the mask of the last (1 to 16 values).
    #[inline(always)]
    fn parts(len: usize) -> (usize, __mmask16) {
        let full = (len - 1) / 16;
        (full, ((1u32 << (len - 16 * full)) - 1) as __mmask16)
    }

    /// SAFETY: as `copy_rows`, inside an `avx512f` function.
    #[inline(always)]
    pub unsafe fn copy_rows(dst: *mut f32, dst_stride: usize, src: *const f32, src_stride: usize, rows: usize, len: usize) {
        if len == 0 {
            return;
        }
        let (full, mask) = parts(len);
        for y in 0..rows {
            let (d, s) = (dst.add(y * dst_stride), src.add(y * src_stride));
            for q in 0..full {
                _mm512_storeu_ps(d.add(16 * q), _mm512_loadu_ps(s.add(16 * q)));
            }
            _mm512_mask_storeu_ps(d.add(16 * full), mask, _mm512_maskz_loadu_ps(mask, s.add(16 * full)));
        }
    }

    /// SAFETY: as `add_rows`, inside an `avx512f` function.
    ///
    /// Rows are taken eight at a time, every load of the eight before any store: a masked store
    /// blocks a later load that overlaps its whole 16-value footprint, even the masked-off part,
    /// until it retires — and the next row of a plane starts inside that footprint. Added row by
    /// row, col2im ran 1.4× slower than with the 4-value adds.
    #[inline(always)]
    pub unsafe fn add_rows(dst: *mut f32, dst_stride: usize, src: *const f32, src_stride: usize, rows: usize, len: usize) {
        if len == 0 {
            return;
        }
        let (full, mask) = parts(len);
        for y0 in (0..rows).step_by(8) {
            let group = (rows - y0).min(8);
            for q in 0..=full {
                let m = if q == full { mask } else { !0 };
                let at = |y: usize| (dst.add((y0 + y) * dst_stride + 16 * q), src.add((y0 + y) * src_stride + 16 * q));
                let mut sums = [_mm512_setzero_ps(); 8];
                for (y, sum) in sums.iter_mut().enumerate().take(group) {
                    let (d, s) = at(y);
                    *sum = _mm512_add_ps(_mm512_maskz_loadu_ps(m, d), _mm512_maskz_loadu_ps(m, s));
                }
                for (y, sum) in sums.into_iter().enumerate().take(group) {
                    _mm512_mask_storeu_ps(at(y).0, m, sum);
                }
            }
        }
    }
}

/// `im2col`'s walk with AVX-512's masked moves. SAFETY: AVX-512F detected; buffers checked.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn im2col_avx512(src: *const f32, dst: *mut f32, s: &ConvShape, batch: usize, images: Range<usize>, stride: usize) {
    let (w, ow) = (s.width, s.out_width());
    for_each_run(s, batch, images, stride, |image_at, cols_at, rows, len| masked::copy_rows(dst.add(cols_at), ow, src.add(image_at), w, rows, len));
}

/// `col2im`'s walk with AVX-512's masked adds. SAFETY: as `im2col_avx512`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn col2im_avx512(src: *const f32, dst: *mut f32, s: &ConvShape, batch: usize, images: Range<usize>, stride: usize) {
    let (w, ow) = (s.width, s.out_width());
    for_each_run(s, batch, images, stride, |image_at, cols_at, rows, len| masked::add_rows(dst.add(image_at), w, src.add(cols_at), ow, rows, len));
}

/// The part of row `(c·k + ky)·k + kx` of the unrolled matrix that comes from the image (the
/// rest is padding): output rows `ys` and columns `xs` read input row `sy0 + (y − ys.start)`
/// and column `sx0 + (x − xs.start)`.
struct Window {
    ys: Range<usize>,
    xs: Range<usize>,
    sy0: usize,
    sx0: usize,
}

impl ConvShape {
    fn window(&self, ky: usize, kx: usize) -> Window {
        let (y_lo, y_hi, sy0) = valid_span(ky, self.pad, self.height, self.out_height());
        let (x_lo, x_hi, sx0) = valid_span(kx, self.pad, self.width, self.out_width());
        Window { ys: y_lo..y_hi, xs: x_lo..x_hi, sy0, sx0 }
    }
}

/// Unroll images `images` of `input` (`C × B × H × W`) into `cols`: row `(c·k + ky)·k + kx`
/// starts at that index times `stride` and holds `H'·W'` values per image. Only values that
/// come from the image are written: the padding's places hold zeros written when the buffer
/// was allocated, and since a layer's geometry and `stride` never change, nothing else is ever
/// written there.
fn im2col(input: &[f32], s: &ConvShape, batch: usize, images: Range<usize>, cols: &mut [f32], stride: usize) {
    let (h, w) = (s.height, s.width);
    let (oh, ow) = (s.out_height(), s.out_width());
    assert!(images.end <= batch && input.len() >= s.in_channels * batch * h * w, "input holds the batch");
    assert!(images.len() * oh * ow <= stride && cols.len() >= s.patch_len() * stride, "cols holds the block");
    let (src, dst) = (input.as_ptr(), cols.as_mut_ptr());
    #[cfg(target_arch = "x86_64")]
    if super::kernels::avx512() {
        // SAFETY: detected; the asserts above bound every index (see `for_each_run`).
        return unsafe { im2col_avx512(src, dst, s, batch, images, stride) };
    }
    for_each_run(s, batch, images, stride, |image_at, cols_at, rows, len| {
        // SAFETY: the asserts above bound every index (see `for_each_run`).
        unsafe { copy_rows(dst.add(cols_at), ow, src.add(image_at), w, rows, len) }
    });
}

/// Fold `cols` (laid out as `im2col` writes it) back onto the gradient of images `images` of
/// `out` (`C × B × H × W`), summing overlaps; those images' planes are overwritten.
fn col2im(cols: &[f32], s: &ConvShape, batch: usize, images: Range<usize>, out: &mut [f32], stride: usize) {
    let (h, w) = (s.height, s.width);
    let (oh, ow) = (s.out_height(), s.out_width());
    assert!(images.end <= batch && out.len() >= s.in_channels * batch * h * w, "output holds the batch");
    assert!(images.len() * oh * ow <= stride && cols.len() >= s.patch_len() * stride, "cols holds the block");
    for c in 0..s.in_channels {
        out[(c * batch + images.start) * h * w..(c * batch + images.end) * h * w].fill(0.0);
    }
    let (src, dst) = (cols.as_ptr(), out.as_mut_ptr());
    #[cfg(target_arch = "x86_64")]
    if super::kernels::avx512() {
        // SAFETY: as in `im2col`.
        return unsafe { col2im_avx512(src, dst, s, batch, images, stride) };
    }
    for_each_run(s, batch, images, stride, |image_at, cols_at, rows, len| {
        // SAFETY: as in `im2col`, with the roles of the buffers swapped.
        unsafe { add_rows(dst.add(image_at), w, src.add(cols_at), ow, rows, len) }
    });
}

/// The walk im2col and col2im share: for every unrolled row (c, ky, kx) and image, the part
/// that comes from the image — `rows` runs of `len` values, starting at `image_at` in the
/// `C × B × H × W` activation (runs `W` apart) and at `cols_at` in the unrolled block (runs
/// `W'` apart). Every run lies inside plane (c, b) and inside image j's part of the row, so
/// callers that checked the buffers' sizes may move them with raw pointers.
#[inline(always)]
fn for_each_run(s: &ConvShape, batch: usize, images: Range<usize>, stride: usize, mut visit: impl FnMut(usize, usize, usize, usize)) {
    let (h, w, k) = (s.height, s.width, s.kernel);
    let (oh, ow) = (s.out_height(), s.out_width());
    for c in 0..s.in_channels {
        for ky in 0..k {
            for kx in 0..k {
                let win = s.window(ky, kx);
                let row = ((c * k + ky) * k + kx) * stride;
                for (j, b) in images.clone().enumerate() {
                    let image_at = (c * batch + b) * h * w + win.sy0 * w + win.sx0;
                    let cols_at = row + j * oh * ow + win.ys.start * ow + win.xs.start;
                    visit(image_at, cols_at, win.ys.len(), win.xs.len());
                }
            }
        }
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
                                    acc += weights[((f * c_n + c) * k + ky) * k + kx] as f64 * input[((c * batch + b) * h + sy as usize) * w + sx as usize] as f64;
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
            let expected: Vec<f64> = direct_convolution(&input, &shape, b, &conv.weights, f).iter().enumerate().map(|(i, v)| v + conv.bias[i / (b * plane)] as f64).collect();
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

    /// im2col and col2im with AVX-512's masked moves give exactly what the 4-value moves give,
    /// for runs shorter and longer than 16 values and planes taller than the 8-row groups.
    /// Passes vacuously without AVX-512.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn masked_moves_match_the_portable_ones() {
        if !crate::nn::kernels::avx512() {
            eprintln!("no AVX-512 here: nothing to compare");
            return;
        }
        for (height, width, kernel, pad) in [(19, 21, 3, 1), (13, 13, 3, 0), (12, 40, 5, 2), (5, 5, 3, 0), (9, 17, 1, 0)] {
            let s = ConvShape { in_channels: 3, height, width, kernel, pad, even_output: false };
            let batch = 3;
            let stride = 2 * s.out_height() * s.out_width() + 5;
            let input: Vec<f32> = (0..3 * batch * height * width).map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0).collect();
            let (mut masked, mut portable) = (vec![0.0; s.patch_len() * stride], vec![0.0; s.patch_len() * stride]);
            im2col(&input, &s, batch, 1..3, &mut masked, stride);
            for_each_run(&s, batch, 1..3, stride, |image_at, cols_at, rows, len| unsafe { copy_rows(portable.as_mut_ptr().add(cols_at), s.out_width(), input.as_ptr().add(image_at), width, rows, len) });
            assert!(masked.iter().zip(&portable).all(|(a, b)| a.to_bits() == b.to_bits()), "im2col {s:?}");
            let cols: Vec<f32> = (0..masked.len()).map(|i| ((i * 13 % 29) as f32 - 14.0) / 3.0).collect();
            let (mut masked, mut portable) = (vec![1.5; input.len()], vec![1.5; input.len()]);
            col2im(&cols, &s, batch, 1..3, &mut masked, stride);
            for c in 0..3 {
                portable[(c * batch + 1) * height * width..(c * batch + 3) * height * width].fill(0.0);
            }
            for_each_run(&s, batch, 1..3, stride, |image_at, cols_at, rows, len| unsafe { add_rows(portable.as_mut_ptr().add(image_at), width, cols.as_ptr().add(cols_at), s.out_width(), rows, len) });
            assert!(masked.iter().zip(&portable).all(|(a, b)| a.to_bits() == b.to_bits()), "col2im {s:?}");
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
    fn even_output_under_a_pool_changes_nothing() {
        use crate::nn::pool::MaxPool2x2;
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
