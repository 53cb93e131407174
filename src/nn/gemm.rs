//! Matrix products on flat row-major buffers, through ndarray (and so matrixmultiply, which has
//! AVX/FMA kernels natively and a simd128 kernel in wasm). Transposes are free: they are strides.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

/// A row-major matrix stored in `data` with `rows × cols` entries, optionally read transposed.
#[derive(Clone, Copy)]
pub struct Mat<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub transposed: bool,
}

impl<'a> Mat<'a> {
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self { data, rows, cols, transposed: false }
    }
    /// The same storage read as its transpose.
    pub fn t(self) -> Self {
        Self { transposed: !self.transposed, ..self }
    }
    fn view(&self) -> ArrayView2<'a, f32> {
        let v = ArrayView2::from_shape((self.rows, self.cols), &self.data[..self.rows * self.cols]).expect("matrix shape matches its buffer");
        if self.transposed {
            v.reversed_axes()
        } else {
            v
        }
    }
}

/// `c = alpha · a · b + beta · c`, where `c` is row-major `m × n`.
pub fn gemm(alpha: f32, a: Mat<'_>, b: Mat<'_>, beta: f32, c: &mut [f32], m: usize, n: usize) {
    let a = a.view();
    let b = b.view();
    debug_assert_eq!(a.dim(), (m, b.dim().0), "inner dimensions agree");
    debug_assert_eq!(b.dim().1, n);
    let mut c = ArrayViewMut2::from_shape((m, n), &mut c[..m * n]).expect("output shape matches its buffer");
    general_mat_mul(alpha, &a, &b, beta, &mut c);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_with_and_without_transposes() {
        // a = [[1,2,3],[4,5,6]] (2×3), b = [[1,0],[0,1],[1,1]] (3×2)
        let a = [1., 2., 3., 4., 5., 6.];
        let b = [1., 0., 0., 1., 1., 1.];
        let mut c = [0.0f32; 4];
        gemm(1.0, Mat::new(&a, 2, 3), Mat::new(&b, 3, 2), 0.0, &mut c, 2, 2);
        assert_eq!(c, [4., 5., 10., 11.]);
        // aᵀ stored as 3×2 and read transposed gives the same product.
        let at = [1., 4., 2., 5., 3., 6.];
        let mut c2 = [1.0f32; 4];
        gemm(1.0, Mat::new(&at, 3, 2).t(), Mat::new(&b, 3, 2), 1.0, &mut c2, 2, 2);
        assert_eq!(c2, [5., 6., 11., 12.]);
    }
}
