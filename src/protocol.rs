//! Messages between the page and its training workers.
//!
//! Versioned: the worker's `Ready` names the protocol version it speaks, and the page refuses a
//! worker that speaks another. Every message about a trial carries its `TrialKey` — the trial id
//! and the attempt number — so progress or results from an attempt that was cancelled (its worker
//! terminated) and restarted are recognised as stale and dropped.
//!
//! Every message travels in an envelope, a plain object whose keys are in `envelope`: the
//! message itself under `MESSAGE`, and beside `LoadData` the training pixels and labels as
//! transferred `ArrayBuffer`s under `IMAGES` and `LABELS` (each worker gets its own copy, moved,
//! not cloned). A trial's checkpoint travels the same way, under `CHECKPOINT`: beside a `Train`
//! that resumes one, and beside (on the same object as) a `Finished` whose trial paused.

#![forbid(unsafe_code)]

use crate::data::mnist::CLASSES;
use crate::data::validation::TrainingSet;
use crate::nn::bench::{BenchReport, BenchSpec, Calibration};
use crate::nn::train::Diverged;
use crate::nn::{EpochReport, TrainConfig};
use serde::{Deserialize, Serialize};

pub const PROTOCOL_VERSION: u32 = 6;

/// The keys of the envelope every message travels in, for the page and the worker alike.
pub mod envelope {
    /// The `ToWorker` or `FromWorker` message.
    pub const MESSAGE: &str = "message";
    /// Beside `LoadData` and `LoadTest`: the images, `count × 784` bytes; beside `Read`, the
    /// drawing's ink, `width × height` bytes.
    pub const IMAGES: &str = "images";
    /// Beside `LoadData`: the labels, `count` bytes.
    pub const LABELS: &str = "labels";
    /// Beside a `Train` that resumes a checkpoint, and a `Finished` whose trial paused: the
    /// checkpoint's bytes (`nn::checkpoint`).
    pub const CHECKPOINT: &str = "checkpoint";
}

/// Which attempt of which trial a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TrialKey {
    pub trial_id: u32,
    pub attempt: u32,
}

/// One trial as a worker runs it: everything it does follows from this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainRequest {
    pub config: TrainConfig,
    /// The images it trains and is scored on (hold-out, or k-fold), drawn with `seed`.
    pub data: TrainingSet,
    /// Seeds the subset and folds, the initial weights, the shuffling and dropout.
    pub seed: u32,
    /// Where it starts and stops, for a trial trained in segments or under a pruner.
    #[serde(default)]
    pub stage: Stage,
    /// The checkpoint to resume (`stage.resume`), travelling beside the message, not in it.
    #[serde(skip)]
    pub checkpoint: Option<std::sync::Arc<[u8]>>,
}

/// Where a trial's training starts and stops.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// Pause after this many epochs, ending `Paused` with a checkpoint (None: train to the end).
    #[serde(default)]
    pub until: Option<u32>,
    /// Resume the checkpoint beside the request instead of starting from scratch.
    #[serde(default)]
    pub resume: bool,
    /// Median pruning: the validation accuracy the trial must have reached (its best so far) by
    /// each epoch report to go on; it stops itself, `Pruned`, at the first it misses.
    #[serde(default)]
    pub stop_below: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToWorker {
    /// The training file's 60,000 images (training and validation splits, 28×28 u8) follow as two transferred
    /// buffers: `images` (`count × 784` bytes) and `labels` (`count` bytes).
    LoadData { count: u32 },
    /// Train one trial, posting `Epoch` after each epoch and `Finished` at the end.
    Train { trial: TrialKey, request: TrainRequest },
    /// Stop that trial at the next batch boundary (answered by `Finished` with `Stopped`); the
    /// worker keeps its data and takes the next trial.
    Stop { trial: TrialKey },
    /// The test file's 10,000 images follow as `LoadData`'s do; only a worker that retrains
    /// and tests gets them.
    LoadTest { count: u32 },
    /// Retrain a configuration on the training file and test it (`experiment::final_eval`),
    /// posting `Retraining` as it goes and `Retrained` at the end; the network stays in the
    /// worker as model `id`, for `Read`.
    Retrain { id: u32, request: RetrainRequest },
    /// Read a drawing (its ink beside the message) with model `id`; answered by `Reading`.
    Read { id: u32, drawing: u32, width: u32, height: u32 },
    /// Measure the engine's throughput on the loaded data (the benchmark command uses this).
    Benchmark { spec: BenchSpec },
    /// Report the worker's memory (`Memory`).
    ReportMemory,
}

/// How a trial ended, as the worker saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrialEnd {
    /// Under k-fold, the accuracy and loss are the means over the folds, and `fold_scores` each
    /// fold's accuracy (empty under hold-out).
    Completed {
        validation_accuracy: f32,
        validation_loss: f32,
        #[serde(default)]
        fold_scores: Vec<f32>,
        /// The hypergradients' paths, for a trial that tuned its learning rate or L2 so.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        paths: Option<Paths>,
    },
    /// Under k-fold, `fold` is the fold it diverged in and the fold count.
    Diverged {
        diverged: Diverged,
        #[serde(default)]
        fold: Option<(u32, u32)>,
    },
    /// The request itself was refused (e.g. an invalid configuration): nothing was trained.
    Rejected { reason: String },
    /// Stopped when asked, after `epochs_done` epochs.
    Stopped { epochs_done: u32 },
    /// Trained to its stage's end (`epochs_done` epochs in all) with this score; its checkpoint
    /// travels beside the message.
    Paused {
        epochs_done: u32,
        validation_accuracy: f32,
        #[serde(skip)]
        checkpoint: Vec<u8>,
    },
    /// Stopped by its median-pruning thresholds after `epochs_done` epochs (in this run), with
    /// its last score, having trained `images` training images in this request.
    Pruned { epochs_done: u32, validation_accuracy: f32, images: u64 },
}

/// The paths of the hyperparameters a trial tuned by their hypergradients while it trained.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Paths {
    /// The learning rate, a point every `every` training steps (the first after the first step).
    pub learning_rate: Option<Path>,
    /// The L2 strength, a point every `every` training steps.
    pub l2: Option<Path>,
}

/// One hyperparameter's path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Path {
    pub every: u32,
    pub values: Vec<f32>,
    /// Moves that were clamped to the hyperparameter's bounds.
    pub clamped: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromWorker {
    /// The worker's handler is installed; work may be sent.
    Ready {
        protocol_version: u32,
    },
    /// The training file's images arrived and were checked, and the worker measured its speed
    /// on them (None when there were none to measure on).
    DataLoaded {
        count: u32,
        calibration: Option<Calibration>,
    },
    /// The data could not be used.
    DataRejected {
        reason: String,
    },
    /// Where the trial's current epoch stands (sent a few times a second while it trains);
    /// `fold` counts from 0 (always 0 under hold-out).
    Progress {
        trial: TrialKey,
        fold: u32,
        epoch: u32,
        batches_done: u32,
        batches: u32,
    },
    Epoch {
        trial: TrialKey,
        fold: u32,
        report: EpochReport,
    },
    Finished {
        trial: TrialKey,
        end: TrialEnd,
    },
    /// The worker panicked (it is now unusable and must be replaced); `trial` is what it was running.
    Panicked {
        trial: Option<TrialKey>,
        message: String,
    },
    /// A message the worker could not understand.
    ProtocolError {
        message: String,
    },
    /// The benchmark's figures, and the worker's wasm memory size afterwards (it never shrinks,
    /// so this is its peak).
    BenchmarkDone {
        report: BenchReport,
        wasm_memory_bytes: f64,
    },
    /// The size of the worker's wasm memory: its peak, since wasm memory never shrinks.
    Memory {
        wasm_memory_bytes: f64,
    },
    /// The test file arrived and was checked (or could not be used: `DataRejected`).
    TestLoaded {
        count: u32,
    },
    /// Where retraining model `id` stands (a few times a second).
    Retraining {
        id: u32,
        progress: RetrainProgress,
    },
    /// Model `id` retrained and tested, or why it could not be.
    Retrained {
        id: u32,
        result: Result<TestReport, RetrainFailure>,
    },
    /// Drawing `drawing` as model `id` read it, or why it could not (a blank canvas, a dot).
    Reading {
        id: u32,
        drawing: u32,
        result: Result<Reading, ReadFailure>,
    },
}

/// What to retrain: the configuration, how many of the training file's images (all 60,000, or
/// a stratified subset for a quicker look), and the seed of its weights and shuffling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrainRequest {
    pub config: TrainConfig,
    pub images: u32,
    pub seed: u32,
}

/// The retrained network measured on the test images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestReport {
    pub test_accuracy: f32,
    pub test_loss: f32,
    pub train_images: u32,
    pub epochs: u32,
    /// `CLASSES × CLASSES` counts, row by true digit, column by predicted digit.
    pub confusion: Vec<u32>,
    /// Every test image it got wrong, in the test file's order.
    pub misclassified: Vec<Misclassified>,
}

/// A test image the network got wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Misclassified {
    /// Its place in the test file.
    pub index: u32,
    pub truth: u8,
    pub predicted: u8,
    /// The probability the network gave its (wrong) answer.
    pub confidence: f32,
}

impl TestReport {
    /// How many test images of digit `truth` were taken for `predicted`.
    pub fn count(&self, truth: usize, predicted: usize) -> u32 {
        self.confusion[truth * CLASSES + predicted]
    }

    pub fn images_tested(&self) -> u32 {
        self.confusion.iter().sum()
    }
}

/// A drawing classified: the image the network saw and its ten probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub prepared: Vec<u8>,
    pub probabilities: Vec<f32>,
}

impl Reading {
    /// The digit the network reads.
    pub fn digit(&self) -> usize {
        crate::nn::loss::argmax(&self.probabilities)
    }
}

/// Why a drawing could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum ReadFailure {
    /// Nothing is drawn.
    Blank,
    /// The drawing is too small to read.
    TooSmall,
    /// Anything else, in a sentence (a network no longer in the worker, a canvas of the wrong size).
    Other(String),
}

/// Where a retraining stands.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum RetrainProgress {
    /// In epoch `epoch` (1-based) of `epochs`, `batches_done` of `batches` done.
    Training { epoch: u32, epochs: u32, batches_done: u32, batches: u32 },
    /// `done` of the `of` test images classified.
    Testing { done: u32, of: u32 },
}

impl RetrainProgress {
    /// The share done, from 0 to 1, the test counted as the last 5 % (forward passes over
    /// 10,000 images cost little next to training).
    pub fn fraction(&self) -> f64 {
        match *self {
            Self::Training { epoch, epochs, batches_done, batches } => {
                let epochs_done = (epoch - 1) as f64 + batches_done as f64 / batches.max(1) as f64;
                0.95 * epochs_done / epochs.max(1) as f64
            }
            Self::Testing { done, of } => 0.95 + 0.05 * done as f64 / of.max(1) as f64,
        }
    }
}

impl TrainRequest {
    /// Short label for logs.
    pub fn summary(&self) -> String {
        format!(
            "{} images ({}), seed {}, lr {}, {} epochs",
            self.data.images,
            self.data.validation.label(),
            self.seed,
            self.config.learning_rate,
            self.config.epochs
        )
    }
}

impl TrialEnd {
    /// Why a diverged trial has no score, in a sentence (with the fold under k-fold).
    pub fn divergence(diverged: &Diverged, fold: Option<(u32, u32)>) -> String {
        match fold {
            Some((fold, folds)) => format!("diverged in fold {fold} of {folds}: {diverged}"),
            None => diverged.to_string(),
        }
    }
}

/// Why a retraining has no test result: kept as data, so that the page can say it in its
/// language (`text::problems`); `Display` is the command line's English.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RetrainFailure {
    #[error("invalid configuration: {why}")]
    Invalid { why: String },
    #[error("no training data has been loaded")]
    NoTrainingImages,
    #[error("this worker is already training")]
    Busy,
    #[error("no test images have been loaded")]
    NoTestImages,
    #[error("retrain on 1 to {} images, not {images}", crate::data::validation::TRAINING_FILE_IMAGES)]
    Images { images: u32 },
    #[error("the retraining diverged: {diverged}")]
    Diverged { diverged: Diverged },
    /// The test loss is not a number: the network learned nothing usable.
    #[error("the retrained network gives a test loss of {loss}: it learned nothing usable")]
    NoTestLoss { loss: String },
    #[error("the retraining was stopped after epoch {epoch}")]
    Stopped { epoch: u32 },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::validation::CrossValidation;

    #[test]
    fn messages_round_trip_through_json() {
        let msgs = vec![
            ToWorker::LoadData { count: 60_000 },
            ToWorker::Train {
                trial: TrialKey { trial_id: 3, attempt: 2 },
                request: TrainRequest {
                    config: TrainConfig::default(),
                    data: TrainingSet { images: 5000, validation: CrossValidation::KFold { k: 5 } },
                    seed: 7,
                    stage: Stage { until: Some(3), resume: true, stop_below: vec![None, Some(0.5)] },
                    checkpoint: None,
                },
            },
            ToWorker::Stop { trial: TrialKey { trial_id: 3, attempt: 2 } },
        ];
        for m in msgs {
            let s = serde_json::to_string(&m).unwrap();
            assert_eq!(serde_json::from_str::<ToWorker>(&s).unwrap(), m);
        }
        let f = FromWorker::Finished {
            trial: TrialKey { trial_id: 1, attempt: 1 },
            end: TrialEnd::Completed { validation_accuracy: 0.9, validation_loss: 0.3, fold_scores: vec![0.8, 1.0], paths: None },
        };
        let s = serde_json::to_string(&f).unwrap();
        assert!(s.contains(r#""type":"finished""#), "{s}");
        assert_eq!(serde_json::from_str::<FromWorker>(&s).unwrap(), f);
    }
}
