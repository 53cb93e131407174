//! How the engine is made fast. Nothing here changes what a layer computes (that is in the layer
//! files one folder up: `conv.rs`, `max_pool.rs`, …); it changes how: the order of loops, the
//! layout of buffers, vector instructions, and the choice between equivalent algorithms. Every
//! fast path is checked against plain code in the tests, bit for bit where the arithmetic is the
//! same, within rounding where it is not. All of the engine's `unsafe` code lives here.
//!
//! - `kernels`: the two register-tiled matrix products convolutions and dense layers run on.
//! - `simd`: the vector types those kernels are written with (wasm simd128, AVX2, AVX-512, and a
//!   portable four-lane one with wasm's arithmetic).
//! - `im2col`: unrolling images into columns and folding them back (the moves behind a
//!   convolution's products).
//! - `winograd`: Winograd's F(2×2, 3×3) and F(4×4, 3×3), fewer multiplications for 3×3 layers.
//! - `policy`: which of those ways a layer takes, by its shape and the machine.
//! - `max_pool`: max-pooling four windows at a time.
//! - `sums`: the gradient through a ReLU and the bias sums, in a fixed vectorising order.
//! - `gemm`: a general matrix product through ndarray, the benchmark's point of comparison.

pub mod gemm;
pub(crate) mod im2col;
pub mod kernels;
pub mod max_pool;
pub(crate) mod policy;
pub(crate) mod simd;
pub(crate) mod sums;
pub mod winograd;
