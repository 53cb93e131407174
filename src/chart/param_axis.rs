//! The axis of one hyperparameter, as the coverage maps and the strip draw it: the param's
//! declared range (never the data's, so nothing rescales while points stream in and unexplored
//! space stays visible) on its own scale — labelled decades for a log param (with 2× and 5×
//! when the range spans less than two decades), powers of two for a log integer such as the
//! batch size, evenly spaced values for a linear one, one band per choice for a categorical.
//! Tick positions are in [0, 1], the param's unit scale, where the trials' points already sit.

use crate::tuning::space::{Domain, Param, Value};

/// A labelled place on a [0, 1] axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub position: f64,
    pub label: String,
}

/// The ticks of `param`'s axis, in ascending position.
pub fn param_ticks(param: &Param) -> Vec<Tick> {
    let at = |v: f64| param.to_unit(&value_of(param, v));
    let ticks: Vec<f64> = match param.domain {
        Domain::Categorical { ref choices } => {
            return choices.iter().map(|c| Tick { position: param.to_unit(&Value::Choice(c.clone())), label: c.clone() }).collect();
        }
        // Powers of two when the range runs between two of them (a batch size, a width).
        Domain::Int { low, high, log: true } if low > 0 && (low as u64).is_power_of_two() && (high as u64).is_power_of_two() => {
            let mut v = 1i64;
            let mut out = Vec::new();
            while v <= high {
                if v >= low {
                    out.push(v as f64);
                }
                v *= 2;
            }
            out
        }
        Domain::Float { low, high, log: true } => log_ticks(low, high),
        Domain::Int { low, high, log: true } => log_ticks(low.max(1) as f64, high as f64),
        Domain::Float { low, high, .. } => linear_ticks(low, high, false),
        Domain::Int { low, high, .. } => linear_ticks(low as f64, high as f64, true),
    };
    ticks.into_iter().map(|v| Tick { position: at(v), label: number_label(v) }).collect()
}

fn value_of(param: &Param, v: f64) -> Value {
    match param.domain {
        Domain::Int { .. } => Value::Int(v.round() as i64),
        _ => Value::Float(v),
    }
}

/// Decades inside [low, high]; with 2× and 5× too when fewer than three decades fall inside.
fn log_ticks(low: f64, high: f64) -> Vec<f64> {
    let inside = |v: f64| v >= low * (1.0 - 1e-9) && v <= high * (1.0 + 1e-9);
    let (first, last) = (low.log10().floor() as i32, high.log10().ceil() as i32);
    let decades: Vec<f64> = (first..=last).map(|e| 10f64.powi(e)).filter(|&v| inside(v)).collect();
    if decades.len() >= 3 {
        return decades;
    }
    let mut out: Vec<f64> = (first..=last).flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e))).filter(|&v| inside(v)).collect();
    if out.len() < 2 {
        out = vec![low, high];
    }
    out
}

/// About five evenly spaced round values in [low, high].
pub(crate) fn linear_ticks(low: f64, high: f64, whole: bool) -> Vec<f64> {
    if high <= low {
        return vec![low];
    }
    let raw = (high - low) / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|&s| s >= raw).unwrap_or(raw);
    let step = if whole { step.max(1.0).round() } else { step };
    let start = (low / step).ceil() * step;
    let mut out = Vec::new();
    let mut v = start;
    while v <= high + step * 1e-9 {
        out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        v += step;
    }
    out
}

/// A tick's number, short: 0.001 → "0.001", 0.0001 → "1e-4", 128 → "128", 0.25 → "0.25".
pub fn number_label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let e = a.log10().floor() as i32;
        let m = v / 10f64.powi(e);
        return if (m - m.round()).abs() < 1e-9 { format!("{}e{e}", m.round()) } else { format!("{m:.1}e{e}") };
    }
    let text = format!("{v:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A value for a sentence: a real number to three significant digits (0.02392035 → "0.0239",
/// 0.0001234 → "1.23e-4"), an integer or a choice as it is.
pub fn value_label(value: &Value) -> String {
    match *value {
        Value::Float(x) if x != 0.0 && x.is_finite() => {
            let e = x.abs().log10().floor() as i32;
            if !(-3..5).contains(&e) {
                let m = x / 10f64.powi(e);
                return format!("{}e{e}", trimmed(format!("{m:.2}")));
            }
            let decimals = (2 - e).max(0) as usize;
            trimmed(format!("{x:.decimals$}"))
        }
        ref other => other.to_string(),
    }
}

fn trimmed(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::presets::wide;

    #[test]
    fn values_in_sentences_keep_three_significant_digits() {
        let f = |x: f64| value_label(&Value::Float(x));
        assert_eq!([f(0.02392035530012002), f(0.0001234), f(12.5), f(0.1), f(0.0)], ["0.0239", "1.23e-4", "12.5", "0.1", "0"]);
        assert_eq!(value_label(&Value::Int(64)), "64");
    }

    fn labels(param: &Param) -> Vec<String> {
        param_ticks(param).into_iter().map(|t| t.label).collect()
    }

    #[test]
    fn each_scale_gets_its_own_ticks_inside_the_declared_range() {
        let space = wide();
        let p = |name: &str| space.params()[space.index_of(name).unwrap()].clone();
        assert_eq!(labels(&p("learning_rate")), vec!["0.001", "0.01", "0.1"]);
        assert_eq!(labels(&p("batch_size")), vec!["32", "64", "128"]);
        assert_eq!(labels(&p("l2")), vec!["1e-4", "0.001", "0.01"]);
        assert_eq!(labels(&p("epochs")), vec!["5", "10", "20"], "fewer than three decades: 2× and 5× too");
        assert_eq!(labels(&p("conv_layers")), vec!["2", "3", "4"]);
        assert_eq!(labels(&p("dropout")), vec!["0", "0.2", "0.4"]);
        assert_eq!(labels(&p("filters")), vec!["8", "16", "32", "64"]);
        assert_eq!(labels(&p("optimizer")), vec!["sgd", "momentum", "rmsprop", "adam"]);
        for param in space.params() {
            let ticks = param_ticks(param);
            assert!(ticks.windows(2).all(|w| w[0].position < w[1].position), "{}: {ticks:?}", param.name);
            assert!(ticks.iter().all(|t| (-1e-9..=1.0 + 1e-9).contains(&t.position)), "{}", param.name);
        }
        // A log axis puts the decades evenly: 0.01 is half way from 0.001 to 0.1.
        let lr = param_ticks(&p("learning_rate"));
        assert!((lr[1].position - 0.5).abs() < 1e-9);
    }
}
