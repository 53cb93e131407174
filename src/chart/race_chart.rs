//! The best-so-far chart of a race laid out: one step line per method (best validation accuracy
//! so far, after each improvement), on one chart, in SVG user units — x is compute spent
//! (epoch-equivalents, fixed to [0, budget] so that lines grow rightwards and nothing rescales),
//! or trial count, or wall time; y is the accuracy scale's log-error map, so the 97–99.5 % band
//! gets room. Dashed guides at 25, 50 and 100 % of the budget mark where the comparison is fair.
//! Each line ends in a direct label (the method and its best), nudged apart so none overlap.

use super::accuracy_scale::{percent_label, AccuracyScale};
use super::best_so_far::{best_so_far, Along, FinishedTrial};
use super::param_axis::{linear_ticks, number_label};

pub const WIDTH: f64 = 760.0;
pub const HEIGHT: f64 = 330.0;
pub const LEFT: f64 = 56.0;
pub const RIGHT: f64 = 118.0;
pub const TOP: f64 = 14.0;
pub const BOTTOM: f64 = 44.0;
/// Least vertical distance between two end labels.
const LABEL_GAP: f64 = 15.0;

/// One method's finished trials, and how far along x it has come.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCurve {
    pub method: String,
    pub label: String,
    pub trials: Vec<FinishedTrial>,
    /// Where the line's last step ends: compute spent (epoch-equivalents), trials finished, or
    /// seconds — whichever `Along` the chart is drawn along.
    pub now: f64,
}

/// A labelled place on one of the chart's axes, in SVG units.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotTick {
    pub at: f64,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CurveLine {
    pub method: String,
    /// The step line's points.
    pub points: Vec<(f64, f64)>,
    /// The end label's place and text (none before the first score).
    pub end: Option<(f64, f64, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CurveChart {
    pub lines: Vec<CurveLine>,
    pub x_ticks: Vec<PlotTick>,
    pub y_ticks: Vec<PlotTick>,
    /// 25, 50 and 100 % of the budget (along compute only).
    pub guides: Vec<PlotTick>,
    pub x_label: String,
}

impl CurveLine {
    /// The SVG `points` attribute.
    pub fn svg_points(&self) -> String {
        super::svg_points(&self.points)
    }
}

/// Lay out the chart. `x_max` is the right end of the x axis: the budget in epoch-equivalents
/// along compute, or the most trials or seconds so far; `images_per_epoch` turns training
/// images into epoch-equivalents.
pub fn best_so_far_chart(methods: &[MethodCurve], along: Along, images_per_epoch: u64, x_max: f64, scale: &AccuracyScale) -> CurveChart {
    let x_max = x_max.max(1e-9);
    let x_of = |x: f64| LEFT + (WIDTH - LEFT - RIGHT) * (x / x_max).clamp(0.0, 1.0);
    let y_of = |accuracy: f64| TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - scale.t(accuracy));
    let mut lines: Vec<CurveLine> = methods
        .iter()
        .map(|m| {
            let steps = best_so_far(&m.trials, along, images_per_epoch);
            let mut points = Vec::new();
            for (k, step) in steps.iter().enumerate() {
                if k > 0 {
                    points.push((x_of(step.x), y_of(steps[k - 1].best)));
                }
                points.push((x_of(step.x), y_of(step.best)));
            }
            let end = steps.last().map(|last| {
                let x_end = x_of(m.now.max(last.x));
                points.push((x_end, y_of(last.best)));
                (x_end + 6.0, y_of(last.best), format!("{} {}", m.label, percent_label_2(last.best)))
            });
            CurveLine { method: m.method.clone(), points, end }
        })
        .collect();
    relax_labels(&mut lines);
    let x_ticks = linear_ticks(0.0, x_max, along == Along::Trials).into_iter().map(|v| PlotTick { at: x_of(v), label: number_label(v) }).collect();
    let y_ticks = scale.ticks().into_iter().map(|(t, label)| PlotTick { at: TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - t), label }).collect();
    let guides = match along {
        Along::Compute => [0.25, 0.5, 1.0].into_iter().map(|share| PlotTick { at: x_of(share * x_max), label: format!("{:.0}%", share * 100.0) }).collect(),
        Along::Trials | Along::WallTime => Vec::new(),
    };
    let x_label = match along {
        Along::Compute => "compute spent (epoch-equivalents of the training subset)",
        Along::Trials => "trials finished",
        Along::WallTime => "wall time (seconds)",
    };
    CurveChart { lines, x_ticks, y_ticks, guides, x_label: x_label.into() }
}

/// 0.98765 → "98.77%".
fn percent_label_2(accuracy: f64) -> String {
    if accuracy >= 0.9995 {
        return percent_label(accuracy);
    }
    format!("{:.2}%", accuracy * 100.0)
}

/// Push end labels apart vertically, keeping their order, so that none overlap.
fn relax_labels(lines: &mut [CurveLine]) {
    let mut order: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].end.is_some()).collect();
    order.sort_by(|&a, &b| lines[a].end.as_ref().unwrap().1.total_cmp(&lines[b].end.as_ref().unwrap().1).then(a.cmp(&b)));
    let mut floor = f64::NEG_INFINITY;
    for i in order {
        let end = lines[i].end.as_mut().unwrap();
        end.1 = end.1.max(floor + LABEL_GAP);
        floor = end.1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(trial: usize, cost: u64, score: Option<f64>) -> FinishedTrial {
        FinishedTrial { trial, cost, score, finished_s: trial as f64 }
    }

    fn curve(method: &str, trials: Vec<FinishedTrial>, now: f64) -> MethodCurve {
        MethodCurve { method: method.into(), label: method.to_uppercase(), trials, now }
    }

    #[test]
    fn each_method_gets_a_step_line_ending_in_its_label() {
        let methods = vec![
            curve("grid", vec![t(0, 1_000, Some(0.95)), t(1, 1_000, Some(0.97)), t(2, 2_000, Some(0.96))], 4.0),
            curve("random", vec![t(0, 2_000, None)], 2.0),
        ];
        let chart = best_so_far_chart(&methods, Along::Compute, 1_000, 10.0, &AccuracyScale::default());
        assert_eq!(chart.lines.len(), 2);
        let grid = &chart.lines[0];
        // Up at 1 ep-eq to 95 %, flat to 2, up to 97 %, flat to "now" at 4 ep-eq.
        let xs: Vec<f64> = grid.points.iter().map(|p| p.0).collect();
        let x = |v: f64| LEFT + (WIDTH - LEFT - RIGHT) * v / 10.0;
        assert_eq!(xs, vec![x(1.0), x(2.0), x(2.0), x(4.0)]);
        assert!(grid.points[2].1 < grid.points[1].1, "a better accuracy is drawn higher");
        assert_eq!(grid.end.as_ref().unwrap().2, "GRID 97.00%");
        assert!(chart.lines[1].points.is_empty() && chart.lines[1].end.is_none(), "no score yet, no line");
        assert_eq!(chart.guides.iter().map(|g| g.label.as_str()).collect::<Vec<_>>(), vec!["25%", "50%", "100%"]);
        assert_eq!(chart.guides[2].at, WIDTH - RIGHT);
        assert_eq!(chart.x_ticks.first().unwrap().label, "0");
    }

    #[test]
    fn end_labels_never_overlap() {
        let methods: Vec<MethodCurve> = (0..4).map(|k| curve(&format!("m{k}"), vec![t(0, 1_000, Some(0.97 + 0.0001 * k as f64))], 1.0)).collect();
        let chart = best_so_far_chart(&methods, Along::Trials, 1_000, 3.0, &AccuracyScale::default());
        let mut ys: Vec<f64> = chart.lines.iter().map(|l| l.end.as_ref().unwrap().1).collect();
        ys.sort_by(f64::total_cmp);
        assert!(ys.windows(2).all(|w| w[1] - w[0] >= LABEL_GAP - 1e-9), "{ys:?}");
        assert!(chart.guides.is_empty());
    }
}
