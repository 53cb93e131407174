//! A small vector type for the convolution kernels (`kernels.rs`), with one implementation per
//! target: WebAssembly simd128 (4 lanes, multiply then add), x86-64 AVX2 with FMA (8 lanes,
//! fused) and AVX-512 (16 lanes, fused), chosen at run time, and portable scalar code with
//! exactly the wasm arithmetic.
//!
//! Why the wasm one never fuses: `f32x4.relaxed_madd` would be faster, but whether it rounds once
//! or twice depends on the machine, and a shared link must give the same accuracies on every
//! machine. The portable `Lanes4` does lane for lane what simd128 does, so tests can hold the
//! wasm kernels to it bit for bit.

/// A vector of `LANES` f32 values. Every method is `unsafe` because loads and stores take raw
/// pointers: the caller guarantees `LANES` readable (writable) values at the pointer.
pub trait Vector: Copy {
    const LANES: usize;
    /// One lane with the same arithmetic, for the columns left over after the last full vector
    /// (so a value never depends on where its column falls in a tile).
    type One: Vector;
    fn zero() -> Self;
    /// `LANES` values from `p`, no alignment required.
    unsafe fn load(p: *const f32) -> Self;
    /// One value from `p` in every lane.
    unsafe fn splat(p: *const f32) -> Self;
    unsafe fn store(self, p: *mut f32);
    /// `self + a · b` — rounded twice except in the fused (native FMA) implementation.
    fn mul_add(self, a: Self, b: Self) -> Self;
    fn add(self, other: Self) -> Self;
    fn sub(self, other: Self) -> Self;
    /// Negative lanes set to zero.
    fn relu(self) -> Self;
    /// The lanes' sum, always in the same order: pairs, then pairs of pairs.
    fn sum(self) -> f32;
}

/// Moving values between the lanes of four-lane vectors (Winograd's output transform turns
/// its tile-per-lane results into rows of outputs with these).
pub trait Shuffle4: Vector {
    /// a0 b0 a1 b1, and a2 b2 a3 b3.
    fn interleave(a: Self, b: Self) -> (Self, Self);
    /// a0 a1 b0 b1, and a2 a3 b2 b3.
    fn interleave_pairs(a: Self, b: Self) -> (Self, Self);
}

/// One lane: the kernels' column tails.
impl Vector for f32 {
    const LANES: usize = 1;
    type One = f32;
    #[inline(always)]
    fn zero() -> Self {
        0.0
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        *p
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> Self {
        *p
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        *p = self;
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        // Spelled out: f32's own `mul_add` is the fused one.
        self + a * b
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        self + other
    }
    #[inline(always)]
    fn sub(self, other: Self) -> Self {
        self - other
    }
    #[inline(always)]
    fn relu(self) -> Self {
        // A comparison, not `f32::max`, which is a libm call in wasm.
        if self > 0.0 {
            self
        } else {
            0.0
        }
    }
    #[inline(always)]
    fn sum(self) -> f32 {
        self
    }
}

/// Four lanes in plain Rust, rounding exactly as simd128 does.
#[derive(Clone, Copy)]
pub struct Lanes4([f32; 4]);

impl Vector for Lanes4 {
    const LANES: usize = 4;
    type One = f32;
    #[inline(always)]
    fn zero() -> Self {
        Self([0.0; 4])
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        Self([*p, *p.add(1), *p.add(2), *p.add(3)])
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> Self {
        Self([*p; 4])
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        for (i, v) in self.0.into_iter().enumerate() {
            *p.add(i) = v;
        }
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        Self(std::array::from_fn(|i| self.0[i] + a.0[i] * b.0[i]))
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        Self(std::array::from_fn(|i| self.0[i] + other.0[i]))
    }
    #[inline(always)]
    fn sub(self, other: Self) -> Self {
        Self(std::array::from_fn(|i| self.0[i] - other.0[i]))
    }
    #[inline(always)]
    fn relu(self) -> Self {
        Self(self.0.map(|v| v.relu()))
    }
    #[inline(always)]
    fn sum(self) -> f32 {
        (self.0[0] + self.0[1]) + (self.0[2] + self.0[3])
    }
}

impl Shuffle4 for Lanes4 {
    #[inline(always)]
    fn interleave(a: Self, b: Self) -> (Self, Self) {
        let (a, b) = (a.0, b.0);
        (Self([a[0], b[0], a[1], b[1]]), Self([a[2], b[2], a[3], b[3]]))
    }
    #[inline(always)]
    fn interleave_pairs(a: Self, b: Self) -> (Self, Self) {
        let (a, b) = (a.0, b.0);
        (Self([a[0], a[1], b[0], b[1]]), Self([a[2], a[3], b[2], b[3]]))
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use wasm::Simd128;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm {
    use super::Vector;
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub struct Simd128(v128);

    impl Vector for Simd128 {
        const LANES: usize = 4;
        type One = f32;
        #[inline(always)]
        fn zero() -> Self {
            Self(f32x4_splat(0.0))
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            Self(v128_load(p as *const v128))
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> Self {
            // `v128.load32_splat`: a broadcast load (vbroadcastss), not a shuffle.
            Self(v128_load32_splat(p as *const u32))
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            v128_store(p as *mut v128, self.0)
        }
        #[inline(always)]
        fn mul_add(self, a: Self, b: Self) -> Self {
            Self(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }
        #[inline(always)]
        fn add(self, other: Self) -> Self {
            Self(f32x4_add(self.0, other.0))
        }
        #[inline(always)]
        fn sub(self, other: Self) -> Self {
            Self(f32x4_sub(self.0, other.0))
        }
        #[inline(always)]
        fn relu(self) -> Self {
            // Lanes > 0 keep their value, the rest (zeros, negatives, NaN) become +0, as the
            // scalar comparison does.
            Self(v128_and(self.0, f32x4_gt(self.0, f32x4_splat(0.0))))
        }
        #[inline(always)]
        fn sum(self) -> f32 {
            let v = self.0;
            (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v)) + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
        }
    }

    impl super::Shuffle4 for Simd128 {
        #[inline(always)]
        fn interleave(a: Self, b: Self) -> (Self, Self) {
            (Self(i32x4_shuffle::<0, 4, 1, 5>(a.0, b.0)), Self(i32x4_shuffle::<2, 6, 3, 7>(a.0, b.0)))
        }
        #[inline(always)]
        fn interleave_pairs(a: Self, b: Self) -> (Self, Self) {
            (Self(i32x4_shuffle::<0, 1, 4, 5>(a.0, b.0)), Self(i32x4_shuffle::<2, 3, 6, 7>(a.0, b.0)))
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub use x86::{Avx2Fma, Avx2Pair, Avx512, Fused};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Vector;
    use core::arch::x86_64::*;

    /// Eight lanes with fused multiply-add. Only valid inside functions compiled with
    /// `#[target_feature(enable = "avx2,fma")]`, called after `is_x86_feature_detected!`.
    #[derive(Clone, Copy)]
    pub struct Avx2Fma(__m256);

    impl Vector for Avx2Fma {
        const LANES: usize = 8;
        type One = Fused;
        #[inline(always)]
        fn zero() -> Self {
            // SAFETY: only reached from avx2+fma functions (see the type's comment).
            Self(unsafe { _mm256_setzero_ps() })
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            Self(_mm256_loadu_ps(p))
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> Self {
            Self(_mm256_broadcast_ss(&*p))
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            _mm256_storeu_ps(p, self.0)
        }
        #[inline(always)]
        fn mul_add(self, a: Self, b: Self) -> Self {
            // SAFETY: as `zero`.
            Self(unsafe { _mm256_fmadd_ps(a.0, b.0, self.0) })
        }
        #[inline(always)]
        fn add(self, other: Self) -> Self {
            // SAFETY: as `zero`.
            Self(unsafe { _mm256_add_ps(self.0, other.0) })
        }
        #[inline(always)]
        fn sub(self, other: Self) -> Self {
            // SAFETY: as `zero`.
            Self(unsafe { _mm256_sub_ps(self.0, other.0) })
        }
        #[inline(always)]
        fn relu(self) -> Self {
            // SAFETY: as `zero`.
            unsafe { Self(_mm256_and_ps(self.0, _mm256_cmp_ps::<_CMP_GT_OQ>(self.0, _mm256_setzero_ps()))) }
        }
        #[inline(always)]
        fn sum(self) -> f32 {
            // SAFETY: as `zero`.
            unsafe {
                let mut l = [0.0f32; 8];
                _mm256_storeu_ps(l.as_mut_ptr(), self.0);
                ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
            }
        }
    }

    /// Sixteen lanes with fused multiply-add. Only valid inside functions compiled with
    /// `#[target_feature(enable = "avx512f")]`, called after `is_x86_feature_detected!`.
    #[derive(Clone, Copy)]
    pub struct Avx512(__m512);

    impl Vector for Avx512 {
        const LANES: usize = 16;
        type One = Fused;
        #[inline(always)]
        fn zero() -> Self {
            // SAFETY: only reached from avx512f functions (see the type's comment).
            Self(unsafe { _mm512_setzero_ps() })
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            Self(_mm512_loadu_ps(p))
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> Self {
            Self(_mm512_set1_ps(*p))
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            _mm512_storeu_ps(p, self.0)
        }
        #[inline(always)]
        fn mul_add(self, a: Self, b: Self) -> Self {
            // SAFETY: as `zero`.
            Self(unsafe { _mm512_fmadd_ps(a.0, b.0, self.0) })
        }
        #[inline(always)]
        fn add(self, other: Self) -> Self {
            // SAFETY: as `zero`.
            Self(unsafe { _mm512_add_ps(self.0, other.0) })
        }
        #[inline(always)]
        fn sub(self, other: Self) -> Self {
            // SAFETY: as `zero`.
            Self(unsafe { _mm512_sub_ps(self.0, other.0) })
        }
        #[inline(always)]
        fn relu(self) -> Self {
            // SAFETY: as `zero`.
            unsafe { Self(_mm512_maskz_mov_ps(_mm512_cmp_ps_mask::<_CMP_GT_OQ>(self.0, _mm512_setzero_ps()), self.0)) }
        }
        #[inline(always)]
        fn sum(self) -> f32 {
            // SAFETY: as `zero`.
            unsafe {
                let mut l = [0.0f32; 16];
                _mm512_storeu_ps(l.as_mut_ptr(), self.0);
                let quad = |q: &[f32]| (q[0] + q[1]) + (q[2] + q[3]);
                (quad(&l[0..4]) + quad(&l[4..8])) + (quad(&l[8..12]) + quad(&l[12..16]))
            }
        }
    }

    /// Two eight-lane vectors acting as one of sixteen lanes (lanes 0–7, then 8–15), so that
    /// AVX2 keeps AVX-512's summation order where a kernel's lane count sets it (the dot
    /// product): the same fused arithmetic per lane, and `sum` is `Avx512::sum`'s tree — each
    /// half's quads paired, then the two halves added.
    #[derive(Clone, Copy)]
    pub struct Avx2Pair(Avx2Fma, Avx2Fma);

    impl Vector for Avx2Pair {
        const LANES: usize = 16;
        type One = Fused;
        #[inline(always)]
        fn zero() -> Self {
            Self(Avx2Fma::zero(), Avx2Fma::zero())
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            Self(Avx2Fma::load(p), Avx2Fma::load(p.add(8)))
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> Self {
            Self(Avx2Fma::splat(p), Avx2Fma::splat(p))
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            self.0.store(p);
            self.1.store(p.add(8));
        }
        #[inline(always)]
        fn mul_add(self, a: Self, b: Self) -> Self {
            Self(self.0.mul_add(a.0, b.0), self.1.mul_add(a.1, b.1))
        }
        #[inline(always)]
        fn add(self, other: Self) -> Self {
            Self(self.0.add(other.0), self.1.add(other.1))
        }
        #[inline(always)]
        fn sub(self, other: Self) -> Self {
            Self(self.0.sub(other.0), self.1.sub(other.1))
        }
        #[inline(always)]
        fn relu(self) -> Self {
            Self(self.0.relu(), self.1.relu())
        }
        #[inline(always)]
        fn sum(self) -> f32 {
            self.0.sum() + self.1.sum()
        }
    }

    /// One lane, fused like `Avx2Fma` (a single `vfmadd` inside avx2+fma functions).
    #[derive(Clone, Copy)]
    pub struct Fused(f32);

    impl Vector for Fused {
        const LANES: usize = 1;
        type One = Fused;
        #[inline(always)]
        fn zero() -> Self {
            Self(0.0)
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            Self(*p)
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> Self {
            Self(*p)
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            *p = self.0;
        }
        #[inline(always)]
        fn mul_add(self, a: Self, b: Self) -> Self {
            Self(a.0.mul_add(b.0, self.0))
        }
        #[inline(always)]
        fn add(self, other: Self) -> Self {
            Self(self.0 + other.0)
        }
        #[inline(always)]
        fn sub(self, other: Self) -> Self {
            Self(self.0 - other.0)
        }
        #[inline(always)]
        fn relu(self) -> Self {
            Self(Vector::relu(self.0))
        }
        #[inline(always)]
        fn sum(self) -> f32 {
            self.0
        }
    }
}

/// Four-lane operations beyond `Vector`'s arithmetic — lane masks and shuffles — for the
/// element-wise steps around the kernels (max-pooling, the gradient through a ReLU). Each is
/// the same operation, bit for bit, in wasm simd128 and in SSE2, which every x86-64 has.
#[cfg(any(all(target_arch = "wasm32", target_feature = "simd128"), target_arch = "x86_64"))]
pub(crate) mod four {
    #[cfg(target_arch = "wasm32")]
    pub use wasm::*;
    #[cfg(target_arch = "x86_64")]
    pub use x86::*;

    /// In wasm simd128.
    #[cfg(target_arch = "wasm32")]
    mod wasm {
        pub use core::arch::wasm32::v128 as V;
        use core::arch::wasm32::*;
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> V {
            v128_load(p as *const V)
        }
        #[inline(always)]
        pub unsafe fn store(p: *mut f32, v: V) {
            v128_store(p as *mut V, v)
        }
        /// `b` where `a < b`, else `a`.
        #[inline(always)]
        pub fn pmax(a: V, b: V) -> V {
            f32x4_pmax(a, b)
        }
        /// Lanes 0, 2 of `a` then of `b`.
        #[inline(always)]
        pub fn evens(a: V, b: V) -> V {
            i32x4_shuffle::<0, 2, 4, 6>(a, b)
        }
        #[inline(always)]
        pub fn odds(a: V, b: V) -> V {
            i32x4_shuffle::<1, 3, 5, 7>(a, b)
        }
        /// a0 b0 a1 b1.
        #[inline(always)]
        pub fn interleave_low(a: V, b: V) -> V {
            i32x4_shuffle::<0, 4, 1, 5>(a, b)
        }
        /// a2 b2 a3 b3.
        #[inline(always)]
        pub fn interleave_high(a: V, b: V) -> V {
            i32x4_shuffle::<2, 6, 3, 7>(a, b)
        }
        #[inline(always)]
        pub fn equal(a: V, b: V) -> V {
            f32x4_eq(a, b)
        }
        /// `a` and not `b`.
        #[inline(always)]
        pub fn and_not(a: V, b: V) -> V {
            v128_andnot(a, b)
        }
        #[inline(always)]
        pub fn and(a: V, b: V) -> V {
            v128_and(a, b)
        }
        #[inline(always)]
        pub fn or(a: V, b: V) -> V {
            v128_or(a, b)
        }
        #[inline(always)]
        pub fn all_ones() -> V {
            i32x4_splat(-1)
        }
        #[inline(always)]
        pub fn greater(a: V, b: V) -> V {
            f32x4_gt(a, b)
        }
        #[inline(always)]
        pub fn zero() -> V {
            f32x4_splat(0.0)
        }
        #[inline(always)]
        pub fn add(a: V, b: V) -> V {
            f32x4_add(a, b)
        }
        #[inline(always)]
        pub fn lanes(v: V) -> [f32; 4] {
            [f32x4_extract_lane::<0>(v), f32x4_extract_lane::<1>(v), f32x4_extract_lane::<2>(v), f32x4_extract_lane::<3>(v)]
        }
    }

    /// In SSE2 (part of every x86-64), bit for bit the wasm operations.
    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use core::arch::x86_64::*;
        pub type V = __m128;
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> V {
            _mm_loadu_ps(p)
        }
        #[inline(always)]
        pub unsafe fn store(p: *mut f32, v: V) {
            _mm_storeu_ps(p, v)
        }
        /// `maxps(b, a)` is `b > a ? b : a`: wasm's `pmax(a, b)`, NaN and ties included.
        #[inline(always)]
        pub fn pmax(a: V, b: V) -> V {
            // SAFETY: SSE2 is part of x86-64.
            unsafe { _mm_max_ps(b, a) }
        }
        #[inline(always)]
        pub fn evens(a: V, b: V) -> V {
            // SAFETY: as above.
            unsafe { _mm_shuffle_ps::<0b10_00_10_00>(a, b) }
        }
        #[inline(always)]
        pub fn odds(a: V, b: V) -> V {
            // SAFETY: as above.
            unsafe { _mm_shuffle_ps::<0b11_01_11_01>(a, b) }
        }
        #[inline(always)]
        pub fn interleave_low(a: V, b: V) -> V {
            // SAFETY: as above.
            unsafe { _mm_unpacklo_ps(a, b) }
        }
        #[inline(always)]
        pub fn interleave_high(a: V, b: V) -> V {
            // SAFETY: as above.
            unsafe { _mm_unpackhi_ps(a, b) }
        }
        #[inline(always)]
        pub fn equal(a: V, b: V) -> V {
            // SAFETY: as above.
            unsafe { _mm_cmpeq_ps(a, b) }
        }
        #[inline(always)]
        pub fn and_not(a: V, b: V) -> V {
            // SAFETY: as above. (`andnps(b, a)` is `!b & a`.)
            unsafe { _mm_andnot_ps(b, a) }
        }
        #[inline(always)]
        pub fn and(a: V, b: V) -> V {
            // SAFETY: as above.
            unsafe { _mm_and_ps(a, b) }
        }
        #[inline(always)]
        pub fn or(a: V, b: V) -> V {
            // SAFETY: as above.
            unsafe { _mm_or_ps(a, b) }
        }
        #[inline(always)]
        pub fn all_ones() -> V {
            // SAFETY: as above.
            unsafe { _mm_castsi128_ps(_mm_set1_epi32(-1)) }
        }
        #[inline(always)]
        pub fn greater(a: V, b: V) -> V {
            // SAFETY: as above.
            unsafe { _mm_cmpgt_ps(a, b) }
        }
        #[inline(always)]
        pub fn zero() -> V {
            // SAFETY: as above.
            unsafe { _mm_setzero_ps() }
        }
        #[inline(always)]
        pub fn add(a: V, b: V) -> V {
            // SAFETY: as above.
            unsafe { _mm_add_ps(a, b) }
        }
        #[inline(always)]
        pub fn lanes(v: V) -> [f32; 4] {
            let mut l = [0.0f32; 4];
            // SAFETY: as above; four writable values.
            unsafe { _mm_storeu_ps(l.as_mut_ptr(), v) };
            l
        }
    }
}
