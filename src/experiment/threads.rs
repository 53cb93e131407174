//! The scheduler's workers as native threads, and a whole race run on them: what the command
//! line's `tunelab race` does on every core.
//!
//! The same scheduler (`crate::scheduler`) decides as on the page; here its commands are carried
//! out with threads instead of web workers. A thread shares the training images (an `Arc`, so
//! "sending the data" costs nothing), runs one trial at a time with the same `TrialJob` the web
//! worker runs, and answers in the same protocol. A stop is a flag the thread looks at between
//! batches (a busy thread reads no messages); a panic in a trial is caught and reported as the
//! web worker reports it, so a crash is retried and then failed, as on the page.

use super::job::{Step, TrialJob};
use super::live::LiveExperiment;
use super::race::{FieldError, RaceSetup};
use crate::data::mnist::LabeledImages;
use crate::nn::bench::calibrate;
use crate::protocol::{FromWorker, ToWorker, TrainRequest, PROTOCOL_VERSION};
use crate::scheduler::{Command, Event, Scheduler, SchedulerConfig, TrialRef};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A message from slot's worker of a generation.
type Mail = (usize, u32, FromWorker);

/// `stop` holds the wire number + 1 of the trial to stop, `STOP_ALL` to stop whatever runs.
const STOP_ALL: u64 = u64::MAX;

struct ThreadWorker {
    inbox: Sender<ToWorker>,
    stop: Arc<AtomicU64>,
}

/// Worker threads, by slot.
pub struct Threads {
    workers: Vec<Option<ThreadWorker>>,
    outbox: Sender<Mail>,
    mail: Receiver<Mail>,
    data: Arc<LabeledImages>,
}

impl Threads {
    /// Threads that train on `data`, the training file's images.
    pub fn new(data: Arc<LabeledImages>) -> Self {
        let (outbox, mail) = channel();
        Self { workers: Vec::new(), outbox, mail, data }
    }

    /// Carry out one of the scheduler's commands (events and wake-ups are the caller's).
    pub fn carry_out(&mut self, command: &Command) {
        match command {
            Command::Spawn { slot, generation } => {
                self.terminate(*slot);
                let (inbox, messages) = channel();
                let stop = Arc::new(AtomicU64::new(0));
                let (data, outbox, flag, slot, generation) = (self.data.clone(), self.outbox.clone(), stop.clone(), *slot, *generation);
                std::thread::Builder::new()
                    .name(format!("tunelab worker {}", slot + 1))
                    .spawn(move || worker_main(&data, &messages, &flag, &mut |m| drop(outbox.send((slot, generation, m)))))
                    .expect("the system can start a thread");
                if self.workers.len() <= slot {
                    self.workers.resize_with(slot + 1, || None);
                }
                self.workers[slot] = Some(ThreadWorker { inbox, stop });
            }
            Command::SendData { slot, .. } => self.post(*slot, ToWorker::LoadData { count: self.data.len() as u32 }),
            Command::Post { slot, message: ToWorker::Stop { trial }, .. } => {
                if let Some(Some(w)) = self.workers.get(*slot) {
                    w.stop.store(trial.trial_id as u64 + 1, Ordering::SeqCst);
                }
            }
            Command::Post { slot, message, .. } => self.post(*slot, message.clone()),
            Command::Terminate { slot, .. } => self.terminate(*slot),
            Command::WakeAt { .. } | Command::Event(_) => {}
        }
    }

    /// The next message from any worker, waiting at most `timeout`.
    pub fn next_mail(&self, timeout: Duration) -> Option<Mail> {
        self.mail.recv_timeout(timeout).ok()
    }

    fn post(&self, slot: usize, message: ToWorker) {
        if let Some(Some(w)) = self.workers.get(slot) {
            // A thread that has ended cannot answer; the scheduler hears of it no other way.
            if w.inbox.send(message).is_err() {
                let _ = self.outbox.send((slot, u32::MAX, FromWorker::ProtocolError { message: "the worker thread has ended".into() }));
            }
        }
    }

    /// Stop the slot's thread: its trial stops at the next batch, and with its inbox closed it ends.
    fn terminate(&mut self, slot: usize) {
        if let Some(w) = self.workers.get_mut(slot).and_then(Option::take) {
            w.stop.store(STOP_ALL, Ordering::SeqCst);
        }
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        for slot in 0..self.workers.len() {
            self.terminate(slot);
        }
    }
}

/// A worker thread: the web worker's loop, reading messages from `inbox`.
fn worker_main(data: &LabeledImages, inbox: &Receiver<ToWorker>, stop: &AtomicU64, post: &mut dyn FnMut(FromWorker)) {
    post(FromWorker::Ready { protocol_version: PROTOCOL_VERSION });
    for message in inbox {
        match message {
            ToWorker::LoadData { count } => {
                let started = Instant::now();
                let calibration = calibrate(data.as_ref(), &|| started.elapsed().as_secs_f64() * 1000.0);
                post(FromWorker::DataLoaded { count, calibration })
            }
            ToWorker::Train { trial, request } => {
                let mine = trial.trial_id as u64 + 1;
                let stopped = || matches!(stop.load(Ordering::SeqCst), s if s == mine || s == STOP_ALL);
                let run = catch_unwind(AssertUnwindSafe(|| match TrialJob::start(&request, data.as_ref()) {
                    Err(end) => end,
                    Ok(job) => job.run_to_end(
                        data.as_ref(),
                        &mut |step| {
                            if let Step::Epoch { fold, report, .. } = step {
                                post(FromWorker::Epoch { trial, fold: *fold, report: report.clone() });
                            }
                            true
                        },
                        &stopped,
                    ),
                }));
                match run {
                    Ok(end) => post(FromWorker::Finished { trial, end }),
                    Err(panic) => {
                        let message = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
                        post(FromWorker::Panicked { trial: Some(trial), message: message.unwrap_or_else(|| "a panic".into()) });
                        return;
                    }
                }
            }
            ToWorker::Stop { .. } => {}
            ToWorker::Benchmark { .. } | ToWorker::ReportMemory => {
                post(FromWorker::ProtocolError { message: "the native worker does not run benchmarks (use tunelab bench)".into() })
            }
            // The command line retrains the winner itself (`final_eval::retrain_and_test`).
            ToWorker::LoadTest { .. } | ToWorker::Retrain { .. } | ToWorker::Read { .. } => {
                post(FromWorker::ProtocolError { message: "the native worker does not retrain (tunelab race --final-test does)".into() })
            }
        }
        if stop.load(Ordering::SeqCst) == STOP_ALL {
            return;
        }
    }
}

/// A native race's end: its experiment, with every trial.
pub struct RaceRun {
    pub live: LiveExperiment,
    /// Set when the race stopped because every worker went out of service (the last notice
    /// says why); the finished trials are kept.
    pub no_workers: Option<String>,
}

/// Run `setup` to its end on `workers` threads over `data` (the training file). `on_event` sees
/// every scheduler event after the experiment has taken it in (the command line prints a line
/// per finished trial from it). The trials and scores do not depend on `workers`. A setup that
/// cannot run is refused with every problem.
pub fn run_race(
    setup: RaceSetup,
    data: Arc<LabeledImages>,
    workers: usize,
    on_event: &mut dyn FnMut(&LiveExperiment, &Event),
) -> Result<RaceRun, Vec<FieldError>> {
    let mut live = LiveExperiment::default();
    live.add_race(setup)?;
    Ok(run_live(live, Vec::new(), data, workers, on_event))
}

/// Run the race in `live` to its end, `pending` (requests it has handed out and not yet heard
/// the end of: a race restored from its journal) first.
pub fn run_live(
    mut live: LiveExperiment,
    pending: Vec<(TrialRef, TrainRequest)>,
    data: Arc<LabeledImages>,
    workers: usize,
    on_event: &mut dyn FnMut(&LiveExperiment, &Event),
) -> RaceRun {
    let started = Instant::now();
    let now = || started.elapsed().as_secs_f64() * 1000.0;
    let mut threads = Threads::new(data);
    let (mut scheduler, commands) = Scheduler::new(SchedulerConfig::default(), workers);
    let mut handed_out = pending;
    let mut pending: VecDeque<Command> = commands.into();
    let mut wake: Option<f64> = None;
    let mut last_notice = String::new();
    loop {
        while let Some(command) = pending.pop_front() {
            match &command {
                Command::Event(event) => {
                    live.on_event(event, now());
                    if let Event::Notice(notice) = event {
                        last_notice = notice.to_string();
                    }
                    on_event(&live, event);
                }
                Command::WakeAt { at_ms } => wake = Some(wake.map_or(*at_ms, |w: f64| w.min(*at_ms))),
                _ => threads.carry_out(&command),
            }
        }
        let mut requests = std::mem::take(&mut handed_out);
        requests.extend(live.next_requests());
        for (study, spent) in live.spent() {
            scheduler.set_spent(study, spent);
        }
        for (trial, request) in requests {
            pending.extend(scheduler.submit(trial, request, now()));
        }
        if !pending.is_empty() {
            continue;
        }
        if live.is_done() && scheduler.is_idle() {
            return RaceRun { live, no_workers: None };
        }
        if !scheduler.has_workers() {
            return RaceRun { live, no_workers: Some(last_notice) };
        }
        let timeout = wake.map_or(1_000.0, |w| (w - now()).max(0.0));
        match threads.next_mail(Duration::from_secs_f64(timeout / 1000.0)) {
            Some((slot, generation, message)) => pending.extend(scheduler.on_message(slot, generation, message, now())),
            None => {
                wake = None;
                pending.extend(scheduler.tick(now()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::validation::{CrossValidation, TrainingSet};
    use crate::experiment::synthetic_digits;
    use crate::nn::{OptimizerKind, TrainConfig};
    use crate::tuning::space::{Param, SearchSpace};
    use crate::tuning::study::TrialState;

    fn data() -> Arc<LabeledImages> {
        let (pixels, labels) = synthetic_digits(600);
        Arc::new(LabeledImages::from_parts(pixels, labels).unwrap())
    }

    fn setup(validation: CrossValidation) -> RaceSetup {
        RaceSetup {
            methods: vec!["grid".into(), "random".into(), "tpe".into()],
            space: SearchSpace::new(vec![Param::log_float("learning_rate", 0.005, 0.2).with_grid(&[0.01, 0.1]), Param::int("epochs", 1, 2).with_grid(&[1.0])])
                .unwrap(),
            budget_epochs: 5,
            data: TrainingSet { images: 120, validation },
            seed: 3,
            proposals: 2,
            base: TrainConfig { batch_size: 16, conv_layers: 1, conv_filters: vec![4], dense_units: 0, ..Default::default() },
            pruner: None,
        }
    }

    /// Each study's trials as (values, state, score, cost).
    fn trials(live: &LiveExperiment) -> Vec<Vec<String>> {
        let race = live.race().unwrap();
        race.studies
            .iter()
            .map(|&s| {
                live.runs().filter(|r| r.trial.study == s).map(|r| format!("{:?} {} {:?} {} {:?}", r.values, r.state, r.score, r.cost, r.folds)).collect()
            })
            .collect()
    }

    fn ok(result: Result<RaceRun, Vec<FieldError>>) -> LiveExperiment {
        let run = result.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(run.no_workers, None);
        run.live
    }

    #[test]
    fn a_race_gives_the_same_trials_and_scores_on_one_and_on_three_threads() {
        for validation in [CrossValidation::Holdout, CrossValidation::KFold { k: 3 }] {
            let mut finished = 0;
            let one = ok(run_race(setup(validation), data(), 1, &mut |_, e| finished += usize::from(matches!(e, Event::Ended { .. }))));
            let three = ok(run_race(setup(validation), data(), 3, &mut |_, _| {}));
            assert_eq!(trials(&one), trials(&three), "{validation:?}");
            assert_eq!(finished, one.runs().count());
            for &s in &one.race().unwrap().studies {
                let summary = one.study_summary(s).unwrap();
                assert!(summary.over && summary.spent <= summary.budget && summary.spent > 0, "{summary:?}");
            }
            assert!(one.runs().all(|r| r.state == TrialState::Complete), "{validation:?}");
            // Grid search tries the listed values: 2 learning rates × 1 epoch count.
            let grid: Vec<_> = one.runs().filter(|r| r.method == "grid").map(|r| r.values[0].as_f64().unwrap()).collect();
            assert_eq!(grid, vec![0.01, 0.1]);
            // The same point gives the same score whichever method tried it.
            let runs: Vec<_> = one.runs().collect();
            for a in &runs {
                for b in &runs {
                    if a.values == b.values {
                        assert_eq!(a.score, b.score);
                    }
                }
            }
            let kfold = one.runs().all(|r| r.folds.as_ref().map(|f| f.scores.len()) == (validation.runs() > 1).then_some(3));
            assert!(kfold, "{validation:?}");
        }
    }

    #[test]
    fn diverging_trials_are_marked_and_the_race_goes_on() {
        // With lr·λ₂ ≥ 50 the weight decay step multiplies every weight by −49 or less.
        let mut race = setup(CrossValidation::Holdout);
        race.space = SearchSpace::new(vec![Param::log_float("learning_rate", 5.0, 10.0)]).unwrap();
        race.base = TrainConfig { epochs: 1, optimizer: OptimizerKind::SGD, l2: 10.0, batch_size: 4, ..race.base };
        race.methods = vec!["random".into()];
        let live = ok(run_race(race, data(), 2, &mut |_, _| {}));
        assert!(live.runs().count() >= 2);
        for run in live.runs() {
            let TrialState::Diverged(why) = &run.state else { panic!("{}", run.state) };
            assert!(why.starts_with("training diverged in epoch 1"), "{why}");
        }
    }

    #[test]
    fn the_methods_that_act_inside_training_race_the_same_on_one_and_on_two_threads() {
        let mut race = setup(CrossValidation::Holdout);
        race.methods = ["hypergradient", "successive-halving", "hyperband", "pbt"].map(String::from).to_vec();
        race.space =
            SearchSpace::new(vec![Param::log_float("learning_rate", 0.005, 0.2), Param::log_float("l2", 1e-4, 1e-2), Param::int("epochs", 1, 4)]).unwrap();
        race.budget_epochs = 24;
        let one = ok(run_race(race.clone(), data(), 1, &mut |_, _| {}));
        let two = ok(run_race(race.clone(), data(), 2, &mut |_, _| {}));
        assert_eq!(trials(&one), trials(&two));
        let record = crate::experiment::record::RaceRecord::of(&one, 1).unwrap();
        // Rungs, lineage and paths too (the times aside).
        let timeless = |mut r: crate::experiment::record::RaceRecord| {
            r.studies.iter_mut().flat_map(|s| s.trials.iter_mut()).for_each(|t| (t.seconds, t.started) = (None, None));
            r
        };
        assert_eq!(timeless(record.clone()), timeless(crate::experiment::record::RaceRecord::of(&two, 1).unwrap()));
        let study = |name: &str| record.studies.iter().find(|s| s.method == name).unwrap();
        for s in &record.studies {
            assert!(s.spent <= s.budget && s.spent > 0, "{}: {} of {}", s.method, s.spent, s.budget);
        }
        // Hypergradient trials record the paths of their learning rate and L2.
        for t in &study("hypergradient").trials {
            let paths = t.paths.as_ref().unwrap_or_else(|| panic!("trial {} has no paths", t.id));
            // A point per step for the learning rate (8 steps an epoch); L2 every 10 steps.
            let steps = t.epochs.len() * 8;
            assert_eq!(paths.learning_rate.as_ref().unwrap().values.len(), steps, "trial {}", t.id);
            assert_eq!(paths.l2.as_ref().unwrap().values.len(), steps / 10, "trial {}", t.id);
        }
        // Successive halving: 4 configurations to 1 epoch (R = 4, η = 3: rungs at 1 and 4),
        // the best one resumed to 4; the others pruned at their rung, paying one epoch.
        let halving = study("successive-halving");
        let pruned: Vec<_> = halving.trials.iter().filter(|t| t.state == TrialState::Pruned).collect();
        let complete: Vec<_> = halving.trials.iter().filter(|t| t.state == TrialState::Complete).collect();
        assert!(!pruned.is_empty() && !complete.is_empty());
        for t in &pruned {
            assert_eq!((t.reached, t.pauses.len(), t.cost), (Some(1), 1, 120), "trial {}", t.id);
        }
        for t in &complete {
            assert_eq!((t.reached, t.cost, t.epochs.len()), (Some(4), 4 * 120, 4), "trial {}: resumed, not retrained", t.id);
            assert_eq!(t.epochs.iter().map(|e| e.report.epoch).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
        }
        // PBT: the population's copies are in the lineage.
        let pbt = study("pbt");
        assert!(pbt.trials.len() >= 2 && pbt.trials.iter().all(|t| t.group.is_some()));
        assert!(pbt.trials.iter().any(|t| !t.lineage.is_empty()), "the bottom copies the top");
        assert!(record.largest_checkpoint_bytes > 1_000);
        assert_eq!(one.checkpoints_kept(), (0, 0), "no checkpoint is kept once no trial is paused");
    }

    #[test]
    fn the_median_pruner_stops_poor_trials_by_itself_the_same_on_any_thread_count() {
        let mut race = setup(CrossValidation::Holdout);
        race.methods = vec!["random".into()];
        race.space = SearchSpace::new(vec![Param::log_float("learning_rate", 1e-4, 0.3)]).unwrap();
        race.base.epochs = 3;
        race.budget_epochs = 30;
        race.pruner = Some(crate::tuning::median_pruner::MedianPruner { startup_trials: 2, ..Default::default() });
        let one = ok(run_race(race.clone(), data(), 1, &mut |_, _| {}));
        let two = ok(run_race(race, data(), 2, &mut |_, _| {}));
        assert_eq!(trials(&one), trials(&two));
        let pruned: Vec<_> = one.runs().filter(|r| r.state == TrialState::Pruned).collect();
        assert!(!pruned.is_empty(), "{:?}", trials(&one));
        for run in &pruned {
            // It stopped after the epoch it fell below the threshold, and paid for those epochs.
            assert!(run.epochs.len() < 3 && run.cost == run.epochs.len() as u64 * 120, "{run:?}");
        }
        let summary = one.study_summary(0).unwrap();
        assert!(summary.spent <= summary.budget);
    }

    #[test]
    fn a_setup_that_cannot_run_is_refused() {
        let bad = RaceSetup { methods: vec![], ..setup(CrossValidation::Holdout) };
        let Err(problems) = run_race(bad, data(), 1, &mut |_, _| {}) else { panic!() };
        assert_eq!(problems[0].to_string(), "choose at least one method to race");
    }
}
