//! The core compiled to wasm and run in headless Chromium, inside a dedicated web worker as the
//! app runs it (`wasm-bindgen-test-runner`; see the README's test command).
//! Checks that wasm reproduces the native golden numbers: initial weights bit for bit, training
//! within a small tolerance, and that runs repeat bit for bit.
#![cfg(target_arch = "wasm32")]

mod common;

use tunelab::data::{idx, Mnist};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
fn initial_weights_are_bit_identical_to_native() {
    assert_eq!(common::initial_parameter_sum_bits(), include!("golden/initial_sum_bits.txt"));
}

#[wasm_bindgen_test]
fn training_agrees_with_native_and_repeats_bit_for_bit() {
    let (loss, accuracy) = common::small_run();
    let golden_loss: f32 = include!("golden/validation_loss.txt");
    assert!((loss - golden_loss).abs() < 1e-3, "validation loss {loss} in wasm vs {golden_loss} natively");
    assert!(accuracy > 0.9);
    let (again, _) = common::small_run();
    assert_eq!(loss.to_bits(), again.to_bits());
}

#[wasm_bindgen_test]
fn a_checkpointed_run_resumes_bit_for_bit_in_wasm() {
    let (whole, resumed, _) = common::checkpoint_round_trip();
    assert_eq!(whole, resumed);
}

#[wasm_bindgen_test]
fn corrupt_files_are_errors_not_panics_in_wasm() {
    let labels = idx::encode_labels(&[1, 2, 3]);
    let images = idx::encode_images(3, 28, 28, &[0; 3 * 784]);
    let err = Mnist::from_files(&images[..100], &labels, &images, &labels).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    let err = Mnist::from_files(&labels, &labels, &images, &labels).unwrap_err();
    assert!(err.to_string().contains("wrong magic number"), "{err}");
}

/// The simd128 kernels compute exactly what their portable versions compute (multiply then
/// add, same order), so a browser on any machine gets the same bits.
#[wasm_bindgen_test]
fn simd_kernels_are_bit_identical_to_the_portable_ones() {
    use tunelab::nn::fast::kernels::*;
    let values = |len: usize, salt: usize| -> Vec<f32> { (0..len).map(|i| (((i * 7919 + salt * 104_729) % 2003) as f32 - 1001.0) / 997.0).collect() };
    for (m, n, depth) in [(1, 1, 1), (3, 5, 2), (6, 37, 25), (13, 77, 40), (32, 123, 144)] {
        let a = values(m * depth.max(n), 1);
        let b = values(depth * n.max(depth), 2);
        let bias = values(m, 3);
        for write in [Write::Overwrite, Write::Accumulate, Write::Bias { bias: &bias, relu: true }] {
            let mut fast = values(m * n, 4);
            let mut portable = fast.clone();
            broadcast_product(m, n, depth, Strided::rows(&a, depth), &b, n, &mut fast, n, write);
            broadcast_product_portable(m, n, depth, Strided::rows(&a, depth), &b, n, &mut portable, n, write);
            assert!(fast.iter().zip(&portable).all(|(x, y)| x.to_bits() == y.to_bits()), "broadcast {m}×{n}×{depth} {write:?}");
        }
        // m × depth dot products of rows of length n.
        let mut fast = vec![0.0; m * depth];
        let mut portable = fast.clone();
        dot_product(m, depth, n, &a, n, &b, n, &mut fast, depth, false);
        dot_product_portable(m, depth, n, &a, n, &b, n, &mut portable, depth, false);
        assert!(fast.iter().zip(&portable).all(|(x, y)| x.to_bits() == y.to_bits()), "dot {m}×{depth}×{n}");
    }
}

/// The simd128 max-pool (four windows at a time) gives exactly what the portable one gives,
/// forward and backward (with and without the ReLU's gradient), on values with many ties, at
/// widths that leave tails of every length.
#[wasm_bindgen_test]
fn simd_max_pool_is_bit_identical_to_the_portable_one() {
    use tunelab::nn::fast::max_pool::*;
    for (h, w) in [(2, 2), (7, 9), (8, 11), (13, 13), (26, 26), (4, 17)] {
        let planes = 5;
        let (oh, ow) = (h / 2, w / 2);
        let input: Vec<f32> = (0..planes * h * w).map(|i| ((i * 7919) % 5) as f32 - 2.0).collect();
        let grad: Vec<f32> = (0..planes * oh * ow).map(|i| i as f32 + 0.5).collect();
        let (mut fast, mut portable) = (vec![f32::NAN; planes * oh * ow], vec![f32::NAN; planes * oh * ow]);
        max_pool_forward(&input, planes, h, w, &mut fast);
        max_pool_forward_portable(&input, planes, h, w, &mut portable);
        assert!(fast.iter().zip(&portable).all(|(x, y)| x.to_bits() == y.to_bits()), "forward {h}×{w}");
        for relu in [false, true] {
            let (mut fast_grad, mut portable_grad) = (vec![f32::NAN; input.len()], vec![0.0; input.len()]);
            max_pool_backward(&input, &portable, &grad, planes, h, w, relu, &mut fast_grad);
            max_pool_backward_portable(&input, &portable, &grad, planes, h, w, relu, &mut portable_grad);
            assert!(fast_grad.iter().zip(&portable_grad).all(|(x, y)| x.to_bits() == y.to_bits()), "backward {h}×{w}, relu {relu}");
        }
    }
}

/// Winograd's simd128 transforms (F(4×4) on tfjs-example's second layer, F(2×2) on the default
/// net's 7×7 layers) give what im2col gives, forward and both gradients, up to rounding.
#[wasm_bindgen_test]
fn winograd_layers_agree_with_im2col_in_wasm() {
    use tunelab::nn::conv::{Conv2d, ConvShape};
    use tunelab::nn::layer::{Layer, Pass};
    let mut rng = tunelab::rng::rng_for(3, 0);
    for (channels, height, pad, filters) in [(16, 13, 0, 32), (32, 7, 1, 8)] {
        let shape = ConvShape { in_channels: channels, height, width: height, kernel: 3, pad, even_output: false };
        let batch = 5;
        let mut winograd = Conv2d::new(shape, filters, true, &mut rng);
        winograd.bias = (0..filters).map(|f| f as f32 * 0.01 - 0.02).collect();
        let mut im2col = Conv2d::new(shape, filters, true, &mut rng).without_winograd();
        im2col.weights = winograd.weights.clone();
        im2col.bias = winograd.bias.clone();
        let input: Vec<f32> = (0..winograd.input_len() * batch).map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0).collect();
        let grad: Vec<f32> = (0..winograd.output_len() * batch).map(|i| ((i * 13 % 7) as f32 - 3.0) / 5.0).collect();
        let mut results = Vec::new();
        for conv in [&mut winograd, &mut im2col] {
            conv.forward(&input, batch, &mut Pass { training: true, rng: &mut rng });
            conv.backward(&input, &grad, batch, true);
            let mut grads = Vec::new();
            conv.visit_params(&mut |p| grads.extend_from_slice(p.grads));
            results.push((conv.output().to_vec(), grads, conv.grad_input().to_vec()));
        }
        let close = |x: &[f32], y: &[f32], what: &str| {
            assert_eq!(x.len(), y.len());
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                assert!((p - q).abs() < 1e-4 * (1.0 + q.abs()), "{shape:?} {what}[{i}]: {p} vs {q}");
            }
        };
        close(&results[0].0, &results[1].0, "output");
        close(&results[0].1, &results[1].1, "parameter gradients");
        close(&results[0].2, &results[1].2, "input gradient");
    }
}
