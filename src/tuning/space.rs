//! Search spaces: named hyperparameters, each a float or an integer on a linear or log scale, or
//! a categorical choice, and the map of each to and from the unit interval. Every tuning method
//! works in the unit cube `[0, 1]^d` that these maps define (GP-EI, TPE, CMA-ES and the coverage
//! charts alike), and only turns a point of the cube into values at the end.
//!
//! A space is built only through `SearchSpace::new`, which refuses empty ranges, log scales that
//! reach zero, non-finite bounds, duplicate names and empty categoricals, with messages that name
//! the param and the value (Optuna's distributions validate themselves the same way). Spaces
//! read from JSON go through the same constructor.
//!
//! Integers and categoricals give each value an equal share of the unit interval (a value's
//! point is the middle of its share), so a method that moves continuously in the cube lands on
//! each value with the right frequency, and a value's point maps back to the value.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The values a param can take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Domain {
    /// A real number in `[low, high]`; with `log`, uniform in log space (needs `low > 0`).
    Float {
        low: f64,
        high: f64,
        #[serde(default)]
        log: bool,
    },
    /// An integer in `low..=high`; with `log`, spread evenly in log space (needs `low ≥ 1`).
    Int {
        low: i64,
        high: i64,
        #[serde(default)]
        log: bool,
    },
    /// One of a list of labels, in no particular order.
    Categorical { choices: Vec<String> },
}

/// One named hyperparameter. `grid`, if given, lists the values grid search tries (otherwise
/// it spaces its points evenly on the param's scale). (Unknown fields are refused by `Domain`,
/// which receives every field but these two.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    #[serde(flatten)]
    pub domain: Domain,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<Vec<f64>>,
}

/// A value of one param.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Int(i64),
    Float(f64),
    Choice(String),
}

impl Value {
    /// The value as a number (a categorical has none).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::Float(x) => Some(x),
            Value::Choice(_) => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Choice(c) => write!(f, "{c}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpaceError {
    #[error("a search space needs at least one param")]
    NoParams,
    #[error("a param needs a name")]
    EmptyName,
    #[error("two params are called {name:?}")]
    DuplicateName { name: String },
    #[error("{name}: the range {low} to {high} is empty (low must be below high)")]
    EmptyRange { name: String, low: String, high: String },
    #[error("{name}: bounds must be finite numbers; got {value}")]
    NotFinite { name: String, value: f64 },
    #[error("{name}: a log scale needs a positive lower bound (at least 1 for integers); got {low}")]
    LogNeedsPositive { name: String, low: String },
    #[error("{name}: a categorical param needs at least one choice")]
    NoChoices { name: String },
    #[error("{name}: the choice {choice:?} is listed twice")]
    DuplicateChoice { name: String, choice: String },
    #[error("{name}: grid value {value} is outside {low} to {high}")]
    GridOutside { name: String, value: f64, low: String, high: String },
    #[error("{name}: grid value {value} is not a whole number")]
    GridNotWhole { name: String, value: f64 },
    #[error("{name}: a categorical param's grid is its choices; drop the grid list")]
    GridOnCategorical { name: String },
    #[error("{name}: the grid list is empty")]
    EmptyGrid { name: String },
    #[error("the search space file is not valid JSON for a space: {0}")]
    Json(String),
}

/// A validated list of params. Only `new` (and `from_json`, which calls it) make one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchSpace {
    params: Vec<Param>,
}

impl<'de> Deserialize<'de> for SearchSpace {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            params: Vec<Param>,
        }
        let raw = Raw::deserialize(deserializer)?;
        SearchSpace::new(raw.params).map_err(serde::de::Error::custom)
    }
}

impl SearchSpace {
    pub fn new(params: Vec<Param>) -> Result<Self, SpaceError> {
        if params.is_empty() {
            return Err(SpaceError::NoParams);
        }
        for (i, p) in params.iter().enumerate() {
            if p.name.trim().is_empty() {
                return Err(SpaceError::EmptyName);
            }
            if params[..i].iter().any(|q| q.name == p.name) {
                return Err(SpaceError::DuplicateName { name: p.name.clone() });
            }
            p.check()?;
        }
        Ok(Self { params })
    }

    /// A space that searches nothing: every value comes from the base configuration. A study
    /// over it has one point (the empty one): a single configuration run as a study of one
    /// trial. `new` refuses an empty list, which from a file or a form is a mistake.
    pub fn nothing() -> Self {
        Self { params: Vec::new() }
    }

    /// A space from its JSON form, `{"params": [{"name": …, "type": "float", "low": …, …}]}`.
    pub fn from_json(text: &str) -> Result<Self, SpaceError> {
        serde_json::from_str(text).map_err(|e| SpaceError::Json(e.to_string()))
    }

    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// Dimensions of the unit cube: one per param.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }

    /// The values at a point of the unit cube (coordinates outside `[0, 1]` are clamped).
    pub fn values_at(&self, unit: &[f64]) -> Vec<Value> {
        assert_eq!(unit.len(), self.len(), "one coordinate per param");
        self.params.iter().zip(unit).map(|(p, &u)| p.from_unit(u)).collect()
    }

    /// The point of the unit cube that stands for `values`.
    pub fn unit_of(&self, values: &[Value]) -> Vec<f64> {
        assert_eq!(values.len(), self.len(), "one value per param");
        self.params.iter().zip(values).map(|(p, v)| p.to_unit(v)).collect()
    }
}

/// The choice, of `choices` sharing `[0, 1]` equally, whose share holds `u` (in `[0, 1]`).
pub fn choice_at(u: f64, choices: usize) -> usize {
    ((u * choices as f64).floor().max(0.0) as usize).min(choices - 1)
}

/// The middle of choice `index`'s share of `[0, 1]`: the point that stands for it.
pub fn choice_unit(index: usize, choices: usize) -> f64 {
    (index as f64 + 0.5) / choices as f64
}

impl Param {
    pub fn float(name: &str, low: f64, high: f64) -> Self {
        Self { name: name.into(), domain: Domain::Float { low, high, log: false }, grid: None }
    }
    pub fn log_float(name: &str, low: f64, high: f64) -> Self {
        Self { name: name.into(), domain: Domain::Float { low, high, log: true }, grid: None }
    }
    pub fn int(name: &str, low: i64, high: i64) -> Self {
        Self { name: name.into(), domain: Domain::Int { low, high, log: false }, grid: None }
    }
    pub fn log_int(name: &str, low: i64, high: i64) -> Self {
        Self { name: name.into(), domain: Domain::Int { low, high, log: true }, grid: None }
    }
    pub fn categorical(name: &str, choices: &[&str]) -> Self {
        Self { name: name.into(), domain: Domain::Categorical { choices: choices.iter().map(|c| c.to_string()).collect() }, grid: None }
    }
    /// The same param with the values grid search should try.
    pub fn with_grid(mut self, values: &[f64]) -> Self {
        self.grid = Some(values.to_vec());
        self
    }

    fn check(&self) -> Result<(), SpaceError> {
        let name = || self.name.clone();
        match self.domain {
            Domain::Float { low, high, log } => {
                for value in [low, high] {
                    if !value.is_finite() {
                        return Err(SpaceError::NotFinite { name: name(), value });
                    }
                }
                if low >= high {
                    return Err(SpaceError::EmptyRange { name: name(), low: low.to_string(), high: high.to_string() });
                }
                if log && low <= 0.0 {
                    return Err(SpaceError::LogNeedsPositive { name: name(), low: low.to_string() });
                }
            }
            Domain::Int { low, high, log } => {
                if low >= high {
                    return Err(SpaceError::EmptyRange { name: name(), low: low.to_string(), high: high.to_string() });
                }
                if log && low < 1 {
                    return Err(SpaceError::LogNeedsPositive { name: name(), low: low.to_string() });
                }
            }
            Domain::Categorical { ref choices } => {
                if choices.is_empty() {
                    return Err(SpaceError::NoChoices { name: name() });
                }
                for (i, c) in choices.iter().enumerate() {
                    if choices[..i].contains(c) {
                        return Err(SpaceError::DuplicateChoice { name: name(), choice: c.clone() });
                    }
                }
                if self.grid.is_some() {
                    return Err(SpaceError::GridOnCategorical { name: name() });
                }
            }
        }
        if let Some(grid) = &self.grid {
            if grid.is_empty() {
                return Err(SpaceError::EmptyGrid { name: name() });
            }
            let (low, high) = self.bounds();
            for &value in grid {
                if !(low..=high).contains(&value) {
                    return Err(SpaceError::GridOutside { name: name(), value, low: low.to_string(), high: high.to_string() });
                }
                if matches!(self.domain, Domain::Int { .. }) && value.fract() != 0.0 {
                    return Err(SpaceError::GridNotWhole { name: name(), value });
                }
            }
        }
        Ok(())
    }

    /// The numeric bounds (a categorical's are its first and last index).
    fn bounds(&self) -> (f64, f64) {
        match self.domain {
            Domain::Float { low, high, .. } => (low, high),
            Domain::Int { low, high, .. } => (low as f64, high as f64),
            Domain::Categorical { ref choices } => (0.0, (choices.len() - 1) as f64),
        }
    }

    /// How many distinct values (None for a float).
    pub fn cardinality(&self) -> Option<u64> {
        match self.domain {
            Domain::Float { .. } => None,
            Domain::Int { low, high, .. } => Some((high - low) as u64 + 1),
            Domain::Categorical { ref choices } => Some(choices.len() as u64),
        }
    }

    /// For an int param, the share of `[0, 1]` standing for the integer at `u` (the model-based
    /// methods weigh an integer by the whole share); None for floats and categoricals.
    pub fn share_at(&self, u: f64) -> Option<(f64, f64)> {
        match self.domain {
            Domain::Int { low, high, log: false } => {
                let n = (high - low + 1) as f64;
                let i = (u.clamp(0.0, 1.0) * n).floor().min(n - 1.0);
                Some((i / n, (i + 1.0) / n))
            }
            Domain::Int { low, high, log: true } => {
                let Value::Int(x) = self.from_unit(u) else { unreachable!("an int param gives an int") };
                let (a, b) = (((low as f64) - 0.5).ln(), ((high as f64) + 0.5).ln());
                let (lo, hi) = (((x as f64) - 0.5).ln().max(a), ((x as f64) + 0.5).ln().min(b));
                Some(((lo - a) / (b - a), (hi - a) / (b - a)))
            }
            _ => None,
        }
    }

    /// The param's value nearest the number `x` (a whole number for an int param; for a
    /// categorical, which has no numbers, its middle choice).
    pub fn nearest(&self, x: f64) -> Value {
        match self.domain {
            Domain::Float { low, high, .. } => Value::Float(x.clamp(low, high)),
            Domain::Int { low, high, .. } => Value::Int((x.round() as i64).clamp(low, high)),
            Domain::Categorical { .. } => self.from_unit(0.5),
        }
    }

    /// The value at `u` in `[0, 1]` (clamped).
    pub fn from_unit(&self, u: f64) -> Value {
        let u = if u.is_nan() { 0.5 } else { u.clamp(0.0, 1.0) };
        match self.domain {
            Domain::Float { low, high, log: false } => Value::Float((low + u * (high - low)).clamp(low, high)),
            // The ends exactly, not as exp(ln(x)).
            Domain::Float { low, .. } if u == 0.0 => Value::Float(low),
            Domain::Float { high, .. } if u == 1.0 => Value::Float(high),
            Domain::Float { low, high, log: true } => Value::Float((low.ln() + u * (high.ln() - low.ln())).exp().clamp(low, high)),
            Domain::Int { low, high, log: false } => {
                let n = (high - low + 1) as f64;
                Value::Int(low + ((u * n).floor() as i64).min(high - low))
            }
            Domain::Int { low, high, log: true } => {
                // Each integer owns [k − ½, k + ½) in log space, so that a uniform u reaches the
                // small values as often as the log scale says.
                let (a, b) = (((low as f64) - 0.5).ln(), ((high as f64) + 0.5).ln());
                Value::Int(((a + u * (b - a)).exp().round() as i64).clamp(low, high))
            }
            Domain::Categorical { ref choices } => {
                let k = choices.len();
                Value::Choice(choices[choice_at(u, k)].clone())
            }
        }
    }

    /// The point of `[0, 1]` that stands for `value` (the middle of an integer's or a choice's
    /// share). A value of the wrong kind, or a choice not listed, panics: values come from the
    /// space itself.
    pub fn to_unit(&self, value: &Value) -> f64 {
        match (&self.domain, value) {
            (&Domain::Float { low, high, log }, v) => {
                let x = v.as_f64().expect("a number for a float param").clamp(low, high);
                if log {
                    (x.ln() - low.ln()) / (high.ln() - low.ln())
                } else {
                    (x - low) / (high - low)
                }
            }
            (&Domain::Int { low, high, log }, v) => {
                let x = (v.as_f64().expect("a number for an int param").round() as i64).clamp(low, high);
                if log {
                    let (a, b) = (((low as f64) - 0.5).ln(), ((high as f64) + 0.5).ln());
                    // The middle of the integer's share, in log space.
                    let (lo, hi) = (((x as f64) - 0.5).ln().max(a), ((x as f64) + 0.5).ln().min(b));
                    ((lo + hi) / 2.0 - a) / (b - a)
                } else {
                    ((x - low) as f64 + 0.5) / (high - low + 1) as f64
                }
            }
            (Domain::Categorical { choices }, Value::Choice(c)) => {
                let i = choices.iter().position(|x| x == c).unwrap_or_else(|| panic!("{}: {c:?} is not a choice", self.name));
                choice_unit(i, choices.len())
            }
            (Domain::Categorical { .. }, v) => panic!("{}: a categorical param takes a choice, not {v}", self.name),
        }
    }

    /// The values grid search tries: the `grid` list if given, every choice of a categorical,
    /// else `points` values evenly spaced on the param's scale (fewer for a short int range).
    pub fn grid_values(&self, points: usize) -> Vec<Value> {
        if let Some(grid) = &self.grid {
            return grid.iter().map(|&x| self.exact(x)).collect();
        }
        match self.domain {
            Domain::Categorical { ref choices } => choices.iter().map(|c| Value::Choice(c.clone())).collect(),
            _ => {
                let points = points.max(1);
                let mut values: Vec<Value> = (0..points).map(|i| self.from_unit(if points == 1 { 0.5 } else { i as f64 / (points - 1) as f64 })).collect();
                values.dedup();
                values
            }
        }
    }

    /// `x` as a value of this param (an int param's `x` is whole: checked by `check`).
    fn exact(&self, x: f64) -> Value {
        match self.domain {
            Domain::Int { .. } => Value::Int(x as i64),
            _ => Value::Float(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(params: Vec<Param>) -> String {
        SearchSpace::new(params).unwrap_err().to_string()
    }

    #[test]
    fn invalid_spaces_are_refused_with_the_param_and_the_value() {
        assert_eq!(err(vec![]), "a search space needs at least one param");
        assert_eq!(err(vec![Param::float("dropout", 0.5, 0.5)]), "dropout: the range 0.5 to 0.5 is empty (low must be below high)");
        assert_eq!(
            err(vec![Param::log_float("learning_rate", 0.0, 0.1)]),
            "learning_rate: a log scale needs a positive lower bound (at least 1 for integers); got 0"
        );
        assert_eq!(
            err(vec![Param::log_float("learning_rate", -0.01, 0.1)]),
            "learning_rate: a log scale needs a positive lower bound (at least 1 for integers); got -0.01"
        );
        assert_eq!(err(vec![Param::float("x", f64::NAN, 1.0)]), "x: bounds must be finite numbers; got NaN");
        assert_eq!(err(vec![Param::int("epochs", 5, 1)]), "epochs: the range 5 to 1 is empty (low must be below high)");
        assert_eq!(err(vec![Param::log_int("filters", 0, 64)]), "filters: a log scale needs a positive lower bound (at least 1 for integers); got 0");
        assert_eq!(err(vec![Param::float("x", 0.0, 1.0), Param::int("x", 1, 3)]), "two params are called \"x\"");
        assert_eq!(err(vec![Param::categorical("optimizer", &[])]), "optimizer: a categorical param needs at least one choice");
        assert_eq!(err(vec![Param::categorical("optimizer", &["adam", "sgd", "adam"])]), "optimizer: the choice \"adam\" is listed twice");
        assert_eq!(err(vec![Param::float("", 0.0, 1.0)]), "a param needs a name");
        assert_eq!(err(vec![Param::log_float("lr", 0.001, 0.1).with_grid(&[0.001, 0.5])]), "lr: grid value 0.5 is outside 0.001 to 0.1");
        assert_eq!(err(vec![Param::int("epochs", 1, 20).with_grid(&[5.0, 7.5])]), "epochs: grid value 7.5 is not a whole number");
    }

    #[test]
    fn unit_interval_maps_round_trip_on_every_kind_of_param() {
        let space = SearchSpace::new(vec![
            Param::float("dropout", 0.0, 0.5),
            Param::log_float("learning_rate", 1e-4, 1.0),
            Param::int("conv_layers", 1, 4),
            Param::log_int("batch_size", 16, 256),
            Param::categorical("optimizer", &["sgd", "momentum", "adam"]),
        ])
        .unwrap();
        // The ends of the cube are the ends of the ranges; log scales put the middle at the
        // geometric mean.
        assert_eq!(
            space.values_at(&[0.0, 0.0, 0.0, 0.0, 0.0]),
            vec![Value::Float(0.0), Value::Float(1e-4), Value::Int(1), Value::Int(16), Value::Choice("sgd".into())]
        );
        assert_eq!(
            space.values_at(&[1.0, 1.0, 1.0, 1.0, 1.0]),
            vec![Value::Float(0.5), Value::Float(1.0), Value::Int(4), Value::Int(256), Value::Choice("adam".into())]
        );
        let Value::Float(mid) = space.params()[1].from_unit(0.5) else { panic!() };
        assert!((mid - 0.01).abs() < 1e-12, "{mid}");
        // value → point → value is the identity, for every integer and choice.
        for p in space.params() {
            for v in p.grid_values(200) {
                let back = p.from_unit(p.to_unit(&v));
                match (&v, &back) {
                    (Value::Float(a), Value::Float(b)) => assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{}: {a} vs {b}", p.name),
                    _ => assert_eq!(v, back, "{}", p.name),
                }
            }
        }
        // Integers and choices share the interval equally.
        let p = &space.params()[2];
        let counts = (0..4000).fold([0; 4], |mut c, i| {
            let Value::Int(v) = p.from_unit((i as f64 + 0.5) / 4000.0) else { panic!() };
            c[(v - 1) as usize] += 1;
            c
        });
        assert_eq!(counts, [1000; 4]);
        // An integer's share holds exactly the points that map to it, on either scale; the
        // shares tile the interval.
        for p in &space.params()[2..4] {
            let mut end = 0.0;
            for v in p.grid_values(1000) {
                let (lo, hi) = p.share_at(p.to_unit(&v)).unwrap();
                assert!((lo - end).abs() < 1e-12 && hi > lo, "{}: {v} has share {lo}..{hi} after {end}", p.name);
                assert_eq!(p.from_unit(lo + 1e-9), v);
                assert_eq!(p.from_unit(hi - 1e-9), v);
                end = hi;
            }
            assert!((end - 1.0).abs() < 1e-12);
        }
        assert_eq!(space.params()[0].share_at(0.3), None);
        assert_eq!(space.params()[4].share_at(0.3), None);
    }

    #[test]
    fn grid_values_use_the_listed_points_or_even_steps_on_the_scale() {
        let lr = Param::log_float("learning_rate", 0.001, 0.1).with_grid(&[0.001, 0.01, 0.1]);
        assert_eq!(lr.grid_values(7), vec![Value::Float(0.001), Value::Float(0.01), Value::Float(0.1)]);
        let lr = Param::log_float("learning_rate", 0.001, 0.1);
        let values: Vec<f64> = lr.grid_values(3).iter().map(|v| v.as_f64().unwrap()).collect();
        assert!((values[1] - 0.01).abs() < 1e-12 && values[0] == 0.001 && (values[2] - 0.1).abs() < 1e-15, "{values:?}");
        // A short int range gives each integer once.
        assert_eq!(Param::int("conv_layers", 2, 4).grid_values(10), vec![Value::Int(2), Value::Int(3), Value::Int(4)]);
        assert_eq!(Param::categorical("o", &["a", "b"]).grid_values(5), vec![Value::Choice("a".into()), Value::Choice("b".into())]);
    }

    #[test]
    fn spaces_read_from_json_are_validated_too() {
        let text = r#"{"params": [
            {"name": "x", "type": "float", "low": -5, "high": 10},
            {"name": "lr", "type": "float", "low": 1e-4, "high": 1, "log": true},
            {"name": "layers", "type": "int", "low": 1, "high": 4, "grid": [2, 3, 4]},
            {"name": "optimizer", "type": "categorical", "choices": ["sgd", "adam"]}
        ]}"#;
        let space = SearchSpace::from_json(text).unwrap();
        assert_eq!(space.len(), 4);
        assert_eq!(space.params()[1], Param::log_float("lr", 1e-4, 1.0));
        let again = SearchSpace::from_json(&serde_json::to_string(&space).unwrap()).unwrap();
        assert_eq!(again, space);
        let bad = SearchSpace::from_json(r#"{"params": [{"name": "lr", "type": "float", "low": 0, "high": 1, "log": true}]}"#).unwrap_err();
        assert!(bad.to_string().contains("lr: a log scale needs a positive lower bound"), "{bad}");
        let bad = SearchSpace::from_json(r#"{"params": [{"name": "x", "type": "floaty", "low": 0, "high": 1}]}"#).unwrap_err();
        assert!(bad.to_string().contains("floaty"), "{bad}");
        let bad = SearchSpace::from_json(r#"{"params": [{"name": "x", "type": "float", "low": 0, "hihg": 1}]}"#).unwrap_err();
        assert!(bad.to_string().contains("hihg"), "{bad}");
    }
}
