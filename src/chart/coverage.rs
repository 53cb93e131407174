//! Coverage: where a method looked. For a coverage map, each trial's place on two chosen params
//! (in the unit square, so a log-scale param is already spread on its log scale), its state, its
//! score and whether it is the best; for the strip of 1-D projections, the distinct values each
//! param was tried at — grid search tries few distinct values of each param, random search
//! many (Bergstra & Bengio 2012). Info only; the shell draws it.

use crate::protocol::Paths;
use crate::tuning::space::{SearchSpace, Value};
use crate::tuning::study::{Trial, TrialState};

/// What the coverage views need of a trial: a study's trial, or the page's live one.
pub trait Tried {
    fn id(&self) -> usize;
    /// Its place in the unit cube of the study's space.
    fn unit(&self) -> &[f64];
    fn state(&self) -> &TrialState;
    fn score(&self) -> Option<f64>;
}

impl Tried for Trial {
    fn id(&self) -> usize {
        self.id
    }
    fn unit(&self) -> &[f64] {
        &self.unit
    }
    fn state(&self) -> &TrialState {
        &self.state
    }
    fn score(&self) -> Option<f64> {
        self.score
    }
}

/// One trial on a coverage map.
#[derive(Debug, Clone, PartialEq)]
pub struct CoveragePoint {
    pub trial: usize,
    /// Place on the map, each in [0, 1].
    pub x: f64,
    pub y: f64,
    pub state: TrialState,
    pub score: Option<f64>,
    /// The study's best trial (drawn as a star).
    pub best: bool,
    /// How many trials sit on this very spot (a grid varying a param not drawn): the first of
    /// them carries the count, the others 0. Points are never jittered apart — jitter would fake
    /// the distinct values the map is there to show.
    pub stack: usize,
}

/// Every proposed trial (waiting and running ones too: drawn hollow, so that the room sees where
/// a method is about to look) on params `x` and `y` of the space; `best` is the study's best
/// trial, if any.
pub fn coverage<T: Tried>(trials: &[T], x: usize, y: usize, best: Option<usize>) -> Vec<CoveragePoint> {
    let mut points: Vec<CoveragePoint> = trials
        .iter()
        .map(|t| CoveragePoint {
            trial: t.id(),
            x: t.unit()[x],
            y: t.unit()[y],
            state: t.state().clone(),
            score: t.score(),
            best: Some(t.id()) == best,
            stack: 1,
        })
        .collect();
    for i in 0..points.len() {
        if points[..i].iter().any(|p| p.x == points[i].x && p.y == points[i].y) {
            points[i].stack = 0;
        } else {
            points[i].stack = points[i..].iter().filter(|p| p.x == points[i].x && p.y == points[i].y).count();
        }
    }
    points
}

/// A mark of a marginal rug: a value tried, and how many trials tried it.
#[derive(Debug, Clone, PartialEq)]
pub struct RugTick {
    pub position: f64,
    pub count: usize,
}

/// Where a trial's hypergradients took it on the map of params `x` and `y`: from the point it
/// started at, one point per step of its paths (the learning rate's and L2's; a param with no
/// path stays where it started). None when neither param has a path.
pub fn path_on_map(space: &SearchSpace, start: &[f64], paths: &Paths, x: usize, y: usize) -> Option<Vec<(f64, f64)>> {
    let path_of = |p: usize| {
        let param = space.params().get(p)?;
        let path = match param.name.as_str() {
            "learning_rate" => paths.learning_rate.as_ref(),
            "l2" => paths.l2.as_ref(),
            _ => None,
        }?;
        Some(path.values.iter().map(|&v| param.to_unit(&Value::Float(v as f64)).clamp(0.0, 1.0)).collect::<Vec<f64>>())
    };
    let (px, py) = (path_of(x), path_of(y));
    let steps = px.as_ref().map_or(0, Vec::len).max(py.as_ref().map_or(0, Vec::len));
    if steps == 0 {
        return None;
    }
    let (sx, sy) = (*start.get(x)?, *start.get(y)?);
    let at = |path: &Option<Vec<f64>>, k: usize, from: f64| path.as_ref().and_then(|p| p.get(k.min(p.len().saturating_sub(1))).copied()).unwrap_or(from);
    Some(std::iter::once((sx, sy)).chain((0..steps).map(|k| (at(&px, k, sx), at(&py, k, sy)))).collect())
}

/// The rug of one axis of a map: each distinct position with its count, ascending.
pub fn rug(positions: impl IntoIterator<Item = f64>) -> Vec<RugTick> {
    let mut all: Vec<f64> = positions.into_iter().collect();
    all.sort_by(f64::total_cmp);
    let mut out: Vec<RugTick> = Vec::new();
    for p in all {
        match out.last_mut() {
            Some(last) if last.position == p => last.count += 1,
            _ => out.push(RugTick { position: p, count: 1 }),
        }
    }
    out
}

/// The distinct values one param was tried at.
#[derive(Debug, Clone, PartialEq)]
pub struct DistinctValues {
    pub param: String,
    /// Their places in [0, 1], ascending.
    pub positions: Vec<f64>,
}

impl DistinctValues {
    pub fn count(&self) -> usize {
        self.positions.len()
    }
}

/// For every param of the space, the distinct values the proposed trials try.
pub fn distinct_values<T: Tried>(space: &SearchSpace, trials: &[T]) -> Vec<DistinctValues> {
    space
        .params()
        .iter()
        .enumerate()
        .map(|(k, param)| {
            let mut positions: Vec<f64> = trials.iter().map(|t| t.unit()[k]).collect();
            positions.sort_by(f64::total_cmp);
            positions.dedup();
            DistinctValues { param: param.name.clone(), positions }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuning::grid::GridSearch;
    use crate::tuning::random::RandomSearch;
    use crate::tuning::space::Param;
    use crate::tuning::strategy::Strategy;
    use crate::tuning::study::{Direction, Outcome, Study, StudyConfig};

    fn space() -> SearchSpace {
        SearchSpace::new(vec![Param::log_float("lr", 1e-4, 1.0), Param::float("l2", 0.0, 0.01), Param::int("layers", 1, 4)]).unwrap()
    }

    /// Nine trials of `method`, scored by how close lr is to 0.01; trial 4 fails.
    fn study_of(method: Box<dyn Strategy>) -> Study {
        let mut study = Study::new(space(), method, StudyConfig { seed: 3, direction: Direction::Maximize, budget: 9, batch_size: 3 }, Box::new(|_| 1));
        let mut k = 0;
        study.optimize(
            |run| {
                k += 1;
                let lr = run.values[0].as_f64().unwrap();
                if k == 5 {
                    Outcome::Failed("boom".into())
                } else {
                    Outcome::Complete(-(lr.log10() + 2.0).abs())
                }
            },
            |_| {},
        );
        study
    }

    #[test]
    fn every_trial_is_placed_with_its_state_and_the_best_is_marked() {
        let study = study_of(Box::new(RandomSearch));
        let best = study.best().map(|t| t.id);
        let points = coverage(study.trials(), 0, 1, best);
        assert_eq!(points.len(), 9);
        assert!(points.iter().all(|p| (0.0..=1.0).contains(&p.x) && (0.0..=1.0).contains(&p.y)));
        assert_eq!(points.iter().filter(|p| p.best).count(), 1);
        assert_eq!(points.iter().find(|p| p.best).unwrap().trial, best.unwrap());
        assert!(matches!(points[4].state, TrialState::Failed(_)) && points[4].score.is_none());
        // A log param sits on its log scale: lr = 0.01 is half way from 1e-4 to 1.
        let lr = study.trials()[0].values[0].as_f64().unwrap();
        assert!((points[0].x - (lr.log10() + 4.0) / 4.0).abs() < 1e-9);
    }

    #[test]
    fn grid_search_tries_fewer_distinct_values_per_param_than_random_search() {
        let grid = distinct_values(&space(), study_of(Box::new(GridSearch::default())).trials());
        let random = distinct_values(&space(), study_of(Box::new(RandomSearch)).trials());
        assert_eq!(grid.iter().map(|d| d.param.as_str()).collect::<Vec<_>>(), vec!["lr", "l2", "layers"]);
        // Nine grid points of 3 × 3 × 3 use at most three values of each param; nine random
        // points use nine different learning rates.
        assert!(grid.iter().all(|d| d.count() <= 3), "{grid:?}");
        // On lr × l2 the nine grid points stack three deep: one mark carries each count.
        let study = study_of(Box::new(GridSearch::default()));
        let points = coverage(study.trials(), 0, 1, None);
        let stacks: Vec<usize> = points.iter().map(|p| p.stack).filter(|&s| s > 0).collect();
        assert_eq!(stacks.iter().sum::<usize>(), 9);
        assert!(stacks.len() < 9, "{stacks:?}");
        let rug_x = rug(points.iter().map(|p| p.x));
        assert_eq!(rug_x.iter().map(|t| t.count).sum::<usize>(), 9);
        assert_eq!(rug_x.len(), grid[0].count());
        assert_eq!(random[0].count(), 9);
        assert!(random[0].positions.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_hypergradient_path_is_drawn_on_the_map_of_its_params() {
        use crate::protocol::Path;
        let space =
            SearchSpace::new(vec![Param::log_float("learning_rate", 1e-3, 1e-1), Param::log_float("l2", 1e-6, 1e-2), Param::float("dropout", 0.0, 0.5)])
                .unwrap();
        let paths = Paths { learning_rate: Some(Path { every: 10, values: vec![0.01, 0.1, 1.0], clamped: 0 }), l2: None };
        let start = [0.5, 0.25, 0.4];
        let line = path_on_map(&space, &start, &paths, 0, 2).unwrap();
        assert_eq!(line.len(), 4);
        assert_eq!(line[0], (0.5, 0.4));
        assert!((line[1].0 - 0.5).abs() < 1e-6 && (line[2].0 - 1.0).abs() < 1e-6 && line[3].0 == 1.0, "{line:?}: beyond the space, it is drawn at its edge");
        assert!(line.iter().all(|p| p.1 == 0.4), "dropout has no path");
        assert_eq!(path_on_map(&space, &start, &paths, 1, 2), None, "no path on either param");
    }
}
