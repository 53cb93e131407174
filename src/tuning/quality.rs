//! Quality: on standard test functions with known optima, over many seeds and at the same
//! number of evaluations, the model-based methods must beat random search's median regret, and
//! random search must beat a grid where only a few of the dimensions matter (Bergstra & Bengio's
//! argument). Regret is the best value found minus the known optimum. Every method of the
//! registry (`methods.rs`) is measured; each must beat random search unless listed in
//! `NOT_REQUIRED_TO_BEAT_RANDOM` with its reason.

use super::grid::GridSearch;
use super::methods;
use super::random::RandomSearch;
use super::space::{Param, SearchSpace, Value};
use super::strategy::Strategy;
use super::study::{Direction, Outcome, Study, StudyConfig};

/// Registered methods this suite does not require to beat random search: grid search tries a
/// fixed corner of its grid at these budgets (the test below pits it against random search where
/// that matters), and the genetic algorithm, with a population of 20, gets only three or four
/// generations in 60 to 80 evaluations. Their regrets are printed all the same. Hypergradient
/// descent proposes its starting points as random search does (its tuning happens inside
/// training, which these functions do not have). The methods that act inside training are not
/// measured here: they need learning curves (BENCHMARKS.md measures them on MNIST).
const NOT_REQUIRED_TO_BEAT_RANDOM: [&str; 3] = ["grid", "genetic", "hypergradient"];

/// Branin on [−5, 10] × [0, 15]: three global minima of 0.397887.
fn branin(x: &[f64]) -> f64 {
    let (a, b, c, r, s, t) = (1.0, 5.1 / (4.0 * std::f64::consts::PI.powi(2)), 5.0 / std::f64::consts::PI, 6.0, 10.0, 1.0 / (8.0 * std::f64::consts::PI));
    a * (x[1] - b * x[0] * x[0] + c * x[0] - r).powi(2) + s * (1.0 - t) * x[0].cos() + s
}
const BRANIN_MIN: f64 = 0.397_887_357_729_738;

/// Hartmann-6 on [0, 1]⁶: one global minimum of −3.32237.
fn hartmann6(x: &[f64]) -> f64 {
    const ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
    const A: [[f64; 6]; 4] =
        [[10.0, 3.0, 17.0, 3.5, 1.7, 8.0], [0.05, 10.0, 17.0, 0.1, 8.0, 14.0], [3.0, 3.5, 1.7, 10.0, 17.0, 8.0], [17.0, 8.0, 0.05, 10.0, 0.1, 14.0]];
    const P: [[f64; 6]; 4] = [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
    ];
    -(0..4).map(|i| ALPHA[i] * (-(0..6).map(|j| A[i][j] * (x[j] - P[i][j]).powi(2)).sum::<f64>()).exp()).sum::<f64>()
}
const HARTMANN6_MIN: f64 = -3.322_368_011_415_515;

/// Six dimensions of which only the first two matter: a narrow bowl at (0.37, 0.61).
fn two_of_six(x: &[f64]) -> f64 {
    (x[0] - 0.37).powi(2) + (x[1] - 0.61).powi(2)
}

fn floats(bounds: &[(f64, f64)]) -> SearchSpace {
    SearchSpace::new(bounds.iter().enumerate().map(|(i, &(lo, hi))| Param::float(&format!("x{i}"), lo, hi)).collect()).unwrap()
}

/// The best value a method finds in `evaluations`, proposing `batch` at a time.
fn best_found(space: &SearchSpace, method: Box<dyn Strategy>, seed: u64, evaluations: u64, f: fn(&[f64]) -> f64) -> f64 {
    let mut study =
        Study::new(space.clone(), method, StudyConfig { seed, direction: Direction::Minimize, budget: evaluations, batch_size: 4 }, Box::new(|_| 1));
    study.optimize(
        |trial| {
            let x: Vec<f64> = trial.values.iter().map(|v: &Value| v.as_f64().unwrap()).collect();
            Outcome::Complete(f(&x))
        },
        |_| {},
    );
    study.best().unwrap().score.unwrap()
}

fn median_regret(space: &SearchSpace, make: &dyn Fn() -> Box<dyn Strategy>, evaluations: u64, f: fn(&[f64]) -> f64, optimum: f64, seeds: u64) -> f64 {
    let mut regrets: Vec<f64> = (0..seeds).map(|seed| best_found(space, make(), seed, evaluations, f) - optimum).collect();
    regrets.sort_by(f64::total_cmp);
    regrets[regrets.len() / 2]
}

#[test]
fn methods_that_learn_beat_random_search_on_branin_hartmann6_and_two_of_six() {
    let branin_space = floats(&[(-5.0, 10.0), (0.0, 15.0)]);
    let six = floats(&[(0.0, 1.0); 6]);
    let functions = [
        ("branin", &branin_space, branin as fn(&[f64]) -> f64, BRANIN_MIN, 60),
        ("hartmann6", &six, hartmann6, HARTMANN6_MIN, 80),
        ("two-of-six", &six, two_of_six, 0.0, 64),
    ];
    for (name, space, f, optimum, evaluations) in functions {
        let regrets: Vec<(&str, f64)> = methods::all()
            .iter()
            .filter_map(|m| m.strategy().map(|_| (m.name, median_regret(space, &|| m.strategy().expect("a proposing method"), evaluations, f, optimum, 15))))
            .collect();
        let random = regrets.iter().find(|(method, _)| *method == "random").expect("random search is registered").1;
        eprintln!("{name}: median regret {}", regrets.iter().map(|(method, regret)| format!("{method} {regret:.4}")).collect::<Vec<_>>().join(", "));
        for &(method, regret) in regrets.iter().filter(|(method, _)| *method != "random" && !NOT_REQUIRED_TO_BEAT_RANDOM.contains(method)) {
            assert!(regret < random, "{name}: median regret {method} {regret:.4} vs random {random:.4}");
        }
    }
}

#[test]
fn random_search_beats_a_grid_where_two_of_six_dimensions_matter() {
    let space = floats(&[(0.0, 1.0); 6]);
    // 3⁴ = 81 > 64 = 2⁶: a grid of two values per dimension, and the same number of random points.
    let grid = median_regret(&space, &|| Box::new(GridSearch::new(2, false)), 64, two_of_six, 0.0, 1);
    let random = median_regret(&space, &|| Box::new(RandomSearch), 64, two_of_six, 0.0, 15);
    assert!(random < grid, "median regret random {random:.4} vs grid {grid:.4}");
    // The grid only ever tries 0 and 1 on the dimensions that matter.
    assert!((grid - (0.37f64.powi(2) + 0.39f64.powi(2))).abs() < 1e-12, "{grid}");
}

#[test]
fn the_test_functions_have_their_published_minima() {
    assert!((branin(&[-std::f64::consts::PI, 12.275]) - BRANIN_MIN).abs() < 1e-6);
    assert!((branin(&[9.42478, 2.475]) - BRANIN_MIN).abs() < 1e-6);
    assert!((hartmann6(&[0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]) - HARTMANN6_MIN).abs() < 1e-5);
}
