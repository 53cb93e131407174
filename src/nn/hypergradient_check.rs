//! Checks of the learning rate's hypergradient (`LrHypergradient`, Baydin et al. 2018):
//!
//! - It is a derivative: hold the state before step t−1 fixed, take step t−1 with learning rate
//!   α and evaluate the regularised loss on batch t; the central difference of that loss in α
//!   equals −(g_t · d_{t−1}), the quantity the trainer moves α by — for every optimizer, with L2.
//! - It does what it is for: on a quadratic, from a learning rate too small α grows and from one
//!   too large it falls; on the CNN, from one far too small it grows to one that trains better.
//! - With β = 0 training is the plain optimizer's, bit for bit.

use super::config::{LrHypergradient, OptimizerKind, TrainConfig, ValidConfig};
use super::layer::{ParamTensor, Pass};
use super::optimizer::Optimizer;
use super::train::{AdaptedLr, Trainer, TrainingData};
use crate::data::mnist::ImagesRef;
use crate::experiment::synthetic_digits;
use crate::rng::rng_for;

fn config(optimizer: OptimizerKind, learning_rate: f32, step: f32) -> ValidConfig {
    TrainConfig {
        learning_rate,
        epochs: 50,
        batch_size: 16,
        conv_layers: 1,
        conv_filters: vec![3],
        dense_units: 8,
        dropout: 0.0,
        l2: 1e-2,
        optimizer,
        lr_hypergradient: Some(LrHypergradient { step, max: 10.0 }),
        ..TrainConfig::default()
    }
    .validate()
    .unwrap()
}

/// The batch's loss at the trainer's weights, with L2's λ/2·‖w‖² over the weights (not the
/// biases), in f64; the gradients are left in the model.
fn regularised_loss(trainer: &mut Trainer, data: ImagesRef<'_>, l2: f32) -> f64 {
    let indices: Vec<usize> = (0..data.len()).collect();
    trainer.model.load_batch(data, &indices);
    trainer.model.forward(indices.len(), &mut Pass { training: true, rng: &mut rng_for(0, 0) });
    let (loss, _) = trainer.model.backward(data.labels);
    let mut penalty = 0.0f64;
    trainer.model.visit_params(&mut |t| {
        if t.is_weight {
            penalty += t.values.iter().map(|&w| w as f64 * w as f64).sum::<f64>();
        }
    });
    loss as f64 + 0.5 * l2 as f64 * penalty
}

#[test]
fn the_learning_rates_hypergradient_is_the_derivative_of_the_next_loss() {
    let (pixels, labels) = synthetic_digits(16);
    let batch = ImagesRef { pixels: &pixels, labels: &labels };
    // One batch per epoch: every step trains on the same 16 images.
    let data = TrainingData::new(batch, None);
    let cases = [
        (OptimizerKind::Sgd, 0.05),
        (OptimizerKind::Momentum { momentum: 0.9 }, 0.02),
        (OptimizerKind::RmsProp { rho: 0.9, epsilon: 1e-7 }, 5e-4),
        (OptimizerKind::ADAM, 5e-4),
    ];
    for (optimizer, alpha) in cases {
        // β = 0: α stays put, and the directions are kept.
        let settings = config(optimizer, alpha, 0.0);
        let mut trainer = Trainer::new(&settings, 3);
        for _ in 0..3 {
            trainer.run_epoch(data).unwrap();
        }
        let before = trainer.checkpoint();
        // Step t−1 at α, then g_t · d_{t−1} at the weights it reached.
        let mut at = Trainer::resume(&before, &settings).unwrap();
        at.run_epoch(data).unwrap();
        regularised_loss(&mut at, batch, settings.l2);
        let (mut dot, mut index) = (0.0f64, 0);
        let optimizer_state = &at.optimizer;
        at.model.visit_params(&mut |t| {
            dot += optimizer_state.gradient_dot_last_direction(index, &t);
            index += 1;
        });
        // The loss after step t−1 taken at α ± ε.
        let eps = alpha * 0.01;
        let loss_at = |lr: f32| {
            // A fixed learning rate: the checkpoint's adapted one would otherwise go on.
            let fixed = TrainConfig { learning_rate: lr, lr_hypergradient: None, ..TrainConfig::clone(&settings) }.validate().unwrap();
            let mut moved = Trainer::resume(&before, &fixed).unwrap();
            moved.run_epoch(data).unwrap();
            regularised_loss(&mut moved, batch, settings.l2)
        };
        let numeric = (loss_at(alpha + eps) - loss_at(alpha - eps)) / (2.0 * eps as f64);
        let error = (numeric + dot).abs() / numeric.abs().max(dot.abs());
        assert!(error < 5e-3, "{optimizer:?}: d loss / d α = {numeric:.6}, −g·d = {:.6} ({:.2}% apart)", -dot, error * 100.0);
        assert!(dot.abs() > 1e-6, "{optimizer:?}: a hypergradient of {dot} checks nothing");
    }
}

/// SGD on f(θ) = ½ θᵀAθ with A = diag(1, 10): steps shorter than 2/10 converge, longer ones
/// oscillate ever wider along the steep axis. The trainer's own α update on the optimizer's own
/// directions: from far below 0.2 α grows; from above 0.2 it falls below it, and θ converges.
#[test]
fn on_a_quadratic_the_learning_rate_rises_from_too_small_and_falls_from_too_large() {
    let run = |alpha: f32| {
        let settings = LrHypergradient { step: 1e-3, max: 10.0 };
        let mut optimizer = Optimizer::new(OptimizerKind::Sgd, 0.0, 0.0);
        optimizer.record_directions();
        let mut adapted = AdaptedLr { alpha, trajectory: Vec::new(), clamped: 0 };
        let mut theta = [1.0f32, 1.0];
        for _ in 0..200 {
            let grads = [theta[0], 10.0 * theta[1]];
            optimizer.begin_step();
            let dot = optimizer.gradient_dot_last_direction(0, &ParamTensor { values: &mut theta.clone(), grads: &grads, is_weight: true });
            let lr = adapted.step(dot, settings);
            optimizer.update(lr, ParamTensor { values: &mut theta, grads: &grads, is_weight: true });
        }
        (adapted.alpha, theta)
    };
    let (from_small, _) = run(1e-3);
    assert!(from_small > 0.02, "from 0.001 it rose only to {from_small}");
    let (from_large, theta) = run(0.25);
    assert!(from_large < 0.2, "from 0.25 it is still {from_large}");
    assert!(theta.iter().all(|t| t.abs() < 0.1), "θ = {theta:?}: it converged once α fell");
}

/// On the CNN, from a learning rate far too small, α grows to one that trains better.
#[test]
fn on_the_cnn_the_learning_rate_grows_from_far_too_small_to_better() {
    let (pixels, labels) = synthetic_digits(160);
    let images = ImagesRef { pixels: &pixels, labels: &labels };
    let data = TrainingData::new(images, None);
    let train = |alpha: f32, step: Option<f32>| {
        let settings = TrainConfig {
            l2: 0.0,
            lr_hypergradient: step.map(|step| LrHypergradient { step, max: 10.0 }),
            ..TrainConfig::clone(&config(OptimizerKind::Sgd, alpha, 0.0))
        };
        let mut trainer = Trainer::new(&settings.validate().unwrap(), 1);
        let loss = (0..4).map(|_| trainer.run_epoch(data).unwrap().train_loss).last().unwrap();
        (loss, trainer.adapted_lr().map(|a| a.alpha))
    };
    let (_, reached) = train(1e-3, Some(2e-4));
    let reached = reached.unwrap();
    assert!(reached > 0.01, "from 0.001 it rose only to {reached}");
    let (at_start, _) = train(1e-3, None);
    let (at_reached, _) = train(reached, None);
    assert!(at_reached < at_start, "training loss at {reached}: {at_reached}; at 0.001: {at_start}");
}

#[test]
fn a_zero_step_trains_as_the_plain_optimizer_does() {
    let (pixels, labels) = synthetic_digits(64);
    let images = ImagesRef { pixels: &pixels, labels: &labels };
    let data = TrainingData::new(images, None);
    for optimizer in [OptimizerKind::Sgd, OptimizerKind::ADAM] {
        let adapted = config(optimizer, 0.01, 0.0);
        let plain = TrainConfig { lr_hypergradient: None, ..TrainConfig::clone(&adapted) }.validate().unwrap();
        let (mut a, mut b) = (Trainer::new(&adapted, 2), Trainer::new(&plain, 2));
        let ra: Vec<_> = (0..2).map(|_| a.run_epoch(data).unwrap()).collect();
        let rb: Vec<_> = (0..2).map(|_| b.run_epoch(data).unwrap()).collect();
        assert_eq!(ra, rb, "{optimizer:?}");
        assert_eq!(a.adapted_lr().unwrap().clamped, 0);
    }
}
