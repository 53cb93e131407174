//! The worker pool: N training workers, each started, greeted and loaded with its own copy of the
//! training pool, then given trials one at a time from a queue.
//!
//! - Handshake: a worker gets work only after its `Ready` (with a matching protocol version) and
//!   its `DataLoaded`.
//! - Data: each worker receives the 60,000-image training pool as u8 in two `ArrayBuffer`s that
//!   are *transferred* (moved, not structured-cloned).
//! - Cancel = terminate and respawn; a worker that panics or errors has its trial marked failed
//!   with the panic text and is replaced. Messages from a replaced worker are ignored: each slot
//!   has a generation, and each trial attempt its `(trial_id, attempt)` key.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use tunelab::data::mnist::LabeledImages;
use tunelab::nn::EpochReport;
use tunelab::protocol::{FromWorker, ToWorker, TrainRequest, TrialEnd, TrialKey, PROTOCOL_VERSION};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};

/// What the pool tells the page.
#[derive(Debug, Clone)]
pub enum PoolEvent {
    Workers(Vec<WorkerStatus>),
    Started { trial: TrialKey, worker: usize },
    Epoch { trial: TrialKey, report: EpochReport },
    Finished { trial: TrialKey, end: TrialEnd },
    /// The worker running the trial died (panic, error); the trial is over.
    Crashed { trial: TrialKey, reason: String },
    Cancelled { trial: TrialKey },
    /// A worker could not be started or loaded; it will not take work.
    WorkerProblem { worker: usize, reason: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum WorkerState {
    Starting,
    LoadingData,
    Idle,
    Training(TrialKey),
    Broken(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkerStatus {
    pub index: usize,
    pub state: WorkerState,
    /// How many times this slot's worker has been replaced.
    pub restarts: u32,
}

struct Job {
    trial: TrialKey,
    request: TrainRequest,
}

struct Slot {
    index: usize,
    generation: u32,
    restarts: u32,
    worker: Option<Worker>,
    state: WorkerState,
    running: Option<Job>,
    retire: bool,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

struct Inner {
    slots: Vec<Slot>,
    queue: VecDeque<Job>,
    data: Rc<LabeledImages>,
    next_generation: u32,
    listener: Rc<dyn Fn(PoolEvent)>,
    me: Weak<RefCell<Inner>>,
}

/// A handle to the pool; cheap to clone.
#[derive(Clone)]
pub struct Pool {
    inner: Rc<RefCell<Inner>>,
}

thread_local! {
    /// Events raised while the pool is borrowed are delivered after the borrow ends, so a
    /// listener may call back into the pool.
    static PENDING: RefCell<Vec<PoolEvent>> = const { RefCell::new(Vec::new()) };
}

fn raise(event: PoolEvent) {
    PENDING.with(|p| p.borrow_mut().push(event));
}

fn encode(msg: &ToWorker) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    serde::Serialize::serialize(msg, &serializer).expect("protocol messages always encode")
}

impl Pool {
    /// Start `size` workers that will train on `data` (the 60,000-image training pool).
    pub fn new(size: usize, data: Rc<LabeledImages>, listener: Rc<dyn Fn(PoolEvent)>) -> Self {
        let inner = Rc::new_cyclic(|me| RefCell::new(Inner { slots: Vec::new(), queue: VecDeque::new(), data, next_generation: 0, listener, me: me.clone() }));
        let pool = Self { inner };
        pool.resize(size);
        pool
    }

    fn deliver(&self) {
        let events: Vec<PoolEvent> = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
        let listener = self.inner.borrow().listener.clone();
        for e in events {
            listener(e);
        }
    }

    /// Grow or shrink to `size` workers (at least 1). Busy workers beyond the new size finish
    /// their trial first.
    pub fn resize(&self, size: usize) {
        let size = size.max(1);
        {
            let mut inner = self.inner.borrow_mut();
            for s in inner.slots.iter_mut() {
                s.retire = s.index >= size;
            }
            inner.slots.retain(|s| {
                let idle = !matches!(s.state, WorkerState::Training(_));
                if s.retire && idle {
                    s.terminate();
                    false
                } else {
                    true
                }
            });
            let have: Vec<usize> = inner.slots.iter().map(|s| s.index).collect();
            for index in 0..size {
                if !have.contains(&index) {
                    let slot = inner.spawn(index, 0);
                    inner.slots.push(slot);
                }
            }
            inner.slots.sort_by_key(|s| s.index);
            inner.report_workers();
        }
        self.deliver();
    }

    /// Queue a trial; it starts as soon as a worker is free.
    pub fn submit(&self, trial: TrialKey, request: TrainRequest) {
        {
            let mut inner = self.inner.borrow_mut();
            inner.queue.push_back(Job { trial, request });
            inner.dispatch();
        }
        self.deliver();
    }

    /// Stop a trial: drop it from the queue, or terminate the worker running it and start a new one.
    pub fn cancel(&self, trial_id: u32) {
        {
            let mut inner = self.inner.borrow_mut();
            if let Some(pos) = inner.queue.iter().position(|j| j.trial.trial_id == trial_id) {
                let job = inner.queue.remove(pos).expect("position is valid");
                raise(PoolEvent::Cancelled { trial: job.trial });
            }
            if let Some(i) = inner.slots.iter().position(|s| s.running.as_ref().is_some_and(|j| j.trial.trial_id == trial_id)) {
                let job = inner.slots[i].running.take().expect("checked above");
                raise(PoolEvent::Cancelled { trial: job.trial });
                inner.replace(i);
            }
            inner.dispatch();
            inner.report_workers();
        }
        self.deliver();
    }

    fn handle(&self, index: usize, generation: u32, event: Incoming) {
        {
            let mut inner = self.inner.borrow_mut();
            let Some(i) = inner.slots.iter().position(|s| s.index == index && s.generation == generation) else {
                return; // a message from a worker that has since been replaced
            };
            inner.on_event(i, event);
            inner.dispatch();
            inner.report_workers();
        }
        self.deliver();
    }
}

impl Slot {
    fn terminate(&self) {
        if let Some(w) = &self.worker {
            w.terminate();
        }
    }
}

enum Incoming {
    Message(JsValue),
    Error(String),
}

impl Inner {
    fn spawn(&mut self, index: usize, restarts: u32) -> Slot {
        self.next_generation += 1;
        let generation = self.next_generation;
        let me = self.me.clone();
        // The pool handle the callbacks use is rebuilt from the weak reference each time, so the
        // callbacks do not keep the pool alive.
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            with_pool(&me, |p| p.handle(index, generation, Incoming::Message(e.data())));
        });
        let me = self.me.clone();
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |e: ErrorEvent| {
            e.prevent_default();
            let text = if e.message().is_empty() { "the worker stopped with an error".to_string() } else { e.message() };
            with_pool(&me, |p| p.handle(index, generation, Incoming::Error(text)));
        });
        // Trunk's loader script for the worker calls importScripts, so it is a classic worker.
        let (worker, state) = match Worker::new("./worker_loader.js") {
            Ok(w) => {
                w.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                w.set_onerror(Some(on_error.as_ref().unchecked_ref()));
                (Some(w), WorkerState::Starting)
            }
            Err(e) => {
                let reason = format!("could not start a worker: {e:?}");
                raise(PoolEvent::WorkerProblem { worker: index, reason: reason.clone() });
                (None, WorkerState::Broken(reason))
            }
        };
        Slot { index, generation, restarts, worker, state, running: None, retire: false, _on_message: on_message, _on_error: on_error }
    }

    /// Terminate slot `i`'s worker and start a fresh one in its place.
    fn replace(&mut self, i: usize) {
        self.slots[i].terminate();
        let (index, restarts, retire) = (self.slots[i].index, self.slots[i].restarts + 1, self.slots[i].retire);
        if retire {
            self.slots.remove(i);
            return;
        }
        self.slots[i] = self.spawn(index, restarts);
    }

    fn send_data(&mut self, i: usize) {
        let data = &self.data;
        let images = js_sys::Uint8Array::from(&data.pixels[..]);
        let labels = js_sys::Uint8Array::from(&data.labels[..]);
        let envelope = js_sys::Object::new();
        let set = |k: &str, v: &JsValue| {
            js_sys::Reflect::set(&envelope, &k.into(), v).expect("setting a field on a plain object");
        };
        set("message", &encode(&ToWorker::LoadData { count: data.labels.len() as u32 }));
        set("images", &images.buffer());
        set("labels", &labels.buffer());
        let transfer = js_sys::Array::of2(&images.buffer(), &labels.buffer());
        let slot = &mut self.slots[i];
        let Some(worker) = &slot.worker else { return };
        match worker.post_message_with_transfer(&envelope, &transfer) {
            Ok(()) => slot.state = WorkerState::LoadingData,
            Err(e) => {
                let reason = format!("could not send the training data: {e:?}");
                slot.state = WorkerState::Broken(reason.clone());
                raise(PoolEvent::WorkerProblem { worker: slot.index, reason });
            }
        }
    }

    fn on_event(&mut self, i: usize, event: Incoming) {
        let message = match event {
            Incoming::Error(text) => return self.on_crash(i, text),
            Incoming::Message(value) => value,
        };
        let msg: FromWorker = match serde_wasm_bindgen::from_value(message) {
            Ok(m) => m,
            Err(e) => return self.on_crash(i, format!("the worker sent a message this page cannot read: {e}")),
        };
        match msg {
            FromWorker::Ready { protocol_version } if protocol_version == PROTOCOL_VERSION => self.send_data(i),
            FromWorker::Ready { protocol_version } => {
                let reason = format!("the worker speaks protocol {protocol_version}, this page {PROTOCOL_VERSION}; reload the page");
                self.slots[i].state = WorkerState::Broken(reason.clone());
                raise(PoolEvent::WorkerProblem { worker: self.slots[i].index, reason });
            }
            FromWorker::DataLoaded { .. } => self.slots[i].state = WorkerState::Idle,
            FromWorker::DataRejected { reason } | FromWorker::ProtocolError { message: reason } => {
                self.slots[i].state = WorkerState::Broken(reason.clone());
                raise(PoolEvent::WorkerProblem { worker: self.slots[i].index, reason });
            }
            FromWorker::Epoch { trial, report } => {
                if self.is_running(i, trial) {
                    raise(PoolEvent::Epoch { trial, report });
                }
            }
            FromWorker::Finished { trial, end } => {
                if self.is_running(i, trial) {
                    self.slots[i].running = None;
                    self.slots[i].state = WorkerState::Idle;
                    raise(PoolEvent::Finished { trial, end });
                    if self.slots[i].retire {
                        self.slots[i].terminate();
                        self.slots.remove(i);
                    }
                }
            }
            FromWorker::Panicked { message, .. } => self.on_crash(i, format!("the worker panicked: {message}")),
            // The page never asks for these; the benchmark driver does.
            FromWorker::BenchmarkDone { .. } | FromWorker::Memory { .. } => {}
        }
    }

    fn is_running(&self, i: usize, trial: TrialKey) -> bool {
        tunelab::protocol::is_current(trial, self.slots[i].running.as_ref().map(|j| j.trial))
    }

    /// The worker in slot `i` died: fail its trial, if any, and replace it.
    fn on_crash(&mut self, i: usize, reason: String) {
        if let Some(job) = self.slots[i].running.take() {
            raise(PoolEvent::Crashed { trial: job.trial, reason: reason.clone() });
        } else {
            raise(PoolEvent::WorkerProblem { worker: self.slots[i].index, reason });
        }
        self.replace(i);
    }

    fn dispatch(&mut self) {
        for i in 0..self.slots.len() {
            if self.queue.is_empty() {
                break;
            }
            if self.slots[i].state != WorkerState::Idle || self.slots[i].retire {
                continue;
            }
            let job = self.queue.pop_front().expect("queue is not empty");
            let msg = encode(&ToWorker::Train { trial: job.trial, request: job.request.clone() });
            let envelope = js_sys::Object::new();
            js_sys::Reflect::set(&envelope, &"message".into(), &msg).expect("setting a field on a plain object");
            let sent = match &self.slots[i].worker {
                Some(w) => w.post_message(&envelope),
                None => Err(JsValue::from_str("no worker")),
            };
            match sent {
                Ok(()) => {
                    self.slots[i].state = WorkerState::Training(job.trial);
                    raise(PoolEvent::Started { trial: job.trial, worker: self.slots[i].index });
                    self.slots[i].running = Some(job);
                }
                Err(e) => {
                    raise(PoolEvent::Crashed { trial: job.trial, reason: format!("could not send the trial to a worker: {e:?}") });
                    self.replace(i);
                }
            }
        }
    }

    fn report_workers(&self) {
        let statuses = self
            .slots
            .iter()
            .filter(|s| !s.retire || s.running.is_some())
            .map(|s| WorkerStatus { index: s.index, state: s.state.clone(), restarts: s.restarts })
            .collect();
        raise(PoolEvent::Workers(statuses));
    }
}

/// Rebuild a `Pool` handle from a weak reference to its state, if the pool still exists.
fn with_pool(me: &Weak<RefCell<Inner>>, f: impl FnOnce(&Pool)) {
    if let Some(inner) = me.upgrade() {
        f(&Pool { inner });
    }
}
