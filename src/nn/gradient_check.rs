//! Numeric gradient checks: every layer's backward pass against central differences of its
//! forward pass, and the whole model's against the loss. The test loss is L = Σ out·r for a fixed
//! random r, so dL/dOut = r. Errors are compared as ‖analytic − numeric‖ / (‖analytic‖ + ‖numeric‖)
//! over all checked entries, which tolerates the odd ReLU kink crossed by a finite difference.

#![forbid(unsafe_code)]

use super::conv::{Conv2d, ConvShape};
use super::dense::Dense;
use super::dropout::Dropout;
use super::flatten::Flatten;
use super::layer::{Layer, Pass};
use super::loss::softmax_cross_entropy;
use super::max_pool::MaxPool2x2;
use super::model::Model;
use crate::rng::{rng_for, unit_f32, Rng64};

const EPS: f32 = 3e-3;
const TOLERANCE: f32 = 1e-2;

fn random_vec(n: usize, rng: &mut Rng64) -> Vec<f32> {
    (0..n).map(|_| unit_f32(rng) * 2.0 - 1.0).collect()
}

fn relative_error(a: &[f32], b: &[f32]) -> f32 {
    let diff: f32 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt();
    let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt() + b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm < 1e-12 {
        0.0
    } else {
        diff / norm
    }
}

/// L = Σ out·r (accumulated in f64), with dropout's mask fixed by reseeding its RNG for every
/// forward pass.
fn layer_loss(layer: &mut dyn Layer, input: &[f32], batch: usize, r: &[f32]) -> f32 {
    let mut rng = rng_for(99, 0);
    layer.forward(input, batch, &mut Pass { training: true, rng: &mut rng });
    layer.output().iter().zip(r).map(|(&o, &w)| o as f64 * w as f64).sum::<f64>() as f32
}

/// Which outputs are positive: a finite difference that flips one of these crossed a ReLU kink,
/// where the function has no derivative, so that entry is not compared (as in cs231n's notes).
fn active(layer: &dyn Layer, relu: bool) -> Vec<bool> {
    if relu {
        layer.output().iter().map(|&o| o > 0.0).collect()
    } else {
        Vec::new()
    }
}

fn get_param(layer: &mut dyn Layer, tensor: usize, index: usize) -> f32 {
    let (mut t, mut out) = (0, 0.0);
    layer.visit_params(&mut |p| {
        if t == tensor {
            out = p.values[index];
        }
        t += 1;
    });
    out
}

fn set_param(layer: &mut dyn Layer, tensor: usize, index: usize, value: f32) {
    let mut t = 0;
    layer.visit_params(&mut |p| {
        if t == tensor {
            p.values[index] = value;
        }
        t += 1;
    });
}

/// `relu`: whether the layer ends in a ReLU, whose kinks finite differences must avoid.
fn check_layer(layer: &mut dyn Layer, batch: usize, seed: u64, relu: bool) {
    let mut rng = rng_for(seed, 5);
    let input = random_vec(batch * layer.input_len(), &mut rng);
    let r = random_vec(batch * layer.output_len(), &mut rng);
    layer_loss(layer, &input, batch, &r);
    let base_active = active(layer, relu);
    layer.backward(&input, &r, batch, true);
    let analytic_input = layer.grad_input().to_vec();
    let mut analytic_params: Vec<Vec<f32>> = Vec::new();
    layer.visit_params(&mut |p| analytic_params.push(p.grads.to_vec()));

    // Input gradient.
    let stride = (input.len() / 150).max(1);
    let (mut a, mut n) = (Vec::new(), Vec::new());
    for i in (0..input.len()).step_by(stride) {
        let mut x = input.clone();
        x[i] += EPS;
        let up = layer_loss(layer, &x, batch, &r);
        let up_active = active(layer, relu);
        x[i] -= 2.0 * EPS;
        let down = layer_loss(layer, &x, batch, &r);
        if up_active != base_active || active(layer, relu) != base_active {
            continue;
        }
        a.push(analytic_input[i]);
        n.push((up - down) / (2.0 * EPS));
    }
    assert!(a.len() * 2 >= input.len().div_ceil(stride), "most entries are checked");
    let err = relative_error(&a, &n);
    assert!(err < TOLERANCE, "{}: input gradient relative error {err}", layer.describe());

    // Parameter gradients.
    for (t, grads) in analytic_params.iter().enumerate() {
        let stride = (grads.len() / 100).max(1);
        let (mut a, mut n) = (Vec::new(), Vec::new());
        for i in (0..grads.len()).step_by(stride) {
            let w = get_param(layer, t, i);
            set_param(layer, t, i, w + EPS);
            let up = layer_loss(layer, &input, batch, &r);
            let up_active = active(layer, relu);
            set_param(layer, t, i, w - EPS);
            let down = layer_loss(layer, &input, batch, &r);
            set_param(layer, t, i, w);
            if up_active != base_active || active(layer, relu) != base_active {
                continue;
            }
            a.push(grads[i]);
            n.push((up - down) / (2.0 * EPS));
        }
        assert!(
            a.len() * 2 >= grads.len().div_ceil(stride),
            "{}: most entries of tensor {t} are checked ({} of {})",
            layer.describe(),
            a.len(),
            grads.len() / stride
        );
        let err = relative_error(&a, &n);
        assert!(err < TOLERANCE, "{}: parameter tensor {t} relative error {err}", layer.describe());
    }
}

#[test]
fn conv_gradients() {
    let mut rng = rng_for(1, 1);
    let shape = |in_channels, height, width, kernel, pad| ConvShape { in_channels, height, width, kernel, pad, even_output: false };
    for (in_channels, h, w, kernel, pad, filters, relu, batch) in [
        (2, 6, 5, 3, 1, 3, false, 2),
        (3, 4, 4, 3, 1, 4, true, 3),
        (1, 7, 7, 3, 1, 2, true, 1),
        (2, 8, 7, 5, 0, 3, true, 2),
        (3, 6, 6, 3, 0, 2, false, 2),
        (1, 6, 6, 5, 2, 2, true, 2),
    ] {
        check_layer(&mut Conv2d::new(shape(in_channels, h, w, kernel, pad), filters, relu, &mut rng), batch, kernel as u64 + pad as u64, relu);
    }
    // Blocks of one and of two images: dW summed over blocks, input gradients folded back per block.
    for images in [1, 2] {
        let s = shape(2, 5, 6, 3, 1);
        let conv = Conv2d::new(s, 3, false, &mut rng).with_chunk_values(images * s.patch_len() * 30);
        check_layer(&mut { conv }, 5, 20 + images as u64, false);
    }
}

#[test]
fn dense_gradients() {
    let mut rng = rng_for(2, 1);
    check_layer(&mut Dense::new(7, 5, false, &mut rng), 3, 4, false);
    check_layer(&mut Dense::new(12, 6, true, &mut rng), 4, 5, true);
}

#[test]
fn max_pool_flatten_dropout_gradients() {
    check_layer(&mut MaxPool2x2::new(2, 6, 4), 3, 6, false);
    check_layer(&mut MaxPool2x2::new(2, 5, 7), 2, 9, false);
    check_layer(&mut Flatten::new(3, 5), 2, 7, false);
    check_layer(&mut Dropout::new(0.3, 10), 4, 8, false);
}

#[test]
fn whole_model_gradients_against_the_loss() {
    use super::config::TrainConfig;
    let config = TrainConfig { conv_layers: 3, conv_filters: vec![3, 4, 2], dense_units: 8, ..Default::default() }.validate().unwrap();
    let mut model = Model::new(&config, &mut rng_for(3, 1));
    let batch = 2;
    let mut rng = rng_for(3, 2);
    let input = random_vec(batch * 784, &mut rng);
    let labels = [3u8, 8];
    let loss_at = |model: &mut Model, x: &[f32]| {
        model.load_raw(x);
        // Training mode (the backward pass needs it); this network has no dropout.
        let logits = model.forward(batch, &mut Pass { training: true, rng: &mut rng_for(0, 0) });
        softmax_cross_entropy(logits, &labels, 10, None).0
    };
    loss_at(&mut model, &input);
    model.backward(&labels);
    let mut analytic: Vec<Vec<f32>> = Vec::new();
    model.visit_params(&mut |p| analytic.push(p.grads.to_vec()));
    assert_eq!(analytic.len(), 10, "5 layers with weights and biases");
    for (t, grads) in analytic.iter().enumerate() {
        let stride = (grads.len() / 40).max(1);
        let (mut a, mut n) = (Vec::new(), Vec::new());
        for i in (0..grads.len()).step_by(stride) {
            let nudge = |model: &mut Model, delta: f32| {
                let mut k = 0;
                model.visit_params(&mut |p| {
                    if k == t {
                        p.values[i] += delta;
                    }
                    k += 1;
                });
            };
            nudge(&mut model, EPS);
            let up = loss_at(&mut model, &input);
            nudge(&mut model, -2.0 * EPS);
            let down = loss_at(&mut model, &input);
            nudge(&mut model, EPS);
            a.push(grads[i]);
            n.push((up - down) / (2.0 * EPS));
        }
        let err = relative_error(&a, &n);
        assert!(err < 3.0 * TOLERANCE, "model tensor {t}: relative error {err}");
    }
}
