//! Moving a convolution's values between layouts for its matrix products: im2col unrolls each
//! output pixel's k×k neighbourhood (in every channel) into a column, col2im folds such columns
//! back onto the image, summing overlaps, and `transpose` turns a block of the output gradient
//! for the weight gradient's broadcast product. Values are moved (or, in col2im, added in a fixed
//! order), never otherwise changed, so every way of moving them gives the same bits; the ways
//! here are chosen for speed: fixed sequences of 4-value moves, and natively with AVX-512 masked
//! 16-value moves.

use crate::nn::conv_shape::ConvShape;
use std::ops::Range;

/// `dst (cols × rows) ⟵ srcᵀ`, where `src` is `rows × cols` with rows `ld` apart. In strips of
/// 16 columns, so that the strip's rows of `dst` stay in L1 while `src` is read row by row.
pub(crate) fn transpose(src: &[f32], ld: usize, rows: usize, cols: usize, dst: &mut [f32]) {
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
/// per run, or a loop over its vectors, costs several times the data movement itself. So a
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
/// 4-value moves above take up to seven instructions (im2col and col2im are a large share of a
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
    /// row, col2im ran slower than with the 4-value adds.
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
pub(crate) fn im2col(input: &[f32], s: &ConvShape, batch: usize, images: Range<usize>, cols: &mut [f32], stride: usize) {
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
pub(crate) fn col2im(cols: &[f32], s: &ConvShape, batch: usize, images: Range<usize>, out: &mut [f32], stride: usize) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// im2col and col2im with AVX-512's masked moves give exactly what the 4-value moves give,
    /// for runs shorter and longer than 16 values and planes taller than the 8-row groups.
    /// Passes vacuously without AVX-512.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn masked_moves_match_the_portable_ones() {
        if !super::super::kernels::avx512() {
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
            for_each_run(&s, batch, 1..3, stride, |image_at, cols_at, rows, len| unsafe {
                copy_rows(portable.as_mut_ptr().add(cols_at), s.out_width(), input.as_ptr().add(image_at), width, rows, len)
            });
            assert!(masked.iter().zip(&portable).all(|(a, b)| a.to_bits() == b.to_bits()), "im2col {s:?}");
            let cols: Vec<f32> = (0..masked.len()).map(|i| ((i * 13 % 29) as f32 - 14.0) / 3.0).collect();
            let (mut masked, mut portable) = (vec![1.5; input.len()], vec![1.5; input.len()]);
            col2im(&cols, &s, batch, 1..3, &mut masked, stride);
            for c in 0..3 {
                portable[(c * batch + 1) * height * width..(c * batch + 3) * height * width].fill(0.0);
            }
            for_each_run(&s, batch, 1..3, stride, |image_at, cols_at, rows, len| unsafe {
                add_rows(portable.as_mut_ptr().add(image_at), width, cols.as_ptr().add(cols_at), s.out_width(), rows, len)
            });
            assert!(masked.iter().zip(&portable).all(|(a, b)| a.to_bits() == b.to_bits()), "col2im {s:?}");
        }
    }
}
