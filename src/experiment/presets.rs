//! The CNN's search spaces, and how a point of one becomes a training configuration.
//!
//! - `seed_grid`: the seed document's grid — learning rate {0.001, 0.01, 0.1} × epochs
//!   {5, 10, 20} × batch {32, 64, 128} × conv layers {2, 3, 4} × L2 {0.01, 0.001, 0.0001},
//!   243 points — as ranges with those grid values listed, so that every method searches the
//!   same ranges and grid search tries exactly the seed's points.
//! - `seed_continuous`: the same five ranges, without the lists.
//! - `wide`: those and the CNN's other hyperparameters: optimizer, momentum, learning-rate
//!   decay, filters, dense width, dropout and L1.
//!
//! Param names are the training configuration's own (`learning_rate`, `batch_size`, …, see
//! `apply`); a space meant for training is checked by `check_for_training`, which tries each
//! param's extremes on the default configuration, so that an unusable range (a learning rate
//! reaching 0, a dropout of 1) is refused before any trial runs.

use crate::nn::config::{ConfigError, LrDecay, OptimizerKind, TrainConfig, ValidConfig, DEFAULT_FILTERS};
use crate::tuning::space::{Param, SearchSpace, SpaceError, Value};

/// The presets' names, the default first.
pub const NAMES: [&str; 3] = ["seed-grid", "seed", "wide"];

/// A preset by its name.
pub fn by_name(name: &str) -> Option<SearchSpace> {
    match name {
        "seed-grid" => Some(seed_grid()),
        "seed" => Some(seed_continuous()),
        "wide" => Some(wide()),
        _ => None,
    }
}

/// The seed's grid: five ranges, each with the seed's three values listed.
pub fn seed_grid() -> SearchSpace {
    SearchSpace::new(vec![
        Param::log_float("learning_rate", 0.001, 0.1).with_grid(&[0.001, 0.01, 0.1]),
        Param::log_int("epochs", 5, 20).with_grid(&[5.0, 10.0, 20.0]),
        Param::log_int("batch_size", 32, 128).with_grid(&[32.0, 64.0, 128.0]),
        Param::int("conv_layers", 2, 4).with_grid(&[2.0, 3.0, 4.0]),
        Param::log_float("l2", 0.0001, 0.01).with_grid(&[0.01, 0.001, 0.0001]),
    ])
    .expect("the seed's grid is a valid space")
}

/// The seed's five ranges, continuous (integers still whole).
pub fn seed_continuous() -> SearchSpace {
    SearchSpace::new(seed_grid().params().iter().map(|p| Param { grid: None, ..p.clone() }).collect()).expect("a valid space")
}

/// The seed's ranges and the CNN's other hyperparameters. `momentum` only matters when the
/// optimizer is `momentum`; `filters` sets the first layer's filters, the others keeping the
/// default network's proportions (16/32/32/64 → f, 2f, 2f, 4f).
pub fn wide() -> SearchSpace {
    let mut params = seed_continuous().params().to_vec();
    params.extend([
        Param::categorical("optimizer", &["sgd", "momentum", "rmsprop", "adam"]),
        Param::float("momentum", 0.5, 0.99),
        Param::float("lr_decay", 0.8, 1.0),
        Param::log_int("filters", 8, 64),
        Param::log_int("dense_units", 16, 256),
        Param::float("dropout", 0.0, 0.5),
        Param::log_float("l1", 1e-6, 1e-3),
    ]);
    SearchSpace::new(params).expect("a valid space")
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HyperparamError {
    #[error("{name:?} is not a hyperparameter of the CNN (known: {})", KNOWN.join(", "))]
    Unknown { name: String },
    #[error("{name}: {value} is not a value it can take")]
    WrongKind { name: String, value: String },
    #[error("{name} at {value}: {source}")]
    Invalid { name: String, value: String, source: ConfigError },
    /// The values together break the configuration, no one field alone.
    #[error("configuration at these values: {0}")]
    Combination(ConfigError),
    #[error(transparent)]
    Space(#[from] SpaceError),
}

impl HyperparamError {
    /// The hyperparameter the error is about, if one is.
    pub fn param(&self) -> Option<&str> {
        match self {
            HyperparamError::Unknown { name } | HyperparamError::WrongKind { name, .. } | HyperparamError::Invalid { name, .. } => Some(name),
            HyperparamError::Combination(_) | HyperparamError::Space(_) => None,
        }
    }
}

/// The hyperparameters a space for training may name.
pub const KNOWN: [&str; 12] =
    ["learning_rate", "epochs", "batch_size", "conv_layers", "l2", "optimizer", "momentum", "lr_decay", "filters", "dense_units", "dropout", "l1"];

/// `base` with the space's values set; the result is validated.
pub fn apply(space: &SearchSpace, values: &[Value], base: &TrainConfig) -> Result<ValidConfig, HyperparamError> {
    let mut config = base.clone();
    let mut momentum = None;
    for (param, value) in space.params().iter().zip(values) {
        set(&mut config, &mut momentum, &param.name, value)?;
    }
    if let (Some(m), OptimizerKind::Momentum { .. }) = (momentum, config.optimizer) {
        config.optimizer = OptimizerKind::Momentum { momentum: m };
    }
    config.validate().map_err(|source| {
        // Name the param whose value broke the configuration when the error says which.
        let ConfigError::OutOfRange { name, ref value, .. } = source else {
            return HyperparamError::Combination(source);
        };
        HyperparamError::Invalid { name: name.into(), value: value.clone(), source }
    })
}

/// Every param is one the CNN knows, and each one's lowest and highest values give a valid
/// configuration with the other values at `base`.
pub fn check_for_training(space: &SearchSpace, base: &TrainConfig) -> Result<(), HyperparamError> {
    for param in space.params() {
        if !KNOWN.contains(&param.name.as_str()) {
            return Err(HyperparamError::Unknown { name: param.name.clone() });
        }
    }
    let middle: Vec<Value> = space.values_at(&vec![0.5; space.len()]);
    for (i, param) in space.params().iter().enumerate() {
        for u in [0.0, 1.0] {
            let mut values = middle.clone();
            values[i] = param.from_unit(u);
            apply(space, &values, base)?;
        }
    }
    Ok(())
}

fn set(config: &mut TrainConfig, momentum: &mut Option<f32>, name: &str, value: &Value) -> Result<(), HyperparamError> {
    let wrong = || HyperparamError::WrongKind { name: name.into(), value: value.to_string() };
    let number = value.as_f64();
    let whole = |x: f64| -> Result<u32, HyperparamError> {
        if x >= 0.0 && x.fract() == 0.0 && x <= u32::MAX as f64 {
            Ok(x as u32)
        } else {
            Err(wrong())
        }
    };
    match name {
        "learning_rate" => config.learning_rate = number.ok_or_else(wrong)? as f32,
        "epochs" => config.epochs = whole(number.ok_or_else(wrong)?)?,
        "batch_size" => config.batch_size = whole(number.ok_or_else(wrong)?)?,
        "conv_layers" => config.conv_layers = whole(number.ok_or_else(wrong)?)?,
        "l2" => config.l2 = number.ok_or_else(wrong)? as f32,
        "l1" => config.l1 = number.ok_or_else(wrong)? as f32,
        "dropout" => config.dropout = number.ok_or_else(wrong)? as f32,
        "dense_units" => config.dense_units = whole(number.ok_or_else(wrong)?)?,
        "lr_decay" => {
            let factor = number.ok_or_else(wrong)? as f32;
            config.lr_decay = if factor == 1.0 { LrDecay::None } else { LrDecay::Exponential { factor } };
        }
        "filters" => {
            let f = whole(number.ok_or_else(wrong)?)?;
            let scale = |d: u32| (f * d / DEFAULT_FILTERS[0]).max(1);
            config.conv_filters = DEFAULT_FILTERS.iter().map(|&d| scale(d)).collect();
        }
        "momentum" => *momentum = Some(number.ok_or_else(wrong)? as f32),
        "optimizer" => {
            let Value::Choice(choice) = value else { return Err(wrong()) };
            config.optimizer = OptimizerKind::from_name(choice).ok_or_else(wrong)?;
        }
        _ => return Err(HyperparamError::Unknown { name: name.into() }),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_grid_has_its_243_points_and_the_continuous_space_its_ranges() {
        let grid = seed_grid();
        let points: usize = grid.params().iter().map(|p| p.grid_values(10).len()).product();
        assert_eq!(points, 243);
        let lr = &grid.params()[grid.index_of("learning_rate").unwrap()];
        assert_eq!(lr.grid_values(10), vec![Value::Float(0.001), Value::Float(0.01), Value::Float(0.1)]);
        let continuous = seed_continuous();
        assert!(continuous.params().iter().all(|p| p.grid.is_none()));
        assert_eq!(continuous.values_at(&[0.0; 5]), vec![Value::Float(0.001), Value::Int(5), Value::Int(32), Value::Int(2), Value::Float(0.0001)]);
        for space in [seed_grid(), seed_continuous(), wide()] {
            check_for_training(&space, &TrainConfig::default()).unwrap();
        }
    }

    #[test]
    fn grid_search_runs_the_seeds_243_points_smallest_first() {
        use crate::tuning::grid::GridSearch;
        use crate::tuning::study::{Direction, Outcome, Study, StudyConfig};
        let mut study = Study::new(
            seed_grid(),
            Box::new(GridSearch::default()),
            StudyConfig { seed: 1, direction: Direction::Minimize, budget: 10_000, batch_size: 16 },
            Box::new(|_| 1),
        );
        study.optimize(|_| Outcome::Complete(1.0), |_| {});
        assert_eq!(study.trials().len(), 243);
        assert_eq!(study.trials()[0].values, vec![Value::Float(0.001), Value::Int(5), Value::Int(32), Value::Int(2), Value::Float(0.01)]);
    }

    #[test]
    fn a_point_becomes_the_training_configuration_it_names() {
        let space = wide();
        let names: Vec<&str> = space.params().iter().map(|p| p.name.as_str()).collect();
        let value = |name: &str| -> Value {
            match name {
                "learning_rate" => Value::Float(0.003),
                "epochs" => Value::Int(7),
                "batch_size" => Value::Int(100),
                "conv_layers" => Value::Int(2),
                "l2" => Value::Float(0.0005),
                "optimizer" => Value::Choice("momentum".into()),
                "momentum" => Value::Float(0.8),
                "lr_decay" => Value::Float(0.9),
                "filters" => Value::Int(8),
                "dense_units" => Value::Int(32),
                "dropout" => Value::Float(0.25),
                "l1" => Value::Float(1e-5),
                _ => unreachable!(),
            }
        };
        let values: Vec<Value> = names.iter().map(|n| value(n)).collect();
        let config = apply(&space, &values, &TrainConfig::default()).unwrap();
        assert_eq!(config.learning_rate, 0.003);
        assert_eq!((config.epochs, config.batch_size, config.conv_layers, config.dense_units), (7, 100, 2, 32));
        assert_eq!(config.optimizer, OptimizerKind::Momentum { momentum: 0.8 });
        assert_eq!(config.lr_decay, LrDecay::Exponential { factor: 0.9 });
        assert_eq!(config.conv_filters, vec![8, 16, 16, 32]);
        assert_eq!((config.dropout, config.l2, config.l1), (0.25, 0.0005, 1e-5));
    }

    #[test]
    fn spaces_that_training_cannot_use_are_refused_naming_the_param() {
        let base = TrainConfig::default();
        let space = SearchSpace::new(vec![Param::float("learning_rate", 0.0, 0.1)]).unwrap();
        let err = check_for_training(&space, &base).unwrap_err().to_string();
        assert_eq!(err, "learning_rate at 0: learning rate must be in (0, 10]; got 0");
        let space = SearchSpace::new(vec![Param::float("dropout", 0.0, 1.0)]).unwrap();
        assert!(check_for_training(&space, &base).unwrap_err().to_string().starts_with("dropout at 1:"));
        let space = SearchSpace::new(vec![Param::float("warmup", 0.0, 1.0)]).unwrap();
        assert!(check_for_training(&space, &base).unwrap_err().to_string().starts_with("\"warmup\" is not a hyperparameter of the CNN"));
        let space = SearchSpace::new(vec![Param::categorical("optimizer", &["adam", "lion"])]).unwrap();
        assert_eq!(check_for_training(&space, &base).unwrap_err().to_string(), "optimizer: lion is not a value it can take");
    }
}
