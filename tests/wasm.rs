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
fn corrupt_files_are_errors_not_panics_in_wasm() {
    let labels = idx::encode_labels(&[1, 2, 3]);
    let images = idx::encode_images(3, 28, 28, &[0; 3 * 784]);
    let err = Mnist::from_files(&images[..100], &labels, &images, &labels).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    let err = Mnist::from_files(&labels, &labels, &images, &labels).unwrap_err();
    assert!(err.to_string().contains("wrong magic number"), "{err}");
}
