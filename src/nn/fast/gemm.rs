//! Matrix products on flat row-major buffers, through ndarray (and so matrixmultiply, which has
//! AVX/FMA kernels natively and a simd128 kernel in wasm). Transposes are free: they are strides.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

/// A row-major matrix of `rows × cols` entries starting at `data[0]`, rows `stride` apart
/// (a block of columns of a wider matrix has `stride` > `cols`), optionally read transposed.
#[derive(Clone, Copy)]
pub struct Mat<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub stride: usize,
    pub transposed: bool,
}

fn shape(rows: usize, cols: usize, stride: usize) -> ndarray::StrideShape<ndarray::Ix2> {
    use ndarray::ShapeBuilder;
    (rows, cols).strides((stride, 1))
}

fn span(rows: usize, cols: usize, stride: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * stride + cols
    }
}

impl<'a> Mat<'a> {
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self { data, rows, cols, stride: cols, transposed: false }
    }
    /// Columns `first..first + cols` of the row-major `rows × full_cols` matrix in `data`.
    pub fn columns(data: &'a [f32], rows: usize, full_cols: usize, first: usize, cols: usize) -> Self {
        Self { data: &data[first..], rows, cols, stride: full_cols, transposed: false }
    }
    /// The same storage read as its transpose.
    pub fn t(self) -> Self {
        Self { transposed: !self.transposed, ..self }
    }
    fn view(&self) -> ArrayView2<'a, f32> {
        let len = span(self.rows, self.cols, self.stride);
        let v = ArrayView2::from_shape(shape(self.rows, self.cols, self.stride), &self.data[..len]).expect("matrix shape matches its buffer");
        if self.transposed {
            v.reversed_axes()
        } else {
            v
        }
    }
}

/// `c = alpha · a · b + beta · c`, where `c` is row-major `m × n`.
pub fn gemm(alpha: f32, a: Mat<'_>, b: Mat<'_>, beta: f32, c: &mut [f32], m: usize, n: usize) {
    gemm_strided(alpha, a, b, beta, c, m, n, n);
}

/// As `gemm`, into an `m × n` block whose rows are `stride` apart in `c`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_strided(alpha: f32, a: Mat<'_>, b: Mat<'_>, beta: f32, c: &mut [f32], m: usize, n: usize, stride: usize) {
    let a = a.view();
    let b = b.view();
    debug_assert_eq!(a.dim(), (m, b.dim().0), "inner dimensions agree");
    debug_assert_eq!(b.dim().1, n);
    let len = span(m, n, stride);
    let mut c = ArrayViewMut2::from_shape(shape(m, n, stride), &mut c[..len]).expect("output shape matches its buffer");
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
        // Columns 1..3 of a 2×3 matrix times a 2×2, into columns 1..3 of a 2×4 output.
        let wide = [9., 1., 2., 9., 3., 4.];
        let mut out = [0.0f32; 8];
        gemm_strided(1.0, Mat::columns(&wide, 2, 3, 1, 2), Mat::new(&[1., 0., 0., 1.], 2, 2), 0.0, &mut out[1..], 2, 2, 4);
        assert_eq!(out, [0., 1., 2., 0., 0., 3., 4., 0.]);
    }
}
