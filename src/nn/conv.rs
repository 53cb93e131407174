//! 3×3 convolution, stride 1, "same" zero padding, with bias and ReLU fused in.
//!
//! Forward by im2col: the batch's input `C × B × H × W` is unrolled into a `9C × BHW` matrix
//! whose column for pixel (b, y, x) holds its 3×3 neighbourhood in every channel, and the output
//! `F × BHW` is one matrix product `W (F × 9C) · cols`. Backward reuses the same unrolled matrix:
//! dW = dZ · colsᵀ, and d(cols) = Wᵀ · dZ folded back onto the image (col2im).

use super::gemm::{gemm, Mat};
use super::layer::{ensure_len, init_uniform, Layer, ParamTensor, Pass};
use crate::rng::Rng64;

pub struct Conv3x3 {
    pub in_channels: usize,
    pub filters: usize,
    pub height: usize,
    pub width: usize,
    pub relu: bool,
    /// `filters × (in_channels · 9)`, row-major; column index is `c·9 + ky·3 + kx`.
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

impl Conv3x3 {
    pub fn new(in_channels: usize, filters: usize, height: usize, width: usize, relu: bool, rng: &mut Rng64) -> Self {
        let k = in_channels * 9;
        let mut weights = vec![0.0; filters * k];
        init_uniform(&mut weights, k, relu, rng);
        Self {
            in_channels,
            filters,
            height,
            width,
            relu,
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

    fn plane(&self) -> usize {
        self.height * self.width
    }
}

/// Unroll `input` (`C × B × H × W`) into `cols` (`9C × BHW`).
fn im2col(input: &[f32], channels: usize, batch: usize, h: usize, w: usize, cols: &mut [f32]) {
    let n = batch * h * w;
    for c in 0..channels {
        for ky in 0..3 {
            for kx in 0..3 {
                let row = &mut cols[(c * 9 + ky * 3 + kx) * n..][..n];
                let dx = kx as isize - 1;
                // Columns x where x + dx stays inside the image.
                let x_lo = (-dx).max(0) as usize;
                let x_hi = (w as isize - dx).min(w as isize) as usize;
                for b in 0..batch {
                    let src_plane = &input[(c * batch + b) * h * w..][..h * w];
                    for y in 0..h {
                        let dst = &mut row[(b * h + y) * w..][..w];
                        let sy = y as isize + ky as isize - 1;
                        if sy < 0 || sy >= h as isize {
                            dst.fill(0.0);
                            continue;
                        }
                        let src = &src_plane[sy as usize * w..][..w];
                        dst[..x_lo].fill(0.0);
                        dst[x_hi..].fill(0.0);
                        let s0 = (x_lo as isize + dx) as usize;
                        dst[x_lo..x_hi].copy_from_slice(&src[s0..s0 + (x_hi - x_lo)]);
                    }
                }
            }
        }
    }
}

/// Fold `cols` (`9C × BHW`) back onto an image gradient (`C × B × H × W`), summing overlaps.
fn col2im(cols: &[f32], channels: usize, batch: usize, h: usize, w: usize, out: &mut [f32]) {
    out.fill(0.0);
    let n = batch * h * w;
    for c in 0..channels {
        for ky in 0..3 {
            for kx in 0..3 {
                let row = &cols[(c * 9 + ky * 3 + kx) * n..][..n];
                let dx = kx as isize - 1;
                let x_lo = (-dx).max(0) as usize;
                let x_hi = (w as isize - dx).min(w as isize) as usize;
                for b in 0..batch {
                    let dst_plane = &mut out[(c * batch + b) * h * w..][..h * w];
                    for y in 0..h {
                        let sy = y as isize + ky as isize - 1;
                        if sy < 0 || sy >= h as isize {
                            continue;
                        }
                        let src = &row[(b * h + y) * w..][..w];
                        let s0 = (x_lo as isize + dx) as usize;
                        let dst = &mut dst_plane[sy as usize * w + s0..][..x_hi - x_lo];
                        for (d, s) in dst.iter_mut().zip(&src[x_lo..x_hi]) {
                            *d += s;
                        }
                    }
                }
            }
        }
    }
}

impl Layer for Conv3x3 {
    fn describe(&self) -> String {
        format!("conv 3×3, {} filters", self.filters)
    }
    fn input_len(&self) -> usize {
        self.in_channels * self.plane()
    }
    fn output_len(&self) -> usize {
        self.filters * self.plane()
    }

    fn forward(&mut self, input: &[f32], batch: usize, _pass: &mut Pass<'_>) {
        let k = self.in_channels * 9;
        let n = batch * self.plane();
        ensure_len(&mut self.cols, k * n);
        ensure_len(&mut self.output, self.filters * n);
        im2col(input, self.in_channels, batch, self.height, self.width, &mut self.cols);
        gemm(1.0, Mat::new(&self.weights, self.filters, k), Mat::new(&self.cols, k, n), 0.0, &mut self.output, self.filters, n);
        for (f, row) in self.output.chunks_exact_mut(n).enumerate() {
            let b = self.bias[f];
            if self.relu {
                row.iter_mut().for_each(|v| *v = (*v + b).max(0.0));
            } else {
                row.iter_mut().for_each(|v| *v += b);
            }
        }
    }

    fn output(&self) -> &[f32] {
        &self.output
    }

    fn backward(&mut self, _input: &[f32], grad_output: &[f32], batch: usize, need_grad_input: bool) {
        let k = self.in_channels * 9;
        let n = batch * self.plane();
        ensure_len(&mut self.grad_pre_activation, self.filters * n);
        // Through the ReLU: the gradient passes where the output was positive.
        if self.relu {
            for ((g, &d), &o) in self.grad_pre_activation.iter_mut().zip(&grad_output[..self.filters * n]).zip(&self.output) {
                *g = if o > 0.0 { d } else { 0.0 };
            }
        } else {
            self.grad_pre_activation.copy_from_slice(&grad_output[..self.filters * n]);
        }
        for (f, row) in self.grad_pre_activation.chunks_exact(n).enumerate() {
            self.grad_bias[f] = row.iter().sum();
        }
        gemm(1.0, Mat::new(&self.grad_pre_activation, self.filters, n), Mat::new(&self.cols, k, n).t(), 0.0, &mut self.grad_weights, self.filters, k);
        if need_grad_input {
            ensure_len(&mut self.grad_cols, k * n);
            ensure_len(&mut self.grad_input, self.in_channels * n);
            gemm(1.0, Mat::new(&self.weights, self.filters, k).t(), Mat::new(&self.grad_pre_activation, self.filters, n), 0.0, &mut self.grad_cols, k, n);
            col2im(&self.grad_cols, self.in_channels, batch, self.height, self.width, &mut self.grad_input);
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
        self.filters * self.in_channels * 9 * self.plane()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_for;

    /// Direct convolution, the obvious way, to check im2col against.
    fn direct(input: &[f32], c: usize, b: usize, h: usize, w: usize, weights: &[f32], bias: &[f32], f: usize) -> Vec<f32> {
        let mut out = vec![0.0; f * b * h * w];
        for fi in 0..f {
            for bi in 0..b {
                for y in 0..h {
                    for x in 0..w {
                        let mut s = bias[fi];
                        for ci in 0..c {
                            for ky in 0..3 {
                                for kx in 0..3 {
                                    let (sy, sx) = (y as isize + ky as isize - 1, x as isize + kx as isize - 1);
                                    if sy >= 0 && sy < h as isize && sx >= 0 && sx < w as isize {
                                        s += weights[fi * c * 9 + ci * 9 + ky * 3 + kx] * input[((ci * b + bi) * h + sy as usize) * w + sx as usize];
                                    }
                                }
                            }
                        }
                        out[((fi * b + bi) * h + y) * w + x] = s;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn im2col_matches_direct_convolution() {
        let mut rng = rng_for(1, 0);
        let (c, b, h, w, f) = (2, 3, 5, 4, 3);
        let mut conv = Conv3x3::new(c, f, h, w, false, &mut rng);
        conv.bias = vec![0.1, -0.2, 0.3];
        let input: Vec<f32> = (0..c * b * h * w).map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0).collect();
        conv.forward(&input, b, &mut Pass { training: true, rng: &mut rng });
        let expected = direct(&input, c, b, h, w, &conv.weights, &conv.bias, f);
        for (a, e) in conv.output().iter().zip(&expected) {
            assert!((a - e).abs() < 1e-5, "{a} vs {e}");
        }
    }
}
