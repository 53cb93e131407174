//! Parallel coordinates: every trial of every method as a line across one vertical axis per
//! hyperparameter (its declared range, on its scale) and a last axis for validation accuracy
//! (the shared log-error scale). Trials with no score cross the accuracy axis in a lane below
//! it. Brushes — a range held on an axis — filter the trials, and the other views show only
//! those that pass. Laid out here, in SVG units; the page draws it.

use super::accuracy_scale::AccuracyScale;
use super::coverage::Tried;
use super::param_axis::param_ticks;
use crate::tuning::space::SearchSpace;

pub const WIDTH: f64 = 900.0;
pub const HEIGHT: f64 = 270.0;
pub const TOP: f64 = 22.0;
pub const BOTTOM: f64 = 44.0;
pub const SIDE: f64 = 50.0;
/// How far below the plot the lane of unscored trials runs.
pub const LANE: f64 = 14.0;

/// A range held on one axis, in the axis's [0, 1] (0 at the bottom).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Brush {
    pub axis: usize,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParallelAxis {
    pub name: String,
    pub x: f64,
    /// (y, label)
    pub ticks: Vec<(f64, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParallelLine {
    pub method: String,
    pub trial: usize,
    pub points: Vec<(f64, f64)>,
    pub score: Option<f64>,
    /// Passes every brush.
    pub selected: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParallelChart {
    pub axes: Vec<ParallelAxis>,
    pub lines: Vec<ParallelLine>,
}

/// The y of a place in [0, 1] on any axis.
pub fn y_of(u: f64) -> f64 {
    TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - u.clamp(0.0, 1.0))
}

/// The place in [0, 1] of a y (the inverse of `y_of`, clamped).
pub fn unit_of_y(y: f64) -> f64 {
    (1.0 - (y - TOP) / (HEIGHT - TOP - BOTTOM)).clamp(0.0, 1.0)
}

/// A trial's place on every axis: its params, then its accuracy on `scale` (None unscored).
pub fn places<T: Tried>(trial: &T, scale: &AccuracyScale) -> (Vec<f64>, Option<f64>) {
    (trial.unit().to_vec(), trial.score().map(|s| scale.t(s)))
}

/// Whether a trial at these places passes every brush (an unscored trial fails a brush on the
/// accuracy axis).
pub fn passes(params: &[f64], accuracy: Option<f64>, brushes: &[Brush]) -> bool {
    brushes.iter().all(|b| {
        let u = if b.axis < params.len() { Some(params[b.axis]) } else { accuracy };
        u.is_some_and(|u| u >= b.low - 1e-12 && u <= b.high + 1e-12)
    })
}

/// Lay out `trials` (with their methods) over `space`'s params and accuracy.
pub fn parallel_coordinates<T: Tried>(space: &SearchSpace, trials: &[(&str, &T)], scale: &AccuracyScale, brushes: &[Brush]) -> ParallelChart {
    let n = space.len() + 1;
    let x_of = |k: usize| SIDE + (WIDTH - 2.0 * SIDE) * k as f64 / (n - 1).max(1) as f64;
    let mut axes: Vec<ParallelAxis> = space
        .params()
        .iter()
        .enumerate()
        .map(|(k, p)| ParallelAxis { name: p.name.clone(), x: x_of(k), ticks: param_ticks(p).into_iter().map(|t| (y_of(t.position), t.label)).collect() })
        .collect();
    axes.push(ParallelAxis {
        name: "validation accuracy".into(),
        x: x_of(n - 1),
        ticks: scale.ticks().into_iter().map(|(t, label)| (y_of(t), label)).collect(),
    });
    let lines = trials
        .iter()
        .map(|(method, t)| {
            let (params, accuracy) = places(*t, scale);
            let mut points: Vec<(f64, f64)> = params.iter().enumerate().map(|(k, &u)| (x_of(k), y_of(u))).collect();
            points.push((x_of(n - 1), accuracy.map_or(HEIGHT - BOTTOM + LANE, y_of)));
            ParallelLine { method: method.to_string(), trial: t.id(), points, score: t.score(), selected: passes(&params, accuracy, brushes) }
        })
        .collect();
    ParallelChart { axes, lines }
}

impl ParallelLine {
    /// The SVG `points` attribute.
    pub fn svg_points(&self) -> String {
        super::svg_points(&self.points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuning::space::Param;
    use crate::tuning::study::TrialState;

    struct T(usize, Vec<f64>, Option<f64>, TrialState);
    impl Tried for T {
        fn id(&self) -> usize {
            self.0
        }
        fn unit(&self) -> &[f64] {
            &self.1
        }
        fn state(&self) -> &TrialState {
            &self.3
        }
        fn score(&self) -> Option<f64> {
            self.2
        }
    }

    #[test]
    fn each_trial_crosses_every_axis_and_brushes_select() {
        let space = SearchSpace::new(vec![Param::log_float("lr", 1e-3, 1e-1), Param::int("layers", 2, 4)]).unwrap();
        let a = T(0, vec![0.5, 0.0], Some(0.98), TrialState::Complete);
        let b = T(1, vec![0.9, 1.0], None, TrialState::Diverged("boom".into()));
        let scale = AccuracyScale::default();
        let trials: Vec<(&str, &T)> = vec![("grid", &a), ("random", &b)];
        let chart = parallel_coordinates(&space, &trials, &scale, &[]);
        assert_eq!(chart.axes.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), vec!["lr", "layers", "validation accuracy"]);
        assert_eq!(chart.lines.len(), 2);
        assert_eq!(chart.lines[0].points.len(), 3);
        assert_eq!(chart.lines[0].points[0].1, y_of(0.5));
        assert_eq!(chart.lines[1].points[2].1, HEIGHT - BOTTOM + LANE, "unscored: the lane below the accuracy axis");
        assert!(chart.lines.iter().all(|l| l.selected));
        // A brush on lr's upper part keeps b only; one on accuracy keeps a only.
        let on_lr = parallel_coordinates(&space, &trials, &scale, &[Brush { axis: 0, low: 0.7, high: 1.0 }]);
        assert_eq!(on_lr.lines.iter().map(|l| l.selected).collect::<Vec<_>>(), vec![false, true]);
        let on_accuracy = [Brush { axis: 2, low: 0.3, high: 1.0 }];
        assert!(passes(&a.1, Some(scale.t(0.98)), &on_accuracy) && !passes(&b.1, None, &on_accuracy));
        assert!((unit_of_y(y_of(0.3)) - 0.3).abs() < 1e-12);
    }
}
