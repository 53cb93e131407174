//! The hyperparameters of one training run, as the seed document groups them — learning (rate,
//! decay, epochs, batch size), regularization (L2, L1, dropout), architecture (conv layers,
//! filters, dense width) and optimization (the optimizer and its constants) — and their
//! validation. Training only accepts a `ValidConfig`, which only `TrainConfig::validate` makes,
//! so an invalid value cannot reach the engine (the pattern of linfa's param guards).

#![forbid(unsafe_code)]

use super::arch::{Architecture, LayerSpec, Padding};
use super::model::EVAL_BATCH;
use serde::{Deserialize, Serialize};

/// How the learning rate changes from epoch to epoch (epoch counted from 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LrDecay {
    /// The same rate throughout.
    None,
    /// Multiply by `factor` every `every_epochs` epochs.
    Step { every_epochs: u32, factor: f32 },
    /// Multiply by `factor` after every epoch: lr · factor^epoch.
    Exponential { factor: f32 },
}

/// The optimizer and its constants.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Plain stochastic gradient descent.
    Sgd,
    /// SGD with (heavy-ball) momentum, as PyTorch defines it: v ← μv + g, w ← w − lr·v.
    Momentum { momentum: f32 },
    /// RMSprop (Hinton): s ← ρs + (1−ρ)g², w ← w − lr·g/(√s + ε).
    RmsProp { rho: f32, epsilon: f32 },
    /// Adam (Kingma & Ba 2015), with bias correction.
    Adam { beta1: f32, beta2: f32, epsilon: f32 },
}

impl OptimizerKind {
    pub const SGD: Self = Self::Sgd;
    pub const MOMENTUM: Self = Self::Momentum { momentum: 0.9 };
    pub const RMSPROP: Self = Self::RmsProp { rho: 0.9, epsilon: 1e-7 };
    pub const ADAM: Self = Self::Adam { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

    pub fn name(&self) -> &'static str {
        match self {
            Self::Sgd => "sgd",
            Self::Momentum { .. } => "momentum",
            Self::RmsProp { .. } => "rmsprop",
            Self::Adam { .. } => "adam",
        }
    }

    /// The optimizer called `name` with its usual constants.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sgd" => Some(Self::SGD),
            "momentum" => Some(Self::MOMENTUM),
            "rmsprop" => Some(Self::RMSPROP),
            "adam" => Some(Self::ADAM),
            _ => None,
        }
    }
}

/// Filters per conv layer when the user does not choose them: the seed's 16/32/32 (plus 64 for a 4th).
pub const DEFAULT_FILTERS: [u32; 4] = [16, 32, 32, 64];
pub const MAX_CONV_LAYERS: u32 = 4;

/// One training run's hyperparameters. Defaults are the seed document's best point
/// (lr 0.01, 10 epochs, batch 64, 3 conv layers, L2 0.001) with SGD + momentum 0.9, the optimizer
/// with which that point reaches 99% (the README's "seed document's headline result").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub learning_rate: f32,
    pub lr_decay: LrDecay,
    pub epochs: u32,
    pub batch_size: u32,
    /// 1 to 4 conv layers (3×3, same padding, ReLU); a 2×2 max-pool follows each of the first two.
    pub conv_layers: u32,
    /// Filters of each conv layer; entries past `conv_layers` are not used.
    pub conv_filters: Vec<u32>,
    /// Width of the hidden dense layer; 0 for none.
    pub dense_units: u32,
    /// Dropout rate before the output layer, in [0, 1).
    pub dropout: f32,
    /// L2 strength λ: adds λ·w to each weight's gradient (the gradient of λ/2·‖w‖²).
    pub l2: f32,
    /// L1 strength λ: adds λ·sign(w) to each weight's gradient.
    pub l1: f32,
    pub optimizer: OptimizerKind,
    /// Adapt the learning rate as training goes by hypergradient descent (`learning_rate` is
    /// then where it starts); None keeps it fixed (or on its decay schedule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr_hypergradient: Option<LrHypergradient>,
    /// Adapt the L2 strength as training goes by its hypergradient on held-out batches (`l2`
    /// is then where it starts); None keeps it fixed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l2_hypergradient: Option<L2Hypergradient>,
}

/// Gradient-based tuning of the L2 strength λ (Luketina, Berglund, Greff & Raiko, "Scalable
/// gradient-based tuning of continuous regularization hyperparameters", ICML 2016 — T1–T2):
/// every `every` training steps, the loss of a held-out batch (T2) after the step just taken on
/// a training batch (T1) is differentiated with respect to log λ through that one step, and
/// log λ moves down that gradient: λ grows when shrinking the weights would have lowered the
/// held-out loss, and falls when it would have raised it. The hypergradient's size depends on
/// the network and the data, so log λ moves by Adam on it (as the authors' code does): about
/// `step` per hyper step while its sign holds, less when it flips.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L2Hypergradient {
    /// Adam's step on log λ: about how far log λ moves per hyper step (0.02: λ by about 2 %).
    pub step: f32,
    /// A hyper step after every this many training steps.
    pub every: u32,
    /// λ stays in [min, max] (a move beyond is clamped and counted).
    pub min: f32,
    pub max: f32,
}

impl Default for L2Hypergradient {
    fn default() -> Self {
        Self { step: 0.02, every: 10, min: 1e-6, max: 0.1 }
    }
}

/// Hypergradient descent on the learning rate (Baydin, Cornish, Martínez Rubio, Schmidt & Wood,
/// "Online learning rate adaptation with hypergradient descent", ICLR 2018): before each step,
/// α moves by β·(g_t · d_{t−1}) — the current gradient against the direction of the last step.
/// They agree when the last step was too short (α grows) and disagree when it overshot (α
/// shrinks). The derivative is the one-step (greedy) one the paper uses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrHypergradient {
    /// β, the hypergradient's step. It is scale-dependent: the paper uses 1e-3 for SGD, 1e-7 for
    /// Adam, whose directions have entries of order one; momentum's larger directions need less
    /// (`for_optimizer`).
    pub step: f32,
    /// α stays in [0, max]: a step that would leave that range (or make α not a number) is
    /// clamped, and counted in the run's report, rather than failing the trial.
    pub max: f32,
    /// The most α may change in one step, as a fraction of itself (0: no limit, the paper's
    /// rule). The hypergradient's size depends on the network: on the CNN with momentum, the
    /// first steps' gradients, all pointing the same way, moved α tenfold within an epoch, and a
    /// rate that rises under a full momentum buffer takes one huge step that kills the network
    /// (BENCHMARKS.md). Limited, α can still double in about 70 steps.
    #[serde(default)]
    pub max_change: f32,
}

impl LrHypergradient {
    /// The paper's step for `optimizer`, with α kept at most 1.
    pub fn for_optimizer(optimizer: OptimizerKind) -> Self {
        let step = match optimizer {
            OptimizerKind::Sgd => 1e-3,
            // Momentum's direction is about 1/(1 − μ) times the gradient: ten times the dot.
            OptimizerKind::Momentum { .. } => 1e-4,
            OptimizerKind::RmsProp { .. } | OptimizerKind::Adam { .. } => 1e-7,
        };
        Self { step, max: 1.0, max_change: 0.01 }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            learning_rate: 0.01,
            lr_decay: LrDecay::None,
            epochs: 10,
            batch_size: 64,
            conv_layers: 3,
            conv_filters: DEFAULT_FILTERS.to_vec(),
            dense_units: 64,
            dropout: 0.0,
            l2: 0.001,
            l1: 0.0,
            optimizer: OptimizerKind::MOMENTUM,
            lr_hypergradient: None,
            l2_hypergradient: None,
        }
    }
}

/// Most memory one training run may need for its activations and gradients. A browser tab's
/// wasm memory tops out at a few GB, and one allocation at 2 GB; past this a worker would die
/// mid-trial, so such configurations are refused up front, with the figure.
pub const MAX_TRAINING_MEMORY_BYTES: u64 = 1_500_000_000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// `name` is the field (`learning_rate`); the message says it in words ("learning rate").
    #[error("{} must be {rule}; got {value}", field_label(name))]
    OutOfRange { name: &'static str, value: String, rule: Rule },
    #[error("a learning-rate decay and the hypergradient would both set the learning rate: keep one")]
    DecayWithHypergradient,
    #[error("{needed} conv layers need {needed} filter counts; {given} are listed")]
    MissingFilters { given: usize, needed: u32 },
    #[error("this network needs about {:.1} GB to train on batches of {batch_size}, more than the {:.1} GB a browser worker can count on: use a smaller batch or fewer filters", *.needed as f64 / 1e9, MAX_TRAINING_MEMORY_BYTES as f64 / 1e9)]
    TooMuchMemory { needed: u64, batch_size: u32 },
}

/// What a field's value must be: kept apart from the words so that the page can say it in its
/// own language (`text::problems`); `Display` is the command line's English.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// An interval in mathematical notation, the same in every language: "(0, 10]".
    Interval(&'static str),
    /// A whole number from `low` to `high`.
    Between {
        low: u32,
        high: u32,
    },
    /// A whole number from `low` to `high` for each conv layer.
    PerLayer {
        low: u32,
        high: u32,
    },
    /// Dense units: 0 (no hidden layer) up to `high`.
    UnitsOrNone {
        high: u32,
    },
    Positive,
    AtMost(u32),
    /// The L2 hypergradient's smallest L2: positive and at most its largest.
    PositiveBelowLargestL2,
    /// L2 with an L2 hypergradient: inside the range the hypergradient may move it in.
    InsideL2Range,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::Interval(interval) => write!(f, "in {interval}"),
            Rule::Between { low, high } => write!(f, "between {low} and {high}"),
            Rule::PerLayer { low, high } => write!(f, "between {low} and {high} per layer"),
            Rule::UnitsOrNone { high } => write!(f, "between 0 (no hidden layer) and {high}"),
            Rule::Positive => f.write_str("positive"),
            Rule::AtMost(most) => write!(f, "at most {most}"),
            Rule::PositiveBelowLargestL2 => f.write_str("positive and at most the largest L2"),
            Rule::InsideL2Range => f.write_str("between the smallest and largest L2 the hypergradient may reach"),
        }
    }
}

/// A field of `TrainConfig` in the words the page and the command line use for it.
pub fn field_label(name: &str) -> &str {
    match name {
        "learning_rate" => "learning rate",
        "lr_decay.every_epochs" => "decay every (epochs)",
        "lr_decay.factor" => "decay factor",
        "batch_size" => "batch size",
        "conv_layers" => "conv layers",
        "conv_filters" => "filters per conv layer",
        "dense_units" => "dense units",
        "l2" => "L2",
        "l1" => "L1",
        "lr_hypergradient.step" => "hypergradient step",
        "lr_hypergradient.max" => "largest learning rate",
        "l2_hypergradient.step" => "L2 hypergradient step",
        "l2_hypergradient.every" => "L2 hyper step every (batches)",
        "l2_hypergradient.min" => "smallest L2",
        "l2_hypergradient.max" => "largest L2",
        "rho" => "RMSprop's rho",
        "beta1" => "Adam's beta1",
        "beta2" => "Adam's beta2",
        other => other,
    }
}

fn check_f32(name: &'static str, value: f32, ok: bool, rule: Rule) -> Result<(), ConfigError> {
    if value.is_finite() && ok {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange { name, value: value.to_string(), rule })
    }
}

fn check_u32(name: &'static str, value: u32, lo: u32, hi: u32, rule: Rule) -> Result<(), ConfigError> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange { name, value: value.to_string(), rule })
    }
}

impl TrainConfig {
    /// Check every value; the first problem found is returned, naming the field and the value.
    pub fn validate(&self) -> Result<ValidConfig, ConfigError> {
        let c = self;
        check_f32("learning_rate", c.learning_rate, c.learning_rate > 0.0 && c.learning_rate <= 10.0, Rule::Interval("(0, 10]"))?;
        match c.lr_decay {
            LrDecay::None => {}
            LrDecay::Step { every_epochs, factor } => {
                check_u32("lr_decay.every_epochs", every_epochs, 1, 1000, Rule::Between { low: 1, high: 1000 })?;
                check_f32("lr_decay.factor", factor, factor > 0.0 && factor <= 1.0, Rule::Interval("(0, 1]"))?;
            }
            LrDecay::Exponential { factor } => {
                check_f32("lr_decay.factor", factor, factor > 0.0 && factor <= 1.0, Rule::Interval("(0, 1]"))?;
            }
        }
        check_u32("epochs", c.epochs, 1, 1000, Rule::Between { low: 1, high: 1000 })?;
        check_u32("batch_size", c.batch_size, 1, 4096, Rule::Between { low: 1, high: 4096 })?;
        check_u32("conv_layers", c.conv_layers, 1, MAX_CONV_LAYERS, Rule::Between { low: 1, high: MAX_CONV_LAYERS })?;
        if c.conv_filters.len() < c.conv_layers as usize {
            return Err(ConfigError::MissingFilters { given: c.conv_filters.len(), needed: c.conv_layers });
        }
        for &f in &c.conv_filters[..c.conv_layers as usize] {
            check_u32("conv_filters", f, 1, 256, Rule::PerLayer { low: 1, high: 256 })?;
        }
        check_u32("dense_units", c.dense_units, 0, 4096, Rule::UnitsOrNone { high: 4096 })?;
        check_f32("dropout", c.dropout, (0.0..1.0).contains(&c.dropout), Rule::Interval("[0, 1)"))?;
        check_f32("l2", c.l2, c.l2 >= 0.0 && c.l2 <= 10.0, Rule::Interval("[0, 10]"))?;
        check_f32("l1", c.l1, c.l1 >= 0.0 && c.l1 <= 10.0, Rule::Interval("[0, 10]"))?;
        match c.optimizer {
            OptimizerKind::Sgd => {}
            OptimizerKind::Momentum { momentum } => {
                check_f32("momentum", momentum, (0.0..1.0).contains(&momentum), Rule::Interval("[0, 1)"))?;
            }
            OptimizerKind::RmsProp { rho, epsilon } => {
                check_f32("rho", rho, rho > 0.0 && rho < 1.0, Rule::Interval("(0, 1)"))?;
                check_f32("epsilon", epsilon, epsilon > 0.0, Rule::Positive)?;
            }
            OptimizerKind::Adam { beta1, beta2, epsilon } => {
                check_f32("beta1", beta1, (0.0..1.0).contains(&beta1), Rule::Interval("[0, 1)"))?;
                check_f32("beta2", beta2, (0.0..1.0).contains(&beta2), Rule::Interval("[0, 1)"))?;
                check_f32("epsilon", epsilon, epsilon > 0.0, Rule::Positive)?;
            }
        }
        if let Some(h) = c.lr_hypergradient {
            check_f32("lr_hypergradient.step", h.step, h.step >= 0.0 && h.step <= 1.0, Rule::Interval("[0, 1]"))?;
            check_f32("lr_hypergradient.max", h.max, h.max > 0.0 && h.max <= 10.0, Rule::Interval("(0, 10]"))?;
            check_f32("lr_hypergradient.max_change", h.max_change, (0.0..=1.0).contains(&h.max_change), Rule::Interval("[0, 1]"))?;
            if c.lr_decay != LrDecay::None {
                return Err(ConfigError::DecayWithHypergradient);
            }
        }
        if let Some(h) = c.l2_hypergradient {
            check_f32("l2_hypergradient.step", h.step, (0.0..=1.0).contains(&h.step), Rule::Interval("[0, 1]"))?;
            check_u32("l2_hypergradient.every", h.every, 1, 1000, Rule::Between { low: 1, high: 1000 })?;
            check_f32("l2_hypergradient.min", h.min, h.min > 0.0 && h.min <= h.max, Rule::PositiveBelowLargestL2)?;
            check_f32("l2_hypergradient.max", h.max, h.max <= 10.0, Rule::AtMost(10))?;
            check_f32("l2", c.l2, c.l2 >= h.min && c.l2 <= h.max, Rule::InsideL2Range)?;
        }
        let needed = c.training_memory_bytes();
        if needed > MAX_TRAINING_MEMORY_BYTES {
            return Err(ConfigError::TooMuchMemory { needed, batch_size: c.batch_size });
        }
        Ok(ValidConfig(c.clone()))
    }

    /// Bytes of the buffers the layers keep: forward buffers (outputs) sized for the larger of
    /// a training and an evaluation batch, backward buffers (gradients) for a training batch.
    pub fn training_memory_bytes(&self) -> u64 {
        let train_batch = self.batch_size as u64;
        let forward_batch = train_batch.max(EVAL_BATCH as u64);
        let (forward, backward) = self.architecture().buffer_values_per_image();
        4 * (forward_batch * forward + train_batch * backward)
    }

    /// The network these hyperparameters describe: conv 3×3 "same" layers with a 2×2 max-pool
    /// after each of the first two, an optional dense layer, optional dropout.
    pub fn architecture(&self) -> Architecture {
        let mut layers = Vec::new();
        for (i, &filters) in self.filters().iter().enumerate() {
            layers.push(LayerSpec::Conv { filters, kernel: 3, padding: Padding::Same });
            if i < 2 {
                layers.push(LayerSpec::MaxPool);
            }
        }
        if self.dense_units > 0 {
            layers.push(LayerSpec::Dense { units: self.dense_units });
        }
        if self.dropout > 0.0 {
            layers.push(LayerSpec::Dropout { rate: self.dropout });
        }
        Architecture { layers }
    }

    /// Filters of the conv layers actually used.
    pub fn filters(&self) -> &[u32] {
        &self.conv_filters[..(self.conv_layers as usize).min(self.conv_filters.len())]
    }
}

/// A `TrainConfig` that passed validation. Read-only.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidConfig(TrainConfig);

impl std::ops::Deref for ValidConfig {
    type Target = TrainConfig;
    fn deref(&self) -> &TrainConfig {
        &self.0
    }
}

/// A validated configuration's network, which always fits 28×28 images: `Model::new(&config, rng)`.
impl From<&ValidConfig> for Architecture {
    fn from(config: &ValidConfig) -> Self {
        config.architecture()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_seed_best_point_and_valid() {
        let c = TrainConfig::default();
        assert_eq!((c.learning_rate, c.epochs, c.batch_size, c.conv_layers, c.l2), (0.01, 10, 64, 3, 0.001));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn invalid_values_are_named() {
        let bad = |f: fn(&mut TrainConfig)| {
            let mut c = TrainConfig::default();
            f(&mut c);
            c.validate().unwrap_err().to_string()
        };
        assert_eq!(bad(|c| c.learning_rate = 0.0), "learning rate must be in (0, 10]; got 0");
        assert_eq!(bad(|c| c.learning_rate = -0.1), "learning rate must be in (0, 10]; got -0.1");
        assert_eq!(bad(|c| c.learning_rate = f32::NAN), "learning rate must be in (0, 10]; got NaN");
        assert_eq!(bad(|c| c.batch_size = 0), "batch size must be between 1 and 4096; got 0");
        assert_eq!(bad(|c| c.epochs = 0), "epochs must be between 1 and 1000; got 0");
        assert_eq!(bad(|c| c.conv_layers = 5), "conv layers must be between 1 and 4; got 5");
        assert_eq!(bad(|c| c.dropout = 1.0), "dropout must be in [0, 1); got 1");
        assert_eq!(bad(|c| c.l2 = f32::INFINITY), "L2 must be in [0, 10]; got inf");
        assert_eq!(bad(|c| c.l1 = -1.0), "L1 must be in [0, 10]; got -1");
        assert_eq!(bad(|c| c.conv_filters = vec![8]), "3 conv layers need 3 filter counts; 1 are listed");
        assert_eq!(bad(|c| c.optimizer = OptimizerKind::Momentum { momentum: 1.0 }), "momentum must be in [0, 1); got 1");
        assert_eq!(bad(|c| c.lr_decay = LrDecay::Step { every_epochs: 0, factor: 0.5 }), "decay every (epochs) must be between 1 and 1000; got 0");
    }

    #[test]
    fn networks_too_big_for_a_browser_worker_are_refused_with_the_figure() {
        let default = TrainConfig::default();
        let mb = default.training_memory_bytes() as f64 / 1e6;
        assert!((10.0..60.0).contains(&mb), "the default net needs {mb} MB");
        let huge = TrainConfig { batch_size: 4096, conv_layers: 4, conv_filters: vec![256; 4], ..Default::default() };
        let err = huge.validate().unwrap_err();
        assert!(matches!(err, ConfigError::TooMuchMemory { batch_size: 4096, .. }), "{err}");
        assert!(err.to_string().starts_with("this network needs about "), "{err}");
        assert!(TrainConfig { batch_size: 1024, ..Default::default() }.validate().is_ok());
    }

    #[test]
    fn json_round_trip_and_partial_json_takes_defaults() {
        let c = TrainConfig { optimizer: OptimizerKind::ADAM, lr_decay: LrDecay::Exponential { factor: 0.9 }, ..Default::default() };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<TrainConfig>(&json).unwrap(), c);
        let partial: TrainConfig = serde_json::from_str(r#"{"learning_rate": 0.1, "optimizer": {"kind": "sgd"}}"#).unwrap();
        assert_eq!(partial.learning_rate, 0.1);
        assert_eq!(partial.epochs, 10);
        assert!(serde_json::from_str::<TrainConfig>(r#"{"learning_rat": 0.1}"#).is_err(), "typos are refused");
    }
}
