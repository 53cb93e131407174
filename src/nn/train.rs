//! The training loop: seeded shuffling each epoch, mini-batches (the last one may be smaller),
//! the optimizer step at the epoch's learning rate, and a report per epoch with the training
//! loss and accuracy (averaged over the epoch's batches) and the validation loss and accuracy.
//!
//! A non-finite loss ends the run as diverged, naming the epoch: it is a result, not a crash.

#![forbid(unsafe_code)]

use super::config::{LrHypergradient, ValidConfig};
use super::layer::{ParamTensor, Pass};
use super::model::Model;
use super::optimizer::Optimizer;
use super::schedule::learning_rate_at;
use crate::data::mnist::ImagesRef;
use crate::rng::{rng_for, shuffle, streams, Rng64};
use serde::{Deserialize, Serialize};

/// Validation after each epoch runs in batches of this size (defined beside `Model::evaluate`).
pub use super::model::EVAL_BATCH;

/// What one epoch did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: u32,
    pub learning_rate: f32,
    pub train_loss: f32,
    pub train_accuracy: f32,
    pub validation_loss: Option<f32>,
    pub validation_accuracy: Option<f32>,
    /// Training images processed so far in this run (the budget's unit).
    pub images_seen: u64,
}

/// A run that stopped because its loss stopped being a number: in a training batch, or on the
/// validation set at an epoch's end (`batch` is 0 then).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("training diverged in epoch {epoch} ({}): the loss became {loss}", if *batch == 0 { "on the validation set".to_string() } else { format!("batch {batch}") })]
pub struct Diverged {
    pub epoch: u32,
    pub batch: u32,
    pub loss: String,
}

/// How a whole run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrainOutcome {
    Completed {
        epochs: Vec<EpochReport>,
    },
    Diverged {
        epochs: Vec<EpochReport>,
        diverged: Diverged,
    },
    /// The caller asked to stop after the last listed epoch.
    Stopped {
        epochs: Vec<EpochReport>,
    },
}

impl TrainOutcome {
    pub fn epochs(&self) -> &[EpochReport] {
        match self {
            Self::Completed { epochs } | Self::Diverged { epochs, .. } | Self::Stopped { epochs } => epochs,
        }
    }
    pub fn final_validation_accuracy(&self) -> Option<f32> {
        self.epochs().last().and_then(|e| e.validation_accuracy)
    }
}

/// Data for one run: what it trains on and (optionally) what it validates on after each epoch.
#[derive(Debug, Clone, Copy)]
pub struct TrainingData<'a> {
    pub train: ImagesRef<'a>,
    /// Train only on these images of `train` (a subset), instead of all of them. Indices, not a
    /// copy: a worker holding all the training images needs no second copy of their pixels.
    pub subset: Option<&'a [usize]>,
    pub validation: Option<ImagesRef<'a>>,
    /// Validate only on these images of `validation` (a cross-validation fold).
    pub validation_subset: Option<&'a [usize]>,
    /// Held-out images whose loss tunes the L2 strength (`L2Hypergradient`'s T2), and which of
    /// them (all if None). Ignored unless the configuration tunes L2.
    pub tuning: Option<ImagesRef<'a>>,
    pub tuning_subset: Option<&'a [usize]>,
}

impl<'a> TrainingData<'a> {
    pub fn new(train: ImagesRef<'a>, validation: Option<ImagesRef<'a>>) -> Self {
        Self { train, subset: None, validation, validation_subset: None, tuning: None, tuning_subset: None }
    }
    /// Train on `subset` of `train`.
    pub fn subset(train: ImagesRef<'a>, subset: &'a [usize], validation: Option<ImagesRef<'a>>) -> Self {
        Self { train, subset: Some(subset), validation, validation_subset: None, tuning: None, tuning_subset: None }
    }
    /// One fold of cross-validation over `images`: train on `train` indices, validate on
    /// `held_out` indices, both into the same images.
    pub fn fold(images: ImagesRef<'a>, train: &'a [usize], held_out: &'a [usize]) -> Self {
        Self { train: images, subset: Some(train), validation: Some(images), validation_subset: Some(held_out), tuning: None, tuning_subset: None }
    }
    /// Tune L2 on `images` (those of `subset`, or all).
    pub fn tuning_on(self, images: ImagesRef<'a>, subset: Option<&'a [usize]>) -> Self {
        Self { tuning: Some(images), tuning_subset: subset, ..self }
    }
    /// Number of training images per epoch.
    pub fn train_len(&self) -> usize {
        self.subset.map_or(self.train.len(), <[usize]>::len)
    }
}

/// A training run in progress: the model, its optimizer and its random streams.
/// (`checkpoint.rs` saves and restores all of it.)
pub struct Trainer {
    pub config: ValidConfig,
    pub model: Model,
    pub(super) optimizer: Optimizer,
    pub(super) shuffle_rng: Rng64,
    pub(super) dropout_rng: Rng64,
    pub(super) epochs_done: u32,
    pub(super) images_seen: u64,
    pub(super) order: Vec<usize>,
    /// The epoch under way, between two slices (`train_slice`).
    pub(super) current: Option<EpochUnderWay>,
    /// The learning rate as hypergradient descent moves it (None: the configured rate, or its
    /// schedule).
    pub(super) adapted: Option<AdaptedLr>,
    /// The L2 strength as its hypergradient moves it (None: the configured one).
    pub(super) tuned_l2: Option<TunedL2>,
}

/// The L2 strength under gradient-based tuning (`L2Hypergradient`), its path, and where the
/// held-out batches stand.
#[derive(Debug, Clone, PartialEq)]
pub struct TunedL2 {
    pub l2: f32,
    /// λ after each hyper step, in order.
    pub trajectory: Vec<f32>,
    /// Hyper steps clamped into [min, max], or skipped because the held-out loss or the step
    /// was not a number.
    pub clamped: u32,
    /// The last hyper step's hypergradient, d(held-out loss)/d(log λ) (0 before any).
    pub last_hypergradient: f64,
    /// Adam's moments of the hypergradient and its step count, for the move on log λ.
    pub(super) moments: (f64, f64, u32),
    /// The held-out images in their visiting order, the next one, and the stream that orders them.
    pub(super) order: Vec<usize>,
    pub(super) next: usize,
    pub(super) rng: Rng64,
}

/// The learning rate under hypergradient descent (`LrHypergradient`), and its path.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptedLr {
    pub alpha: f32,
    /// α after each step, in order: the path the views draw.
    pub trajectory: Vec<f32>,
    /// Steps whose move was clamped into [0, max], or skipped because it was not a number.
    pub clamped: u32,
}

impl AdaptedLr {
    /// One step: α ← α + β·(g_t · d_{t−1}), its change limited to `max_change` × α (if set)
    /// and α kept in [0, max]; the α to step with.
    pub(super) fn step(&mut self, dot: f64, settings: LrHypergradient) -> f32 {
        let next = (self.alpha as f64 + settings.step as f64 * dot) as f32;
        if !next.is_finite() {
            self.clamped += 1;
        } else {
            let limited = match settings.max_change {
                0.0 => next,
                c => next.clamp(self.alpha * (1.0 - c), self.alpha * (1.0 + c)),
            };
            let kept = limited.clamp(0.0, settings.max);
            self.clamped += u32::from(kept != next);
            self.alpha = kept;
        }
        self.trajectory.push(self.alpha);
        self.alpha
    }
}

/// Where an unfinished epoch stands.
pub(super) struct EpochUnderWay {
    pub(super) learning_rate: f32,
    pub(super) next_batch: usize,
    pub(super) loss_sum: f64,
    pub(super) correct: usize,
}

/// How far a slice of training got.
#[derive(Debug, Clone, PartialEq)]
pub enum Slice {
    /// The epoch goes on: `batches_done` of its `batches`.
    Training { batches_done: usize, batches: usize },
    /// The epoch ended (and was evaluated).
    EpochDone(EpochReport),
}

impl Trainer {
    pub fn new(config: &ValidConfig, seed: u64) -> Self {
        let model = Model::new(config, &mut rng_for(seed, streams::INIT));
        let mut optimizer = Optimizer::new(config.optimizer, config.l2, config.l1);
        if config.lr_hypergradient.is_some() {
            optimizer.record_directions();
        }
        if config.l2_hypergradient.is_some() {
            optimizer.record_l2_sensitivity();
        }
        Self {
            config: config.clone(),
            model,
            optimizer,
            shuffle_rng: rng_for(seed, streams::SHUFFLE),
            dropout_rng: rng_for(seed, streams::DROPOUT),
            epochs_done: 0,
            images_seen: 0,
            order: Vec::new(),
            current: None,
            adapted: config.lr_hypergradient.map(|_| AdaptedLr { alpha: config.learning_rate, trajectory: Vec::new(), clamped: 0 }),
            tuned_l2: config.l2_hypergradient.map(|_| TunedL2 {
                l2: config.l2,
                trajectory: Vec::new(),
                clamped: 0,
                last_hypergradient: 0.0,
                moments: (0.0, 0.0, 0),
                order: Vec::new(),
                next: 0,
                rng: rng_for(seed, streams::TUNING_BATCHES),
            }),
        }
    }

    /// The L2 strength's path under its hypergradient (None when it is not tuned).
    pub fn tuned_l2(&self) -> Option<&TunedL2> {
        self.tuned_l2.as_ref()
    }

    /// One T1–T2 hyper step, right after a training step: the next held-out batch's loss at the
    /// weights that step reached, differentiated through the step with respect to log λ
    /// (λ · ∇C₂ · ∂w/∂λ, the optimizer having kept ∂w/∂λ), and log λ moved down it.
    fn tune_l2(&mut self, data: &TrainingData<'_>) {
        let (Some(tuned), Some(settings), Some(images)) = (self.tuned_l2.as_mut(), self.config.l2_hypergradient, data.tuning) else { return };
        if !self.optimizer.steps().is_multiple_of(settings.every) {
            return;
        }
        let available = data.tuning_subset.map_or(images.len(), <[usize]>::len);
        if available == 0 {
            return;
        }
        if tuned.next >= tuned.order.len() {
            tuned.order.clear();
            match data.tuning_subset {
                Some(subset) => tuned.order.extend_from_slice(subset),
                None => tuned.order.extend(0..available),
            }
            shuffle(&mut tuned.rng, &mut tuned.order);
            tuned.next = 0;
        }
        let end = (tuned.next + self.config.batch_size as usize).min(tuned.order.len());
        let chunk = &tuned.order[tuned.next..end];
        tuned.next = end;
        self.model.load_batch(images, chunk);
        let labels: Vec<u8> = chunk.iter().map(|&i| images.labels[i]).collect();
        self.model.forward(chunk.len(), &mut Pass { training: false, rng: &mut self.dropout_rng });
        let (loss, _) = self.model.backward(&labels);
        let dot = sum_over_tensors(&mut self.model, &self.optimizer, Optimizer::gradient_dot_l2_sensitivity);
        let lambda = tuned.l2 as f64;
        let hypergradient = lambda * dot;
        if !loss.is_finite() || !hypergradient.is_finite() {
            tuned.clamped += 1;
        } else {
            tuned.last_hypergradient = hypergradient;
            // Adam on log λ (β₁ 0.9, β₂ 0.999): a step of about `step` whatever the scale.
            let (m, v, t) = &mut tuned.moments;
            *t += 1;
            *m = 0.9 * *m + 0.1 * hypergradient;
            *v = 0.999 * *v + 0.001 * hypergradient * hypergradient;
            let (m_hat, v_hat) = (*m / (1.0 - 0.9f64.powi(*t as i32)), *v / (1.0 - 0.999f64.powi(*t as i32)));
            let next = (lambda.ln() - settings.step as f64 * m_hat / (v_hat.sqrt() + 1e-12)).exp() as f32;
            let kept = next.clamp(settings.min, settings.max);
            tuned.clamped += u32::from(kept != next);
            tuned.l2 = kept;
        }
        self.optimizer.l2 = tuned.l2;
        tuned.trajectory.push(tuned.l2);
    }

    /// The learning rate's path under hypergradient descent (None when it is not adapted).
    pub fn adapted_lr(&self) -> Option<&AdaptedLr> {
        self.adapted.as_ref()
    }

    pub fn epochs_done(&self) -> u32 {
        self.epochs_done
    }

    /// Train one epoch over `data.train`, then evaluate on `data.validation`.
    pub fn run_epoch(&mut self, data: TrainingData<'_>) -> Result<EpochReport, Diverged> {
        loop {
            if let Slice::EpochDone(report) = self.train_slice(data, &mut || true)? {
                return Ok(report);
            }
        }
    }

    /// Train batches of the current epoch (starting one if none is under way) while
    /// `keep_going()` says so after each batch, and evaluate the epoch once its last batch is
    /// done. Slicing changes nothing in the result — the same batches in the same order — and
    /// lets a caller that must stay responsive (a web worker) yield between slices.
    pub fn train_slice(&mut self, data: TrainingData<'_>, keep_going: &mut dyn FnMut() -> bool) -> Result<Slice, Diverged> {
        let epoch = self.epochs_done;
        let n = data.train_len();
        let mut state = match self.current.take() {
            Some(state) => state,
            None => {
                self.order.clear();
                match data.subset {
                    Some(subset) => self.order.extend_from_slice(subset),
                    None => self.order.extend(0..n),
                }
                shuffle(&mut self.shuffle_rng, &mut self.order);
                let learning_rate = learning_rate_at(self.config.learning_rate, self.config.lr_decay, epoch);
                EpochUnderWay { learning_rate, next_batch: 0, loss_sum: 0.0, correct: 0 }
            }
        };
        let batch_size = self.config.batch_size as usize;
        let batches = n.div_ceil(batch_size);
        let mut labels = Vec::with_capacity(batch_size);
        while state.next_batch < batches {
            let b = state.next_batch;
            let chunk = &self.order[b * batch_size..((b + 1) * batch_size).min(n)];
            self.model.load_batch(data.train, chunk);
            labels.clear();
            labels.extend(chunk.iter().map(|&i| data.train.labels[i]));
            self.model.forward(chunk.len(), &mut Pass { training: true, rng: &mut self.dropout_rng });
            let (loss, ok) = self.model.backward(&labels);
            if !loss.is_finite() {
                self.epochs_done += 1;
                return Err(Diverged { epoch: epoch + 1, batch: b as u32 + 1, loss: loss.to_string() });
            }
            state.loss_sum += loss as f64 * chunk.len() as f64;
            state.correct += ok;
            self.optimizer.begin_step();
            let lr = match (self.adapted.as_mut(), self.config.lr_hypergradient) {
                (Some(adapted), Some(settings)) => {
                    // The whole gradient against the last direction first, then one α for every tensor.
                    let dot = sum_over_tensors(&mut self.model, &self.optimizer, Optimizer::gradient_dot_last_direction);
                    adapted.step(dot, settings)
                }
                _ => state.learning_rate,
            };
            let optimizer = &mut self.optimizer;
            self.model.visit_params(&mut |tensor| optimizer.update(lr, tensor));
            self.images_seen += chunk.len() as u64;
            self.tune_l2(&data);
            state.next_batch += 1;
            if state.next_batch < batches && !keep_going() {
                let batches_done = state.next_batch;
                self.current = Some(state);
                return Ok(Slice::Training { batches_done, batches });
            }
        }
        self.epochs_done += 1;
        let (validation_loss, validation_accuracy) = match data.validation {
            Some(v) if !v.is_empty() && data.validation_subset.is_none_or(|s| !s.is_empty()) => {
                let (l, a) = self.model.evaluate_subset(v, data.validation_subset, EVAL_BATCH, &mut self.dropout_rng);
                if !l.is_finite() {
                    return Err(Diverged { epoch: epoch + 1, batch: 0, loss: l.to_string() });
                }
                (Some(l), Some(a))
            }
            _ => (None, None),
        };
        Ok(Slice::EpochDone(EpochReport {
            epoch: epoch + 1,
            learning_rate: self.adapted.as_ref().map_or(state.learning_rate, |a| a.alpha),
            train_loss: (state.loss_sum / n.max(1) as f64) as f32,
            train_accuracy: state.correct as f32 / n.max(1) as f32,
            validation_loss,
            validation_accuracy,
            images_seen: self.images_seen,
        }))
    }
}

/// Σ over the model's tensors, in visiting order (a fixed order, so the same on every machine),
/// of what `per_tensor` gives for each from the optimizer's state (a hypergradient's dot product).
pub(super) fn sum_over_tensors(model: &mut Model, optimizer: &Optimizer, per_tensor: fn(&Optimizer, usize, &ParamTensor<'_>) -> f64) -> f64 {
    let (mut sum, mut index) = (0.0f64, 0);
    model.visit_params(&mut |tensor| {
        sum += per_tensor(optimizer, index, &tensor);
        index += 1;
    });
    sum
}

/// Train for `config.epochs` epochs, calling `on_epoch` after each; it returns `false` to stop.
/// Returns the outcome and the trained model.
pub fn train(config: &ValidConfig, data: TrainingData<'_>, seed: u64, on_epoch: &mut dyn FnMut(&EpochReport) -> bool) -> (TrainOutcome, Trainer) {
    let mut trainer = Trainer::new(config, seed);
    let mut epochs = Vec::new();
    for _ in 0..config.epochs {
        match trainer.run_epoch(data) {
            Ok(report) => {
                let go_on = on_epoch(&report);
                epochs.push(report);
                if !go_on {
                    return (TrainOutcome::Stopped { epochs }, trainer);
                }
            }
            Err(diverged) => return (TrainOutcome::Diverged { epochs, diverged }, trainer),
        }
    }
    (TrainOutcome::Completed { epochs }, trainer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::mnist::ImagesRef;
    use crate::nn::TrainConfig;

    /// Training in slices of any length gives the epochs of training in one go, bit for bit.
    #[test]
    fn training_in_slices_changes_nothing() {
        let (pixels, labels) = crate::experiment::synthetic_digits(300);
        let images = ImagesRef { pixels: &pixels, labels: &labels };
        let (train, validation) = (images.range(0, 250), images.range(250, 300));
        let config = TrainConfig { epochs: 2, batch_size: 32, conv_filters: vec![4, 8, 8], dense_units: 16, ..TrainConfig::default() }.validate().unwrap();
        let data = TrainingData::new(train, Some(validation));
        let mut in_one_go = Trainer::new(&config, 3);
        let whole: Vec<EpochReport> = (0..2).map(|_| in_one_go.run_epoch(data).unwrap()).collect();
        for slice_len in [1, 3, 100] {
            let mut trainer = Trainer::new(&config, 3);
            let (mut reports, mut slices) = (Vec::new(), 0);
            while reports.len() < 2 {
                let mut left = slice_len;
                match trainer.train_slice(data, &mut || {
                    left -= 1;
                    left > 0
                }) {
                    Ok(Slice::EpochDone(report)) => reports.push(report),
                    Ok(Slice::Training { batches_done, batches }) => assert!(batches_done < batches && batches == 8),
                    Err(e) => panic!("{e}"),
                }
                slices += 1;
            }
            assert_eq!(reports, whole, "slices of {slice_len} batches");
            assert_eq!(slices, 2 * 8usize.div_ceil(slice_len), "slices of {slice_len} batches");
        }
    }
}
