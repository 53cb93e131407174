//! The contract every tuning method keeps, checked against each one (as Optuna runs one sampler
//! test suite against every sampler): proposals inside the space, the same proposals for the
//! same seed whatever the order trials finish in, nothing learnt from failed trials, the budget
//! never exceeded, spaces of 1 and 10 params and of categoricals only; grid search exhausting
//! exactly. Every method of the registry (`methods.rs`) is checked with its defaults, so a new
//! method joins by being registered.

use super::grid::GridSearch;
use super::methods;
use super::random::RandomSearch;
use super::space::{Domain, Param, SearchSpace, Value};
use super::strategy::Strategy;
use super::study::{Ask, Direction, Outcome, Study, StudyConfig, TrialState};

/// Makes a fresh instance of a method.
type MakeMethod = Box<dyn Fn() -> Box<dyn Strategy>>;

/// Every registered method, by name, and grid search in a seeded order as well.
fn methods() -> Vec<(&'static str, MakeMethod)> {
    let mut all: Vec<(&'static str, MakeMethod)> = methods::all().iter().map(|m| (m.name, Box::new(move || m.make()) as MakeMethod)).collect();
    all.push(("grid-shuffled", Box::new(|| Box::new(GridSearch::new(4, true)))));
    all
}

fn mixed_space() -> SearchSpace {
    SearchSpace::new(vec![
        Param::log_float("lr", 1e-4, 1.0),
        Param::float("x", -2.0, 3.0),
        Param::int("layers", 1, 4),
        Param::log_int("batch", 16, 256),
        Param::categorical("optimizer", &["sgd", "momentum", "adam"]),
    ])
    .unwrap()
}

/// A smooth objective over any space: the squared distance of its unit point from (0.3, …, 0.3).
fn objective(space: &SearchSpace, values: &[Value]) -> f64 {
    space.unit_of(values).iter().map(|u| (u - 0.3) * (u - 0.3)).sum()
}

/// Run a study to the end minimising `objective`, finishing each batch's trials in trial order
/// (`Study::optimize`) or, with `reverse`, last first (as workers finishing out of order would),
/// ending the trials `fails` picks as it says.
fn run(space: &SearchSpace, method: Box<dyn Strategy>, seed: u64, budget: u64, batch: usize, reverse: bool, fails: &dyn Fn(usize) -> Option<Outcome>) -> Study {
    let mut study = Study::new(space.clone(), method, StudyConfig { seed, direction: Direction::Minimize, budget, batch_size: batch }, Box::new(|_| 1));
    let outcome = |id: usize, values: &[Value]| fails(id).unwrap_or_else(|| Outcome::Complete(objective(space, values)));
    if reverse {
        loop {
            let mut runs = study.ask_all();
            if runs.is_empty() {
                break;
            }
            runs.reverse();
            for (id, values) in runs {
                study.tell(id, outcome(id, &values)).unwrap();
            }
        }
    } else {
        study.optimize(|trial| outcome(trial.id, trial.values), |_| {});
    }
    assert_eq!(study.ask(), Ask::Done);
    study
}

fn assert_inside(space: &SearchSpace, values: &[Value], what: &str) {
    for (p, v) in space.params().iter().zip(values) {
        let ok = match (&p.domain, v) {
            (&Domain::Float { low, high, .. }, Value::Float(x)) => (low..=high).contains(x),
            (&Domain::Int { low, high, .. }, Value::Int(i)) => (low..=high).contains(i),
            (Domain::Categorical { choices }, Value::Choice(c)) => choices.contains(c),
            _ => false,
        };
        assert!(ok, "{what}: {} = {v} is outside its domain", p.name);
    }
}

#[test]
fn proposals_stay_inside_the_space() {
    let space = mixed_space();
    for (name, make) in methods() {
        let study = run(&space, make(), 1, 60, 8, false, &|_| None);
        assert!(!study.trials().is_empty(), "{name}");
        for t in study.trials() {
            assert_inside(&space, &t.values, name);
            assert!(t.unit.iter().all(|u| (0.0..=1.0).contains(u)), "{name}: {:?}", t.unit);
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_trials_whatever_order_they_finish_in() {
    let space = mixed_space();
    for (name, make) in methods() {
        let a = run(&space, make(), 7, 40, 5, false, &|_| None);
        let b = run(&space, make(), 7, 40, 5, true, &|_| None);
        let values = |s: &Study| s.trials().iter().map(|t| t.values.clone()).collect::<Vec<_>>();
        assert_eq!(values(&a), values(&b), "{name}");
        // A different seed proposes differently (grid in its fixed order excepted).
        if name != "grid" {
            let c = run(&space, make(), 8, 40, 5, false, &|_| None);
            assert_ne!(values(&a), values(&c), "{name}");
        }
    }
}

#[test]
fn failed_trials_teach_nothing_and_do_not_stop_the_study() {
    let space = mixed_space();
    for (name, make) in methods() {
        // Every third trial fails — as a NaN score, an infinite one, or a stated failure — and
        // the proposals must not depend on which.
        let failures: [&dyn Fn(usize) -> Option<Outcome>; 3] = [
            &|id| (id % 3 == 1).then_some(Outcome::Complete(f64::NAN)),
            &|id| (id % 3 == 1).then_some(Outcome::Complete(f64::INFINITY)),
            &|id| (id % 3 == 1).then(|| Outcome::Failed("diverged at epoch 2".into())),
        ];
        let studies: Vec<Study> = failures.iter().map(|f| run(&space, make(), 3, 30, 4, false, f)).collect();
        for s in &studies {
            assert_eq!(s.trials().len(), 30, "{name}");
            assert!(s.trials().iter().filter(|t| t.id % 3 == 1).all(|t| matches!(t.state, TrialState::Failed(_))), "{name}");
            let best = s.best().unwrap();
            assert!(best.id % 3 != 1 && best.score.unwrap().is_finite(), "{name}");
        }
        let values = |s: &Study| s.trials().iter().map(|t| t.values.clone()).collect::<Vec<_>>();
        assert_eq!(values(&studies[0]), values(&studies[1]), "{name}");
        assert_eq!(values(&studies[0]), values(&studies[2]), "{name}");
    }
}

#[test]
fn the_budget_is_never_exceeded() {
    let space = mixed_space();
    for (name, make) in methods() {
        // Costs that vary with the proposal: 1 to 4 units ("layers").
        let cost = |values: &[Value]| values[2].as_f64().unwrap() as u64;
        let mut study = Study::new(space.clone(), make(), StudyConfig { seed: 5, direction: Direction::Minimize, budget: 37, batch_size: 6 }, Box::new(cost));
        loop {
            let runs = study.ask_all();
            assert!(study.spent() <= 37, "{name}: {}", study.spent());
            if runs.is_empty() {
                break;
            }
            for (id, values) in runs {
                study.tell(id, Outcome::Complete(objective(&space, &values))).unwrap();
            }
        }
        let charged: u64 = study.trials().iter().map(|t| t.cost).sum();
        assert!(charged <= 37 && charged == study.spent(), "{name}: {charged}");
        assert!(study.is_done(), "{name}");
    }
}

#[test]
fn one_param_ten_params_and_categoricals_only() {
    let one = SearchSpace::new(vec![Param::float("x", 0.0, 1.0)]).unwrap();
    let ten = SearchSpace::new((0..10).map(|i| if i % 2 == 0 { Param::float(&format!("x{i}"), -1.0, 1.0) } else { Param::log_int(&format!("n{i}"), 1, 100) }).collect()).unwrap();
    let categorical = SearchSpace::new(vec![Param::categorical("a", &["p", "q", "r"]), Param::categorical("b", &["u", "v"])]).unwrap();
    for space in [one, ten, categorical] {
        for (name, make) in methods() {
            let study = run(&space, make(), 2, 25, 5, false, &|_| None);
            assert!(!study.trials().is_empty() && study.best().is_some(), "{name} on {} params", space.len());
            for t in study.trials() {
                assert_inside(&space, &t.values, name);
            }
        }
    }
}

#[test]
fn grid_search_exhausts_exactly() {
    let space = mixed_space();
    for shuffled in [false, true] {
        let grid = GridSearch::new(4, shuffled);
        // lr and x: 4 points each; layers: its 4 integers; batch: 4 points; optimizer: 3 choices.
        assert_eq!(grid.size(&space), 4 * 4 * 4 * 4 * 3);
        let study = run(&space, Box::new(grid), 1, 10_000, 7, false, &|_| None);
        assert_eq!(study.trials().len(), 768);
        let mut seen: Vec<String> = study.trials().iter().map(|t| format!("{:?}", t.values)).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 768, "every combination once");
    }
}

#[test]
fn finished_trials_never_change() {
    let space = mixed_space();
    let mut study = Study::new(space.clone(), Box::new(RandomSearch), StudyConfig { seed: 1, direction: Direction::Maximize, budget: 3, batch_size: 3 }, Box::new(|_| 1));
    let Ask::Run { id, .. } = study.ask() else { panic!() };
    study.report(id, 0.5).unwrap();
    study.tell(id, Outcome::Complete(0.9)).unwrap();
    assert_eq!(study.tell(id, Outcome::Complete(0.1)).unwrap_err().to_string(), "trial 0 is complete, not running: a finished trial never changes, and a waiting one has not started");
    assert!(study.report(id, 0.2).is_err());
    assert_eq!(study.tell(7, Outcome::Interrupted).unwrap_err().to_string(), "there is no trial 7");
    assert_eq!(study.trials()[0].progress, vec![0.5]);
    // Maximising: the best is the highest score.
    let Ask::Run { id: second, .. } = study.ask() else { panic!() };
    study.tell(second, Outcome::Complete(0.95)).unwrap();
    assert_eq!(study.best().unwrap().id, second);
    // A pruned trial gives back the budget it did not use.
    let Ask::Run { id: third, .. } = study.ask() else { panic!() };
    study.tell(third, Outcome::Pruned { value: 0.3, cost: 0 }).unwrap();
    assert_eq!(study.spent(), 2);
}

#[test]
fn cross_validated_trials_keep_their_fold_scores() {
    use super::study::FoldScores;
    let space = mixed_space();
    let mut study = Study::new(space, Box::new(RandomSearch), StudyConfig { seed: 2, direction: Direction::Maximize, budget: 2, batch_size: 2 }, Box::new(|_| 1));
    let Ask::Run { id, .. } = study.ask() else { panic!() };
    study.tell(id, Outcome::Folds(FoldScores { scores: vec![0.9, 0.8, 1.0] })).unwrap();
    let trial = &study.trials()[id];
    assert_eq!(trial.state, TrialState::Complete);
    assert!((trial.score.unwrap() - 0.9).abs() < 1e-12);
    assert!((trial.folds.as_ref().unwrap().spread() - 0.1).abs() < 1e-12);
    assert!(study.tell(id, Outcome::Folds(FoldScores { scores: vec![0.1] })).is_err(), "finished trials never change");
    // A fold without a score fails the trial; its folds stay on record.
    let Ask::Run { id: second, .. } = study.ask() else { panic!() };
    study.tell(second, Outcome::Folds(FoldScores { scores: vec![0.9, f64::NAN, 0.7] })).unwrap();
    assert!(matches!(study.trials()[second].state, TrialState::Failed(_)));
    assert_eq!(study.trials()[second].folds.as_ref().unwrap().scores.len(), 3);
    assert_eq!(study.best().unwrap().id, id);
}
