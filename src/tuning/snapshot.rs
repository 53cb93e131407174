//! What a method knew when it proposed a round, kept so that "why this point next" is drawn from
//! the state the proposal came from — not from a model refitted afterwards, which may differ.
//!
//! A snapshot is small: what the method's choice depended on beyond the history it saw (a
//! Gaussian process's fitted hyperparameters, CMA-ES's distribution, the genetic algorithm's
//! parents). The history itself is the study's first `seen` observations, which never change
//! once seen (`Study::history_seen`); the GP's posterior is rebuilt from both exactly.

/// The method's state behind one round's proposals.
#[derive(Debug, Clone, PartialEq)]
pub enum Snapshot {
    /// Drawn uniformly at random: random search, and a model-based method before its model is
    /// used (`warming_up`: the scored trials it has, and how many the model needs).
    Uniform { warming_up: Option<(usize, usize)> },
    /// The grid's `cells` in their visiting order; `before` of them were proposed earlier.
    /// `axes`: each param's grid values, as positions in the unit cube.
    Grid { before: usize, cells: usize, axes: Vec<Vec<f64>> },
    /// GP-EI's model: these kernel hyperparameters, fitted to the history seen.
    Gp { hyper: Hyper },
    /// TPE's model: the good and bad densities follow from the history seen alone.
    Tpe { gamma: usize },
    /// CMA-ES sampling generation `index` (from 0) from this distribution over the numeric
    /// params `numeric` (the space's indices).
    Cmaes { index: usize, generation: Generation, numeric: Vec<usize> },
    /// The genetic algorithm breeding generation `index` (from 1) from this population, best
    /// first (the first `elites` survive unchanged); `pairs[k]`: the parents (indices into
    /// `parents`) the round's proposal `k` was bred from.
    Genetic { index: usize, parents: Vec<Member>, elites: usize, pairs: Vec<(usize, usize)> },
}

/// One round: a batch of proposals and the state they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    /// The study's batch number (`Trial::batch`).
    pub batch: usize,
    /// How many observations of the history the method saw (`Study::history_seen`).
    pub seen: usize,
    /// The round's proposals as points of the unit cube, in order (run or skipped).
    pub proposals: Vec<Vec<f64>>,
    pub snapshot: Snapshot,
}

/// A Gaussian process's kernel hyperparameters, in log space (`gp.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct Hyper {
    pub log_lengths: Vec<f64>,
    pub log_signal: f64,
    pub log_noise: f64,
}

/// One CMA-ES generation's distribution (`cmaes.rs`), for the charts: over the numeric params, in cube units.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub mean: Vec<f64>,
    pub sigma: f64,
    /// `C`, row-major, `d × d` (the sampling covariance is σ²C).
    pub covariance: Vec<f64>,
}

/// One member of the genetic algorithm's population (`genetic.rs`): its point of the unit cube and its loss.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub unit: Vec<f64>,
    pub loss: f64,
}
