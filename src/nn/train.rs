//! The training loop: seeded shuffling each epoch, mini-batches (the last one may be smaller),
//! the optimizer step at the epoch's learning rate, and a report per epoch with the training
//! loss and accuracy (averaged over the epoch's batches) and the validation loss and accuracy.
//!
//! A non-finite loss ends the run as diverged, naming the epoch: it is a result, not a crash.

#![forbid(unsafe_code)]

use super::config::ValidConfig;
use super::layer::Pass;
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

/// A run that stopped because its loss stopped being a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("training diverged in epoch {epoch} (batch {batch}): the loss became {loss}")]
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
}

impl<'a> TrainingData<'a> {
    pub fn new(train: ImagesRef<'a>, validation: Option<ImagesRef<'a>>) -> Self {
        Self { train, subset: None, validation, validation_subset: None }
    }
    /// Train on `subset` of `train`.
    pub fn subset(train: ImagesRef<'a>, subset: &'a [usize], validation: Option<ImagesRef<'a>>) -> Self {
        Self { train, subset: Some(subset), validation, validation_subset: None }
    }
    /// One fold of cross-validation over `images`: train on `train` indices, validate on
    /// `held_out` indices, both into the same images.
    pub fn fold(images: ImagesRef<'a>, train: &'a [usize], held_out: &'a [usize]) -> Self {
        Self { train: images, subset: Some(train), validation: Some(images), validation_subset: Some(held_out) }
    }
    /// Number of training images per epoch.
    pub fn train_len(&self) -> usize {
        self.subset.map_or(self.train.len(), <[usize]>::len)
    }
}

/// A training run in progress: the model, its optimizer and its random streams.
pub struct Trainer {
    pub config: ValidConfig,
    pub model: Model,
    optimizer: Optimizer,
    shuffle_rng: Rng64,
    dropout_rng: Rng64,
    epochs_done: u32,
    images_seen: u64,
    order: Vec<usize>,
}

impl Trainer {
    pub fn new(config: &ValidConfig, seed: u64) -> Self {
        let model = Model::new(config, &mut rng_for(seed, streams::INIT));
        Self {
            config: config.clone(),
            model,
            optimizer: Optimizer::new(config.optimizer, config.l2, config.l1),
            shuffle_rng: rng_for(seed, streams::SHUFFLE),
            dropout_rng: rng_for(seed, streams::DROPOUT),
            epochs_done: 0,
            images_seen: 0,
            order: Vec::new(),
        }
    }

    pub fn epochs_done(&self) -> u32 {
        self.epochs_done
    }

    /// Train one epoch over `data.train`, then evaluate on `data.validation`.
    pub fn run_epoch(&mut self, data: TrainingData<'_>) -> Result<EpochReport, Diverged> {
        let epoch = self.epochs_done;
        let lr = learning_rate_at(self.config.learning_rate, self.config.lr_decay, epoch);
        let n = data.train_len();
        self.order.clear();
        match data.subset {
            Some(subset) => self.order.extend_from_slice(subset),
            None => self.order.extend(0..n),
        }
        shuffle(&mut self.shuffle_rng, &mut self.order);
        let batch_size = self.config.batch_size as usize;
        let mut labels = Vec::with_capacity(batch_size);
        let (mut loss_sum, mut correct) = (0.0f64, 0usize);
        for (b, chunk) in self.order.chunks(batch_size).enumerate() {
            self.model.load_batch(data.train, chunk);
            labels.clear();
            labels.extend(chunk.iter().map(|&i| data.train.labels[i]));
            self.model.forward(chunk.len(), &mut Pass { training: true, rng: &mut self.dropout_rng });
            let (loss, ok) = self.model.backward(&labels);
            if !loss.is_finite() {
                self.epochs_done += 1;
                return Err(Diverged { epoch: epoch + 1, batch: b as u32 + 1, loss: loss.to_string() });
            }
            loss_sum += loss as f64 * chunk.len() as f64;
            correct += ok;
            self.optimizer.begin_step();
            let optimizer = &mut self.optimizer;
            self.model.visit_params(&mut |tensor| optimizer.update(lr, tensor));
            self.images_seen += chunk.len() as u64;
        }
        self.epochs_done += 1;
        let (validation_loss, validation_accuracy) = match data.validation {
            Some(v) if !v.is_empty() && data.validation_subset.is_none_or(|s| !s.is_empty()) => {
                let (l, a) = self.model.evaluate_subset(v, data.validation_subset, EVAL_BATCH, &mut self.dropout_rng);
                if !l.is_finite() {
                    return Err(Diverged { epoch: epoch + 1, batch: 0, loss: format!("{l} on the validation set") });
                }
                (Some(l), Some(a))
            }
            _ => (None, None),
        };
        Ok(EpochReport {
            epoch: epoch + 1,
            learning_rate: lr,
            train_loss: (loss_sum / n.max(1) as f64) as f32,
            train_accuracy: correct as f32 / n.max(1) as f32,
            validation_loss,
            validation_accuracy,
            images_seen: self.images_seen,
        })
    }
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
