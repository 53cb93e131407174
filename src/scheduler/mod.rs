//! The worker scheduler: several studies' trials shared among N training workers, as a pure
//! state machine.
//!
//! The scheduler owns every decision about workers — which slot runs which trial, when a worker
//! is started, loaded, stopped, replaced or given up on — and none of the doing. Each input
//! (`submit`, `cancel`, `resize`, a message or a crash from a worker, the clock) returns the
//! `Command`s the shell must carry out: start a worker, send it the training data or a message,
//! terminate it, wake the scheduler later, or tell the page what happened. The page carries them
//! out with web workers; the command line will with threads. So all of it is tested natively.
//!
//! - Slots and generations: slot k always exists while the pool has more than k workers; each
//!   worker started in a slot gets a new generation, and a message from an older generation (a
//!   worker since replaced) is dropped.
//! - Trials are identified on the wire by a job number and an attempt (`TrialKey`); a message
//!   about another job or attempt than the slot is running is dropped as stale.
//! - Dispatch: a free worker takes the next trial of the study that has spent the least budget
//!   (ties: the lower study number). Within a study, trials run in the order submitted. Which
//!   worker runs a trial never changes its result: a trial's request fixes everything it does.
//! - Cancel is cooperative: the worker is asked to stop at its next batch boundary, keeps its
//!   data and stays in service; only a worker that does not answer within the grace period is
//!   terminated and replaced (replacing costs a fresh copy of the training images).
//! - A crash (the worker panicked or errored) retries its trial once on a fresh worker — the
//!   retry trains the same request, so it gives the same result — and fails it if the retry
//!   crashes too. A worker that keeps dying is restarted after growing pauses, then given up on
//!   with a notice instead of an endless loop.
//! - A protocol error or rejected data on a slot running a trial fails that trial (retrying
//!   cannot help: the same message would be refused again) and replaces the worker.
//! - A worker silent for longer than its trial could take between two words has hung: its
//!   trial fails and it is replaced (`watchdog`).
//! - Every input carries the clock (`now_ms`), so that the scheduler never reads one.

#![forbid(unsafe_code)]

#[cfg(test)]
mod tests;
pub mod watchdog;

use crate::nn::bench::Calibration;
use crate::nn::EpochReport;
use crate::protocol::{FromWorker, ToWorker, TrainRequest, TrialEnd, TrialKey, PROTOCOL_VERSION};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use watchdog::{Verdict, Watch, Watchdog};

/// Which study's which trial a job runs (the page's and the command line's own numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TrialRef {
    pub study: usize,
    pub trial: usize,
}

/// The scheduler's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerConfig {
    /// Attempts a trial gets when its worker crashes (1 = no retry).
    pub attempts: u32,
    /// Crashes in a row after which a slot is given up on.
    pub crashes_before_giving_up: u32,
    /// Pause before restarting a crashed worker; doubled for each further crash in a row.
    pub first_restart_pause_ms: f64,
    /// How long a worker asked to stop may take before it is terminated.
    pub stop_grace_ms: f64,
    /// Hung workers are found and replaced (None: no watchdog; see `watchdog`).
    pub watchdog: Option<Watchdog>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self { attempts: 2, crashes_before_giving_up: 4, first_restart_pause_ms: 500.0, stop_grace_ms: 5_000.0, watchdog: None }
    }
}

impl SchedulerConfig {
    /// The page's: web workers, with the watchdog.
    pub fn for_web_workers() -> Self {
        Self { watchdog: Some(Watchdog::default()), ..Self::default() }
    }
}

/// What a slot's worker is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkerState {
    /// Started; its `Ready` has not arrived.
    Starting,
    /// The training images were sent; `DataLoaded` has not arrived.
    LoadingData,
    Idle,
    Training(TrialRef),
    /// Asked to stop its trial; terminated if it has not answered by `deadline_ms`.
    Stopping {
        trial: TrialRef,
        deadline_ms: f64,
    },
    /// Crashed; restarted at `at_ms`.
    Restarting {
        at_ms: f64,
        reason: Fault,
    },
    /// Out of service, with the reason shown to the user.
    Broken(OutOfService),
    /// Beyond the pool's size and terminated; removed once the slots after it are.
    Retired,
}

/// A slot as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerStatus {
    pub slot: usize,
    pub state: WorkerState,
    /// How many times this slot's worker has been replaced.
    pub restarts: u32,
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Start a worker in `slot` (terminating whatever ran there) and route its messages and
    /// errors back with this `generation`.
    Spawn {
        slot: usize,
        generation: u32,
    },
    /// Post `ToWorker::LoadData` with the training images as transferred buffers.
    SendData {
        slot: usize,
        generation: u32,
    },
    Post {
        slot: usize,
        generation: u32,
        message: ToWorker,
    },
    /// Stop the worker for good.
    Terminate {
        slot: usize,
        generation: u32,
    },
    /// Call `tick` at (or after) this time.
    WakeAt {
        at_ms: f64,
    },
    /// Something the page shows.
    Event(Event),
}

/// What happened, for the page (and the studies).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started {
        trial: TrialRef,
        attempt: u32,
        slot: usize,
    },
    /// `batches_done` of the `batches` of epoch `epoch` (1-based) of fold `fold` (from 0; 0
    /// under hold-out) are trained.
    Progress {
        trial: TrialRef,
        fold: u32,
        epoch: u32,
        batches_done: u32,
        batches: u32,
    },
    Epoch {
        trial: TrialRef,
        fold: u32,
        report: EpochReport,
    },
    /// The attempt's worker crashed; the trial waits for a fresh worker.
    Retrying {
        trial: TrialRef,
        attempt: u32,
        reason: Fault,
    },
    Ended {
        trial: TrialRef,
        end: JobEnd,
    },
    /// The workers' states changed (read them with `workers()`).
    Workers,
    /// A problem worth a sentence on the page that is not about one trial.
    Notice(Notice),
}

/// Why a worker was lost: kept as data so that the page can say it in its language (the words
/// inside are the worker's or the browser's own); `Display` is the command line's English.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum Fault {
    #[error("the worker panicked: {0}")]
    Panicked(String),
    #[error("the worker could not read a message: {0}")]
    CouldNotRead(String),
    #[error("the worker refused the training images: {0}")]
    RefusedImages(String),
    #[error("the worker sent a message this page cannot read: {0}")]
    Unreadable(String),
    /// The browser's error event, with its message if it gave one.
    #[error("{}", .0.as_deref().unwrap_or("the worker stopped with an error"))]
    Error(Option<String>),
    #[error("could not start a worker: {0}")]
    NoStart(String),
    #[error("the worker is gone")]
    Gone,
    #[error("the images have not been loaded yet")]
    NoImages,
    #[error("could not send the training images: {0}")]
    ImagesNotSent(String),
    #[error("could not send a message to the worker: {0}")]
    NotSent(String),
    /// It speaks another protocol than the page (a stale file from a cache).
    #[error("the worker speaks protocol {worker} and this page {page}: reload the page")]
    Protocol { worker: u32, page: u32 },
    #[error("the worker is out of service: {0}")]
    OutOfService(Box<OutOfService>),
    /// Training, it said nothing for `seconds`: more than its trial could take between two words.
    #[error("the worker stopped answering: not a word from it in {seconds} s while training")]
    Hung { seconds: u32 },
}

/// Why a worker was put out of service.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum OutOfService {
    /// It stopped `times` times in a row; `last` is why, the last time.
    #[error("stopped {times} times in a row (last: {last}); it is not restarted — reload the page to try again")]
    Crashed { times: u32, last: Fault },
    /// It cannot work with this page at all.
    #[error("{0}")]
    Unusable(Fault),
}

/// A problem worth a sentence on the page that is not about one trial; `worker` is the slot
/// (the page counts workers from 1).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Notice {
    #[error("worker {} did not stop when asked and was replaced", worker + 1)]
    Replaced { worker: usize },
    #[error("worker {} is out of service: {why}", worker + 1)]
    OutOfService { worker: usize, why: OutOfService },
    #[error("no worker is left to train the waiting trials: reload the page")]
    NoWorkerLeft,
}

/// How a submitted trial ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum JobEnd {
    /// The worker finished it (completed, diverged, or refused the request).
    Finished(TrialEnd),
    /// Cancelled: dropped from the queue, or stopped while training.
    Cancelled,
    /// Lost with its worker (crashes on every attempt, protocol errors).
    Failed(Fault),
}

#[derive(Debug, Clone)]
struct Job {
    trial: TrialRef,
    request: TrainRequest,
    attempt: u32,
    /// The number that names it on the wire.
    number: u32,
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    state: WorkerState,
    job: Option<Job>,
    restarts: u32,
    crashes_in_a_row: u32,
    /// Beyond the pool's size: leaves once its trial is over.
    retiring: bool,
    /// The speed its worker measured when its data arrived.
    calibration: Option<Calibration>,
    /// While it trains under the watchdog: when its worker last spoke.
    watch: Option<Watch>,
}

/// The scheduler. See the module's documentation.
#[derive(Debug)]
pub struct Scheduler {
    config: SchedulerConfig,
    slots: Vec<Slot>,
    /// Trials waiting for a worker, by study.
    queues: BTreeMap<usize, VecDeque<Job>>,
    /// Budget each study has spent, for dispatch.
    spent: BTreeMap<usize, u64>,
    next_generation: u32,
    next_job: u32,
    /// No trial is started while paused; running ones finish.
    paused: bool,
}

impl Scheduler {
    /// A scheduler with `workers` slots (at least 1), and the commands that start them.
    pub fn new(config: SchedulerConfig, workers: usize) -> (Self, Vec<Command>) {
        let mut scheduler = Self { config, slots: Vec::new(), queues: BTreeMap::new(), spent: BTreeMap::new(), next_generation: 0, next_job: 0, paused: false };
        // Nothing is queued yet, so no trial starts and the clock does not matter.
        let commands = scheduler.resize(workers, 0.0);
        (scheduler, commands)
    }

    pub fn workers(&self) -> Vec<WorkerStatus> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.retiring || s.job.is_some())
            .map(|(slot, s)| WorkerStatus { slot, state: s.state.clone(), restarts: s.restarts })
            .collect()
    }

    /// The workers' measured speed (the mean of what each measured as its data arrived), for
    /// time estimates before any trial has run; None until one has.
    pub fn calibration(&self) -> Option<Calibration> {
        let measured: Vec<Calibration> = self.slots.iter().filter_map(|s| s.calibration).collect();
        let mean = |f: fn(&Calibration) -> f64| measured.iter().map(f).sum::<f64>() / measured.len() as f64;
        (!measured.is_empty())
            .then(|| Calibration { train_images_per_second: mean(|c| c.train_images_per_second), score_images_per_second: mean(|c| c.score_images_per_second) })
    }

    /// Trials submitted and not yet started.
    pub fn queued(&self) -> usize {
        self.queues.values().map(VecDeque::len).sum()
    }

    /// Whether nothing is queued or running.
    pub fn is_idle(&self) -> bool {
        self.queued() == 0 && self.slots.iter().all(|s| s.job.is_none())
    }

    /// Whether any slot can take work now or later (not every worker is out of service).
    pub fn has_workers(&self) -> bool {
        self.slots.iter().any(|s| !s.retiring && !matches!(s.state, WorkerState::Broken(_) | WorkerState::Retired))
    }

    /// Grow or shrink to `workers` slots (at least 1). A slot beyond the new size that runs a
    /// trial finishes it first.
    pub fn resize(&mut self, workers: usize, now_ms: f64) -> Vec<Command> {
        let workers = workers.max(1);
        let mut out = Vec::new();
        for (index, slot) in self.slots.iter_mut().enumerate() {
            slot.retiring = index >= workers;
            if slot.retiring && slot.job.is_none() && !matches!(slot.state, WorkerState::Broken(_) | WorkerState::Retired) {
                out.push(Command::Terminate { slot: index, generation: slot.generation });
                slot.state = WorkerState::Retired;
            }
        }
        // Trailing retired slots with no trial go away; a busy one stays until its trial ends.
        self.trim();
        for index in 0..workers {
            if index == self.slots.len() {
                self.slots.push(Slot {
                    generation: 0,
                    state: WorkerState::Starting,
                    job: None,
                    restarts: 0,
                    crashes_in_a_row: 0,
                    retiring: false,
                    calibration: None,
                    watch: None,
                });
                self.start_worker(index, &mut out);
            } else if self.slots[index].state == WorkerState::Retired {
                // A slot retired and wanted again before it was trimmed.
                self.start_worker(index, &mut out);
            }
        }
        out.push(Command::Event(Event::Workers));
        self.dispatch(now_ms, &mut out);
        out
    }

    /// Queue a trial of `trial.study`.
    pub fn submit(&mut self, trial: TrialRef, request: TrainRequest, now_ms: f64) -> Vec<Command> {
        let number = self.next_job;
        self.next_job += 1;
        self.queues.entry(trial.study).or_default().push_back(Job { trial, request, attempt: 1, number });
        let mut out = Vec::new();
        self.dispatch(now_ms, &mut out);
        out
    }

    /// Start no more trials (running ones finish; queued ones wait), or start them again.
    /// Pausing changes no trial's result: a trial's request fixes everything it does.
    pub fn set_paused(&mut self, paused: bool, now_ms: f64) -> Vec<Command> {
        self.paused = paused;
        let mut out = Vec::new();
        self.dispatch(now_ms, &mut out);
        out
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Trials training now (or being stopped).
    pub fn running(&self) -> usize {
        self.slots.iter().filter(|s| s.job.is_some()).count()
    }

    /// Tell the scheduler how much budget a study has spent, so the least spent goes first.
    pub fn set_spent(&mut self, study: usize, spent: u64) {
        self.spent.insert(study, spent);
    }

    /// Cancel a trial: drop it from the queue, or ask its worker to stop.
    pub fn cancel(&mut self, trial: TrialRef, now_ms: f64) -> Vec<Command> {
        let mut out = Vec::new();
        if let Some(queue) = self.queues.get_mut(&trial.study) {
            if let Some(pos) = queue.iter().position(|j| j.trial == trial) {
                queue.remove(pos);
                out.push(Command::Event(Event::Ended { trial, end: JobEnd::Cancelled }));
                return out;
            }
        }
        if let Some(index) = self.slots.iter().position(|s| s.state == WorkerState::Training(trial)) {
            let slot = &mut self.slots[index];
            let job = slot.job.as_ref().expect("a training slot has a job");
            let deadline_ms = now_ms + self.config.stop_grace_ms;
            out.push(Command::Post { slot: index, generation: slot.generation, message: ToWorker::Stop { trial: key(job) } });
            slot.state = WorkerState::Stopping { trial, deadline_ms };
            out.push(Command::WakeAt { at_ms: deadline_ms });
            out.push(Command::Event(Event::Workers));
        }
        out
    }

    /// Cancel every queued and running trial of `study`.
    pub fn cancel_study(&mut self, study: usize, now_ms: f64) -> Vec<Command> {
        let mut trials: Vec<TrialRef> = self.queues.get(&study).map(|q| q.iter().map(|j| j.trial).collect()).unwrap_or_default();
        trials.extend(self.slots.iter().filter_map(|s| s.job.as_ref()).map(|j| j.trial).filter(|t| t.study == study));
        trials.into_iter().flat_map(|t| self.cancel(t, now_ms)).collect()
    }

    /// The clock: restarts whose pause is over, stops whose grace period is over, workers
    /// silent for too long.
    pub fn tick(&mut self, now_ms: f64) -> Vec<Command> {
        let mut out = Vec::new();
        for index in 0..self.slots.len() {
            self.watch(index, now_ms, &mut out);
            match self.slots[index].state.clone() {
                WorkerState::Restarting { at_ms, .. } if at_ms <= now_ms => self.start_worker(index, &mut out),
                WorkerState::Stopping { trial, deadline_ms } if deadline_ms <= now_ms => {
                    // It did not answer: terminate it; the trial counts as cancelled.
                    self.slots[index].job = None;
                    out.push(Command::Event(Event::Ended { trial, end: JobEnd::Cancelled }));
                    out.push(Command::Event(Event::Notice(Notice::Replaced { worker: index })));
                    self.replace(index, &mut out);
                }
                _ => {}
            }
        }
        if out.iter().any(|c| !matches!(c, Command::WakeAt { .. })) {
            out.push(Command::Event(Event::Workers));
            self.dispatch(now_ms, &mut out);
        }
        out
    }

    /// Look at the watch of a training slot that is due: hung, or look again later.
    fn watch(&mut self, index: usize, now_ms: f64, out: &mut Vec<Command>) {
        let Some(late_ms) = self.config.watchdog.as_ref().map(|w| w.late_ms) else { return };
        let slot = &mut self.slots[index];
        let Some(watch) = slot.watch.as_mut().filter(|_| matches!(slot.state, WorkerState::Training(_))) else { return };
        match watch.check(now_ms, late_ms) {
            Verdict::NotDue => {}
            Verdict::Again { check_at_ms } => out.push(Command::WakeAt { at_ms: check_at_ms }),
            Verdict::Hung { silent_ms } => {
                let seconds = (silent_ms / 1000.0).round() as u32;
                self.lost(index, Fault::Hung { seconds }, false, now_ms, out);
            }
        }
    }

    /// A message from the worker of `slot`, started as `generation`.
    pub fn on_message(&mut self, slot: usize, generation: u32, message: FromWorker, now_ms: f64) -> Vec<Command> {
        let mut out = Vec::new();
        if !self.is_current(slot, generation) {
            return out; // from a worker since replaced
        }
        if let Some(watch) = self.slots[slot].watch.as_mut() {
            watch.heard_ms = now_ms;
        }
        match message {
            FromWorker::Ready { protocol_version } if protocol_version == PROTOCOL_VERSION => {
                if self.slots[slot].state == WorkerState::Starting {
                    self.slots[slot].state = WorkerState::LoadingData;
                    out.push(Command::SendData { slot, generation });
                }
            }
            FromWorker::Ready { protocol_version } => {
                self.give_up(slot, OutOfService::Unusable(Fault::Protocol { worker: protocol_version, page: PROTOCOL_VERSION }), &mut out);
            }
            FromWorker::DataLoaded { calibration, .. } => {
                if self.slots[slot].state == WorkerState::LoadingData {
                    self.slots[slot].state = WorkerState::Idle;
                    self.slots[slot].calibration = calibration;
                }
            }
            FromWorker::DataRejected { reason } => self.lost(slot, Fault::RefusedImages(reason), false, now_ms, &mut out),
            FromWorker::ProtocolError { message } => self.lost(slot, Fault::CouldNotRead(message), false, now_ms, &mut out),
            FromWorker::Panicked { message, .. } => self.lost(slot, Fault::Panicked(message), true, now_ms, &mut out),
            FromWorker::Progress { trial, fold, epoch, batches_done, batches } => {
                if let Some(job) = self.job_of(slot, trial) {
                    out.push(Command::Event(Event::Progress { trial: job.trial, fold, epoch, batches_done, batches }));
                }
                return out;
            }
            FromWorker::Epoch { trial, fold, report } => {
                if let Some(job) = self.job_of(slot, trial) {
                    out.push(Command::Event(Event::Epoch { trial: job.trial, fold, report }));
                }
                return out;
            }
            FromWorker::Finished { trial, end } => {
                let Some(job) = self.job_of(slot, trial).cloned() else { return out };
                let s = &mut self.slots[slot];
                s.job = None;
                s.watch = None;
                s.crashes_in_a_row = 0;
                s.state = WorkerState::Idle;
                let end = match end {
                    TrialEnd::Stopped { .. } => JobEnd::Cancelled,
                    end => JobEnd::Finished(end),
                };
                out.push(Command::Event(Event::Ended { trial: job.trial, end }));
                if s.retiring {
                    out.push(Command::Terminate { slot, generation: s.generation });
                    s.state = WorkerState::Retired;
                    self.trim();
                }
            }
            // The page never asks for these; the benchmark driver does.
            FromWorker::BenchmarkDone { .. } | FromWorker::Memory { .. } => return out,
            // The pool's workers are never asked to retrain or read; the page's final worker is.
            FromWorker::TestLoaded { .. } | FromWorker::Retraining { .. } | FromWorker::Retrained { .. } | FromWorker::Reading { .. } => return out,
        }
        out.push(Command::Event(Event::Workers));
        self.dispatch(now_ms, &mut out);
        out
    }

    /// The worker of `slot` died (an uncaught error, a message the page cannot read, a failed
    /// start or post).
    pub fn on_crash(&mut self, slot: usize, generation: u32, reason: Fault, now_ms: f64) -> Vec<Command> {
        let mut out = Vec::new();
        if self.is_current(slot, generation) {
            self.lost(slot, reason, true, now_ms, &mut out);
            out.push(Command::Event(Event::Workers));
            self.dispatch(now_ms, &mut out);
        }
        out
    }

    fn is_current(&self, slot: usize, generation: u32) -> bool {
        self.slots
            .get(slot)
            .is_some_and(|s| s.generation == generation && !matches!(s.state, WorkerState::Broken(_) | WorkerState::Retired | WorkerState::Restarting { .. }))
    }

    /// The slot's job, if `trial` names its current attempt.
    fn job_of(&self, slot: usize, trial: TrialKey) -> Option<&Job> {
        self.slots[slot].job.as_ref().filter(|j| key(j) == trial)
    }

    /// The worker in `slot` is lost: settle its trial, and restart it after a pause (or give up
    /// after too many crashes in a row). `retry` allows another attempt of its trial.
    fn lost(&mut self, slot: usize, reason: Fault, retry: bool, now_ms: f64, out: &mut Vec<Command>) {
        let s = &mut self.slots[slot];
        out.push(Command::Terminate { slot, generation: s.generation });
        s.watch = None;
        if let Some(mut job) = s.job.take() {
            if matches!(s.state, WorkerState::Stopping { .. }) {
                out.push(Command::Event(Event::Ended { trial: job.trial, end: JobEnd::Cancelled }));
            } else if retry && job.attempt < self.config.attempts {
                job.attempt += 1;
                out.push(Command::Event(Event::Retrying { trial: job.trial, attempt: job.attempt, reason: reason.clone() }));
                self.queues.entry(job.trial.study).or_default().push_front(job);
            } else {
                out.push(Command::Event(Event::Ended { trial: job.trial, end: JobEnd::Failed(reason.clone()) }));
            }
        }
        let s = &mut self.slots[slot];
        s.crashes_in_a_row += 1;
        if s.retiring {
            s.state = WorkerState::Retired;
            self.trim();
            return;
        }
        if s.crashes_in_a_row >= self.config.crashes_before_giving_up {
            let times = s.crashes_in_a_row;
            self.give_up(slot, OutOfService::Crashed { times, last: reason }, out);
            return;
        }
        let at_ms = now_ms + self.config.first_restart_pause_ms * f64::powi(2.0, s.crashes_in_a_row as i32 - 1);
        s.state = WorkerState::Restarting { at_ms, reason };
        out.push(Command::WakeAt { at_ms });
    }

    fn give_up(&mut self, slot: usize, why: OutOfService, out: &mut Vec<Command>) {
        let s = &mut self.slots[slot];
        out.push(Command::Terminate { slot, generation: s.generation });
        if let Some(job) = s.job.take() {
            out.push(Command::Event(Event::Ended { trial: job.trial, end: JobEnd::Failed(Fault::OutOfService(Box::new(why.clone()))) }));
        }
        out.push(Command::Event(Event::Notice(Notice::OutOfService { worker: slot, why: why.clone() })));
        s.state = WorkerState::Broken(why);
        if !self.has_workers() && self.queued() > 0 {
            out.push(Command::Event(Event::Notice(Notice::NoWorkerLeft)));
        }
    }

    /// Terminate the slot's worker and start a fresh one now (not a crash).
    fn replace(&mut self, slot: usize, out: &mut Vec<Command>) {
        out.push(Command::Terminate { slot, generation: self.slots[slot].generation });
        if self.slots[slot].retiring {
            self.slots[slot].state = WorkerState::Retired;
            self.trim();
        } else {
            self.start_worker(slot, out);
        }
    }

    fn start_worker(&mut self, slot: usize, out: &mut Vec<Command>) {
        self.next_generation += 1;
        let s = &mut self.slots[slot];
        if s.generation != 0 {
            s.restarts += 1;
        }
        s.generation = self.next_generation;
        s.state = WorkerState::Starting;
        s.job = None;
        s.watch = None;
        out.push(Command::Spawn { slot, generation: s.generation });
    }

    /// Drop retired slots at the end that have nothing left to do.
    fn trim(&mut self) {
        while self.slots.last().is_some_and(|s| s.retiring && s.job.is_none()) {
            self.slots.pop();
        }
    }

    /// Give idle workers the next trials: the study that has spent least first.
    fn dispatch(&mut self, now_ms: f64, out: &mut Vec<Command>) {
        if self.paused {
            return;
        }
        for slot in 0..self.slots.len() {
            if self.slots[slot].state != WorkerState::Idle || self.slots[slot].retiring {
                continue;
            }
            let next = self
                .queues
                .iter()
                .filter(|(_, q)| !q.is_empty())
                .min_by_key(|(study, _)| (self.spent.get(study).copied().unwrap_or(0), **study))
                .map(|(study, _)| *study);
            let Some(study) = next else { return };
            let job = self.queues.get_mut(&study).and_then(VecDeque::pop_front).expect("a non-empty queue");
            let s = &mut self.slots[slot];
            out.push(Command::Post { slot, generation: s.generation, message: ToWorker::Train { trial: key(&job), request: job.request.clone() } });
            out.push(Command::Event(Event::Started { trial: job.trial, attempt: job.attempt, slot }));
            if let Some(dog) = &self.config.watchdog {
                let watch = Watch::new(now_ms, dog.silence_limit_ms(&job.request, s.calibration));
                out.push(Command::WakeAt { at_ms: watch.check_at_ms });
                s.watch = Some(watch);
            }
            s.state = WorkerState::Training(job.trial);
            s.job = Some(job);
            out.push(Command::Event(Event::Workers));
        }
    }
}

fn key(job: &Job) -> TrialKey {
    TrialKey { trial_id: job.number, attempt: job.attempt }
}
