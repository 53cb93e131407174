//! A training run's whole state as bytes, and a run resumed from them: weights, optimizer state
//! (moments, step count, Adam's bias-correction powers, the last direction when the learning rate
//! is adapted by its hypergradient, with that rate and its path; the tuned L2 strength, its path
//! and its held-out batches' order), epochs done and images seen, the
//! positions of its random streams (shuffling, dropout) and, between two batches, the epoch
//! under way (its order, learning rate and running sums). So "train 4 epochs" equals "train 2,
//! checkpoint, resume, train 2" bit for bit, natively and in wasm — what successive halving
//! (promoted trials continue) and population-based training (members copy the best) rely on.
//!
//! The bytes: the magic `TLCK`, the format version, a JSON header (engine version, the
//! configuration it trained with, counters, stream positions, tensor sizes), the tensors' f32
//! values little-endian (weights, then optimizer buffers), and a CRC-32 of everything before it.
//! A checkpoint from another engine version, of another network, or whose bytes were damaged is
//! refused with a message saying which.

#![forbid(unsafe_code)]

use super::config::{OptimizerKind, TrainConfig, ValidConfig};
use super::optimizer::OptimizerState;
use super::train::{AdaptedLr, EpochUnderWay, Trainer, TunedL2};
use crate::rng::Rng64;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 4] = b"TLCK";
const FORMAT_VERSION: u32 = 1;
/// The engine that wrote a checkpoint; another one may compute differently, so it is refused.
pub const ENGINE: &str = concat!("tunelab ", env!("CARGO_PKG_VERSION"));

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckpointError {
    #[error("not a tunelab checkpoint (it does not start with TLCK)")]
    NotACheckpoint,
    #[error("the checkpoint is damaged: {0}")]
    Damaged(String),
    #[error("the checkpoint has format version {found}; this engine reads version {FORMAT_VERSION}")]
    Version { found: u32 },
    #[error("the checkpoint was written by {found}; this is {ENGINE}, which may compute differently")]
    Engine { found: String },
    #[error("the checkpoint is of another network ({found}); this configuration's has {expected}")]
    Network { found: String, expected: String },
    #[error("the checkpoint's optimizer is {found}; this configuration's is {expected}, whose state differs")]
    Optimizer { found: String, expected: String },
}

/// A random stream's place: its seed, stream number and position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StreamPosition {
    seed: [u8; 32],
    stream: u64,
    /// The word position, as a decimal string (JSON numbers cannot hold a u128 exactly).
    word: String,
}

impl StreamPosition {
    fn of(rng: &Rng64) -> Self {
        Self { seed: rng.get_seed(), stream: rng.get_stream(), word: rng.get_word_pos().to_string() }
    }

    fn restore(&self) -> Result<Rng64, CheckpointError> {
        let word: u128 = self.word.parse().map_err(|_| CheckpointError::Damaged(format!("a stream position {:?} is not a number", self.word)))?;
        let mut rng = Rng64::from_seed(self.seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(word);
        Ok(rng)
    }
}

/// The epoch under way between two batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EpochPosition {
    learning_rate_bits: u32,
    next_batch: usize,
    loss_sum_bits: u64,
    correct: usize,
    order: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Header {
    engine: String,
    config: TrainConfig,
    epochs_done: u32,
    images_seen: u64,
    shuffle: StreamPosition,
    dropout: StreamPosition,
    /// The network's tensors' sizes, in visiting order.
    params: Vec<usize>,
    steps: u32,
    beta1_power_bits: u32,
    beta2_power_bits: u32,
    /// Each tensor's optimizer buffers' sizes (first and second moments), in visiting order.
    buffers: Vec<(usize, usize)>,
    /// The sizes of the last step's directions, when kept for the hypergradient.
    #[serde(default)]
    directions: Vec<usize>,
    epoch: Option<EpochPosition>,
    /// The learning rate under hypergradient descent.
    #[serde(default)]
    adapted: Option<AdaptedPosition>,
    /// The L2 strength under its hypergradient.
    #[serde(default)]
    tuned_l2: Option<TunedL2Position>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TunedL2Position {
    l2_bits: u32,
    last_hypergradient_bits: u64,
    /// Adam's moments on log λ (f64 bits) and its step count.
    moments: (u64, u64, u32),
    clamped: u32,
    trajectory_bits: Vec<u32>,
    order: Vec<u32>,
    next: usize,
    stream: StreamPosition,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AdaptedPosition {
    alpha_bits: u32,
    clamped: u32,
    trajectory_bits: Vec<u32>,
}

impl Trainer {
    /// The run's whole state, as bytes.
    pub fn checkpoint(&mut self) -> Vec<u8> {
        let mut values: Vec<f32> = Vec::new();
        let mut params = Vec::new();
        self.model.visit_params(&mut |t| {
            params.push(t.values.len());
            values.extend_from_slice(t.values);
        });
        let optimizer = self.optimizer.state();
        let buffers = optimizer.buffers.iter().map(|(a, b)| (a.len(), b.len())).collect();
        for (first, second) in &optimizer.buffers {
            values.extend_from_slice(first);
            values.extend_from_slice(second);
        }
        let directions = optimizer.directions.iter().map(Vec::len).collect();
        for d in &optimizer.directions {
            values.extend_from_slice(d);
        }
        let tuned_l2 = self.tuned_l2.as_ref().map(|t| TunedL2Position {
            l2_bits: t.l2.to_bits(),
            last_hypergradient_bits: t.last_hypergradient.to_bits(),
            moments: (t.moments.0.to_bits(), t.moments.1.to_bits(), t.moments.2),
            clamped: t.clamped,
            trajectory_bits: t.trajectory.iter().map(|v| v.to_bits()).collect(),
            order: t.order.iter().map(|&i| i as u32).collect(),
            next: t.next,
            stream: StreamPosition::of(&t.rng),
        });
        let adapted = self.adapted.as_ref().map(|a| AdaptedPosition {
            alpha_bits: a.alpha.to_bits(),
            clamped: a.clamped,
            trajectory_bits: a.trajectory.iter().map(|v| v.to_bits()).collect(),
        });
        let epoch = self.current.as_ref().map(|e| EpochPosition {
            learning_rate_bits: e.learning_rate.to_bits(),
            next_batch: e.next_batch,
            loss_sum_bits: e.loss_sum.to_bits(),
            correct: e.correct,
            order: self.order.iter().map(|&i| i as u32).collect(),
        });
        let header = Header {
            engine: ENGINE.into(),
            config: TrainConfig::clone(&self.config),
            epochs_done: self.epochs_done,
            images_seen: self.images_seen,
            shuffle: StreamPosition::of(&self.shuffle_rng),
            dropout: StreamPosition::of(&self.dropout_rng),
            params,
            steps: optimizer.steps,
            beta1_power_bits: optimizer.beta1_power.to_bits(),
            beta2_power_bits: optimizer.beta2_power.to_bits(),
            buffers,
            directions,
            epoch,
            adapted,
            tuned_l2,
        };
        let json = serde_json::to_vec(&header).expect("a header serialises");
        let mut bytes = Vec::with_capacity(16 + json.len() + 4 * values.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(json.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&json);
        bytes.extend_from_slice(&(values.len() as u64).to_le_bytes());
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let crc = crc32(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// A run resumed from `bytes`, to go on with `config`: the checkpoint's network and
    /// optimizer kind, and any learning rate, schedule, regularisation, dropout rate, momentum
    /// or epoch count (population-based training changes these when a member copies another).
    pub fn resume(bytes: &[u8], config: &ValidConfig) -> Result<Trainer, CheckpointError> {
        let (header, values) = read(bytes)?;
        let mut trainer = Trainer::new(config, 0);
        let mut expected = Vec::new();
        trainer.model.visit_params(&mut |t| expected.push(t.values.len()));
        if expected != header.params {
            return Err(CheckpointError::Network { found: sizes(&header.params), expected: sizes(&expected) });
        }
        if header.config.optimizer.name() != config.optimizer.name() {
            return Err(CheckpointError::Optimizer { found: kind_name(header.config.optimizer).into(), expected: kind_name(config.optimizer).into() });
        }
        let in_params: usize = header.params.iter().sum();
        let in_buffers: usize = header.buffers.iter().map(|(a, b)| a + b).sum::<usize>() + header.directions.iter().sum::<usize>();
        if values.len() != in_params + in_buffers || header.buffers.len() > header.params.len() || header.directions.len() > header.params.len() {
            return Err(CheckpointError::Damaged(format!("{} values where its header lists {}", values.len(), in_params + in_buffers)));
        }
        let fits = |size: usize, n: usize| size == 0 || size == n;
        if header.buffers.iter().zip(&header.params).any(|(&(a, b), &n)| !fits(a, n) || !fits(b, n))
            || header.directions.iter().zip(&header.params).any(|(&d, &n)| !fits(d, n))
        {
            return Err(CheckpointError::Damaged("an optimizer buffer does not match its tensor".into()));
        }
        let (weights, mut rest) = values.split_at(in_params);
        let mut at = 0;
        trainer.model.visit_params(&mut |t| {
            let n = t.values.len();
            t.values.copy_from_slice(&weights[at..at + n]);
            at += n;
        });
        let mut buffers = Vec::with_capacity(header.buffers.len());
        for &(a, b) in &header.buffers {
            let (first, tail) = rest.split_at(a);
            let (second, tail) = tail.split_at(b);
            buffers.push((first.to_vec(), second.to_vec()));
            rest = tail;
        }
        let mut directions = Vec::with_capacity(header.directions.len());
        for &d in &header.directions {
            let (direction, tail) = rest.split_at(d);
            directions.push(direction.to_vec());
            rest = tail;
        }
        trainer.optimizer.restore(OptimizerState {
            steps: header.steps,
            beta1_power: f32::from_bits(header.beta1_power_bits),
            beta2_power: f32::from_bits(header.beta2_power_bits),
            buffers,
            directions,
        });
        // The learning rate's adaptation goes on where it was, if this configuration adapts it.
        if let (Some(adapted), Some(_)) = (&header.adapted, config.lr_hypergradient) {
            trainer.adapted = Some(AdaptedLr {
                alpha: f32::from_bits(adapted.alpha_bits),
                trajectory: adapted.trajectory_bits.iter().map(|&b| f32::from_bits(b)).collect(),
                clamped: adapted.clamped,
            });
        }
        // So does the L2 strength's.
        if let (Some(tuned), Some(_)) = (&header.tuned_l2, config.l2_hypergradient) {
            let l2 = f32::from_bits(tuned.l2_bits);
            trainer.optimizer.l2 = l2;
            trainer.tuned_l2 = Some(TunedL2 {
                l2,
                trajectory: tuned.trajectory_bits.iter().map(|&b| f32::from_bits(b)).collect(),
                clamped: tuned.clamped,
                last_hypergradient: f64::from_bits(tuned.last_hypergradient_bits),
                moments: (f64::from_bits(tuned.moments.0), f64::from_bits(tuned.moments.1), tuned.moments.2),
                order: tuned.order.iter().map(|&i| i as usize).collect(),
                next: tuned.next,
                rng: tuned.stream.restore()?,
            });
        }
        trainer.epochs_done = header.epochs_done;
        trainer.images_seen = header.images_seen;
        trainer.shuffle_rng = header.shuffle.restore()?;
        trainer.dropout_rng = header.dropout.restore()?;
        if let Some(e) = header.epoch {
            trainer.order = e.order.iter().map(|&i| i as usize).collect();
            trainer.current = Some(EpochUnderWay {
                learning_rate: f32::from_bits(e.learning_rate_bits),
                next_batch: e.next_batch,
                loss_sum: f64::from_bits(e.loss_sum_bits),
                correct: e.correct,
            });
        }
        Ok(trainer)
    }
}

/// The configuration a checkpoint trained with (to show it, or resume with it unchanged).
pub fn checkpoint_config(bytes: &[u8]) -> Result<TrainConfig, CheckpointError> {
    Ok(read(bytes)?.0.config)
}

fn read(bytes: &[u8]) -> Result<(Header, Vec<f32>), CheckpointError> {
    if bytes.len() < 4 || &bytes[..4] != MAGIC {
        return Err(CheckpointError::NotACheckpoint);
    }
    let damaged = |what: &str| CheckpointError::Damaged(what.into());
    if bytes.len() < 16 {
        return Err(damaged("it is cut short"));
    }
    let (body, tail) = bytes.split_at(bytes.len() - 4);
    if crc32(body).to_le_bytes() != tail {
        return Err(damaged("its checksum does not match its bytes"));
    }
    let u32_at = |at: usize| u32::from_le_bytes(body[at..at + 4].try_into().expect("4 bytes"));
    let version = u32_at(4);
    if version != FORMAT_VERSION {
        return Err(CheckpointError::Version { found: version });
    }
    let json_len = u32_at(8) as usize;
    let json_end = 12usize.checked_add(json_len).filter(|&end| end + 8 <= body.len()).ok_or_else(|| damaged("its header runs past its end"))?;
    let header: Header = serde_json::from_slice(&body[12..json_end]).map_err(|e| CheckpointError::Damaged(format!("its header does not read: {e}")))?;
    if header.engine != ENGINE {
        return Err(CheckpointError::Engine { found: header.engine });
    }
    let count = u64::from_le_bytes(body[json_end..json_end + 8].try_into().expect("8 bytes"));
    let data = &body[json_end + 8..];
    if (data.len() as u64) != count.saturating_mul(4) {
        return Err(damaged("its values are cut short or run on"));
    }
    let values = data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
    Ok((header, values))
}

fn sizes(params: &[usize]) -> String {
    format!("{} tensors of {} values", params.len(), params.iter().sum::<usize>())
}

/// The optimizer as the refusal names it.
fn kind_name(kind: OptimizerKind) -> &'static str {
    match kind {
        OptimizerKind::Sgd => "SGD",
        OptimizerKind::Momentum { .. } => "SGD with momentum",
        OptimizerKind::RmsProp { .. } => "RMSprop",
        OptimizerKind::Adam { .. } => "Adam",
    }
}

/// CRC-32 (IEEE, as zip and PNG use), through flate2's.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::mnist::ImagesRef;
    use crate::nn::train::{Slice, TrainingData};
    use crate::nn::{EpochReport, TrainConfig};

    fn config(optimizer: OptimizerKind) -> ValidConfig {
        TrainConfig { epochs: 4, batch_size: 32, conv_filters: vec![4, 8, 8], dense_units: 16, dropout: 0.25, l2: 1e-3, optimizer, ..TrainConfig::default() }
            .validate()
            .unwrap()
    }

    fn weights(trainer: &mut Trainer) -> Vec<u32> {
        let mut out = Vec::new();
        trainer.model.visit_params(&mut |t| out.extend(t.values.iter().map(|v| v.to_bits())));
        out
    }

    /// "Train 4 epochs" equals "train 2, checkpoint, resume, train 2", and the same with the
    /// checkpoint taken in the middle of an epoch — for every optimizer.
    #[test]
    fn a_resumed_run_is_the_uninterrupted_run_bit_for_bit() {
        let (pixels, labels) = crate::experiment::synthetic_digits(300);
        let images = ImagesRef { pixels: &pixels, labels: &labels };
        let data = TrainingData::new(images.range(0, 250), Some(images.range(250, 300))).tuning_on(images.range(250, 300), None);
        let kinds = [OptimizerKind::Sgd, OptimizerKind::Momentum { momentum: 0.9 }, OptimizerKind::RmsProp { rho: 0.9, epsilon: 1e-7 }, OptimizerKind::ADAM];
        for (optimizer, adapted) in kinds.into_iter().flat_map(|k| [(k, false), (k, true)]) {
            let mut config = TrainConfig::clone(&config(optimizer));
            if adapted {
                // The learning rate and the L2 strength both tuned by their hypergradients.
                config.lr_hypergradient = Some(crate::nn::config::LrHypergradient::for_optimizer(optimizer));
                config.l2_hypergradient = Some(crate::nn::config::L2Hypergradient { every: 3, ..Default::default() });
            }
            let config = config.validate().unwrap();
            let mut whole = Trainer::new(&config, 5);
            let reports: Vec<EpochReport> = (0..4).map(|_| whole.run_epoch(data).unwrap()).collect();

            let mut first = Trainer::new(&config, 5);
            let mut resumed_reports: Vec<EpochReport> = (0..2).map(|_| first.run_epoch(data).unwrap()).collect();
            let bytes = first.checkpoint();
            let mut second = Trainer::resume(&bytes, &config).unwrap();
            resumed_reports.extend((0..2).map(|_| second.run_epoch(data).unwrap()));
            assert_eq!(resumed_reports, reports, "{optimizer:?}");
            assert_eq!(weights(&mut second), weights(&mut whole), "{optimizer:?}");
            assert_eq!(second.adapted_lr(), whole.adapted_lr(), "{optimizer:?}: the learning rate's path");
            assert_eq!(second.tuned_l2(), whole.tuned_l2(), "{optimizer:?}: the L2 strength's path");
            assert!(!adapted || whole.tuned_l2().unwrap().trajectory.len() == 4 * 8 / 3, "{optimizer:?}: a hyper step every 3 batches");

            // In the middle of the third epoch (after 3 of its 8 batches).
            let mut first = Trainer::new(&config, 5);
            let mut mid_reports: Vec<EpochReport> = (0..2).map(|_| first.run_epoch(data).unwrap()).collect();
            let mut left = 3;
            let slice = first.train_slice(data, &mut || {
                left -= 1;
                left > 0
            });
            assert_eq!(slice, Ok(Slice::Training { batches_done: 3, batches: 8 }));
            let mut second = Trainer::resume(&first.checkpoint(), &config).unwrap();
            mid_reports.extend((0..2).map(|_| second.run_epoch(data).unwrap()));
            assert_eq!(mid_reports, reports, "{optimizer:?}, mid-epoch");
        }
    }

    #[test]
    fn a_checkpoint_can_go_on_with_other_hyperparameters_of_the_same_network() {
        let (pixels, labels) = crate::experiment::synthetic_digits(120);
        let images = ImagesRef { pixels: &pixels, labels: &labels };
        let data = TrainingData::new(images.range(0, 100), Some(images.range(100, 120)));
        let config = config(OptimizerKind::Momentum { momentum: 0.9 });
        let mut trainer = Trainer::new(&config, 1);
        trainer.run_epoch(data).unwrap();
        let bytes = trainer.checkpoint();
        assert_eq!(checkpoint_config(&bytes).unwrap(), *config);
        // Population-based training's explore step: other learning rate, L2, dropout, momentum.
        let explored =
            TrainConfig { learning_rate: 0.02, l2: 1e-4, dropout: 0.1, optimizer: OptimizerKind::Momentum { momentum: 0.8 }, ..TrainConfig::clone(&config) }
                .validate()
                .unwrap();
        let mut resumed = Trainer::resume(&bytes, &explored).unwrap();
        assert_eq!(weights(&mut resumed), weights(&mut trainer), "the weights are copied");
        assert_eq!(resumed.epochs_done(), 1);
        let report = resumed.run_epoch(data).unwrap();
        assert_eq!(report.learning_rate, 0.02);
    }

    #[test]
    fn another_network_optimizer_engine_or_damaged_bytes_are_refused() {
        let config = config(OptimizerKind::ADAM);
        let bytes = Trainer::new(&config, 1).checkpoint();
        let wider = TrainConfig { dense_units: 32, ..TrainConfig::clone(&config) }.validate().unwrap();
        assert!(matches!(Trainer::resume(&bytes, &wider), Err(CheckpointError::Network { .. })));
        let sgd = TrainConfig { optimizer: OptimizerKind::Sgd, ..TrainConfig::clone(&config) }.validate().unwrap();
        let err = Trainer::resume(&bytes, &sgd).err().unwrap();
        assert_eq!(err.to_string(), "the checkpoint's optimizer is Adam; this configuration's is SGD, whose state differs");

        assert_eq!(Trainer::resume(b"PNG....", &config).err(), Some(CheckpointError::NotACheckpoint));
        let mut flipped = bytes.clone();
        flipped[40] ^= 1;
        assert_eq!(Trainer::resume(&flipped, &config).err(), Some(CheckpointError::Damaged("its checksum does not match its bytes".into())));
        assert!(matches!(Trainer::resume(&bytes[..bytes.len() / 2], &config), Err(CheckpointError::Damaged(_))));

        // Another engine version: rewrite the header's engine and the checksum.
        let mut other = bytes.clone();
        let at = bytes.windows(ENGINE.len()).position(|w| w == ENGINE.as_bytes()).unwrap();
        other.splice(at..at + ENGINE.len(), "tunelab 0.0.9".bytes());
        let json_len = u32::from_le_bytes(other[8..12].try_into().unwrap()) as usize + "tunelab 0.0.9".len() - ENGINE.len();
        other[8..12].copy_from_slice(&(json_len as u32).to_le_bytes());
        let body = other.len() - 4;
        let crc = crc32(&other[..body]);
        other[body..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(Trainer::resume(&other, &config).err(), Some(CheckpointError::Engine { found: "tunelab 0.0.9".into() }));
    }
}
