//! Chart data: what the training chart draws, computed here and rendered as SVG by the shell.
//! Series are mapped into a fixed view box so the shell only writes `points` attributes.
//! `best_so_far`: the race's best-so-far curves and its ranking at equal compute; `coverage`:
//! where each method looked (coverage maps, rugs, distinct values per param); `param_axis`: a
//! hyperparameter's axis on its own scale; `accuracy_scale`: the colour every race view gives an
//! accuracy; `race_chart`: the best-so-far chart laid out; `parallel`: parallel coordinates of
//! every trial, and the brushes that filter them; `confusion`: the final test's confusion matrix; `why_next`: what each
//! method's "why this point next" panel draws for a round.

#![forbid(unsafe_code)]

pub mod accuracy_scale;
pub mod best_so_far;
pub mod confusion;
pub mod coverage;
pub mod parallel;
pub mod param_axis;
pub mod race_chart;
pub mod why_next;

use crate::nn::EpochReport;
use serde::{Deserialize, Serialize};

/// The drawing area, in SVG user units.
pub const VIEW_WIDTH: f32 = 480.0;
pub const VIEW_HEIGHT: f32 = 220.0;
pub const MARGIN_LEFT: f32 = 44.0;
pub const MARGIN_RIGHT: f32 = 44.0;
pub const MARGIN_TOP: f32 = 12.0;
pub const MARGIN_BOTTOM: f32 = 28.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    /// "loss" series use the left axis, "accuracy" series the right one.
    pub axis: Axis,
    pub points: Vec<(f32, f32)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Axis {
    Loss,
    Accuracy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    pub position: f32,
    pub label: String,
}

/// Everything needed to draw the loss/accuracy-per-epoch chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingChart {
    pub series: Vec<Series>,
    pub epoch_ticks: Vec<Tick>,
    pub loss_ticks: Vec<Tick>,
    pub accuracy_ticks: Vec<Tick>,
    /// Epochs drawn (the x axis runs from 0 to this).
    pub epochs: u32,
}

impl Series {
    /// The SVG `points` attribute.
    pub fn svg_points(&self) -> String {
        svg_points(&self.points)
    }
}

/// Points as an SVG `points` attribute: "x,y x,y …", one decimal.
pub fn svg_points<T: Copy + Into<f64>>(points: &[(T, T)]) -> String {
    points.iter().map(|&(x, y)| format!("{:.1},{:.1}", x.into(), y.into())).collect::<Vec<_>>().join(" ")
}

fn x_of(epoch: f32, epochs: f32) -> f32 {
    MARGIN_LEFT + (VIEW_WIDTH - MARGIN_LEFT - MARGIN_RIGHT) * epoch / epochs.max(1.0)
}

fn y_of(value: f32, max: f32) -> f32 {
    let h = VIEW_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    MARGIN_TOP + h * (1.0 - (value / max).clamp(0.0, 1.0))
}

/// Lay out loss (left axis, 0 to the largest loss seen) and accuracy (right axis, 0–100%) per
/// epoch; the x axis spans `planned_epochs` so the chart does not rescale as epochs arrive.
pub fn training_chart(reports: &[EpochReport], planned_epochs: u32) -> TrainingChart {
    let epochs = planned_epochs.max(reports.last().map_or(1, |r| r.epoch)).max(1);
    let e = epochs as f32;
    let max_loss = reports.iter().flat_map(|r| [Some(r.train_loss), r.validation_loss]).flatten().filter(|l| l.is_finite()).fold(0.0f32, f32::max).max(0.1);
    let nice_max = nice_ceiling(max_loss);
    let series_of = |name: &str, axis: Axis, value: &dyn Fn(&EpochReport) -> Option<f32>| Series {
        name: name.into(),
        axis,
        points: reports
            .iter()
            .filter_map(|r| {
                value(r).filter(|v| v.is_finite()).map(|v| {
                    (
                        x_of(r.epoch as f32, e),
                        match axis {
                            Axis::Loss => y_of(v, nice_max),
                            Axis::Accuracy => y_of(v, 1.0),
                        },
                    )
                })
            })
            .collect(),
    };
    let series = vec![
        series_of("train loss", Axis::Loss, &|r| Some(r.train_loss)),
        series_of("validation loss", Axis::Loss, &|r| r.validation_loss),
        series_of("train accuracy", Axis::Accuracy, &|r| Some(r.train_accuracy)),
        series_of("validation accuracy", Axis::Accuracy, &|r| r.validation_accuracy),
    ];
    let step = (epochs as f32 / 10.0).ceil().max(1.0) as u32;
    let epoch_ticks = (0..=epochs).step_by(step as usize).map(|k| Tick { position: x_of(k as f32, e), label: k.to_string() }).collect();
    let loss_ticks = (0..=4)
        .map(|k| {
            let v = nice_max * k as f32 / 4.0;
            Tick { position: y_of(v, nice_max), label: format_loss(v) }
        })
        .collect();
    let accuracy_ticks = (0..=4).map(|k| Tick { position: y_of(k as f32 / 4.0, 1.0), label: format!("{}%", k * 25) }).collect();
    TrainingChart { series, epoch_ticks, loss_ticks, accuracy_ticks, epochs }
}

fn format_loss(v: f32) -> String {
    if v >= 10.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ that is ≥ `v`.
fn nice_ceiling(v: f32) -> f32 {
    let mag = 10f32.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= v {
            return m * mag;
        }
    }
    10.0 * mag
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(epoch: u32, loss: f32, acc: f32) -> EpochReport {
        EpochReport {
            epoch,
            learning_rate: 0.01,
            train_loss: loss,
            train_accuracy: acc,
            validation_loss: Some(loss),
            validation_accuracy: Some(acc),
            images_seen: 0,
        }
    }

    #[test]
    fn points_stay_inside_the_plot_and_accuracy_rises_upwards() {
        let chart = training_chart(&[report(1, 0.9, 0.8), report(2, 0.3, 0.95)], 10);
        let acc = &chart.series[3];
        assert_eq!(acc.points.len(), 2);
        assert!(acc.points[1].1 < acc.points[0].1, "higher accuracy is drawn higher");
        for s in &chart.series {
            for &(x, y) in &s.points {
                assert!((MARGIN_LEFT..=VIEW_WIDTH - MARGIN_RIGHT).contains(&x));
                assert!((MARGIN_TOP..=VIEW_HEIGHT - MARGIN_BOTTOM).contains(&y));
            }
        }
        assert_eq!(chart.epoch_ticks.len(), 11);
        assert_eq!(chart.loss_ticks.last().unwrap().label, "1.0");
    }

    #[test]
    fn non_finite_values_are_left_out() {
        let chart = training_chart(&[report(1, f32::NAN, 0.5)], 3);
        assert!(chart.series[0].points.is_empty());
        assert_eq!(chart.series[2].points.len(), 1);
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.37), 0.5);
        assert_eq!(nice_ceiling(2.3), 2.5);
        assert_eq!(nice_ceiling(7.0), 10.0);
    }
}
