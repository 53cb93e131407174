//! The scheduler's decisions, driven natively: every input, the commands it returns.

use super::watchdog::Watchdog;
use super::*;
use crate::data::validation::{CrossValidation, TrainingSet};
use crate::nn::TrainConfig;

const CALIBRATION: Calibration = Calibration { train_images_per_second: 3_000.0, score_images_per_second: 9_000.0 };

fn request(seed: u32) -> TrainRequest {
    TrainRequest {
        config: TrainConfig::default(),
        data: TrainingSet { images: 2_000, validation: CrossValidation::Holdout },
        seed,
        stage: Default::default(),
        checkpoint: None,
    }
}

fn trial(study: usize, trial: usize) -> TrialRef {
    TrialRef { study, trial }
}

fn events(commands: &[Command]) -> Vec<Event> {
    commands.iter().filter_map(|c| if let Command::Event(e) = c { (e != &Event::Workers).then(|| e.clone()) } else { None }).collect()
}

fn spawns(commands: &[Command]) -> Vec<usize> {
    commands.iter().filter_map(|c| if let Command::Spawn { slot, .. } = c { Some(*slot) } else { None }).collect()
}

fn terminates(commands: &[Command]) -> Vec<usize> {
    commands.iter().filter_map(|c| if let Command::Terminate { slot, .. } = c { Some(*slot) } else { None }).collect()
}

/// The `Train` messages posted: (slot, key).
fn trains(commands: &[Command]) -> Vec<(usize, TrialKey)> {
    commands
        .iter()
        .filter_map(|c| if let Command::Post { slot, message: ToWorker::Train { trial, .. }, .. } = c { Some((*slot, *trial)) } else { None })
        .collect()
}

fn wakes(commands: &[Command]) -> Vec<f64> {
    commands.iter().filter_map(|c| if let Command::WakeAt { at_ms } = c { Some(*at_ms) } else { None }).collect()
}

struct Sim {
    s: Scheduler,
}

impl Sim {
    fn new(workers: usize) -> (Self, Vec<Command>) {
        let (s, out) = Scheduler::new(SchedulerConfig::default(), workers);
        (Self { s }, out)
    }

    /// `workers` started, greeted and loaded.
    fn ready(workers: usize) -> Self {
        let (mut sim, _) = Self::new(workers);
        for slot in 0..workers {
            sim.greet(slot);
        }
        sim
    }

    fn generation(&self, slot: usize) -> u32 {
        self.s.slots[slot].generation
    }

    fn send(&mut self, slot: usize, message: FromWorker) -> Vec<Command> {
        let generation = self.generation(slot);
        self.s.on_message(slot, generation, message, 0.0)
    }

    /// The worker in `slot` says Ready and, once sent the data, DataLoaded.
    fn greet(&mut self, slot: usize) -> Vec<Command> {
        let out = self.send(slot, FromWorker::Ready { protocol_version: PROTOCOL_VERSION });
        assert!(out.contains(&Command::SendData { slot, generation: self.generation(slot) }), "{out:?}");
        self.send(slot, FromWorker::DataLoaded { count: 60_000, calibration: Some(CALIBRATION) })
    }

    fn key_in(&self, slot: usize) -> TrialKey {
        key(self.s.slots[slot].job.as_ref().expect("a running job"))
    }

    fn finish(&mut self, slot: usize, accuracy: f32) -> Vec<Command> {
        let trial = self.key_in(slot);
        self.send(
            slot,
            FromWorker::Finished { trial, end: TrialEnd::Completed { validation_accuracy: accuracy, validation_loss: 0.1, fold_scores: vec![], paths: None } },
        )
    }

    fn crash(&mut self, slot: usize, now_ms: f64) -> Vec<Command> {
        let generation = self.generation(slot);
        self.s.on_crash(slot, generation, boom(), now_ms)
    }

    fn state(&self, slot: usize) -> WorkerState {
        self.s.slots[slot].state.clone()
    }
}

#[test]
fn workers_get_data_after_ready_and_trials_after_data() {
    let (mut sim, out) = Sim::new(2);
    assert_eq!(spawns(&out), vec![0, 1]);
    assert_eq!(sim.s.workers().len(), 2);
    // Submitted before any worker is ready: it waits.
    let out = sim.s.submit(trial(0, 0), request(1), 0.0);
    assert!(trains(&out).is_empty());
    assert_eq!(sim.s.queued(), 1);
    let out = sim.send(0, FromWorker::Ready { protocol_version: PROTOCOL_VERSION });
    assert_eq!(out[0], Command::SendData { slot: 0, generation: sim.generation(0) });
    assert!(trains(&out).is_empty(), "no trial before the data is loaded");
    assert_eq!(sim.s.calibration(), None, "no worker has measured its speed yet");
    let out = sim.send(0, FromWorker::DataLoaded { count: 60_000, calibration: Some(CALIBRATION) });
    assert_eq!(sim.s.calibration(), Some(CALIBRATION));
    assert_eq!(trains(&out), vec![(0, TrialKey { trial_id: 0, attempt: 1 })]);
    assert_eq!(events(&out), vec![Event::Started { trial: trial(0, 0), attempt: 1, slot: 0 }]);
    assert_eq!(sim.state(0), WorkerState::Training(trial(0, 0)));
    let out = sim.send(
        0,
        FromWorker::Epoch {
            trial: sim.key_in(0),
            fold: 0,
            report: EpochReport {
                epoch: 1,
                learning_rate: 0.01,
                train_loss: 1.0,
                train_accuracy: 0.5,
                validation_loss: None,
                validation_accuracy: Some(0.6),
                images_seen: 2_000,
            },
        },
    );
    assert!(matches!(&events(&out)[..], [Event::Epoch { trial: t, .. }] if *t == trial(0, 0)));
    let out = sim.send(0, FromWorker::Progress { trial: sim.key_in(0), fold: 0, epoch: 2, batches_done: 5, batches: 32 });
    assert_eq!(events(&out), vec![Event::Progress { trial: trial(0, 0), fold: 0, epoch: 2, batches_done: 5, batches: 32 }]);
    let out = sim.finish(0, 0.9);
    assert_eq!(
        events(&out),
        vec![Event::Ended {
            trial: trial(0, 0),
            end: JobEnd::Finished(TrialEnd::Completed { validation_accuracy: 0.9, validation_loss: 0.1, fold_scores: vec![], paths: None })
        }]
    );
    assert!(sim.s.is_idle());
    // A second worker's measure joins the first's in the mean.
    sim.send(1, FromWorker::Ready { protocol_version: PROTOCOL_VERSION });
    let faster = Calibration { train_images_per_second: 5_000.0, score_images_per_second: 11_000.0 };
    sim.send(1, FromWorker::DataLoaded { count: 60_000, calibration: Some(faster) });
    assert_eq!(sim.s.calibration(), Some(Calibration { train_images_per_second: 4_000.0, score_images_per_second: 10_000.0 }));
}

#[test]
fn stale_messages_are_dropped() {
    let mut sim = Sim::ready(1);
    sim.s.submit(trial(0, 0), request(1), 0.0);
    let old_generation = sim.generation(0);
    let old_key = sim.key_in(0);
    // The worker crashes; its trial waits for attempt 2 on a fresh worker.
    sim.crash(0, 0.0);
    sim.s.tick(10_000.0);
    assert_ne!(sim.generation(0), old_generation);
    // Late messages from the dead worker change nothing.
    let late = sim.s.on_message(
        0,
        old_generation,
        FromWorker::Finished { trial: old_key, end: TrialEnd::Completed { validation_accuracy: 0.5, validation_loss: 1.0, fold_scores: vec![], paths: None } },
        10_000.0,
    );
    assert!(late.is_empty(), "{late:?}");
    assert!(sim.s.on_crash(0, old_generation, Fault::Error(Some("late error".into())), 10_000.0).is_empty());
    sim.greet(0);
    let new_key = sim.key_in(0);
    assert_eq!(new_key, TrialKey { trial_id: old_key.trial_id, attempt: 2 });
    // A message about the first attempt, from the current worker, is stale too.
    let stale = sim.send(
        0,
        FromWorker::Finished { trial: old_key, end: TrialEnd::Completed { validation_accuracy: 0.5, validation_loss: 1.0, fold_scores: vec![], paths: None } },
    );
    assert!(events(&stale).is_empty(), "{stale:?}");
    assert_eq!(sim.state(0), WorkerState::Training(trial(0, 0)));
}

#[test]
fn a_crash_retries_the_trial_once_then_fails_it() {
    let mut sim = Sim::ready(1);
    sim.s.submit(trial(3, 7), request(1), 0.0);
    let out = sim.crash(0, 100.0);
    assert_eq!(events(&out), vec![Event::Retrying { trial: trial(3, 7), attempt: 2, reason: boom() }]);
    assert_eq!(terminates(&out), vec![0]);
    assert_eq!(wakes(&out), vec![600.0], "restarted after the first pause");
    assert!(spawns(&out).is_empty());
    assert!(sim.s.tick(599.0).is_empty());
    assert_eq!(spawns(&sim.s.tick(600.0)), vec![0]);
    assert_eq!(sim.s.workers()[0].restarts, 1);
    let out = sim.greet(0);
    assert_eq!(events(&out), vec![Event::Started { trial: trial(3, 7), attempt: 2, slot: 0 }]);
    let out = sim.crash(0, 1_000.0);
    assert_eq!(events(&out), vec![Event::Ended { trial: trial(3, 7), end: JobEnd::Failed(boom()) }]);
    assert_eq!(wakes(&out), vec![2_000.0], "the pause doubles with each crash in a row");
}

#[test]
fn a_worker_that_keeps_dying_is_given_up_with_a_notice() {
    let (mut sim, _) = Sim::new(1);
    let mut now = 0.0;
    let mut pauses = Vec::new();
    for _ in 0..3 {
        let out = sim.crash(0, now);
        let at = wakes(&out)[0];
        pauses.push(at - now);
        now = at;
        assert_eq!(spawns(&sim.s.tick(now)), vec![0]);
    }
    assert_eq!(pauses, vec![500.0, 1_000.0, 2_000.0]);
    let out = sim.crash(0, now);
    assert!(spawns(&out).is_empty() && wakes(&out).is_empty(), "no endless restarts: {out:?}");
    assert!(matches!(sim.state(0), WorkerState::Broken(OutOfService::Crashed { times: 4, .. })), "{:?}", sim.state(0));
    assert!(events(&out).iter().any(|e| matches!(e, Event::Notice(n) if n.to_string().starts_with("worker 1 is out of service"))));
    assert!(sim.s.tick(1e9).is_empty());
    assert!(!sim.s.has_workers());
    // A trial submitted now waits; nothing is posted to the broken slot.
    assert!(trains(&sim.s.submit(trial(0, 0), request(1), 0.0)).is_empty());
}

#[test]
fn finishing_a_trial_resets_the_crash_count() {
    let mut sim = Sim::ready(1);
    for k in 0..6 {
        sim.s.submit(trial(0, k), request(1), 0.0);
        sim.crash(0, 0.0);
        sim.s.tick(1e9);
        sim.greet(0);
        sim.finish(0, 0.9);
    }
    assert_eq!(sim.state(0), WorkerState::Idle);
    assert_eq!(sim.s.workers()[0].restarts, 6);
}

#[test]
fn a_protocol_error_or_rejected_data_on_a_running_slot_fails_its_trial_and_replaces_the_worker() {
    for message in [FromWorker::ProtocolError { message: "cannot read the message".into() }, FromWorker::DataRejected { reason: "bad bytes".into() }] {
        let mut sim = Sim::ready(1);
        sim.s.submit(trial(0, 0), request(1), 0.0);
        let out = sim.send(0, message.clone());
        let ended = events(&out);
        assert!(matches!(&ended[..], [Event::Ended { trial: t, end: JobEnd::Failed(_) }] if *t == trial(0, 0)), "{ended:?}");
        assert_eq!(terminates(&out), vec![0]);
        assert_eq!(spawns(&sim.s.tick(1e9)), vec![0], "the broken worker is replaced");
        sim.greet(0);
        assert_eq!(sim.state(0), WorkerState::Idle);
    }
}

#[test]
fn data_rejected_while_loading_replaces_the_worker() {
    let (mut sim, _) = Sim::new(1);
    sim.send(0, FromWorker::Ready { protocol_version: PROTOCOL_VERSION });
    let out = sim.send(0, FromWorker::DataRejected { reason: "expected 60000 labels".into() });
    assert_eq!(terminates(&out), vec![0]);
    assert_eq!(spawns(&sim.s.tick(1e9)), vec![0]);
}

#[test]
fn a_worker_speaking_another_protocol_is_put_out_of_service() {
    let (mut sim, _) = Sim::new(1);
    let out = sim.send(0, FromWorker::Ready { protocol_version: PROTOCOL_VERSION + 1 });
    assert!(matches!(sim.state(0), WorkerState::Broken(ref why) if why.to_string().contains("reload the page")));
    assert!(events(&out).iter().any(|e| matches!(e, Event::Notice(_))));
    assert!(sim.s.tick(1e9).is_empty(), "not restarted: a fresh worker would speak the same protocol");
}

#[test]
fn cancelling_a_queued_trial_drops_it() {
    let mut sim = Sim::ready(1);
    sim.s.submit(trial(0, 0), request(1), 0.0);
    sim.s.submit(trial(0, 1), request(2), 0.0);
    let out = sim.s.cancel(trial(0, 1), 0.0);
    assert_eq!(events(&out), vec![Event::Ended { trial: trial(0, 1), end: JobEnd::Cancelled }]);
    assert!(out.iter().all(|c| !matches!(c, Command::Post { .. } | Command::Terminate { .. })));
    sim.finish(0, 0.9);
    assert!(sim.s.is_idle());
}

#[test]
fn cancelling_a_running_trial_stops_it_cooperatively_and_keeps_the_worker() {
    let mut sim = Sim::ready(1);
    sim.s.submit(trial(0, 0), request(1), 0.0);
    sim.s.submit(trial(0, 1), request(2), 0.0);
    let key = sim.key_in(0);
    let out = sim.s.cancel(trial(0, 0), 1_000.0);
    assert!(out.contains(&Command::Post { slot: 0, generation: sim.generation(0), message: ToWorker::Stop { trial: key } }));
    assert!(terminates(&out).is_empty(), "no terminate while the worker may still answer");
    assert_eq!(wakes(&out), vec![6_000.0]);
    let out = sim.send(0, FromWorker::Finished { trial: key, end: TrialEnd::Stopped { epochs_done: 1 } });
    assert_eq!(events(&out)[0], Event::Ended { trial: trial(0, 0), end: JobEnd::Cancelled });
    assert!(spawns(&out).is_empty() && !out.iter().any(|c| matches!(c, Command::SendData { .. })), "the training images are not sent again");
    assert_eq!(trains(&out), vec![(0, TrialKey { trial_id: 1, attempt: 1 })], "the same worker takes the next trial");
    assert!(sim.s.tick(10_000.0).is_empty(), "the deadline of an answered stop does nothing");
    assert_eq!(sim.s.workers()[0].restarts, 0);
}

#[test]
fn a_worker_that_does_not_answer_a_stop_is_terminated_and_replaced() {
    let mut sim = Sim::ready(1);
    sim.s.submit(trial(0, 0), request(1), 0.0);
    sim.s.cancel(trial(0, 0), 0.0);
    assert!(sim.s.tick(4_999.0).is_empty());
    let out = sim.s.tick(5_000.0);
    assert!(events(&out).contains(&Event::Ended { trial: trial(0, 0), end: JobEnd::Cancelled }));
    assert_eq!(terminates(&out), vec![0]);
    assert_eq!(spawns(&out), vec![0]);
    assert_eq!(sim.s.workers()[0].restarts, 1);
}

#[test]
fn a_trial_that_completes_before_its_stop_arrives_keeps_its_result() {
    let mut sim = Sim::ready(1);
    sim.s.submit(trial(0, 0), request(1), 0.0);
    sim.s.cancel(trial(0, 0), 0.0);
    let out = sim.finish(0, 0.93);
    assert!(matches!(events(&out)[..], [Event::Ended { end: JobEnd::Finished(TrialEnd::Completed { .. }), .. }]));
}

#[test]
fn a_crash_while_stopping_cancels_without_retry() {
    let mut sim = Sim::ready(1);
    sim.s.submit(trial(0, 0), request(1), 0.0);
    sim.s.cancel(trial(0, 0), 0.0);
    let out = sim.crash(0, 10.0);
    assert_eq!(events(&out), vec![Event::Ended { trial: trial(0, 0), end: JobEnd::Cancelled }]);
    assert_eq!(sim.s.queued(), 0);
}

#[test]
fn a_retiring_worker_finishes_its_trial_then_stops() {
    let mut sim = Sim::ready(3);
    sim.s.submit(trial(0, 0), request(1), 0.0);
    sim.s.submit(trial(0, 1), request(2), 0.0);
    // Slots 0 and 1 train; slot 2 is idle.
    let out = sim.s.resize(1, 0.0);
    assert_eq!(terminates(&out), vec![2], "the idle worker beyond the size goes at once");
    assert_eq!(sim.s.workers().len(), 2, "the busy one stays until its trial ends");
    sim.s.submit(trial(0, 2), request(3), 0.0);
    let out = sim.finish(1, 0.9);
    assert_eq!(terminates(&out), vec![1]);
    assert!(trains(&out).is_empty(), "a retiring worker takes no new trial");
    assert_eq!(sim.s.workers().len(), 1);
    let out = sim.finish(0, 0.9);
    assert_eq!(trains(&out), vec![(0, TrialKey { trial_id: 2, attempt: 1 })]);
    // Growing again starts fresh workers.
    assert_eq!(spawns(&sim.s.resize(3, 0.0)), vec![1, 2]);
}

#[test]
fn the_study_that_spent_least_goes_first() {
    let mut sim = Sim::ready(1);
    sim.s.submit(trial(0, 0), request(1), 0.0);
    // While slot 0 trains study 0's trial, both studies queue two trials each.
    for t in 1..3 {
        sim.s.submit(trial(0, t), request(1), 0.0);
        sim.s.submit(trial(1, t), request(1), 0.0);
    }
    sim.s.set_spent(0, 100);
    sim.s.set_spent(1, 40);
    let mut order = Vec::new();
    for spent_by_one in [140, 180] {
        let out = sim.finish(0, 0.9);
        let Event::Started { trial, .. } = events(&out)[1].clone() else { panic!("{out:?}") };
        order.push(trial);
        sim.s.set_spent(1, spent_by_one);
    }
    // Study 1 had spent less, then more.
    assert_eq!(order, vec![trial(1, 1), trial(0, 1)]);
}

#[test]
fn cancel_study_cancels_its_queued_and_running_trials() {
    let mut sim = Sim::ready(1);
    sim.s.submit(trial(0, 0), request(1), 0.0);
    sim.s.submit(trial(0, 1), request(1), 0.0);
    sim.s.submit(trial(1, 0), request(1), 0.0);
    let out = sim.s.cancel_study(0, 0.0);
    assert!(events(&out).contains(&Event::Ended { trial: trial(0, 1), end: JobEnd::Cancelled }));
    assert!(out.iter().any(|c| matches!(c, Command::Post { message: ToWorker::Stop { .. }, .. })));
    assert_eq!(sim.s.queued(), 1);
}

#[test]
fn a_paused_scheduler_starts_nothing_until_resumed_and_running_trials_finish() {
    let mut sim = Sim::ready(2);
    sim.s.submit(trial(0, 0), request(1), 0.0);
    assert_eq!(sim.s.running(), 1);
    assert!(trains(&sim.s.set_paused(true, 0.0)).is_empty());
    for t in 1..3 {
        assert!(trains(&sim.s.submit(trial(0, t), request(1), 0.0)).is_empty(), "nothing starts while paused");
    }
    // The running trial finishes and keeps its result; its worker stays idle.
    let out = sim.finish(0, 0.9);
    assert!(matches!(&events(&out)[..], [Event::Ended { end: JobEnd::Finished(TrialEnd::Completed { .. }), .. }, ..]));
    assert!(trains(&out).is_empty());
    assert_eq!((sim.s.running(), sim.s.queued(), sim.s.is_paused()), (0, 2, true));
    let out = sim.s.set_paused(false, 0.0);
    assert_eq!(trains(&out).len(), 2, "both workers take the waiting trials");
    assert_eq!(sim.s.queued(), 0);
}

fn boom() -> Fault {
    Fault::Error(Some("boom".into()))
}

/// A scheduler with the page's watchdog, its workers ready (calibrated at `CALIBRATION`), at time 0.
fn watched(workers: usize) -> Sim {
    let (s, _) = Scheduler::new(SchedulerConfig::for_web_workers(), workers);
    let mut sim = Sim { s };
    for slot in 0..workers {
        sim.greet(slot);
    }
    sim
}

#[test]
fn a_silent_worker_is_hung_its_trial_fails_once_and_the_race_goes_on() {
    let mut sim = watched(1);
    let limit = Watchdog::default().silence_limit_ms(&request(1), Some(CALIBRATION));
    let out = sim.s.submit(trial(0, 0), request(1), 0.0);
    sim.s.submit(trial(0, 1), request(2), 0.0);
    assert_eq!(wakes(&out), vec![limit], "the first look is one limit after the start");
    // It speaks half-way: at the first look it is not silent yet, so the next look is a limit
    // after it last spoke.
    let key = sim.key_in(0);
    sim.s.on_message(0, sim.generation(0), FromWorker::Progress { trial: key, fold: 0, epoch: 1, batches_done: 3, batches: 30 }, limit / 2.0);
    let out = sim.s.tick(limit);
    assert_eq!(wakes(&out), vec![limit * 1.5]);
    assert!(events(&out).is_empty() && terminates(&out).is_empty(), "{out:?}");
    // Then not a word: hung. The trial fails with no second attempt, the worker is replaced.
    let out = sim.s.tick(limit * 1.5);
    let seconds = (limit / 1000.0).round() as u32;
    assert_eq!(events(&out), vec![Event::Ended { trial: trial(0, 0), end: JobEnd::Failed(Fault::Hung { seconds }) }]);
    assert_eq!(terminates(&out), vec![0]);
    assert!(matches!(sim.state(0), WorkerState::Restarting { reason: Fault::Hung { .. }, .. }));
    // The fresh worker takes the next trial.
    let at = wakes(&out)[0];
    assert_eq!(spawns(&sim.s.tick(at)), vec![0]);
    sim.greet(0);
    assert_eq!(sim.s.workers()[0].state, WorkerState::Training(trial(0, 1)));
}

#[test]
fn the_watchdog_leaves_finished_and_stopping_trials_alone_and_is_off_natively() {
    let mut sim = watched(1);
    let limit = Watchdog::default().silence_limit_ms(&request(1), Some(CALIBRATION));
    sim.s.submit(trial(0, 0), request(1), 0.0);
    sim.finish(0, 0.9);
    assert!(sim.s.tick(limit * 3.0).is_empty(), "a finished trial's watch is gone");
    // A trial asked to stop has the stop's grace period, not the watch.
    sim.s.submit(trial(0, 1), request(2), limit * 3.0);
    sim.s.cancel(trial(0, 1), limit * 3.0 + 1.0);
    let out = sim.s.tick(limit * 4.0 + 2.0);
    assert!(events(&out).iter().all(|e| !matches!(e, Event::Ended { end: JobEnd::Failed(_), .. })), "{out:?}");
    // Without a watchdog (the command line's threads), silence is never a hang.
    let mut sim = Sim::ready(1);
    let out = sim.s.submit(trial(0, 0), request(1), 0.0);
    assert!(wakes(&out).is_empty());
    assert!(sim.s.tick(1e9).is_empty());
}
