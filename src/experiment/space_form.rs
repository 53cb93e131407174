//! The search space as the experiment panel edits it: one row per hyperparameter of a preset,
//! each switched on (searched over its range, on a linear or log scale, with grid values if
//! listed) or off ("fixed at" a value, which goes into the base configuration). Turning the rows
//! into a space and a base checks every row and names the bad ones in the form's words.

use super::presets::{apply, check_for_training, HyperparamError};
use crate::nn::TrainConfig;
use crate::tuning::space::{Domain, Param, SearchSpace, SpaceError, Value};

/// One hyperparameter's row, as text the user edits.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamRow {
    pub name: String,
    /// Searched (else fixed at `fixed`).
    pub on: bool,
    /// For a number: its range and scale; for a categorical, `choices`.
    pub low: String,
    pub high: String,
    pub log: bool,
    pub integer: bool,
    pub choices: Vec<String>,
    /// Grid search's values, comma-separated (empty: evenly spaced on the scale).
    pub grid: String,
    pub fixed: String,
}

/// A row's problem.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub row: usize,
    pub problem: RowProblem,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.problem.fmt(f)
    }
}

/// What is wrong with a row, kept as data so that the page can say it in its language
/// (`text::problems`); `Display` is the command line's English, led by the param's name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowProblem {
    /// "Fixed at" holds text that is not a number (`whole`: a whole number was wanted).
    #[error("{name}: fixed at “{text}”: not a {}", if *whole { "whole number" } else { "number" })]
    FixedNotANumber { name: String, text: String, whole: bool },
    #[error("{name}: fixed at “{text}”: one of {}", choices.join(", "))]
    FixedNotAChoice { name: String, text: String, choices: Vec<String> },
    #[error("{name}: the range needs two numbers, from and to")]
    RangeNotNumbers { name: String },
    #[error("{name}: the range takes whole numbers")]
    RangeNotWhole { name: String },
    #[error("{name}: grid values “{text}”: numbers separated by commas")]
    GridNotNumbers { name: String, text: String },
    #[error("{0}")]
    Space(#[from] SpaceError),
    #[error("{0}")]
    Hyperparam(#[from] HyperparamError),
}

/// The rows of `space`, each on; "fixed at" shows the base configuration's value.
pub fn rows_of(space: &SearchSpace, base: &TrainConfig) -> Vec<ParamRow> {
    space
        .params()
        .iter()
        .map(|p| {
            let (low, high, log, integer, choices) = match &p.domain {
                Domain::Float { low, high, log } => (low.to_string(), high.to_string(), *log, false, Vec::new()),
                Domain::Int { low, high, log } => (low.to_string(), high.to_string(), *log, true, Vec::new()),
                Domain::Categorical { choices } => (String::new(), String::new(), false, false, choices.clone()),
            };
            let grid = p.grid.as_ref().map(|g| g.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")).unwrap_or_default();
            ParamRow { name: p.name.clone(), on: true, low, high, log, integer, choices, grid, fixed: base_value(base, &p.name) }
        })
        .collect()
}

/// The base configuration's value of a hyperparameter, as text.
fn base_value(base: &TrainConfig, name: &str) -> String {
    match name {
        "learning_rate" => base.learning_rate.to_string(),
        "epochs" => base.epochs.to_string(),
        "batch_size" => base.batch_size.to_string(),
        "conv_layers" => base.conv_layers.to_string(),
        "l2" => base.l2.to_string(),
        "l1" => base.l1.to_string(),
        "dropout" => base.dropout.to_string(),
        "dense_units" => base.dense_units.to_string(),
        "optimizer" => base.optimizer.name().to_string(),
        "momentum" => match base.optimizer {
            crate::nn::OptimizerKind::Momentum { momentum } => momentum.to_string(),
            _ => "0.9".into(),
        },
        "lr_decay" => match base.lr_decay {
            crate::nn::LrDecay::Exponential { factor } => factor.to_string(),
            _ => "1".into(),
        },
        "filters" => base.conv_filters.first().map_or(String::new(), |f| f.to_string()),
        _ => String::new(),
    }
}

/// The space the rows search and the base with the fixed values set; else every bad row.
pub fn build(rows: &[ParamRow], base: &TrainConfig) -> Result<(SearchSpace, TrainConfig), Vec<RowError>> {
    let mut errors = Vec::new();
    let mut params = Vec::new();
    let mut fixed = Vec::new();
    for (row, r) in rows.iter().enumerate() {
        let mut bad = |problem: RowProblem| errors.push(RowError { row, problem });
        let name = r.name.clone();
        if !r.on {
            let value = if r.choices.is_empty() {
                match r.fixed.trim().parse::<f64>() {
                    Ok(v) if r.integer && v.fract() == 0.0 => Value::Int(v as i64),
                    Ok(v) if !r.integer => Value::Float(v),
                    _ => {
                        bad(RowProblem::FixedNotANumber { name, text: r.fixed.trim().into(), whole: r.integer });
                        continue;
                    }
                }
            } else if r.choices.iter().any(|c| c == r.fixed.trim()) {
                Value::Choice(r.fixed.trim().to_string())
            } else {
                bad(RowProblem::FixedNotAChoice { name, text: r.fixed.trim().into(), choices: r.choices.clone() });
                continue;
            };
            fixed.push((Param { name: r.name.clone(), domain: Domain::Float { low: 0.0, high: 1.0, log: false }, grid: None }, value));
            continue;
        }
        let param = if !r.choices.is_empty() {
            Param::categorical(&r.name, &r.choices.iter().map(String::as_str).collect::<Vec<_>>())
        } else {
            let (Ok(low), Ok(high)) = (r.low.trim().parse::<f64>(), r.high.trim().parse::<f64>()) else {
                bad(RowProblem::RangeNotNumbers { name });
                continue;
            };
            let domain = if r.integer {
                if low.fract() != 0.0 || high.fract() != 0.0 {
                    bad(RowProblem::RangeNotWhole { name });
                    continue;
                }
                Domain::Int { low: low as i64, high: high as i64, log: r.log }
            } else {
                Domain::Float { low, high, log: r.log }
            };
            let mut param = Param { name: r.name.clone(), domain, grid: None };
            if !r.grid.trim().is_empty() {
                let values: Result<Vec<f64>, _> = r.grid.split(',').map(|v| v.trim().parse::<f64>()).collect();
                match values {
                    Ok(values) => param.grid = Some(values),
                    Err(_) => {
                        bad(RowProblem::GridNotNumbers { name, text: r.grid.trim().into() });
                        continue;
                    }
                }
            }
            param
        };
        if let Err(e) = SearchSpace::new(vec![param.clone()]) {
            bad(e.into());
            continue;
        }
        params.push(param);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // The fixed values go into the base, one at a time, each checked.
    let mut base = base.clone();
    for (param, value) in fixed {
        let row = rows.iter().position(|r| r.name == param.name).expect("a fixed row");
        let one = SearchSpace::new(vec![param]).expect("a one-param space");
        match apply(&one, &[value], &base) {
            Ok(config) => base = TrainConfig::clone(&config),
            Err(e) => errors.push(RowError { row, problem: e.into() }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if params.is_empty() {
        return Ok((SearchSpace::nothing(), base));
    }
    let space = SearchSpace::new(params).map_err(|e| vec![RowError { row: 0, problem: e.into() }])?;
    if let Err(e) = check_for_training(&space, &base) {
        let row = rows.iter().position(|r| e.param() == Some(r.name.as_str())).unwrap_or(0);
        return Err(vec![RowError { row, problem: e.into() }]);
    }
    Ok((space, base))
}

/// Grid search's points over `space` ("3 × 3 × 3 = 27"), when every param lists its values
/// or takes few enough.
pub fn grid_size(space: &SearchSpace) -> (Vec<usize>, usize) {
    let grid = crate::tuning::grid::GridSearch::default();
    let sizes: Vec<usize> = grid.axes(space).iter().map(Vec::len).collect();
    (sizes, grid.size(space))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::presets::{seed_grid, wide};

    #[test]
    fn unchanged_rows_give_back_the_preset() {
        let base = TrainConfig::default();
        for space in [seed_grid(), wide()] {
            let (built, built_base) = build(&rows_of(&space, &base), &base).unwrap();
            assert_eq!(built, space);
            assert_eq!(built_base, base);
        }
        assert_eq!(grid_size(&seed_grid()), (vec![3, 3, 3, 3, 3], 243));
    }

    #[test]
    fn a_param_switched_off_is_fixed_in_the_base_and_edits_change_the_space() {
        let base = TrainConfig::default();
        let mut rows = rows_of(&seed_grid(), &base);
        rows[1].on = false;
        rows[1].fixed = "3".into();
        rows[0].low = "0.0001".into();
        rows[0].grid = "0.0001, 0.01".into();
        let (space, built_base) = build(&rows, &base).unwrap();
        assert_eq!(space.len(), 4);
        assert_eq!(built_base.epochs, 3);
        assert_eq!(space.params()[0].grid, Some(vec![0.0001, 0.01]));
        assert_eq!(grid_size(&space).1, 2 * 3 * 3 * 3);
    }

    #[test]
    fn bad_rows_are_named_in_the_forms_words() {
        let base = TrainConfig::default();
        let mut rows = rows_of(&wide(), &base);
        rows[0].low = "fast".into();
        rows[1].on = false;
        rows[1].fixed = "2.5".into();
        rows[5].on = false;
        rows[5].fixed = "lion".into();
        rows[2].grid = "32, lots".into();
        let errors = build(&rows, &base).unwrap_err();
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            vec![
                "learning_rate: the range needs two numbers, from and to",
                "epochs: fixed at “2.5”: not a whole number",
                "batch_size: grid values “32, lots”: numbers separated by commas",
                "optimizer: fixed at “lion”: one of sgd, momentum, rmsprop, adam",
            ]
        );
        assert_eq!(errors.iter().map(|e| e.row).collect::<Vec<_>>(), vec![0, 1, 2, 5]);
        let mut rows = rows_of(&seed_grid(), &base);
        rows[0].low = "0".into();
        let errors = build(&rows, &base).unwrap_err();
        assert_eq!(errors[0].row, 0);
        assert!(errors[0].to_string().starts_with("learning_rate"), "{errors:?}");
        let mut rows = rows_of(&seed_grid(), &base);
        rows[4].low = "0.1".into();
        rows[4].high = "0.01".into();
        assert!(build(&rows, &base).unwrap_err()[0].to_string().starts_with("l2: "), "low above high");
    }
}
