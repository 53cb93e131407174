//! The page's training workers: carries out what the core's scheduler (`tunelab::scheduler`)
//! decides. Every decision — which worker runs which trial, stale messages, crashes, retries,
//! restarts and their pauses, cooperative stops — is the scheduler's and is tested natively;
//! this file only starts and terminates web workers, posts messages (the training images as
//! transferred buffers), feeds their messages and errors back to the scheduler with the slot
//! and generation they came from, and sets the timers the scheduler asks for.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::time::Duration;

use super::wire;
use leptos::prelude::set_timeout;
use tunelab::data::mnist::LabeledImages;
use tunelab::nn::bench::Calibration;
use tunelab::protocol::{envelope, FromWorker, ToWorker, TrainRequest, TrialEnd};
use tunelab::scheduler::{Command, Event, Fault, Scheduler, SchedulerConfig, TrialRef, WorkerStatus};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};

/// A started web worker, with the callbacks that route its messages back.
struct JsWorker {
    generation: u32,
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

struct Inner {
    scheduler: Scheduler,
    /// By slot.
    workers: Vec<Option<JsWorker>>,
    /// The training file's 60,000 images, copied to each worker once.
    data: Rc<LabeledImages>,
    /// Hears what happens (after the state's borrow ends, so it may call back in).
    on_event: Rc<dyn Fn(Event)>,
    me: Weak<RefCell<Inner>>,
}

/// A handle to the workers; cheap to clone.
#[derive(Clone)]
pub struct WorkerHost {
    inner: Rc<RefCell<Inner>>,
}

pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}

impl WorkerHost {
    /// Start `count` workers that will train on `data`; `on_event` hears what happens.
    pub fn start(count: usize, data: Rc<LabeledImages>, on_event: Rc<dyn Fn(Event)>) -> Self {
        let (scheduler, commands) = Scheduler::new(SchedulerConfig::for_web_workers(), count);
        let inner = Rc::new_cyclic(|me| RefCell::new(Inner { scheduler, workers: Vec::new(), data, on_event, me: me.clone() }));
        let host = Self { inner };
        host.carry_out(commands);
        host
    }

    pub fn submit(&self, trial: TrialRef, request: TrainRequest) {
        self.apply(|s| s.submit(trial, request, now_ms()));
    }

    pub fn cancel(&self, trial: TrialRef) {
        self.apply(|s| s.cancel(trial, now_ms()));
    }

    pub fn cancel_study(&self, study: usize) {
        self.apply(|s| s.cancel_study(study, now_ms()));
    }

    pub fn set_paused(&self, paused: bool) {
        self.apply(|s| s.set_paused(paused, now_ms()));
    }

    pub fn resize(&self, count: usize) {
        self.apply(|s| s.resize(count, now_ms()));
    }

    pub fn set_spent(&self, study: usize, spent: u64) {
        self.inner.borrow_mut().scheduler.set_spent(study, spent);
    }

    pub fn statuses(&self) -> Vec<WorkerStatus> {
        self.inner.borrow().scheduler.workers()
    }

    /// The speed the workers measured as their data arrived.
    pub fn calibration(&self) -> Option<Calibration> {
        self.inner.borrow().scheduler.calibration()
    }

    fn apply(&self, decide: impl FnOnce(&mut Scheduler) -> Vec<Command>) {
        let commands = decide(&mut self.inner.borrow_mut().scheduler);
        self.carry_out(commands);
    }

    /// Carry out the scheduler's commands (and those its answers to failures bring), then
    /// tell the page what happened — after the borrow ends, so the page may call back in.
    fn carry_out(&self, commands: Vec<Command>) {
        let mut events = Vec::new();
        let on_event = {
            let mut inner = self.inner.borrow_mut();
            let mut queue: VecDeque<Command> = commands.into();
            while let Some(command) = queue.pop_front() {
                let more = inner.carry_out_one(command, &mut events);
                queue.extend(more);
            }
            inner.on_event.clone()
        };
        for event in events {
            on_event(event);
        }
    }

    fn handle(&self, slot: usize, generation: u32, incoming: Incoming) {
        self.apply(|s| match incoming {
            Incoming::Message(value) => match wire::decode::<FromWorker>(value.clone()) {
                Ok(mut message) => {
                    // A paused trial's checkpoint came beside the message.
                    if let FromWorker::Finished { end: TrialEnd::Paused { checkpoint, .. }, .. } = &mut message {
                        if let Some(buffer) = wire::field(&value, envelope::CHECKPOINT).dyn_ref::<js_sys::ArrayBuffer>() {
                            *checkpoint = js_sys::Uint8Array::new(buffer).to_vec();
                        }
                    }
                    s.on_message(slot, generation, message, now_ms())
                }
                Err(e) => s.on_crash(slot, generation, Fault::Unreadable(e), now_ms()),
            },
            Incoming::Error(text) => s.on_crash(slot, generation, Fault::Error(text), now_ms()),
        });
    }
}

enum Incoming {
    Message(JsValue),
    /// The browser's error event's message, if it gave one.
    Error(Option<String>),
}

impl Inner {
    /// One command; returns what the scheduler answers if carrying it out failed.
    fn carry_out_one(&mut self, command: Command, events: &mut Vec<Event>) -> Vec<Command> {
        match command {
            Command::Event(event) => {
                events.push(event);
                Vec::new()
            }
            Command::Spawn { slot, generation } => {
                self.terminate(slot);
                match self.spawn(slot, generation) {
                    Ok(worker) => {
                        self.set_worker(slot, Some(worker));
                        Vec::new()
                    }
                    Err(reason) => self.scheduler.on_crash(slot, generation, reason, now_ms()),
                }
            }
            Command::Terminate { slot, generation } => {
                if self.worker(slot, generation).is_some() {
                    self.terminate(slot);
                }
                Vec::new()
            }
            Command::SendData { slot, generation } => match self.send_data(slot, generation) {
                Ok(()) => Vec::new(),
                Err(reason) => self.scheduler.on_crash(slot, generation, reason, now_ms()),
            },
            Command::Post { slot, generation, message } => match self.post(slot, generation, &message) {
                Ok(()) => Vec::new(),
                Err(reason) => self.scheduler.on_crash(slot, generation, reason, now_ms()),
            },
            Command::WakeAt { at_ms } => {
                let me = self.me.clone();
                let delay = Duration::from_millis((at_ms - now_ms()).max(0.0).ceil() as u64);
                set_timeout(move || with_host(&me, |host| host.apply(|s| s.tick(now_ms()))), delay);
                Vec::new()
            }
        }
    }

    fn worker(&self, slot: usize, generation: u32) -> Option<&Worker> {
        self.workers.get(slot)?.as_ref().filter(|w| w.generation == generation).map(|w| &w.worker)
    }

    fn set_worker(&mut self, slot: usize, worker: Option<JsWorker>) {
        if self.workers.len() <= slot {
            self.workers.resize_with(slot + 1, || None);
        }
        self.workers[slot] = worker;
    }

    fn terminate(&mut self, slot: usize) {
        if let Some(old) = self.workers.get_mut(slot).and_then(Option::take) {
            old.worker.terminate();
        }
    }

    fn spawn(&self, slot: usize, generation: u32) -> Result<JsWorker, Fault> {
        let me = self.me.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            with_host(&me, |host| host.handle(slot, generation, Incoming::Message(e.data())));
        });
        let me = self.me.clone();
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |e: ErrorEvent| {
            e.prevent_default();
            let text = Some(e.message()).filter(|m| !m.is_empty());
            with_host(&me, |host| host.handle(slot, generation, Incoming::Error(text)));
        });
        // Trunk's loader script for the worker calls importScripts, so it is a classic worker.
        let worker = Worker::new("./worker_loader.js").map_err(|e| Fault::NoStart(format!("{e:?}")))?;
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(JsWorker { generation, worker, _on_message: on_message, _on_error: on_error })
    }

    fn send_data(&self, slot: usize, generation: u32) -> Result<(), Fault> {
        let worker = self.worker(slot, generation).ok_or(Fault::Gone)?;
        let images = js_sys::Uint8Array::from(&self.data.pixels[..]);
        let labels = js_sys::Uint8Array::from(&self.data.labels[..]);
        let envelope = wire::envelope_of(&ToWorker::LoadData { count: self.data.labels.len() as u32 }).map_err(Fault::ImagesNotSent)?;
        wire::put(&envelope, envelope::IMAGES, &images.buffer());
        wire::put(&envelope, envelope::LABELS, &labels.buffer());
        // Transferred, not cloned: the buffers move to the worker.
        let transfer = js_sys::Array::of2(&images.buffer(), &labels.buffer());
        worker.post_message_with_transfer(&envelope, &transfer).map_err(|e| Fault::ImagesNotSent(format!("{e:?}")))
    }

    fn post(&self, slot: usize, generation: u32, message: &ToWorker) -> Result<(), Fault> {
        let worker = self.worker(slot, generation).ok_or(Fault::Gone)?;
        let envelope = wire::envelope_of(message).map_err(Fault::NotSent)?;
        let sent = match message {
            // A checkpoint to resume goes beside the request, as a fresh buffer transferred to
            // the worker (the page keeps its own copy for a retry).
            ToWorker::Train { request: TrainRequest { checkpoint: Some(bytes), .. }, .. } => {
                let buffer = js_sys::Uint8Array::from(&bytes[..]).buffer();
                wire::put(&envelope, envelope::CHECKPOINT, &buffer);
                worker.post_message_with_transfer(&envelope, &js_sys::Array::of1(&buffer))
            }
            _ => worker.post_message(&envelope.into()),
        };
        sent.map_err(|e| Fault::NotSent(format!("{e:?}")))
    }
}

/// Run `f` on the host, if it still exists (callbacks and timers hold only a weak reference,
/// so they do not keep the workers alive).
fn with_host(me: &Weak<RefCell<Inner>>, f: impl FnOnce(&WorkerHost)) {
    if let Some(inner) = me.upgrade() {
        f(&WorkerHost { inner });
    }
}
