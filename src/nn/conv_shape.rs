//! The geometry of a k×k convolution with stride 1: input size, kernel and padding, and so the
//! output size. Shared by the layer (`conv.rs`) and the machinery that computes it (`fast/`).

#![forbid(unsafe_code)]

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
