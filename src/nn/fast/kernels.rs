//! The two matrix products a convolution spends its time in, with register-tiled micro-kernels
//! written for the shapes convolutions have: a few rows (6–64 filters, or the k²C rows of an
//! unrolled patch) times tens of thousands of columns (every output pixel of a block of images).
//!
//! - `broadcast_product`: C = A · B with A small and B wide. Each step of the inner loop
//!   broadcasts one value from each of `MR` rows of A and multiplies it into two vectors of one
//!   row of B, so the tile of `MR × 2 vectors` of C stays in registers for the whole sum (the
//!   "splat" GEMM of XNNPACK's wasm kernels; Goto & van de Geijn 2008 for the register tiling).
//!   Forward (W · cols, with bias and ReLU applied as the tile is stored) and the input gradient
//!   (Wᵀ · dZ) are this product, and natively for most layers the weight gradient too, as
//!   dWᵀ = cols · dZᵀ (see `policy::weight_gradient_by_broadcast`).
//! - `dot_product`: C = A · Bᵀ where both are wide and row-major, so every entry is a dot product
//!   along rows; a tile of `MR × PR` dot products runs in vector accumulators. The weight gradient
//!   (dZ · colsᵀ) is this product in wasm and for short patches.
//!
//! Tile sizes: 4 rows × 2 vectors in wasm (V8 on x86-64 leaves 15 vector registers, and a taller
//! tile spills — 4 was fastest of 2 to 6, measured), 6 rows × 2 vectors with AVX2, 8 rows × 2
//! vectors with AVX-512 (32 registers).
//!
//! Why not a general GEMM library: matrixmultiply (what ndarray uses) packs both operands and its
//! wasm kernel is an 8×8 tile of shuffles that needs more registers than V8 has; on these skinny
//! shapes it ran well below the speed of these kernels. No operand is packed here: B is read in
//! place, row after row, and A is small enough to stay in cache.
//!
//! Reproducibility: every sum runs in a fixed order that depends only on the shapes, never on
//! timing or threads. In wasm the arithmetic is simd128 multiply-then-add (see `simd.rs`), equal
//! bit for bit to the portable version, which the tests check.

use super::simd::{Lanes4, Vector};

/// How a product's result lands in C.
#[derive(Clone, Copy, Debug)]
pub enum Write<'a> {
    /// C = result.
    Overwrite,
    /// C = C + result.
    Accumulate,
    /// C = bias[row] + result, then through ReLU if asked (the sum starts from the bias).
    Bias { bias: &'a [f32], relu: bool },
}

/// A matrix read from a flat buffer: entry (i, j) is `data[i · row_stride + j · col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct Strided<'a> {
    pub data: &'a [f32],
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> Strided<'a> {
    /// Row-major with rows `stride` apart.
    pub fn rows(data: &'a [f32], stride: usize) -> Self {
        Self { data, row_stride: stride, col_stride: 1 }
    }
    /// The transpose of a row-major matrix with rows `stride` apart.
    pub fn transposed(data: &'a [f32], stride: usize) -> Self {
        Self { data, row_stride: 1, col_stride: stride }
    }
    /// Panics unless every entry of a `rows × cols` matrix lies inside the buffer: the kernels
    /// below read through raw pointers only after this check.
    fn check(&self, rows: usize, cols: usize, what: &str) {
        if rows > 0 && cols > 0 {
            let last = (rows - 1) * self.row_stride + (cols - 1) * self.col_stride;
            assert!(
                last < self.data.len(),
                "{what}: {rows}×{cols} matrix (strides {}, {}) needs {} values, buffer has {}",
                self.row_stride,
                self.col_stride,
                last + 1,
                self.data.len()
            );
        }
    }
}

fn check_output(c: &[f32], rows: usize, cols: usize, ldc: usize) {
    if rows > 0 && cols > 0 {
        assert!(cols <= ldc, "output rows of {cols} values fit a stride of {ldc}");
        assert!((rows - 1) * ldc + cols <= c.len(), "output {rows}×{cols} (stride {ldc}) fits a buffer of {}", c.len());
    }
}

/// `C (m × n, rows ldc apart) ⟵ A (m × depth) · B (depth × n, rows ldb apart)`, written as
/// `write` says. B's rows must be contiguous (column stride 1).
#[allow(clippy::too_many_arguments)]
pub fn broadcast_product(m: usize, n: usize, depth: usize, a: Strided<'_>, b: &[f32], ldb: usize, c: &mut [f32], ldc: usize, write: Write<'_>) {
    let p = BroadcastArgs::new(m, n, depth, a, b, ldb, c, ldc, write);
    // SAFETY: `new` checked every index the kernels touch; the vector types are the ones this
    // target supports (AVX2/FMA only after detecting it).
    unsafe {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            broadcast_with::<super::simd::Simd128, 4>(&p)
        }
        #[cfg(target_arch = "x86_64")]
        {
            if avx512() {
                broadcast_avx512(&p)
            } else if avx2_fma() {
                broadcast_avx2_fma(&p)
            } else {
                broadcast_with::<Lanes4, 4>(&p)
            }
        }
        #[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
        {
            broadcast_with::<Lanes4, 4>(&p)
        }
    }
}

/// `broadcast_product` in portable code with exactly the wasm arithmetic (for tests).
#[allow(clippy::too_many_arguments)]
pub fn broadcast_product_portable(m: usize, n: usize, depth: usize, a: Strided<'_>, b: &[f32], ldb: usize, c: &mut [f32], ldc: usize, write: Write<'_>) {
    let p = BroadcastArgs::new(m, n, depth, a, b, ldb, c, ldc, write);
    // SAFETY: as in `broadcast_product`.
    unsafe { broadcast_with::<Lanes4, 4>(&p) }
}

/// `C (m × p, rows ldc apart) ⟵ A (m × n, rows lda apart) · Bᵀ` where B is `p × n` with rows
/// `ldb` apart: entry (i, q) is the dot product of row i of A and row q of B. Overwrites C, or adds
/// to it if `accumulate`.
#[allow(clippy::too_many_arguments)]
pub fn dot_product(m: usize, p: usize, n: usize, a: &[f32], lda: usize, b: &[f32], ldb: usize, c: &mut [f32], ldc: usize, accumulate: bool) {
    let args = DotArgs::new(m, p, n, a, lda, b, ldb, c, ldc, accumulate);
    // SAFETY: as in `broadcast_product`.
    unsafe {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            dot_with::<super::simd::Simd128, 4, 2>(&args)
        }
        #[cfg(target_arch = "x86_64")]
        {
            if avx512() {
                dot_avx512(&args)
            } else if avx2_fma() {
                dot_avx2_fma(&args)
            } else {
                dot_with::<Lanes4, 4, 2>(&args)
            }
        }
        #[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
        {
            dot_with::<Lanes4, 4, 2>(&args)
        }
    }
}

/// `dot_product` in portable code with exactly the wasm arithmetic (for tests).
#[allow(clippy::too_many_arguments)]
pub fn dot_product_portable(m: usize, p: usize, n: usize, a: &[f32], lda: usize, b: &[f32], ldb: usize, c: &mut [f32], ldc: usize, accumulate: bool) {
    let args = DotArgs::new(m, p, n, a, lda, b, ldb, c, ldc, accumulate);
    // SAFETY: as in `broadcast_product`.
    unsafe { dot_with::<Lanes4, 4, 2>(&args) }
}

/// How many f32 lanes the matrix product works with on this machine: 4 in wasm and in portable
/// code, 8 with AVX2, 16 with AVX-512.
pub fn product_lanes() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if avx512() {
            return 16;
        }
        if avx2_fma() {
            return 8;
        }
    }
    4
}

#[cfg(target_arch = "x86_64")]
fn avx2_fma() -> bool {
    // std caches the CPUID answer; this is an atomic load.
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

#[cfg(target_arch = "x86_64")]
pub(crate) fn avx512() -> bool {
    is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn broadcast_avx2_fma(p: &BroadcastArgs<'_>) {
    broadcast_with::<super::simd::Avx2Fma, 6>(p)
}

/// Tiles of 8 rows (AVX-512 has 32 registers: 16 accumulators) by two 16-lane vectors, then
/// one vector, then one 8-lane vector, then single columns. Every entry of C is still one
/// chain of fused multiply-adds in depth order, so the result is bit for bit the AVX2 kernel's:
/// native runs agree across the two kinds of machine.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn broadcast_avx512(p: &BroadcastArgs<'_>) {
    use super::simd::{Avx2Fma, Avx512, Fused};
    let mut j = 0;
    while j + 32 <= p.n {
        broadcast_rows::<Avx512, 2, 8>(p, j);
        j += 32;
    }
    if j + 16 <= p.n {
        broadcast_rows::<Avx512, 1, 8>(p, j);
        j += 16;
    }
    if j + 8 <= p.n {
        broadcast_rows::<Avx2Fma, 1, 6>(p, j);
        j += 8;
    }
    while j < p.n {
        broadcast_rows::<Fused, 1, 6>(p, j);
        j += 1;
    }
}

/// Natively the dot product sums sixteen lanes (lane l takes the terms j ≡ l mod 16, then the
/// lanes are added in `Avx512::sum`'s tree, then the last n mod 16 terms one by one): AVX-512
/// runs it in one register per entry, AVX2 in two (`Avx2Pair`), with the same bits. The dot
/// products left natively are mostly first layers' weight gradients — 9 or 25 rows of B, each
/// tens of thousands of values long (see `policy::weight_gradient_by_broadcast`) — and sixteen
/// lanes run them faster than eight. With AVX2 alone the pairs leave room for a
/// 2 × 2 tile only, somewhat slower than the 4 × 2 tile of eight lanes it replaced.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2_fma(p: &DotArgs<'_>) {
    dot_with::<super::simd::Avx2Pair, 2, 2>(p)
}

/// Tiles of 4 rows of A by 3 rows of B: twelve accumulators, seven loads per twelve fused
/// multiply-adds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn dot_avx512(p: &DotArgs<'_>) {
    dot_with::<super::simd::Avx512, 4, 3>(p)
}

/// A checked `broadcast_product` call, as raw pointers for the kernels.
struct BroadcastArgs<'a> {
    m: usize,
    n: usize,
    depth: usize,
    a: *const f32,
    a_rs: usize,
    a_cs: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    write: Write<'a>,
}

impl<'a> BroadcastArgs<'a> {
    #[allow(clippy::too_many_arguments)]
    fn new(m: usize, n: usize, depth: usize, a: Strided<'_>, b: &[f32], ldb: usize, c: &mut [f32], ldc: usize, write: Write<'a>) -> Self {
        a.check(m, depth, "A");
        Strided::rows(b, ldb).check(depth, n, "B");
        check_output(c, m, n, ldc);
        if let Write::Bias { bias, .. } = write {
            assert!(bias.len() >= m, "one bias per row: {} for {m} rows", bias.len());
        }
        Self { m, n, depth, a: a.data.as_ptr(), a_rs: a.row_stride, a_cs: a.col_stride, b: b.as_ptr(), ldb, c: c.as_mut_ptr(), ldc, write }
    }
}

/// Column tiles of two vectors, then one vector, then single columns; each column tile runs
/// down all rows, so its strip of B is read from memory once and from L1 for every row tile.
#[inline(always)]
unsafe fn broadcast_with<V: Vector, const MR: usize>(p: &BroadcastArgs<'_>) {
    let mut j = 0;
    while j + 2 * V::LANES <= p.n {
        broadcast_rows::<V, 2, MR>(p, j);
        j += 2 * V::LANES;
    }
    if j + V::LANES <= p.n {
        broadcast_rows::<V, 1, MR>(p, j);
        j += V::LANES;
    }
    while j < p.n {
        broadcast_rows::<V::One, 1, MR>(p, j);
        j += 1;
    }
}

#[inline(always)]
unsafe fn broadcast_rows<V: Vector, const NV: usize, const MR: usize>(p: &BroadcastArgs<'_>, j: usize) {
    let mut i = 0;
    while i + MR <= p.m {
        broadcast_tile::<V, NV, MR>(p, i, j);
        i += MR;
    }
    // The last few rows (at most MR − 1) in tiles of 4, 2 and 1: a tile of one row has too
    // few accumulators to hide the multiply-add's latency, and 32 filters in tiles of 6 left
    // two such rows.
    if MR > 4 && i + 4 <= p.m {
        broadcast_tile::<V, NV, 4>(p, i, j);
        i += 4;
    }
    if MR > 2 && i + 2 <= p.m {
        broadcast_tile::<V, NV, 2>(p, i, j);
        i += 2;
    }
    while i < p.m {
        broadcast_tile::<V, NV, 1>(p, i, j);
        i += 1;
    }
}

/// Rows `i..i + MR`, columns `j..j + NV · LANES` of C.
#[inline(always)]
unsafe fn broadcast_tile<V: Vector, const NV: usize, const MR: usize>(p: &BroadcastArgs<'_>, i: usize, j: usize) {
    let mut acc = [[V::zero(); NV]; MR];
    if let Write::Bias { bias, .. } = p.write {
        for (r, row) in acc.iter_mut().enumerate() {
            *row = [V::splat(bias.as_ptr().add(i + r)); NV];
        }
    }
    let mut a = p.a.add(i * p.a_rs);
    let mut b = p.b.add(j);
    for _ in 0..p.depth {
        let bv: [V; NV] = std::array::from_fn(|v| V::load(b.add(v * V::LANES)));
        for (r, row) in acc.iter_mut().enumerate() {
            let av = V::splat(a.add(r * p.a_rs));
            for (x, bv) in row.iter_mut().zip(bv) {
                *x = x.mul_add(av, bv);
            }
        }
        a = a.add(p.a_cs);
        b = b.add(p.ldb);
    }
    let c = p.c.add(i * p.ldc + j);
    for (r, row) in acc.into_iter().enumerate() {
        for (v, x) in row.into_iter().enumerate() {
            let out = c.add(r * p.ldc + v * V::LANES);
            match p.write {
                Write::Overwrite => x.store(out),
                Write::Accumulate => V::load(out).add(x).store(out),
                Write::Bias { relu: true, .. } => x.relu().store(out),
                Write::Bias { relu: false, .. } => x.store(out),
            }
        }
    }
}

/// A checked `dot_product` call, as raw pointers for the kernels.
struct DotArgs<'a> {
    m: usize,
    p: usize,
    n: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    _buffers: std::marker::PhantomData<&'a mut [f32]>,
}

impl DotArgs<'_> {
    #[allow(clippy::too_many_arguments)]
    fn new(m: usize, p: usize, n: usize, a: &[f32], lda: usize, b: &[f32], ldb: usize, c: &mut [f32], ldc: usize, accumulate: bool) -> Self {
        Strided::rows(a, lda).check(m, n, "A");
        Strided::rows(b, ldb).check(p, n, "B");
        check_output(c, m, p, ldc);
        Self { m, p, n, a: a.as_ptr(), lda, b: b.as_ptr(), ldb, c: c.as_mut_ptr(), ldc, accumulate, _buffers: std::marker::PhantomData }
    }
}

/// Row tiles of A outer (they stay in L1), row tiles of B inner.
#[inline(always)]
unsafe fn dot_with<V: Vector, const MR: usize, const PR: usize>(args: &DotArgs<'_>) {
    let mut i = 0;
    while i + MR <= args.m {
        dot_columns::<V, MR, PR>(args, i);
        i += MR;
    }
    // As in `broadcast_rows`: a remainder of 2 or 3 rows takes a tile of 2 (6 filters in tiles
    // of 4 left two rows of single accumulators).
    if MR > 2 && i + 2 <= args.m {
        dot_columns::<V, 2, PR>(args, i);
        i += 2;
    }
    while i < args.m {
        dot_columns::<V, 1, PR>(args, i);
        i += 1;
    }
}

#[inline(always)]
unsafe fn dot_columns<V: Vector, const MR: usize, const PR: usize>(args: &DotArgs<'_>, i: usize) {
    let mut q = 0;
    while q + PR <= args.p {
        dot_tile::<V, MR, PR>(args, i, q);
        q += PR;
    }
    while q < args.p {
        dot_tile::<V, MR, 1>(args, i, q);
        q += 1;
    }
}

/// Entries (i..i + MR, q..q + PR) of C: vector partial sums along the rows, then each one's
/// lanes summed, then the last few columns one by one.
#[inline(always)]
unsafe fn dot_tile<V: Vector, const MR: usize, const PR: usize>(args: &DotArgs<'_>, i: usize, q: usize) {
    let a = args.a.add(i * args.lda);
    let b = args.b.add(q * args.ldb);
    let mut acc = [[V::zero(); PR]; MR];
    let mut j = 0;
    while j + V::LANES <= args.n {
        let bv: [V; PR] = std::array::from_fn(|s| V::load(b.add(s * args.ldb + j)));
        for (r, row) in acc.iter_mut().enumerate() {
            let av = V::load(a.add(r * args.lda + j));
            for (x, bv) in row.iter_mut().zip(bv) {
                *x = x.mul_add(av, bv);
            }
        }
        j += V::LANES;
    }
    for (r, row) in acc.into_iter().enumerate() {
        for (s, x) in row.into_iter().enumerate() {
            let mut sum = V::One::splat(&x.sum());
            for t in j..args.n {
                sum = sum.mul_add(V::One::load(a.add(r * args.lda + t)), V::One::load(b.add(s * args.ldb + t)));
            }
            let sum = sum.sum();
            let out = args.c.add((i + r) * args.ldc + q + s);
            *out = if args.accumulate { *out + sum } else { sum };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{rng_for, unit_f32};

    fn random(len: usize, seed: u64) -> Vec<f32> {
        let mut rng = rng_for(seed, 0);
        (0..len).map(|_| unit_f32(&mut rng) * 2.0 - 1.0).collect()
    }

    /// Shapes that cover every tile and tail: rows below, at and above the row tile, columns
    /// with and without vector and single-column tails.
    const SHAPES: [(usize, usize, usize); 8] = [(1, 1, 1), (3, 5, 2), (4, 16, 9), (6, 37, 25), (9, 8, 1), (16, 123, 18), (32, 64, 288), (5, 3, 7)];

    #[test]
    fn broadcast_product_matches_the_definition() {
        for (m, n, depth) in SHAPES {
            for transposed in [false, true] {
                let a = random(m * depth + 3, 1);
                let a_view = if transposed { Strided::transposed(&a, m) } else { Strided::rows(&a, depth) };
                let (ldb, ldc) = (n + 2, n + 1);
                let b = random(depth * ldb, 2);
                let bias = random(m, 3);
                for write in [Write::Overwrite, Write::Accumulate, Write::Bias { bias: &bias, relu: true }, Write::Bias { bias: &bias, relu: false }] {
                    let start = random(m * ldc, 4);
                    let mut c = start.clone();
                    broadcast_product(m, n, depth, a_view, &b, ldb, &mut c, ldc, write);
                    for i in 0..m {
                        for j in 0..n {
                            let sum: f64 = (0..depth).map(|k| a[i * a_view.row_stride + k * a_view.col_stride] as f64 * b[k * ldb + j] as f64).sum();
                            let expected = match write {
                                Write::Overwrite => sum,
                                Write::Accumulate => start[i * ldc + j] as f64 + sum,
                                Write::Bias { relu, .. } => {
                                    let z = bias[i] as f64 + sum;
                                    if relu {
                                        z.max(0.0)
                                    } else {
                                        z
                                    }
                                }
                            };
                            let got = c[i * ldc + j] as f64;
                            assert!((got - expected).abs() < 1e-4 * (1.0 + depth as f64), "{m}×{n}×{depth} {write:?} at ({i}, {j}): {got} vs {expected}");
                        }
                        // The padding between rows is left alone.
                        if ldc > n {
                            assert_eq!(c[i * ldc + n].to_bits(), start[i * ldc + n].to_bits());
                        }
                    }
                }
            }
        }
    }

    /// On a machine with AVX-512, its broadcast kernel gives the AVX2 kernel's bits exactly
    /// (so native runs agree across the two kinds of x86 machine). Passes vacuously elsewhere.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_broadcast_is_bit_identical_to_avx2() {
        if !avx512() {
            eprintln!("no AVX-512 here: nothing to compare");
            return;
        }
        for (m, n, depth) in SHAPES.into_iter().chain([(7, 61, 40), (13, 200, 9)]) {
            let a = random(m * depth, 1);
            let b = random(depth * n, 2);
            let bias = random(m, 3);
            for write in [Write::Overwrite, Write::Accumulate, Write::Bias { bias: &bias, relu: true }] {
                let mut wide = random(m * n, 4);
                let mut avx2 = wide.clone();
                broadcast_product(m, n, depth, Strided::rows(&a, depth), &b, n, &mut wide, n, write);
                let args = BroadcastArgs::new(m, n, depth, Strided::rows(&a, depth), &b, n, &mut avx2, n, write);
                // SAFETY: AVX-512 (and so AVX2 and FMA) detected above.
                unsafe { broadcast_avx2_fma(&args) };
                assert!(wide.iter().zip(&avx2).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}×{n}×{depth} {write:?}");
            }
        }
    }

    /// The same for the dot product: sixteen lanes in one AVX-512 register or two AVX2 ones sum
    /// alike. Passes vacuously without AVX-512.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_dot_is_bit_identical_to_avx2() {
        if !avx512() {
            eprintln!("no AVX-512 here: nothing to compare");
            return;
        }
        for (m, p, n) in SHAPES.into_iter().chain([(7, 10, 61), (9, 5, 200), (32, 12, 1815)]) {
            let a = random(m * n, 1);
            let b = random(p * n, 2);
            for accumulate in [false, true] {
                let mut wide = random(m * p, 4);
                let mut avx2 = wide.clone();
                dot_product(m, p, n, &a, n, &b, n, &mut wide, p, accumulate);
                let args = DotArgs::new(m, p, n, &a, n, &b, n, &mut avx2, p, accumulate);
                // SAFETY: AVX-512 (and so AVX2 and FMA) detected above.
                unsafe { dot_avx2_fma(&args) };
                assert!(wide.iter().zip(&avx2).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}×{p}×{n}");
            }
        }
    }

    #[test]
    fn dot_product_matches_the_definition() {
        for (m, p, n) in SHAPES {
            let (lda, ldb, ldc) = (n + 1, n + 3, p + 2);
            let a = random(m * lda, 5);
            let b = random(p * ldb, 6);
            for accumulate in [false, true] {
                let start = random(m * ldc, 7);
                let mut c = start.clone();
                dot_product(m, p, n, &a, lda, &b, ldb, &mut c, ldc, accumulate);
                for i in 0..m {
                    for q in 0..p {
                        let sum: f64 = (0..n).map(|j| a[i * lda + j] as f64 * b[q * ldb + j] as f64).sum();
                        let expected = if accumulate { start[i * ldc + q] as f64 + sum } else { sum };
                        let got = c[i * ldc + q] as f64;
                        assert!((got - expected).abs() < 1e-4 * (1.0 + n as f64), "{m}×{p}×{n} at ({i}, {q}): {got} vs {expected}");
                    }
                }
            }
        }
    }

    /// The portable kernels are what wasm computes, bit for bit; natively on x86-64 the fused
    /// kernels may differ from them in the last bits, so only closeness is checked there.
    #[test]
    fn portable_kernels_agree_with_the_dispatched_ones() {
        let (m, n, depth) = (13, 77, 40);
        let a = random(m * depth, 8);
        let b = random(depth * n, 9);
        let mut fast = vec![0.0; m * n];
        let mut portable = vec![0.0; m * n];
        broadcast_product(m, n, depth, Strided::rows(&a, depth), &b, n, &mut fast, n, Write::Overwrite);
        broadcast_product_portable(m, n, depth, Strided::rows(&a, depth), &b, n, &mut portable, n, Write::Overwrite);
        for (x, y) in fast.iter().zip(&portable) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
        let mut fast = vec![0.0; m * m];
        let mut portable = vec![0.0; m * m];
        dot_product(m, m, depth, &a, depth, &a, depth, &mut fast, m, false);
        dot_product_portable(m, m, depth, &a, depth, &a, depth, &mut portable, m, false);
        for (x, y) in fast.iter().zip(&portable) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }

    #[test]
    #[should_panic(expected = "needs")]
    fn a_matrix_larger_than_its_buffer_is_refused() {
        let a = [0.0; 5];
        let b = [0.0; 6];
        let mut c = [0.0; 4];
        broadcast_product(2, 2, 3, Strided::rows(&a, 3), &b, 2, &mut c, 2, Write::Overwrite);
    }
}
