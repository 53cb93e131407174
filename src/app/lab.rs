//! The page's state, and the one handle (`Lab`, `Copy`) the panels reach it through.
//!
//! Panels read through narrow, read-only `Signal`s and act through the handle's methods; none
//! of them writes a signal. The experiment (the studies: the page's one trial model) and the
//! workers hold JS handles or trait objects, so they live in local `StoredValue`s; what the
//! panels draw is copied out of them into signals after each change.

use super::dataset::DatasetStatus;
use super::workers::{now_ms, WorkerHost};
use leptos::prelude::*;
use std::rc::Rc;
use tunelab::data::mnist::LabeledImages;
use tunelab::experiment::live::{LiveExperiment, LiveTrial};
use tunelab::protocol::TrainRequest;
use tunelab::scheduler::{Event, TrialRef, WorkerStatus};

/// The most workers the page offers.
pub const MAX_WORKERS: usize = 16;

/// Default number of workers: one per core, leaving one for the page; at least 1, at most
/// `MAX_WORKERS`.
pub fn default_workers() -> usize {
    let cores = web_sys::window().map(|w| w.navigator().hardware_concurrency()).unwrap_or(2.0) as usize;
    cores.saturating_sub(1).clamp(1, MAX_WORKERS)
}

#[derive(Clone, Copy)]
pub struct Lab {
    dataset: RwSignal<DatasetStatus>,
    workers: RwSignal<Vec<WorkerStatus>>,
    worker_count: RwSignal<usize>,
    notices: RwSignal<Vec<String>>,
    runs: RwSignal<Vec<LiveTrial>>,
    selected: RwSignal<Option<TrialRef>>,
    /// The page clock (ms), ticking while a trial runs.
    clock: RwSignal<f64>,
    experiment: StoredValue<LiveExperiment, LocalStorage>,
    host: StoredValue<Option<WorkerHost>, LocalStorage>,
}

impl Lab {
    pub fn new(dataset: RwSignal<DatasetStatus>) -> Self {
        Self {
            dataset,
            workers: RwSignal::new(Vec::new()),
            worker_count: RwSignal::new(default_workers()),
            notices: RwSignal::new(Vec::new()),
            runs: RwSignal::new(Vec::new()),
            selected: RwSignal::new(None),
            clock: RwSignal::new(now_ms()),
            experiment: StoredValue::new_local(LiveExperiment::default()),
            host: StoredValue::new_local(None),
        }
    }

    pub fn dataset(&self) -> Signal<DatasetStatus> {
        self.dataset.into()
    }
    pub fn workers(&self) -> Signal<Vec<WorkerStatus>> {
        self.workers.into()
    }
    pub fn worker_count(&self) -> Signal<usize> {
        self.worker_count.into()
    }
    pub fn notices(&self) -> Signal<Vec<String>> {
        self.notices.into()
    }
    pub fn runs(&self) -> Signal<Vec<LiveTrial>> {
        self.runs.into()
    }
    pub fn clock(&self) -> Signal<f64> {
        self.clock.into()
    }

    /// The trial the detail panel shows: the one chosen in the list, else the latest.
    pub fn shown(&self) -> Signal<Option<LiveTrial>> {
        let (runs, selected) = (self.runs, self.selected);
        Signal::derive(move || runs.with(|r| selected.get().and_then(|t| r.iter().find(|x| x.trial == t)).or(r.last()).cloned()))
    }

    pub fn is_ready(&self) -> bool {
        matches!(self.dataset.get(), DatasetStatus::Ready { .. })
    }

    pub fn tick_clock(&self) {
        self.clock.set(now_ms());
    }

    /// Start the workers once the training images are here.
    pub fn start_workers(&self, data: Rc<LabeledImages>) {
        let lab = *self;
        let host = WorkerHost::start(self.worker_count.get_untracked(), data, Rc::new(move |event| lab.on_event(event)));
        self.host.set_value(Some(host));
        self.workers.set(self.host().map(|h| h.statuses()).unwrap_or_default());
    }

    /// Train one configuration: a study of one trial.
    pub fn train(&self, request: TrainRequest) -> Result<(), String> {
        let study = self
            .experiment
            .try_update_value(|e| e.add_single(request.config, request.subset_size, request.seed))
            .expect("the experiment lives as long as the page")?;
        self.selected.set(Some(TrialRef { study, trial: 0 }));
        self.dispatch();
        self.refresh();
        Ok(())
    }

    pub fn cancel(&self, trial: TrialRef) {
        if let Some(host) = self.host() {
            host.cancel(trial);
        }
    }

    pub fn select(&self, trial: TrialRef) {
        self.selected.set(Some(trial));
    }

    /// Use `count` workers (1 to `MAX_WORKERS`).
    pub fn resize(&self, count: usize) {
        let count = count.clamp(1, MAX_WORKERS);
        self.worker_count.set(count);
        if let Some(host) = self.host() {
            host.resize(count);
        }
    }

    fn host(&self) -> Option<WorkerHost> {
        self.host.with_value(Clone::clone)
    }

    /// Hand the studies' next trials to the workers.
    fn dispatch(&self) {
        let Some(host) = self.host() else { return };
        let requests = self.experiment.try_update_value(|e| e.next_requests()).unwrap_or_default();
        for (study, spent) in self.experiment.with_value(|e| e.spent().collect::<Vec<_>>()) {
            host.set_spent(study, spent);
        }
        for (trial, request) in requests {
            host.submit(trial, request);
        }
    }

    fn refresh(&self) {
        self.runs.set(self.experiment.with_value(|e| e.runs().cloned().collect()));
    }

    fn on_event(&self, event: Event) {
        match &event {
            Event::Workers => self.workers.set(self.host().map(|h| h.statuses()).unwrap_or_default()),
            Event::Notice(notice) => self.notices.update(|n| n.push(notice.clone())),
            _ => {
                let changed = self.experiment.try_update_value(|e| e.on_event(&event, now_ms())).unwrap_or(false);
                if matches!(event, Event::Ended { .. }) {
                    self.dispatch();
                }
                if changed {
                    self.refresh();
                }
            }
        }
    }
}
