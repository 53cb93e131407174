//! The contract every tuning method keeps, checked against each one (as Optuna runs one sampler
//! test suite against every sampler): proposals inside the space, the same proposals for the
//! same seed whatever the order trials finish in, nothing learnt from failed trials, a region
//! that diverges avoided once seen, the budget never exceeded, spaces of 1 and 10 params and of
//! categoricals only; grid search exhausting exactly; pruned and paused trials paying only for
//! what they trained. Every method of the registry (`methods.rs`) is checked with its defaults,
//! so a new method joins by being registered — those that act inside training too, their trials
//! trained in segments on a learning curve that improves with the epochs.

use super::grid::GridSearch;
use super::methods;
use super::random::RandomSearch;
use super::space::{Domain, Param, SearchSpace, Value};
use super::strategy::Strategy;
use super::study::{Ask, CostFn, Direction, Outcome, Segment, Study, StudyConfig, TrialState};
use super::supervisor::Resource;

/// Makes a fresh study of a method.
type MakeStudy = Box<dyn Fn(&SearchSpace, StudyConfig, CostFn) -> Study>;

/// The resource of the methods that act inside training: 1 to 3 epochs, one unit each.
const RESOURCE: Resource = Resource { min: 1, max: 3, unit_cost: 1, param: None };

/// Every registered method, by name, and grid search in a seeded order as well.
fn methods() -> Vec<(&'static str, MakeStudy)> {
    let mut all: Vec<(&'static str, MakeStudy)> = methods::all()
        .iter()
        .map(|m| (m.name, Box::new(move |space: &SearchSpace, config, cost| m.study(space.clone(), config, cost, RESOURCE)) as MakeStudy))
        .collect();
    all.push(("grid-shuffled", Box::new(|space: &SearchSpace, config, cost| Study::new(space.clone(), Box::new(GridSearch::new(4, true)), config, cost))));
    all
}

/// Whether the method trains in segments.
fn supervised(name: &str) -> bool {
    methods::by_name(name).is_ok_and(|m| m.acts_inside_training())
}

/// How a trial's segment ends: paused at its end with the objective on a learning curve (worse
/// by 0.1 per epoch short of the maximum), or complete with the objective.
fn segment_outcome(value: f64, segment: &Segment) -> Outcome {
    match segment.until {
        Some(until) => Outcome::Paused { value: value + (RESOURCE.max - until) as f64 * 0.1, reached: until },
        None => Outcome::Complete(value),
    }
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
fn run(space: &SearchSpace, make: &MakeStudy, seed: u64, budget: u64, batch: usize, reverse: bool, fails: &dyn Fn(usize) -> Option<Outcome>) -> Study {
    let mut study = make(space, StudyConfig { seed, direction: Direction::Minimize, budget, batch_size: batch }, Box::new(|_| 1));
    let outcome = |id: usize, values: &[Value], segment: &Segment| fails(id).unwrap_or_else(|| segment_outcome(objective(space, values), segment));
    if reverse {
        loop {
            let mut runs = study.ask_all();
            if runs.is_empty() {
                break;
            }
            runs.reverse();
            for (id, values) in runs {
                let segment = study.segment(id).unwrap();
                study.tell(id, outcome(id, &values, &segment)).unwrap();
            }
        }
    } else {
        study.optimize(|trial| outcome(trial.id, trial.values, &trial.segment), |_| {});
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
        let study = run(&space, &make, 1, 60, 8, false, &|_| None);
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
        let a = run(&space, &make, 7, 40, 5, false, &|_| None);
        let b = run(&space, &make, 7, 40, 5, true, &|_| None);
        let values = |s: &Study| s.trials().iter().map(|t| t.values.clone()).collect::<Vec<_>>();
        assert_eq!(values(&a), values(&b), "{name}");
        // A different seed proposes differently (grid in its fixed order excepted).
        if name != "grid" {
            let c = run(&space, &make, 8, 40, 5, false, &|_| None);
            assert_ne!(values(&a), values(&c), "{name}");
        }
    }
}

#[test]
fn failed_and_interrupted_trials_teach_nothing_and_do_not_stop_the_study() {
    let space = mixed_space();
    for (name, make) in methods() {
        // Every third trial fails — as a NaN score, an infinite one, or a stated failure — or is
        // interrupted, and the proposals must not depend on which.
        let failures: [&dyn Fn(usize) -> Option<Outcome>; 4] = [
            &|id| (id % 3 == 1).then_some(Outcome::Complete(f64::NAN)),
            &|id| (id % 3 == 1).then_some(Outcome::Complete(f64::INFINITY)),
            &|id| (id % 3 == 1).then(|| Outcome::Failed("the worker crashed".into())),
            &|id| (id % 3 == 1).then_some(Outcome::Interrupted),
        ];
        let studies: Vec<Study> = failures.iter().map(|f| run(&space, &make, 3, 30, 4, false, f)).collect();
        for (k, s) in studies.iter().enumerate() {
            if !supervised(name) {
                assert_eq!(s.trials().len(), 30, "{name}");
            }
            let ended_as_told = |state: &TrialState| if k == 3 { *state == TrialState::Interrupted } else { matches!(state, TrialState::Failed(_)) };
            assert!(s.trials().iter().filter(|t| t.id % 3 == 1).all(|t| ended_as_told(&t.state)), "{name}");
            let best = s.best().unwrap();
            assert!(best.id % 3 != 1 && best.score.unwrap().is_finite(), "{name}");
        }
        let values = |s: &Study| s.trials().iter().map(|t| t.values.clone()).collect::<Vec<_>>();
        assert_eq!(values(&studies[0]), values(&studies[1]), "{name}");
        assert_eq!(values(&studies[0]), values(&studies[2]), "{name}");
        assert_eq!(values(&studies[0]), values(&studies[3]), "{name}");
    }
}

#[test]
fn the_budget_is_never_exceeded() {
    let space = mixed_space();
    for (name, make) in methods() {
        // Costs that vary with the proposal: 1 to 4 units ("layers").
        let cost = |values: &[Value]| values[2].as_f64().unwrap() as u64;
        let mut study = make(&space, StudyConfig { seed: 5, direction: Direction::Minimize, budget: 37, batch_size: 6 }, Box::new(cost));
        loop {
            let runs = study.ask_all();
            assert!(study.spent() <= 37, "{name}: {}", study.spent());
            if runs.is_empty() {
                break;
            }
            for (id, values) in runs {
                let segment = study.segment(id).unwrap();
                study.tell(id, segment_outcome(objective(&space, &values), &segment)).unwrap();
            }
        }
        let charged: u64 = study.trials().iter().map(|t| t.cost).sum();
        assert!(charged <= 37 && charged == study.spent(), "{name}: {charged}");
        assert!(study.is_done(), "{name}");
        // Skipped proposals stay in the history, so a method's i-th observation is still its
        // i-th proposal.
        assert_eq!(study.history().len(), study.trials().len() + study.skipped(), "{name}");
        // A trial costs at most 4 (trained to the end, 3 for the methods that act inside
        // training, whose populations need two).
        let most = if name == "pbt" { 2 * RESOURCE.max as u64 } else { 4 };
        assert!(37 - study.spent() < most, "{name}: {} left unspent, though proposals that do not fit are skipped", 37 - study.spent());
    }
}

#[test]
fn a_proposal_that_does_not_fit_is_skipped_and_the_method_goes_on() {
    // Grid order (the last param fastest): (3, 1), (3, 2), (1, 1), (1, 2); a trial costs `a`.
    let space = SearchSpace::new(vec![Param::int("a", 1, 3).with_grid(&[3.0, 1.0]), Param::int("b", 1, 2).with_grid(&[1.0, 2.0])]).unwrap();
    let cost = |values: &[Value]| values[0].as_f64().unwrap() as u64;
    let mut study = Study::new(
        space.clone(),
        Box::new(GridSearch::default()),
        StudyConfig { seed: 1, direction: Direction::Minimize, budget: 5, batch_size: 2 },
        Box::new(cost),
    );
    study.optimize(|trial| Outcome::Complete(trial.values[1].as_f64().unwrap()), |_| {});
    let tried: Vec<Vec<f64>> = study.trials().iter().map(|t| t.values.iter().map(|v| v.as_f64().unwrap()).collect()).collect();
    assert_eq!(tried, vec![vec![3.0, 1.0], vec![1.0, 1.0], vec![1.0, 2.0]], "(3, 2) no longer fits and is skipped; the cheaper points after it run");
    assert_eq!((study.spent(), study.skipped()), (5, 1));
    let losses: Vec<Option<f64>> = study.history().iter().map(|o| o.loss).collect();
    assert_eq!(losses, vec![Some(1.0), None, Some(1.0), Some(2.0)], "the skipped proposal is in the history, teaching nothing");
    assert!(study.is_done());

    // A method that only wants what it can no longer afford ends after a batch's worth of
    // skipped proposals in a row.
    let space = SearchSpace::new(vec![Param::int("a", 2, 3)]).unwrap();
    let mut study =
        Study::new(space, Box::new(RandomSearch), StudyConfig { seed: 1, direction: Direction::Minimize, budget: 7, batch_size: 3 }, Box::new(cost));
    study.optimize(|_| Outcome::Complete(0.0), |_| {});
    assert!(study.is_done() && study.spent() >= 6, "spent {}: at most one unit is left unspent when every trial costs 2 or 3", study.spent());
    assert!(study.spent() == 7 || study.skipped() >= 3, "it ended with nothing left or after three proposals in a row did not fit");
}

#[test]
fn one_param_ten_params_and_categoricals_only() {
    let one = SearchSpace::new(vec![Param::float("x", 0.0, 1.0)]).unwrap();
    let ten = SearchSpace::new(
        (0..10).map(|i| if i % 2 == 0 { Param::float(&format!("x{i}"), -1.0, 1.0) } else { Param::log_int(&format!("n{i}"), 1, 100) }).collect(),
    )
    .unwrap();
    let categorical = SearchSpace::new(vec![Param::categorical("a", &["p", "q", "r"]), Param::categorical("b", &["u", "v"])]).unwrap();
    for space in [one, ten, categorical] {
        for (name, make) in methods() {
            let study = run(&space, &make, 2, 25, 5, false, &|_| None);
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
        let make: MakeStudy = Box::new(move |space: &SearchSpace, config, cost| Study::new(space.clone(), Box::new(grid.clone()), config, cost));
        let study = run(&space, &make, 1, 10_000, 7, false, &|_| None);
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
    let mut study =
        Study::new(space.clone(), Box::new(RandomSearch), StudyConfig { seed: 1, direction: Direction::Maximize, budget: 3, batch_size: 3 }, Box::new(|_| 1));
    let Ask::Run { id, .. } = study.ask() else { panic!() };
    study.report(id, 0.5).unwrap();
    study.tell(id, Outcome::Complete(0.9)).unwrap();
    assert_eq!(
        study.tell(id, Outcome::Complete(0.1)).unwrap_err().to_string(),
        "trial 0 is complete, not running: a finished trial never changes, and a waiting one has not started"
    );
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
    let mut study =
        Study::new(space, Box::new(RandomSearch), StudyConfig { seed: 2, direction: Direction::Maximize, budget: 2, batch_size: 2 }, Box::new(|_| 1));
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

#[test]
fn diverged_trials_are_shown_as_bad_as_the_worst_complete_trial() {
    use super::strategy::Observation;
    use crate::rng::Rng64;
    use std::cell::RefCell;
    use std::rc::Rc;
    /// Random search that writes down the losses of the history it is shown at each ask.
    struct Recorder(Rc<RefCell<Vec<Vec<Option<f64>>>>>);
    impl Strategy for Recorder {
        fn name(&self) -> &'static str {
            "recorder"
        }
        fn ask(&mut self, space: &SearchSpace, history: &[Observation], n: usize, rng: &mut Rng64) -> Vec<Vec<Value>> {
            self.0.borrow_mut().push(history.iter().map(|o| o.loss).collect());
            RandomSearch.ask(space, history, n, rng)
        }
    }
    let seen = Rc::new(RefCell::new(Vec::new()));
    // Maximising: a score s is the loss −s, and the worst complete trial the lowest score.
    let mut study = Study::new(
        mixed_space(),
        Box::new(Recorder(seen.clone())),
        StudyConfig { seed: 1, direction: Direction::Maximize, budget: 8, batch_size: 1 },
        Box::new(|_| 1),
    );
    let outcomes = [
        Outcome::Diverged("training diverged in epoch 2".into()),
        Outcome::Complete(0.5),
        Outcome::Complete(0.9),
        Outcome::Pruned { value: 0.1, cost: 1 },
        Outcome::Interrupted,
        Outcome::Complete(0.2),
        Outcome::Diverged("training diverged in epoch 1".into()),
        Outcome::Complete(0.3),
    ];
    study.optimize(|trial| outcomes[trial.id].clone(), |_| {});
    assert_eq!(study.trials().len(), 8);
    assert_eq!(study.trials()[0].state, TrialState::Diverged("training diverged in epoch 2".into()));
    assert_eq!(study.trials()[0].state.to_string(), "diverged (training diverged in epoch 2)");
    assert_eq!(study.trials()[0].score, None);
    assert_eq!(study.best().unwrap().id, 2, "a diverged trial is never the best");
    let (diverged, first, second) = (Some(-0.5), Some(-0.5), Some(-0.9));
    assert_eq!(
        *seen.borrow(),
        vec![
            vec![],
            vec![None],            // nothing has completed yet: as a failure
            vec![diverged, first], // as bad as the one complete trial
            vec![diverged, first, second],
            vec![diverged, first, second, None],                     // a pruned trial's value is not a result
            vec![diverged, first, second, None, None],               // nor is an interrupted trial
            vec![Some(-0.2), first, second, None, None, Some(-0.2)], // the worst is now lower
            vec![Some(-0.2), first, second, None, None, Some(-0.2), Some(-0.2)],
        ]
    );
    let mut last = seen.borrow().last().unwrap().clone();
    last.push(Some(-0.3));
    assert_eq!(study.history().iter().map(|o| o.loss).collect::<Vec<_>>(), last, "the last trial, which no later ask saw");
}

#[test]
fn no_method_returns_to_a_region_that_diverges_more_often_than_random_search_would() {
    // Half of the cube diverges (the unit coordinate of x above 0.5), and the objective lures
    // the methods into it: it is best at x's upper end. A method that learnt nothing from
    // divergence would crowd the region's edge and keep trying past it (TPE and GP-EI did, most
    // of the time, when diverged trials taught nothing). Once it has seen the
    // region (after its first 20 trials), a method that learns from results (Bayesian or
    // evolutionary) must propose inside it less often than random search's 50%, and the others
    // no more often than that, give or take chance.
    let space = mixed_space();
    let x = space.index_of("x").unwrap();
    let inside = |unit: &[f64]| unit[x] > 0.5;
    let lure = |unit: &[f64]| (1.0 - unit[x]).powi(2) + unit.iter().map(|u| (u - 0.3).powi(2)).sum::<f64>() * 0.1;
    for (name, make) in methods() {
        let (mut tried, mut inside_count) = (0, 0);
        for seed in 0..4 {
            let mut study = make(&space, StudyConfig { seed, direction: Direction::Minimize, budget: 60, batch_size: 4 }, Box::new(|_| 1));
            study.optimize(
                |trial| {
                    let unit = space.unit_of(trial.values);
                    if inside(&unit) {
                        Outcome::Diverged("training diverged in epoch 1".into())
                    } else {
                        segment_outcome(lure(&unit), &trial.segment)
                    }
                },
                |_| {},
            );
            // A method that learns is judged once it has seen the region.
            let learns = methods::by_name(name).is_ok_and(|m| matches!(m.family, methods::Family::Bayesian | methods::Family::Evolutionary));
            for t in study.trials().iter().skip(if learns { 20 } else { 0 }) {
                tried += 1;
                inside_count += usize::from(inside(&t.unit));
            }
        }
        let rate = inside_count as f64 / tried as f64;
        eprintln!("{name}: {inside_count} of {tried} proposals inside the diverging region ({rate:.2})");
        let learns = methods::by_name(name).is_ok_and(|m| matches!(m.family, methods::Family::Bayesian | methods::Family::Evolutionary));
        let most = if learns { 0.5 } else { 0.6 };
        assert!(rate < most, "{name}: {inside_count} of {tried} proposals inside the diverging region");
    }
}

#[test]
fn pruned_and_paused_trials_pay_only_for_what_they_trained() {
    let space = mixed_space();
    for (name, make) in methods() {
        // A trial trained to its end costs 3 (three epochs of one unit for the methods that
        // act inside training); a proposing method's even trials are pruned after one.
        let mut study = make(&space, StudyConfig { seed: 2, direction: Direction::Minimize, budget: 45, batch_size: 3 }, Box::new(|_| 3));
        study.optimize(
            |trial| match supervised(name) || trial.id % 2 == 1 {
                true => segment_outcome(objective(&space, trial.values), &trial.segment),
                false => Outcome::Pruned { value: 1.0, cost: 1 },
            },
            |_| {},
        );
        let mut pruned = 0;
        for t in study.trials() {
            let trained = match t.state {
                TrialState::Complete => 3,
                TrialState::Pruned if supervised(name) => t.reached,
                TrialState::Pruned => 1,
                ref state => panic!("{name}: trial {} ended {state}", t.id),
            };
            pruned += usize::from(t.state == TrialState::Pruned);
            assert_eq!(t.cost, trained as u64, "{name}: trial {}", t.id);
        }
        assert_eq!(study.spent(), study.trials().iter().map(|t| t.cost).sum::<u64>(), "{name}");
        assert!(pruned > 0 || name == "pbt", "{name} pruned nothing");
    }
}
