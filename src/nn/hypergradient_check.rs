//! Checks of the learning rate's hypergradient (`LrHypergradient`, Baydin et al. 2018):
//!
//! - It is a derivative: hold the state before step t−1 fixed, take step t−1 with learning rate
//!   α and evaluate the regularised loss on batch t; the central difference of that loss in α
//!   equals −(g_t · d_{t−1}), the quantity the trainer moves α by — for every optimizer, with L2.
//! - It does what it is for: on a quadratic, from a learning rate too small α grows and from one
//!   too large it falls; on the CNN, from one far too small it grows to one that trains better.
//! - With β = 0 training is the plain optimizer's, bit for bit.
//! - The L2 strength's hypergradient (T1–T2) is the derivative of a held-out batch's loss after
//!   one step with respect to log λ, for every optimizer; and a λ too strong for clean data falls.

use super::config::{L2Hypergradient, LrHypergradient, OptimizerKind, TrainConfig, ValidConfig};
use super::layer::{ParamTensor, Pass};
use super::optimizer::Optimizer;
use super::train::{sum_over_tensors, AdaptedLr, Trainer, TrainingData};
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
        lr_hypergradient: Some(LrHypergradient { step, max: 10.0, max_change: 0.0 }),
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

/// The state (as a checkpoint) after three epochs of `settings` from `seed`.
fn checkpoint_after_three_epochs(settings: &ValidConfig, seed: u64, data: TrainingData<'_>) -> Vec<u8> {
    let mut trainer = Trainer::new(settings, seed);
    for _ in 0..3 {
        trainer.run_epoch(data).unwrap();
    }
    trainer.checkpoint()
}

/// The run resumed from `before` with `settings`, one epoch further (one step, when an epoch is
/// one batch).
fn one_epoch_from(before: &[u8], settings: &ValidConfig, data: TrainingData<'_>) -> Trainer {
    let mut trainer = Trainer::resume(before, settings).unwrap();
    trainer.run_epoch(data).unwrap();
    trainer
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
        let before = checkpoint_after_three_epochs(&settings, 3, data);
        // Step t−1 at α, then g_t · d_{t−1} at the weights it reached.
        let mut at = one_epoch_from(&before, &settings, data);
        regularised_loss(&mut at, batch, settings.l2);
        let dot = sum_over_tensors(&mut at.model, &at.optimizer, Optimizer::gradient_dot_last_direction);
        // The loss after step t−1 taken at α ± ε.
        let eps = alpha * 0.01;
        let loss_at = |lr: f32| {
            // A fixed learning rate: the checkpoint's adapted one would otherwise go on.
            let fixed = TrainConfig { learning_rate: lr, lr_hypergradient: None, ..TrainConfig::clone(&settings) }.validate().unwrap();
            regularised_loss(&mut one_epoch_from(&before, &fixed, data), batch, settings.l2)
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
        let settings = LrHypergradient { step: 1e-3, max: 10.0, max_change: 0.0 };
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
            lr_hypergradient: step.map(|step| LrHypergradient { step, max: 10.0, max_change: 0.0 }),
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

/// The L2 strength's T1–T2 hypergradient (Luketina et al. 2016) is the derivative, with respect
/// to log λ, of a held-out batch's loss after one training step — for every optimizer (SGD and
/// momentum, and RMSprop and Adam with their exact one-step Jacobians).
#[test]
fn the_l2_hypergradient_is_the_derivative_of_the_held_out_loss_after_a_step() {
    let (pixels, labels) = synthetic_digits(32);
    let images = ImagesRef { pixels: &pixels, labels: &labels };
    let (t1, t2) = (images.range(0, 16), images.range(16, 32));
    let data = TrainingData::new(t1, None).tuning_on(t2, None);
    let held_out_loss = |trainer: &mut Trainer| {
        let indices: Vec<usize> = (0..t2.len()).collect();
        trainer.model.load_batch(t2, &indices);
        trainer.model.forward(indices.len(), &mut Pass { training: false, rng: &mut rng_for(0, 0) });
        trainer.model.backward(t2.labels).0 as f64
    };
    let cases = [
        (OptimizerKind::Sgd, 0.1),
        (OptimizerKind::Momentum { momentum: 0.9 }, 0.05),
        (OptimizerKind::RmsProp { rho: 0.9, epsilon: 1e-7 }, 2e-3),
        (OptimizerKind::ADAM, 2e-3),
    ];
    for (optimizer, alpha) in cases {
        let lambda = 0.02f32;
        let tuned = TrainConfig {
            l2: lambda,
            lr_hypergradient: None,
            // A zero step: λ stays, and the hypergradient is recorded at every training step.
            l2_hypergradient: Some(L2Hypergradient { step: 0.0, every: 1, min: 1e-6, max: 1.0 }),
            ..TrainConfig::clone(&config(optimizer, alpha, 0.0))
        }
        .validate()
        .unwrap();
        let before = checkpoint_after_three_epochs(&tuned, 4, data);
        let analytic = one_epoch_from(&before, &tuned, data).tuned_l2().unwrap().last_hypergradient;
        let eps = 0.05f64;
        let loss_at = |log_lambda: f64| {
            let fixed = TrainConfig { l2: log_lambda.exp() as f32, l2_hypergradient: None, ..TrainConfig::clone(&tuned) }.validate().unwrap();
            held_out_loss(&mut one_epoch_from(&before, &fixed, data))
        };
        let rho = (lambda as f64).ln();
        let numeric = (loss_at(rho + eps) - loss_at(rho - eps)) / (2.0 * eps);
        let error = (numeric - analytic).abs() / numeric.abs().max(analytic.abs());
        assert!(error < 0.01, "{optimizer:?}: d loss / d log λ = {numeric:.3e}, hypergradient {analytic:.3e} ({:.2}% apart)", error * 100.0);
        assert!(analytic.abs() > 1e-7, "{optimizer:?}: a hypergradient of {analytic} checks nothing");
    }
}

/// Strong L2 on clean data the network can fit: the held-out loss says "less", and λ falls.
#[test]
fn an_l2_too_strong_for_clean_data_falls() {
    let (pixels, labels) = synthetic_digits(320);
    let images = ImagesRef { pixels: &pixels, labels: &labels };
    let data = TrainingData::new(images.range(0, 160), None).tuning_on(images.range(160, 320), None);
    let settings = TrainConfig {
        l2: 0.05,
        lr_hypergradient: None,
        l2_hypergradient: Some(L2Hypergradient { step: 0.05, every: 2, min: 1e-6, max: 1.0 }),
        ..TrainConfig::clone(&config(OptimizerKind::Momentum { momentum: 0.9 }, 0.05, 0.0))
    }
    .validate()
    .unwrap();
    let mut trainer = Trainer::new(&settings, 1);
    for _ in 0..6 {
        trainer.run_epoch(data).unwrap();
    }
    let tuned = trainer.tuned_l2().unwrap();
    assert_eq!(tuned.trajectory.len(), 6 * 10 / 2, "a hyper step every 2 of the 10 batches an epoch");
    assert!(tuned.l2 < 0.03, "λ went from 0.05 to {}", tuned.l2);
}
