//! A race's trials as CSV with the columns of scikit-learn's `cv_results_` — `param_<name>`,
//! `params`, `split<k>_test_score`, `mean_test_score`, `std_test_score`, `rank_test_score`,
//! `mean_fit_time` — so that `pandas.read_csv` gives the table a data scientist already knows,
//! one row per trial of every method, with `method`, `trial`, `state` and `cost_images` first.
//!
//! As scikit-learn does: the standard deviation is over the splits (population, `ddof=0`); the
//! rank is over every row, 1 for the best mean, ties sharing the lowest rank, and rows without a
//! score (a trial pruned, failed, diverged or interrupted; its score empty) all last;
//! `mean_fit_time` is seconds per split. Under hold-out there is one split: the validation set.

use crate::experiment::record::RaceRecord;
use crate::tuning::trial::TrialState;

/// The CSV text of `record`'s trials.
pub fn to_csv(record: &RaceRecord) -> String {
    let params: Vec<&str> = record.setup.space.params().iter().map(|p| p.name.as_str()).collect();
    let splits = record.studies.iter().flat_map(|s| &s.trials).filter_map(|t| t.folds.as_ref().map(Vec::len)).max().unwrap_or(1);
    let mut header: Vec<String> = ["method", "trial", "state", "cost_images"].map(String::from).to_vec();
    header.extend(params.iter().map(|p| format!("param_{p}")));
    header.push("params".into());
    header.extend((0..splits).map(|k| format!("split{k}_test_score")));
    header.extend(["mean_test_score", "std_test_score", "rank_test_score", "mean_fit_time"].map(String::from));

    let rows: Vec<_> = record.studies.iter().flat_map(|s| s.trials.iter().map(move |t| (s, t))).collect();
    let means: Vec<Option<f64>> = rows.iter().map(|(_, t)| t.score.filter(|_| t.state == TrialState::Complete)).collect();
    let scored = means.iter().flatten().count();
    let mut out = line(&header);
    for ((study, trial), mean) in rows.iter().zip(&means) {
        let mut cells = vec![study.method.clone(), trial.id.to_string(), trial.state.name().to_string(), trial.cost.to_string()];
        cells.extend(params.iter().map(|p| trial.params.get(*p).map_or(String::new(), plain)));
        cells.push(serde_json::Value::Object(trial.params.clone()).to_string());
        let split_scores: Vec<f64> = match (mean, &trial.folds) {
            (Some(_), Some(folds)) => folds.clone(),
            (Some(m), None) => vec![*m],
            (None, _) => Vec::new(),
        };
        cells.extend((0..splits).map(|k| split_scores.get(k).map_or(String::new(), f64::to_string)));
        let rank = match mean {
            Some(m) => 1 + means.iter().flatten().filter(|&&other| other > *m).count(),
            None => scored + 1,
        };
        let std = mean.map(|m| (split_scores.iter().map(|s| (s - m) * (s - m)).sum::<f64>() / split_scores.len() as f64).sqrt());
        cells.push(mean.map_or(String::new(), |m| m.to_string()));
        cells.push(std.map_or(String::new(), |s| s.to_string()));
        cells.push(rank.to_string());
        let fit = trial.seconds.filter(|_| trial.state.is_finished()).map(|s| s / trial.folds.as_ref().map_or(1, Vec::len).max(1) as f64);
        cells.push(fit.map_or(String::new(), |s| s.to_string()));
        out.push_str(&line(&cells));
    }
    out
}

/// A JSON value as a cell: a number as written, a string without its quotes.
fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One CSV line: a cell with a comma, a quote or a line break is quoted, its quotes doubled.
fn line(cells: &[String]) -> String {
    let quoted: Vec<String> = cells
        .iter()
        .map(|c| match c.contains([',', '"', '\n', '\r']) {
            true => format!("\"{}\"", c.replace('"', "\"\"")),
            false => c.clone(),
        })
        .collect();
    quoted.join(",") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::validation::CrossValidation;
    use crate::experiment::small_race_record;

    /// The cells of each line, quotes undone (no cell here spans lines).
    fn cells(text: &str) -> Vec<Vec<String>> {
        let split = |l: &str| {
            let (mut out, mut cell, mut quoted, mut chars) = (Vec::new(), String::new(), false, l.chars().peekable());
            while let Some(c) = chars.next() {
                match (c, quoted) {
                    ('"', true) if chars.peek() == Some(&'"') => {
                        cell.push('"');
                        chars.next();
                    }
                    ('"', _) => quoted = !quoted,
                    (',', false) => out.push(std::mem::take(&mut cell)),
                    _ => cell.push(c),
                }
            }
            out.push(cell);
            out
        };
        text.lines().map(split).collect()
    }

    #[test]
    fn every_trial_is_a_row_with_cv_results_columns() {
        let mut record = small_race_record(&["random", "tpe"], CrossValidation::KFold { k: 3 }, false);
        record.studies[1].trials[0].state = TrialState::Failed("lost, twice".into());
        let csv = to_csv(&record);
        let rows = cells(&csv);
        let header = &rows[0];
        for column in [
            "param_learning_rate",
            "param_epochs",
            "split0_test_score",
            "split2_test_score",
            "mean_test_score",
            "std_test_score",
            "rank_test_score",
            "mean_fit_time",
        ] {
            assert!(header.contains(&column.to_string()), "{column} in {header:?}");
        }
        let trials: usize = record.studies.iter().map(|s| s.trials.len()).sum();
        assert_eq!(csv.lines().count(), 1 + trials);
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        assert!(rows.iter().all(|r| r.len() == header.len()), "{csv}");
        assert_eq!(
            rows[1][col("params")],
            format!("{{\"epochs\":{},\"learning_rate\":{}}}", rows[1][col("param_epochs")], rows[1][col("param_learning_rate")])
        );
        let plain: Vec<&Vec<String>> = rows[1..].iter().filter(|r| r[2] == "complete").collect();
        let best = plain.iter().map(|r| r[col("mean_test_score")].parse::<f64>().unwrap()).fold(f64::MIN, f64::max);
        for row in &plain {
            let mean: f64 = row[col("mean_test_score")].parse().unwrap();
            let splits: Vec<f64> = (0..3).map(|k| row[col(&format!("split{k}_test_score"))].parse().unwrap()).collect();
            assert!((splits.iter().sum::<f64>() / 3.0 - mean).abs() < 1e-9);
            let std: f64 = row[col("std_test_score")].parse().unwrap();
            assert!((std - (splits.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / 3.0).sqrt()).abs() < 1e-12);
            let rank: usize = row[col("rank_test_score")].parse().unwrap();
            assert_eq!(rank == 1, mean == best, "{row:?}");
        }
        let failed = rows.iter().find(|r| r[2] == "failed").unwrap();
        assert_eq!([&failed[col("mean_test_score")], &failed[col("std_test_score")], &failed[col("split0_test_score")]], ["", "", ""]);
        assert_eq!(failed[col("rank_test_score")], (plain.len() + 1).to_string());
    }
}
