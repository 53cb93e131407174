//! "Why this point next": what a method's panel draws for one round of the race, computed from
//! the round's snapshot (`tuning::snapshot`) and the history the method had seen — so the panel
//! shows the state the proposal came from, not a model refitted later. The shell only draws it.
//!
//! - GP-EI: the posterior's mean, its uncertainty and the expected improvement on a 2-D slice of
//!   the space (the other params at the best trial so far), the trials seen, the round's
//!   proposals, and the fitted length-scales (a short one: the model thinks the param matters).
//! - TPE: per param, the good and bad densities l(x) and g(x) and their ratio, with the proposals.
//! - CMA-ES: each generation's mean and 2-σ ellipse on the slice, and the step size σ.
//! - GA: the population the round was bred from (elites marked) and the children.
//! - Grid and random: the grid's cells visited so far and left / a uniform density.
//!
//! Scores are shown as the study's scores (accuracies), not the losses the methods minimise.

use super::param_axis::value_label;
use crate::protocol::Path;
use crate::tuning::gp::GpEi;
use crate::tuning::snapshot::{Round, Snapshot};
use crate::tuning::space::{choice_unit, Domain, SearchSpace};
use crate::tuning::strategy::Observation;
use crate::tuning::study::{Direction, Study, Trial, TrialState};
use crate::tuning::tpe::Tpe;

/// Cells per side of the GP's heatmaps.
pub const HEATMAP_CELLS: usize = 24;
/// Points along a TPE density curve.
pub const DENSITY_POINTS: usize = 64;

/// A grid of values over the slice's unit square, row by row from the bottom (y = 0) up,
/// x fastest, with their range.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    pub cells: usize,
    pub values: Vec<f64>,
    pub low: f64,
    pub high: f64,
}

impl Heatmap {
    fn new(cells: usize, values: Vec<f64>) -> Self {
        let finite = values.iter().copied().filter(|v| v.is_finite());
        let low = finite.clone().fold(f64::INFINITY, f64::min);
        let high = finite.fold(f64::NEG_INFINITY, f64::max);
        Self { cells, values, low, high }
    }

    /// Where value `k` sits between the map's lowest (0) and highest (1).
    pub fn t(&self, k: usize) -> f64 {
        if self.high > self.low {
            ((self.values[k] - self.low) / (self.high - self.low)).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// GP-EI's round on the slice over params `x` and `y`.
#[derive(Debug, Clone, PartialEq)]
pub struct GpView {
    pub x: usize,
    pub y: usize,
    /// The posterior's mean score, its standard deviation, and the expected improvement (in
    /// score units).
    pub mean: Heatmap,
    pub deviation: Heatmap,
    pub improvement: Heatmap,
    /// The scored trials the model saw, as (x, y) in the unit square, with their scores.
    pub observed: Vec<(f64, f64, f64)>,
    /// The best of them (its other coordinates fix the slice).
    pub incumbent: (f64, f64),
    /// The round's proposals on the slice's axes; the first is the model's own choice (the
    /// others followed by the constant liar).
    pub next: Vec<(f64, f64)>,
    /// At the first proposal: the predicted score and its deviation, and the expected
    /// improvement; and the best score seen.
    pub next_mean: f64,
    pub next_deviation: f64,
    pub next_improvement: f64,
    pub best: f64,
    /// The model's uncertainty in the middle of its slice's range, to tell "unsure" from "sure".
    pub median_deviation: f64,
    /// The fitted length-scale of each param, in unit-cube widths.
    pub length_scales: Vec<f64>,
}

fn score(loss: f64, direction: Direction) -> f64 {
    match direction {
        Direction::Maximize => -loss,
        Direction::Minimize => loss,
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The GP's view of `round` on params `x` and `y`, from `seen` (the history the round saw).
pub fn gp_view(round: &Round, seen: &[Observation], direction: Direction, x: usize, y: usize) -> Option<GpView> {
    let Snapshot::Gp { hyper } = &round.snapshot else { return None };
    let model = GpEi::model_with(seen, hyper)?;
    let scored: Vec<&Observation> = seen.iter().filter(|o| o.loss.is_some()).collect();
    let best = scored.iter().min_by(|a, b| a.loss.unwrap().total_cmp(&b.loss.unwrap()))?;
    let at = best.unit.clone();
    let m = HEATMAP_CELLS;
    // Rows along y (slow), x fastest; the mean as a score.
    let (losses, deviations, improvements) = model.slice(y, x, &at, m);
    let means: Vec<f64> = losses.into_iter().map(|l| score(l, direction)).collect();
    let first = round.proposals.first()?;
    let (next_mean, next_deviation) = model.predict(first);
    Some(GpView {
        x,
        y,
        median_deviation: median(&deviations),
        mean: Heatmap::new(m, means),
        deviation: Heatmap::new(m, deviations),
        improvement: Heatmap::new(m, improvements),
        observed: scored.iter().map(|o| (o.unit[x], o.unit[y], score(o.loss.unwrap(), direction))).collect(),
        incumbent: (at[x], at[y]),
        next: round.proposals.iter().map(|u| (u[x], u[y])).collect(),
        next_mean: score(next_mean, direction),
        next_deviation,
        next_improvement: model.expected_improvement(first),
        best: score(best.loss.unwrap(), direction),
        length_scales: model.length_scales(),
    })
}

/// One param's densities in TPE's round.
#[derive(Debug, Clone, PartialEq)]
pub struct TpeParam {
    pub param: usize,
    /// Where the densities are given, in the unit interval (a categorical's choices).
    pub at: Vec<f64>,
    /// l(x): the density of the good trials; g(x): of the rest; and l/g.
    pub good: Vec<f64>,
    pub bad: Vec<f64>,
    pub ratio: Vec<f64>,
    /// The round's proposals on this param.
    pub chosen: Vec<f64>,
    /// The good and the bad trials seen, on this param.
    pub good_trials: Vec<f64>,
    pub bad_trials: Vec<f64>,
}

/// TPE's round, param by param.
pub fn tpe_view(round: &Round, seen: &[Observation], space: &SearchSpace) -> Option<Vec<TpeParam>> {
    let Snapshot::Tpe { gamma } = round.snapshot else { return None };
    // The snapshot says the model was in use; its split follows from the history alone.
    let mut tpe = Tpe::default();
    tpe.startup = 0;
    let mut scored: Vec<&Observation> = seen.iter().filter(|o| o.loss.is_some()).collect();
    scored.sort_by(|a, b| a.loss.unwrap().total_cmp(&b.loss.unwrap()));
    let (good, bad) = scored.split_at(gamma.min(scored.len()));
    space
        .params()
        .iter()
        .enumerate()
        .map(|(d, param)| {
            let at: Vec<f64> = match &param.domain {
                Domain::Categorical { choices } => (0..choices.len()).map(|k| choice_unit(k, choices.len())).collect(),
                _ => (0..DENSITY_POINTS).map(|i| (i as f64 + 0.5) / DENSITY_POINTS as f64).collect(),
            };
            let (l, g) = tpe.densities(space, seen, d, &at)?;
            let ratio = l.iter().zip(&g).map(|(l, g)| if *g > 0.0 { l / g } else { f64::INFINITY }).collect();
            Some(TpeParam {
                param: d,
                at,
                good: l,
                bad: g,
                ratio,
                chosen: round.proposals.iter().map(|u| u[d]).collect(),
                good_trials: good.iter().map(|o| o.unit[d]).collect(),
                bad_trials: bad.iter().map(|o| o.unit[d]).collect(),
            })
        })
        .collect()
}

/// CMA-ES's distribution on the slice over params `x` and `y` (both numeric), generation by
/// generation up to the round's.
#[derive(Debug, Clone, PartialEq)]
pub struct CmaView {
    /// Each generation's mean on the slice and its 2-σ ellipse.
    pub generations: Vec<Ellipse>,
    /// Each generation's step size σ.
    pub sigmas: Vec<f64>,
    /// The round's proposals on the slice.
    pub next: Vec<(f64, f64)>,
}

/// A generation's distribution on the slice: its mean and its 2-σ outline (closed).
#[derive(Debug, Clone, PartialEq)]
pub struct Ellipse {
    pub mean: (f64, f64),
    pub outline: Vec<(f64, f64)>,
}

/// Points on an ellipse outline.
const ELLIPSE_POINTS: usize = 48;

/// CMA-ES's generations up to `round`'s (`rounds`: the study's rounds, in order).
pub fn cma_view(rounds: &[Round], round: usize, x: usize, y: usize) -> Option<CmaView> {
    let Snapshot::Cmaes { index, numeric, .. } = &rounds.get(round)?.snapshot else { return None };
    let (i, j) = (numeric.iter().position(|&p| p == x)?, numeric.iter().position(|&p| p == y)?);
    let d = numeric.len();
    // One entry per generation: the first round that sampled it.
    let mut generations = Vec::new();
    let mut sigmas = Vec::new();
    for r in &rounds[..=round] {
        if let Snapshot::Cmaes { index: g, generation, .. } = &r.snapshot {
            if *g == generations.len() {
                let (mx, my) = (generation.mean[i], generation.mean[j]);
                let s2 = generation.sigma * generation.sigma;
                let (a, b, c) = (s2 * generation.covariance[i * d + i], s2 * generation.covariance[i * d + j], s2 * generation.covariance[j * d + j]);
                generations.push(Ellipse { mean: (mx, my), outline: ellipse(mx, my, a, b, c, 2.0) });
                sigmas.push(generation.sigma);
            }
        }
    }
    debug_assert_eq!(generations.len(), index + 1);
    Some(CmaView { generations, sigmas, next: rounds[round].proposals.iter().map(|u| (u[x], u[y])).collect() })
}

/// The `k`-σ outline of a 2-D normal with covariance [[a, b], [b, c]] around (mx, my).
fn ellipse(mx: f64, my: f64, a: f64, b: f64, c: f64, k: f64) -> Vec<(f64, f64)> {
    // Eigen-decomposition of the symmetric 2 × 2 matrix.
    let mean = (a + c) / 2.0;
    let spread = (((a - c) / 2.0).powi(2) + b * b).sqrt();
    let (l1, l2) = ((mean + spread).max(0.0), (mean - spread).max(0.0));
    let angle = 0.5 * (2.0 * b).atan2(a - c);
    let (cos, sin) = (angle.cos(), angle.sin());
    (0..=ELLIPSE_POINTS)
        .map(|t| {
            let phi = t as f64 * std::f64::consts::TAU / ELLIPSE_POINTS as f64;
            let (u, v) = (k * l1.sqrt() * phi.cos(), k * l2.sqrt() * phi.sin());
            (mx + u * cos - v * sin, my + u * sin + v * cos)
        })
        .collect()
}

/// The grid on the slice over params `x` and `y`: where its cells fall (many cells share a
/// position, differing in the other params), how many of each position's cells were visited
/// before this round, and the visiting order so far.
#[derive(Debug, Clone, PartialEq)]
pub struct GridSlice {
    /// Each position, with the grid's cells there and how many were proposed before this round.
    pub positions: Vec<GridPosition>,
    /// Every proposal before this round, in order.
    pub visited: Vec<(f64, f64)>,
    /// This round's proposals.
    pub now: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GridPosition {
    pub at: (f64, f64),
    pub cells: usize,
    pub visited: usize,
}

fn grid_slice(rounds: &[Round], round: usize, axes: &[Vec<f64>], x: usize, y: usize) -> Option<GridSlice> {
    let (xs, ys) = (axes.get(x)?, axes.get(y)?);
    let per_position = axes.iter().enumerate().filter(|&(p, _)| p != x && p != y).map(|(_, a)| a.len()).product::<usize>();
    let project = |u: &Vec<f64>| (u[x], u[y]);
    let visited: Vec<(f64, f64)> = rounds[..round].iter().flat_map(|r| r.proposals.iter().map(project)).collect();
    let at: Vec<(f64, f64)> = if x == y { xs.iter().map(|&a| (a, a)).collect() } else { xs.iter().flat_map(|&a| ys.iter().map(move |&b| (a, b))).collect() };
    let positions = at.into_iter().map(|at| GridPosition { at, cells: per_position, visited: visited.iter().filter(|&&v| v == at).count() }).collect();
    Some(GridSlice { positions, visited, now: rounds[round].proposals.iter().map(project).collect() })
}

/// The genetic algorithm's round on the slice over params `x` and `y`.
#[derive(Debug, Clone, PartialEq)]
pub struct GaView {
    pub generation: usize,
    /// The population bred from, best first: (x, y, score, elite).
    pub parents: Vec<(f64, f64, f64, bool)>,
    /// The children of this round, each with its two parents (indices into `parents`).
    pub children: Vec<(f64, f64)>,
    pub bred_from: Vec<(usize, usize)>,
}

pub fn ga_view(round: &Round, direction: Direction, x: usize, y: usize) -> Option<GaView> {
    let Snapshot::Genetic { index, parents, elites, pairs } = &round.snapshot else { return None };
    Some(GaView {
        generation: *index,
        parents: parents.iter().enumerate().map(|(k, m)| (m.unit[x], m.unit[y], score(m.loss, direction), k < *elites)).collect(),
        children: round.proposals.iter().map(|u| (u[x], u[y])).collect(),
        bred_from: pairs.clone(),
    })
}

/// One bracket of Hyperband (or successive halving's one): its rungs, fewest epochs first.
#[derive(Debug, Clone, PartialEq)]
pub struct Bracket {
    pub group: u32,
    pub rungs: Vec<Rung>,
}

/// The trials scored at one rung, and which of them went on.
#[derive(Debug, Clone, PartialEq)]
pub struct Rung {
    pub epochs: u32,
    pub entries: Vec<RungEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RungEntry {
    pub trial: usize,
    pub score: f64,
    /// It trained on to the next rung.
    pub promoted: bool,
}

/// Where a trial was scored along its training: each pause, then its end if it completed.
fn scored_along(t: &Trial) -> Vec<(u32, f64)> {
    let mut points = t.pauses.clone();
    if let (TrialState::Complete, Some(score)) = (&t.state, t.score) {
        if points.last().is_none_or(|&(e, _)| e < t.reached) {
            points.push((t.reached, score));
        }
    }
    points
}

/// Hyperband's (or successive halving's) brackets from its trials: at each rung, every trial
/// that reached it, its score there, and whether it was promoted.
pub fn rung_ladder(trials: &[Trial]) -> Vec<Bracket> {
    let mut brackets: Vec<Bracket> = Vec::new();
    for t in trials {
        let Some(group) = t.group else { continue };
        let along = scored_along(t);
        let b = match brackets.iter().position(|b| b.group == group) {
            Some(i) => i,
            None => {
                brackets.push(Bracket { group, rungs: Vec::new() });
                brackets.len() - 1
            }
        };
        for (k, &(epochs, score)) in along.iter().enumerate() {
            let rungs = &mut brackets[b].rungs;
            let r = match rungs.iter().position(|r| r.epochs == epochs) {
                Some(r) => r,
                None => {
                    rungs.push(Rung { epochs, entries: Vec::new() });
                    rungs.len() - 1
                }
            };
            rungs[r].entries.push(RungEntry { trial: t.id, score, promoted: k + 1 < along.len() });
        }
    }
    for b in &mut brackets {
        b.rungs.sort_by_key(|r| r.epochs);
        for r in &mut b.rungs {
            r.entries.sort_by(|a, b| b.score.total_cmp(&a.score));
        }
    }
    brackets.sort_by_key(|b| b.group);
    brackets
}

/// A PBT member: its scores at the end of each interval, and the copies it made.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub trial: usize,
    pub population: u32,
    pub scored: Vec<(u32, f64)>,
    pub copies: Vec<Copy>,
}

/// A member took another's checkpoint at `epochs`; `changed`: each param whose value moved,
/// before and after (the copied member's values, perturbed).
#[derive(Debug, Clone, PartialEq)]
pub struct Copy {
    pub epochs: u32,
    pub from: usize,
    pub changed: Vec<(usize, String, String)>,
}

/// PBT's members and their lineage.
pub fn lineage(trials: &[Trial]) -> Vec<Member> {
    trials
        .iter()
        .map(|t| Member {
            trial: t.id,
            population: t.group.unwrap_or(0),
            scored: scored_along(t),
            copies: t
                .lineage
                .iter()
                .filter(|c| c.from != t.id)
                .map(|c| Copy {
                    epochs: c.epochs,
                    from: c.from,
                    changed: c
                        .before
                        .iter()
                        .zip(&c.after)
                        .enumerate()
                        .filter(|(_, (a, b))| a != b)
                        .map(|(p, (a, b))| (p, value_label(a), value_label(b)))
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

/// A hyperparameter's path under its hypergradient, for one trial: (step, value).
#[derive(Debug, Clone, PartialEq)]
pub struct PathLine {
    pub trial: usize,
    pub score: Option<f64>,
    pub points: Vec<(f64, f64)>,
    pub clamped: u32,
}

/// The paths of `runs` (trial, score, its path) with the steps each point stands for.
pub fn path_lines<'a>(runs: impl IntoIterator<Item = (usize, Option<f64>, &'a Path)>) -> Vec<PathLine> {
    runs.into_iter()
        .map(|(trial, score, path)| PathLine {
            trial,
            score,
            points: path.values.iter().enumerate().map(|(k, &v)| (((k + 1) * path.every as usize) as f64, v as f64)).collect(),
            clamped: path.clamped,
        })
        .collect()
}

/// The median-stopping rule at one round: the scores its trials had to reach epoch by epoch
/// (frozen when the round was proposed, from the complete trials of earlier rounds), and each
/// trial's scores, epoch by epoch, as far as it trained.
#[derive(Debug, Clone, PartialEq)]
pub struct MedianView {
    /// For epochs 1, 2, …: the score to reach (None: the rule does not apply yet).
    pub thresholds: Vec<Option<f64>>,
    pub trials: Vec<MedianTrial>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MedianTrial {
    pub trial: usize,
    /// Its validation score after each epoch it trained.
    pub scores: Vec<f64>,
    /// Stopped by the rule after its last listed epoch.
    pub stopped: bool,
    /// The epochs it would have trained.
    pub planned: u32,
}

impl MedianView {
    /// The round's trials the rule stopped, and the training epochs they did not spend.
    pub fn saved(&self) -> (usize, u32) {
        let stopped = self.trials.iter().filter(|t| t.stopped);
        (stopped.clone().count(), stopped.map(|t| t.planned.saturating_sub(t.scores.len() as u32)).sum())
    }
}

/// The median rule behind round `round` of `study`, if it stops trials early; `planned`: the
/// epochs a trial would train (the study counts cost, not epochs).
pub fn median_view(study: &Study, round: usize, planned: impl Fn(usize) -> u32) -> Option<MedianView> {
    study.pruner()?;
    let batch = study.rounds().get(round)?.batch;
    let trials: Vec<&Trial> = study.trials().iter().filter(|t| t.batch == batch).collect();
    let thresholds = trials.first()?.stop_below.clone();
    Some(MedianView {
        thresholds,
        trials: trials
            .iter()
            .filter(|t| t.state.is_finished() || !t.progress.is_empty())
            .map(|t| MedianTrial { trial: t.id, scores: t.progress.clone(), stopped: t.state == TrialState::Pruned, planned: planned(t.id) })
            .collect(),
    })
}

/// What the panel of a method that acts inside training draws: the whole race so far.
#[derive(Debug, Clone, PartialEq)]
pub enum InsideTraining {
    Ladder(Vec<Bracket>),
    Lineage(Vec<Member>),
    Paths { learning_rate: Vec<PathLine>, l2: Vec<PathLine> },
}

/// A round of a study, as its method's panel draws it.
#[derive(Debug, Clone, PartialEq)]
pub enum WhyNext {
    /// Uniform draws; `warming_up`: (scored trials, trials the model needs) before a model is used.
    Uniform {
        warming_up: Option<(usize, usize)>,
        proposals: usize,
    },
    /// The grid's `cells`, `before` of them proposed before this round, which proposes `proposals`.
    Grid {
        before: usize,
        cells: usize,
        proposals: usize,
        slice: GridSlice,
    },
    Gp(Box<GpView>),
    Tpe(Vec<TpeParam>),
    Cma(CmaView),
    Ga(GaView),
}

/// Round `round` of `study` on params `x` and `y` (None: no such round, or the slice cannot
/// show it, e.g. CMA-ES on a categorical param).
pub fn why_next(study: &Study, round: usize, x: usize, y: usize) -> Option<WhyNext> {
    let r = study.rounds().get(round)?;
    let direction = study.direction();
    Some(match &r.snapshot {
        Snapshot::Uniform { warming_up } => WhyNext::Uniform { warming_up: *warming_up, proposals: r.proposals.len() },
        Snapshot::Grid { before, cells, axes } => {
            WhyNext::Grid { before: *before, cells: *cells, proposals: r.proposals.len(), slice: grid_slice(study.rounds(), round, axes, x, y)? }
        }
        Snapshot::Gp { .. } => WhyNext::Gp(Box::new(gp_view(r, &study.history_seen(r.seen), direction, x, y)?)),
        Snapshot::Tpe { .. } => WhyNext::Tpe(tpe_view(r, &study.history_seen(r.seen), study.space())?),
        Snapshot::Cmaes { .. } => WhyNext::Cma(cma_view(study.rounds(), round, x, y)?),
        Snapshot::Genetic { .. } => WhyNext::Ga(ga_view(r, direction, x, y)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuning::cmaes::CmaEs;
    use crate::tuning::genetic::Genetic;
    use crate::tuning::gp::GpEi;
    use crate::tuning::space::Param;
    use crate::tuning::strategy::Strategy;
    use crate::tuning::study::{Outcome, Study, StudyConfig};

    fn space() -> SearchSpace {
        SearchSpace::new(vec![Param::float("x", 0.0, 1.0), Param::float("y", 0.0, 1.0), Param::float("z", 0.0, 1.0)]).unwrap()
    }

    /// A bowl with its best score 1 at (0.3, 0.7), z hardly mattering.
    fn run(method: Box<dyn Strategy>, budget: u64) -> Study {
        let mut study = Study::new(space(), method, StudyConfig { seed: 5, direction: Direction::Maximize, budget, batch_size: 3 }, Box::new(|_| 1));
        study.optimize(
            |t| {
                let f = |k: usize| t.values[k].as_f64().unwrap();
                Outcome::Complete(1.0 - (f(0) - 0.3).powi(2) - (f(1) - 0.7).powi(2) - 0.01 * f(2))
            },
            |_| {},
        );
        study
    }

    #[test]
    fn the_gp_view_is_the_model_that_chose_the_point() {
        let study = run(Box::new(GpEi::default()), 24);
        let rounds = study.rounds();
        assert!(matches!(rounds[0].snapshot, Snapshot::Uniform { warming_up: Some((0, 10)) }));
        let round = rounds.iter().rev().find(|r| matches!(r.snapshot, Snapshot::Gp { .. })).expect("the model was used");
        let seen = study.history_seen(round.seen);
        let view = gp_view(round, &seen, Direction::Maximize, 0, 1).unwrap();
        assert_eq!(view.mean.values.len(), HEATMAP_CELLS * HEATMAP_CELLS);
        assert_eq!(view.observed.len(), round.seen);
        assert_eq!(view.next.len(), round.proposals.len());
        // The proposal maximised EI over the whole cube: no cell of the slice beats it, so the
        // rebuilt model is the one that chose (a refit with other hyperparameters need not be).
        let top = view.improvement.values.iter().copied().fold(0.0, f64::max);
        assert!(view.next_improvement >= top * 0.999, "EI at the proposal {} against {top} on the slice", view.next_improvement);
        // The mean is in accuracy units: highest near the bowl's best.
        let k = view.mean.values.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        let (cx, cy) = ((k % HEATMAP_CELLS) as f64 / HEATMAP_CELLS as f64, (k / HEATMAP_CELLS) as f64 / HEATMAP_CELLS as f64);
        assert!((cx - 0.3).abs() < 0.25 && (cy - 0.7).abs() < 0.25, "mean peaks at ({cx}, {cy})");
        assert!(view.best <= 1.0 && view.best > 0.8);
        // z hardly matters: the model gives it the longest length-scale.
        assert!(view.length_scales[2] > view.length_scales[0].min(view.length_scales[1]), "{:?}", view.length_scales);
        assert!(gp_view(&rounds[0], &study.history_seen(rounds[0].seen), Direction::Maximize, 0, 1).is_none());
    }

    #[test]
    fn the_tpe_view_splits_the_seen_trials_and_its_ratio_favours_the_choice() {
        let study = run(Box::new(Tpe::default()), 30);
        let round = study.rounds().iter().rev().find(|r| matches!(r.snapshot, Snapshot::Tpe { .. })).unwrap();
        let Snapshot::Tpe { gamma } = round.snapshot else { unreachable!() };
        let seen = study.history_seen(round.seen);
        let view = tpe_view(round, &seen, study.space()).unwrap();
        assert_eq!(view.len(), 3);
        let x = &view[0];
        assert_eq!((x.good_trials.len(), x.bad_trials.len()), (gamma, round.seen - gamma));
        assert_eq!(x.at.len(), DENSITY_POINTS);
        // Both are densities on [0, 1]: they integrate to about 1.
        let integral = |d: &[f64]| d.iter().sum::<f64>() / DENSITY_POINTS as f64;
        assert!((integral(&x.good) - 1.0).abs() < 0.1 && (integral(&x.bad) - 1.0).abs() < 0.1);
        // The good density is highest near the good trials, at the bowl's x.
        let peak = x.at[x.good.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0];
        assert!((peak - 0.3).abs() < 0.2, "l(x) peaks at {peak}");
        // The first proposal sits where l/g is above its median.
        let at_choice = x.ratio[((x.chosen[0] * DENSITY_POINTS as f64) as usize).min(DENSITY_POINTS - 1)];
        assert!(at_choice > median(&x.ratio), "l/g {at_choice} at the choice");
    }

    #[test]
    fn the_rung_ladder_keeps_each_trials_rungs_and_promotions() {
        use crate::tuning::space::Value;
        use crate::tuning::trial::Inherited;
        let trial = |id: usize, group: u32, pauses: Vec<(u32, f64)>, complete: Option<(u32, f64)>| {
            let mut t = Trial::waiting(id, 0, Vec::new(), Vec::new(), 0);
            t.group = Some(group);
            t.pauses = pauses;
            if let Some((reached, score)) = complete {
                t.state = TrialState::Complete;
                t.score = Some(score);
                t.reached = reached;
            }
            t
        };
        let trials = vec![
            trial(0, 0, vec![(1, 0.80)], None),
            trial(1, 0, vec![(1, 0.90), (3, 0.93)], Some((9, 0.95))),
            trial(2, 0, vec![(1, 0.85)], None),
            trial(3, 1, vec![], Some((9, 0.94))),
        ];
        let ladder = rung_ladder(&trials);
        assert_eq!(ladder.len(), 2);
        let rungs: Vec<(u32, Vec<(usize, bool)>)> =
            ladder[0].rungs.iter().map(|r| (r.epochs, r.entries.iter().map(|e| (e.trial, e.promoted)).collect())).collect();
        assert_eq!(rungs, vec![(1, vec![(1, true), (2, false), (0, false)]), (3, vec![(1, true)]), (9, vec![(1, false)])]);
        assert_eq!(ladder[1].rungs.len(), 1, "a bracket of full-length trials has one rung");

        let mut copied = trial(4, 0, vec![(2, 0.7), (4, 0.9)], Some((6, 0.92)));
        copied.lineage =
            vec![Inherited { epochs: 2, from: 1, before: vec![Value::Float(0.01), Value::Int(3)], after: vec![Value::Float(0.012), Value::Int(3)] }];
        let members = lineage(&[copied]);
        assert_eq!(members[0].scored, vec![(2, 0.7), (4, 0.9), (6, 0.92)]);
        assert_eq!(members[0].copies, vec![Copy { epochs: 2, from: 1, changed: vec![(0, "0.01".into(), "0.012".into())] }]);

        let path = Path { every: 10, values: vec![0.01, 0.02], clamped: 1 };
        let lines = path_lines([(3, Some(0.9), &path)]);
        assert_eq!(lines[0].points, vec![(10.0, 0.01f32 as f64), (20.0, 0.02f32 as f64)]);
    }

    #[test]
    fn the_cma_view_shrinks_its_ellipse_and_the_ga_view_keeps_its_elites() {
        let study = run(Box::new(CmaEs::new()), 60);
        let last = study.rounds().len() - 1;
        let view = cma_view(study.rounds(), last, 0, 1).unwrap();
        assert!(view.generations.len() >= 3 && view.sigmas.len() == view.generations.len());
        let width =
            |outline: &[(f64, f64)]| outline.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max) - outline.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
        assert!(width(&view.generations.last().unwrap().outline) < width(&view.generations[0].outline), "the search narrows");
        let Ellipse { mean: (mx, my), outline } = &view.generations[0];
        assert_eq!(outline.len(), ELLIPSE_POINTS + 1);
        assert!(((mx - 0.5).abs(), (my - 0.5).abs()) == (0.0, 0.0), "CMA-ES starts at the cube's centre");
        assert!(cma_view(study.rounds(), last, 0, 7).is_none());

        let study = run(Box::new(Genetic::new(6)), 30);
        let round = study.rounds().iter().rev().find(|r| matches!(r.snapshot, Snapshot::Genetic { .. })).unwrap();
        let view = ga_view(round, Direction::Maximize, 0, 1).unwrap();
        assert!(view.generation >= 1 && view.parents.len() >= 2);
        assert_eq!(view.parents.iter().filter(|p| p.3).count(), 2);
        assert!(view.parents.windows(2).all(|w| w[0].2 >= w[1].2), "best first");
        // Each child takes each gene from one of its two parents, unless it was mutated (one
        // gene in three, here).
        let Snapshot::Genetic { parents, pairs, .. } = &round.snapshot else { unreachable!() };
        assert!(!pairs.is_empty() && pairs.len() == view.children.len() && view.bred_from == *pairs);
        let inherited: usize = round
            .proposals
            .iter()
            .zip(pairs)
            .map(|(child, &(a, b))| child.iter().enumerate().filter(|&(i, g)| *g == parents[a].unit[i] || *g == parents[b].unit[i]).count())
            .sum();
        assert!(inherited * 2 > round.proposals.len() * 3, "{inherited} of {} genes from the parents", round.proposals.len() * 3);
    }

    #[test]
    fn the_median_view_shows_the_thresholds_a_round_was_held_to() {
        use crate::tuning::median_pruner::{stops, MedianPruner};
        use crate::tuning::random::RandomSearch;
        let config = StudyConfig { seed: 3, direction: Direction::Maximize, budget: 40 * 5, batch_size: 4 };
        let mut study = Study::new(space(), Box::new(RandomSearch), config, Box::new(|_| 5)).with_pruner(MedianPruner::default());
        // Five epochs, each scoring x a little higher; a trial stops as a worker would, at the
        // first epoch its best falls below the round's threshold.
        study.optimize(
            |t| {
                let x = t.values[0].as_f64().unwrap();
                let thresholds = t.segment.stop_below.clone();
                let mut scores = Vec::new();
                for epoch in 1..=5 {
                    scores.push(x * epoch as f64 / 5.0);
                    t.report(*scores.last().unwrap());
                    if stops(&thresholds, &scores, Direction::Maximize) {
                        return Outcome::Pruned { value: *scores.last().unwrap(), cost: epoch };
                    }
                }
                Outcome::Complete(x)
            },
            |_| {},
        );
        assert!(median_view(&study, 0, |_| 5).is_some_and(|v| v.thresholds.is_empty()), "the first round has nothing to compare with");
        let rounds = study.rounds().len();
        let late = median_view(&study, rounds - 1, |_| 5).unwrap();
        assert_eq!(late.thresholds.len(), 5);
        assert!(late.thresholds.iter().all(Option::is_some));
        for t in &late.trials {
            // A stopped trial fell below the threshold at its last epoch, and not before.
            let below = |k: usize| t.scores[..=k].iter().copied().fold(f64::MIN, f64::max) < late.thresholds[k].unwrap();
            let first_below = (0..t.scores.len()).find(|&k| below(k));
            assert_eq!(first_below.map(|k| k + 1 == t.scores.len()), t.stopped.then_some(true), "{t:?}");
        }
        let (stopped, saved) = (0..rounds).filter_map(|r| median_view(&study, r, |_| 5)).fold((0, 0), |(a, b), v| {
            let (s, e) = v.saved();
            (a + s, b + e)
        });
        assert!(stopped > 0 && saved > 0, "the rule stopped trials and saved epochs: {stopped}, {saved}");
        let plain = run(Box::new(RandomSearch), 20);
        assert_eq!(median_view(&plain, 0, |_| 5), None, "no median rule, no view");
    }

    #[test]
    fn the_grid_slice_shows_where_the_grid_has_been_and_in_what_order() {
        use crate::tuning::grid::GridSearch;
        let study = run(Box::new(GridSearch::default()), 20);
        let rounds = study.rounds().len();
        assert!(rounds >= 5);
        let Some(WhyNext::Grid { before, cells, proposals, slice }) = why_next(&study, 2, 0, 1) else { panic!() };
        assert_eq!((before, cells, proposals), (6, 27, 3));
        assert_eq!(slice.positions.len(), 9, "3 × 3 positions on the slice");
        assert!(slice.positions.iter().all(|p| p.cells == 3), "z's three values share each position");
        assert_eq!(slice.visited.len(), 6);
        assert_eq!(slice.positions.iter().map(|p| p.visited).sum::<usize>(), 6);
        // The last param changes fastest: a round of three is one position of the (x, y) slice,
        // and on the (y, z) slice it runs along z.
        assert!(slice.now.iter().all(|&p| p == slice.now[0]));
        let Some(WhyNext::Grid { slice, .. }) = why_next(&study, 2, 1, 2) else { panic!() };
        assert_eq!(slice.now.iter().map(|p| p.1).collect::<Vec<_>>(), vec![0.0, 0.5, 1.0]);
        assert!(slice.positions.iter().all(|p| p.visited <= p.cells));
    }
}
