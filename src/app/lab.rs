//! The page's state, and the one handle (`Lab`, `Copy`) the panels reach it through.
//!
//! Panels read through narrow, read-only `Signal`s and act through the handle's methods; none
//! of them writes a signal. The experiment (the studies: the page's one trial model) and the
//! workers hold JS handles or trait objects, so they live in local `StoredValue`s; what the
//! panels draw is copied out of them into signals after each change.

use super::dataset::DatasetStatus;
use super::final_worker::{FinalEvent, FinalWorker};
use super::keeping::{clock_zero_unix_ms, Keeping};
use super::workers::{now_ms, WorkerHost};
use leptos::prelude::*;
use std::rc::Rc;
use std::time::Duration;
use tunelab::chart::accuracy_scale::AccuracyScale;
use tunelab::chart::parallel::{passes, Brush};
use tunelab::chart::why_next::{InsideTraining, MedianView, WhyNext};
use tunelab::data::mnist::LabeledImages;
use tunelab::experiment::final_eval::Retrainings;
use tunelab::experiment::journal::{restore, segment_entry, Entry, Restored, Standing};
use tunelab::experiment::live::{Candidate, LiveExperiment, LiveTrial, RaceState, SingleError, StudySummary};
use tunelab::experiment::race::{FieldError, RaceSetup};
use tunelab::experiment::record::{OpenError, RaceRecord};
use tunelab::nn::bench::Calibration;
use tunelab::protocol::{FromWorker, ReadFailure, Reading, ToWorker, TrainRequest};
use tunelab::scheduler::{Event, Fault, JobEnd, Notice, TrialRef, WorkerStatus};
use tunelab::share::link::PanelState;
use tunelab::text::{Key, Lang};

/// The race's panels drawn one after another after Start (`Lab::race_staged`).
pub const RACE_PANELS: u8 = 6;

/// How often, at most, the views redraw while trials stream in.
const REDRAW_EVERY_MS: u64 = 100;

/// What the race views show of the race.
#[derive(Debug, Clone, PartialEq)]
pub struct RaceView {
    pub setup: RaceSetup,
    pub state: RaceState,
    /// One per method, in the setup's order.
    pub studies: Vec<StudySummary>,
    /// Page clock (ms) at Start, and when the race ended.
    pub started_ms: f64,
    pub ended_ms: Option<f64>,
    /// Checkpoints of paused trials kept on the page now (count, bytes), and the largest seen.
    pub checkpoints: (usize, usize),
    pub largest_checkpoint: usize,
}

/// A drawing as the retrained network read it, and how long the page waited for the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawingRead {
    pub model: u32,
    pub result: Result<Reading, ReadFailure>,
    pub ms: f64,
}

/// The training file and the test images, each once loaded (the test images arrive after the
/// training file: a race needs only the training file).
#[derive(Default, Clone)]
struct Images {
    train: Option<Rc<LabeledImages>>,
    test: Option<Rc<LabeledImages>>,
}

/// The drawing being read in the final worker, and the latest one waiting for it to answer.
#[derive(Default)]
struct Reader {
    next: u32,
    in_flight: Option<(u32, f64)>,
    waiting: Option<(u32, Vec<u8>, u32, u32)>,
}

/// The most workers the page offers.
pub const MAX_WORKERS: usize = 16;

/// The machine's logical cores, as the browser reports them.
pub fn cores() -> usize {
    (web_sys::window().map(|w| w.navigator().hardware_concurrency()).unwrap_or(2.0) as usize).max(1)
}

/// Default number of workers: one per core, leaving one for the page; at least 1, at most
/// `MAX_WORKERS`.
pub fn default_workers() -> usize {
    cores().saturating_sub(1).clamp(1, MAX_WORKERS)
}

/// A sentence for the page that is not about one trial.
#[derive(Debug, Clone, PartialEq)]
pub enum PageNotice {
    Workers(Notice),
    /// The final test's worker was lost: the worker's or the browser's words.
    FinalWorkerLost(Fault),
}

impl PageNotice {
    pub fn text(&self, lang: Lang) -> String {
        match self {
            PageNotice::Workers(notice) => lang.notice(notice),
            PageNotice::FinalWorkerLost(why) => lang.fill(Key::FinalWorkerLost, &[("why", &lang.fault(why))]),
        }
    }
}

#[derive(Clone, Copy)]
pub struct Lab {
    dataset: RwSignal<DatasetStatus>,
    workers: RwSignal<Vec<WorkerStatus>>,
    worker_count: RwSignal<usize>,
    notices: RwSignal<Vec<PageNotice>>,
    runs: RwSignal<Vec<LiveTrial>>,
    race: RwSignal<Option<RaceView>>,
    /// Ranges held on the parallel coordinates: the views show only the trials inside.
    brushes: RwSignal<Vec<Brush>>,
    /// Training images per second per worker, measured on the complete trials (None before).
    throughput: RwSignal<Option<f64>>,
    /// The workers' quick speed test, for estimates before any trial has run.
    calibration: RwSignal<Option<Calibration>>,
    /// How many of the race's panels may draw: after Start they appear one per task, so that
    /// building them never blocks the page in one long task.
    staged: RwSignal<u8>,
    selected: RwSignal<Option<TrialRef>>,
    /// The page clock (ms), ticking while a trial runs.
    clock: RwSignal<f64>,
    experiment: StoredValue<LiveExperiment, LocalStorage>,
    host: StoredValue<Option<WorkerHost>, LocalStorage>,
    /// A redraw is scheduled.
    redraw_due: StoredValue<bool>,
    race_started_ms: StoredValue<f64>,
    race_ended_ms: StoredValue<Option<f64>>,
    /// Each method's best trial, the best first: what the final test may retrain.
    candidates: RwSignal<Vec<Candidate>>,
    retrainings: RwSignal<Retrainings>,
    /// How many training images a retraining uses (the result panel's choice).
    retrain_images: RwSignal<u32>,
    /// The retraining whose test the result panel shows, and whose network reads drawings.
    final_shown: RwSignal<Option<u32>>,
    reading: RwSignal<Option<DrawingRead>>,
    /// A drawing is being read, or waits to be.
    reading_pending: RwSignal<bool>,
    reader: StoredValue<Reader, LocalStorage>,
    final_worker: StoredValue<Option<FinalWorker>, LocalStorage>,
    /// The training file and the test images, once loaded (the final worker gets copies).
    images: StoredValue<Images, LocalStorage>,
    /// The panel of the record opened last (None inside: the panel cannot show its setup).
    imported: RwSignal<Option<Option<PanelState>>>,
    /// The race on the screen is an opened record: its wall-clock start and worker count.
    opened_as: StoredValue<Option<(Option<f64>, usize)>>,
    /// The races kept in this browser, and the journal of the one on the screen.
    keeping: Keeping,
    /// A race restored from its journal: the trials that were training when the page went, to
    /// train again on Resume.
    held_back: StoredValue<Vec<(TrialRef, TrainRequest)>, LocalStorage>,
    /// What the page says about the race it restored last.
    restored: RwSignal<Option<RestoredNote>>,
}

/// What the page says about a race restored from this browser.
#[derive(Debug, Clone, PartialEq)]
pub enum RestoredNote {
    /// `finished` trials kept; `interrupted` were training and train again on Resume; `skipped`
    /// bytes at the journal's end were damaged or cut and left out.
    Kept { finished: usize, interrupted: usize, skipped: usize },
    /// Another tab is running this race: shown as it stood, read only.
    Elsewhere { finished: usize },
    /// It could not be restored: why.
    Failed(String),
}

impl Lab {
    pub fn new(dataset: RwSignal<DatasetStatus>) -> Self {
        Self {
            dataset,
            workers: RwSignal::new(Vec::new()),
            worker_count: RwSignal::new(default_workers()),
            notices: RwSignal::new(Vec::new()),
            runs: RwSignal::new(Vec::new()),
            race: RwSignal::new(None),
            brushes: RwSignal::new(Vec::new()),
            throughput: RwSignal::new(None),
            calibration: RwSignal::new(None),
            staged: RwSignal::new(u8::MAX),
            selected: RwSignal::new(None),
            clock: RwSignal::new(now_ms()),
            experiment: StoredValue::new_local(LiveExperiment::default()),
            host: StoredValue::new_local(None),
            redraw_due: StoredValue::new(false),
            race_started_ms: StoredValue::new(0.0),
            race_ended_ms: StoredValue::new(None),
            candidates: RwSignal::new(Vec::new()),
            retrainings: RwSignal::new(Retrainings::default()),
            retrain_images: RwSignal::new(60_000),
            final_shown: RwSignal::new(None),
            reading: RwSignal::new(None),
            reading_pending: RwSignal::new(false),
            reader: StoredValue::new_local(Reader::default()),
            final_worker: StoredValue::new_local(None),
            images: StoredValue::new_local(Images::default()),
            imported: RwSignal::new(None),
            opened_as: StoredValue::new(None),
            keeping: Keeping::new(),
            held_back: StoredValue::new_local(Vec::new()),
            restored: RwSignal::new(None),
        }
    }

    pub fn keeping(&self) -> Keeping {
        self.keeping
    }

    pub fn restored(&self) -> Signal<Option<RestoredNote>> {
        self.restored.into()
    }

    /// Open the browser's storage, then restore the newest unfinished race this tab may write
    /// (the page was reloaded or closed mid-race) — unless the page was opened with a link to
    /// another experiment (`link`: the experiment the link holds).
    pub fn open_storage(&self, link: Option<PanelState>) {
        let lab = *self;
        leptos::task::spawn_local(async move {
            lab.keeping.open().await;
            let newest = lab.keeping.experiments().get_untracked().into_iter().find(|s| s.standing == Standing::Unfinished);
            let Some(newest) = newest.filter(|s| !super::tab_lease::held_elsewhere(&s.id)) else { return };
            if lab.race.get_untracked().is_some() {
                return;
            }
            let Ok((journal, entries)) = lab.keeping.load(&newest.id).await else { return };
            let Ok(restored) = restore(&journal, clock_zero_unix_ms()) else { return };
            if link.is_some_and(|link| link.setup().ok().as_ref() != Some(&restored.setup)) {
                return;
            }
            lab.show_restored(&newest.id, entries, restored);
        });
    }

    /// Open past experiment `id` from this browser in place of the race on the screen.
    pub fn open_experiment(&self, id: String) {
        let lab = *self;
        leptos::task::spawn_local(async move {
            let restored = match lab.keeping.load(&id).await {
                Ok((journal, entries)) => restore(&journal, clock_zero_unix_ms()).map(|r| (r, entries)).map_err(|e| e.to_string()),
                Err(why) => Err(why),
            };
            match restored {
                Ok((restored, entries)) => lab.show_restored(&id, entries, restored),
                Err(why) => lab.restored.set(Some(RestoredNote::Failed(why))),
            }
        });
    }

    /// Show a race rebuilt from journal `id` (`entries` long): its finished trials as they
    /// ended, the ones that were training shown interrupted and held back until Resume.
    fn show_restored(&self, id: &str, entries: u32, restored: Restored) {
        let Restored { setup, started_unix_ms, mut live, pending, left, .. } = restored;
        let interrupted: Vec<TrialRef> = pending.iter().map(|(t, _)| *t).collect();
        let unfinished = matches!(live.race_state(), Some(RaceState::Running | RaceState::Paused));
        let writing = unfinished && self.keeping.resume_writing(id, entries, started_unix_ms);
        if !writing {
            self.keeping.stop_writing();
        }
        live.mark_interrupted(&interrupted);
        if unfinished {
            live.set_paused(true);
        }
        let finished = live.runs().filter(|r| r.state.is_finished()).count() - interrupted.len();
        let ended = (!unfinished).then(|| live.runs().filter_map(|r| r.finished_ms).fold(f64::MIN, f64::max));
        self.experiment.set_value(live);
        self.held_back.set_value(if writing { pending } else { Vec::new() });
        if let Some(host) = self.host() {
            host.set_paused(unfinished);
        }
        self.opened_as.set_value(None);
        self.show_new_race(started_unix_ms - clock_zero_unix_ms(), ended);
        self.imported.set(Some(PanelState::of(&setup)));
        self.restored.set(Some(match (unfinished, writing) {
            (true, false) => RestoredNote::Elsewhere { finished },
            _ => RestoredNote::Kept { finished, interrupted: interrupted.len(), skipped: left.map_or(0, |(bytes, _)| bytes) },
        }));
        self.refresh();
    }

    pub fn race(&self) -> Signal<Option<RaceView>> {
        self.race.into()
    }

    /// The race, for the panel drawn `k`-th (None until its turn after Start).
    pub fn race_staged(&self, k: u8) -> Signal<Option<RaceView>> {
        let (race, staged) = (self.race, self.staged);
        Signal::derive(move || if staged.get() >= k { race.get() } else { None })
    }

    /// Let the race's panels draw one at a time, a task each.
    fn stage_panels(&self, k: u8) {
        let lab = *self;
        set_timeout(
            move || {
                lab.staged.set(k);
                if k < RACE_PANELS {
                    lab.stage_panels(k + 1);
                }
            },
            Duration::ZERO,
        );
    }

    /// Budget images per second per worker for `setup`, and whether complete trials measured
    /// it (true) or it comes from the workers' speed test (false); None before either.
    pub fn rate_for(&self, setup: &RaceSetup) -> Option<(f64, bool)> {
        match self.throughput.get() {
            Some(rate) => Some((rate, true)),
            None => self.calibration.get().and_then(|c| setup.calibrated_rate(&c)).map(|rate| (rate, false)),
        }
    }

    pub fn brushes(&self) -> Signal<Vec<Brush>> {
        self.brushes.into()
    }

    pub fn set_brushes(&self, brushes: Vec<Brush>) {
        self.brushes.set(brushes);
    }

    /// Whether a trial passes the brushes held on the parallel coordinates.
    pub fn passes(&self, trial: &LiveTrial) -> bool {
        self.brushes.with(|b| b.is_empty() || passes(&trial.unit, trial.score.map(|s| AccuracyScale::default().t(s)), b))
    }

    /// Start a race (the one before, if any, is replaced; its trials stay in the table).
    pub fn start_race(&self, setup: RaceSetup) -> Result<(), Vec<FieldError>> {
        self.experiment.try_update_value(|e| e.add_race(setup)).expect("the experiment lives as long as the page")?;
        self.opened_as.set_value(None);
        self.held_back.set_value(Vec::new());
        self.restored.set(None);
        let workers = self.worker_count.get_untracked();
        self.experiment.with_value(|e| self.keeping.begin(e, workers));
        self.show_new_race(now_ms(), None);
        if let Some(host) = self.host() {
            host.set_paused(false);
        }
        // The first trials go out in this task; the page redraws in the next, so neither task
        // holds the main thread long.
        self.dispatch();
        let lab = *self;
        set_timeout(move || lab.refresh(), Duration::ZERO);
        Ok(())
    }

    /// A race new on the screen (started, or opened from a record): its times, no trial
    /// selected, no brushes, its panels drawn one at a time.
    fn show_new_race(&self, started_ms: f64, ended_ms: Option<f64>) {
        self.race_started_ms.set_value(started_ms);
        self.race_ended_ms.set_value(ended_ms);
        self.selected.set(None);
        self.brushes.set(Vec::new());
        self.staged.set(0);
        self.stage_panels(1);
    }

    /// Whether the race on the screen can be resumed here (not one another tab is running).
    pub fn resumable(&self) -> bool {
        !matches!(self.restored.get(), Some(RestoredNote::Elsewhere { .. }))
    }

    /// Stop starting trials (running ones finish), or start them again.
    pub fn set_paused(&self, paused: bool) {
        if !paused && !self.resumable() {
            return;
        }
        self.experiment.update_value(|e| e.set_paused(paused));
        if let Some(host) = self.host() {
            host.set_paused(paused);
        }
        if !paused {
            self.dispatch();
        }
        self.refresh();
    }

    /// The race's record (None before a race), dated by the page's clock.
    pub fn race_record(&self) -> Option<RaceRecord> {
        // An opened record keeps its own date and worker count, so it saves as it was read.
        let (clock_zero, workers) = self
            .opened_as
            .get_value()
            .unwrap_or_else(|| (web_sys::window().and_then(|w| w.performance()).map(|p| p.time_origin()), self.worker_count.get_untracked()));
        self.experiment.with_value(|e| match clock_zero {
            Some(zero) => RaceRecord::of_dated(e, workers, zero),
            None => RaceRecord::of(e, workers),
        })
    }

    /// Open a race record's text in place of the race on the screen (its trials rebuilt, not
    /// trained). A record that cannot be opened changes nothing. Returns its trial and method
    /// counts.
    pub fn open_record(&self, text: &str) -> Result<(usize, usize), OpenError> {
        let (record, live) = RaceRecord::open(text)?;
        self.keeping.stop_writing();
        self.held_back.set_value(Vec::new());
        self.restored.set(None);
        // The rebuilt race's clock: its first trial started at 0.
        let ended = live.runs().filter_map(|r| r.finished_ms).fold(0.0, f64::max);
        self.experiment.set_value(live);
        self.opened_as.set_value(Some((record.started_unix_ms, record.workers)));
        self.show_new_race(0.0, Some(ended));
        self.imported.set(Some(PanelState::of(&record.setup)));
        self.refresh();
        Ok((record.studies.iter().map(|s| s.trials.len()).sum(), record.studies.len()))
    }

    /// The panel of the record opened last: Some(None) when the panel cannot show its setup.
    pub fn imported(&self) -> Signal<Option<Option<PanelState>>> {
        self.imported.into()
    }

    /// Cancel the race: running and waiting trials end Interrupted; finished ones stay.
    pub fn cancel_race(&self) {
        let studies = self.experiment.try_update_value(|e| e.cancel_race()).unwrap_or_default();
        self.held_back.set_value(Vec::new());
        self.experiment.with_value(|e| self.keeping.write(Entry::Cancelled, e));
        if let Some(host) = self.host() {
            for study in studies {
                host.cancel_study(study);
            }
            host.set_paused(false);
        }
        self.refresh();
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
    pub fn notices(&self) -> Signal<Vec<PageNotice>> {
        self.notices.into()
    }
    pub fn runs(&self) -> Signal<Vec<LiveTrial>> {
        self.runs.into()
    }
    pub fn clock(&self) -> Signal<f64> {
        self.clock.into()
    }

    /// The trial the detail panel shows: the one chosen in a list, else the latest.
    pub fn shown(&self) -> Signal<Option<LiveTrial>> {
        let (runs, selected) = (self.runs, self.selected);
        Signal::derive(move || runs.with(|r| selected.get().and_then(|t| r.iter().find(|x| x.trial == t)).or(r.last()).cloned()))
    }

    pub fn selected(&self) -> Signal<Option<TrialRef>> {
        self.selected.into()
    }

    pub fn is_ready(&self) -> bool {
        matches!(self.dataset.get(), DatasetStatus::Ready { .. })
    }

    pub fn tick_clock(&self) {
        self.clock.set(now_ms());
    }

    /// Start the workers once the training file is here (the final worker, started when first
    /// needed, gets it and the test images).
    pub fn start_workers(&self, data: Rc<LabeledImages>) {
        let lab = *self;
        self.images.update_value(|i| i.train = Some(data.clone()));
        let host = WorkerHost::start(self.worker_count.get_untracked(), data, Rc::new(move |event| lab.on_event(event)));
        // A race restored before the workers were up waits for Resume.
        host.set_paused(self.experiment.with_value(|e| e.race_state() == Some(RaceState::Paused)));
        self.host.set_value(Some(host));
        self.workers.set(self.host().map(|h| h.statuses()).unwrap_or_default());
        self.dispatch();
    }

    /// Train one configuration: a study of one trial.
    pub fn train(&self, request: TrainRequest) -> Result<(), SingleError> {
        let study = self
            .experiment
            .try_update_value(|e| e.add_single(request.config, request.data, request.seed))
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
        // A restored race's interrupted trials go first, as they went before.
        let mut requests = self.held_back.try_update_value(std::mem::take).unwrap_or_default();
        requests.extend(self.experiment.try_update_value(|e| e.next_requests()).unwrap_or_default());
        for (study, spent) in self.experiment.with_value(|e| e.spent().collect::<Vec<_>>()) {
            host.set_spent(study, spent);
        }
        for (trial, request) in requests {
            host.submit(trial, request);
        }
    }

    /// Copy what the views draw out of the experiment, now.
    fn refresh(&self) {
        self.redraw_due.set_value(false);
        self.runs.set(self.experiment.with_value(|e| e.runs().cloned().collect()));
        let now = now_ms();
        let view = self.experiment.with_value(|e| {
            let race = e.race()?;
            let state = e.race_state()?;
            let studies = race.studies.iter().filter_map(|&s| e.study_summary(s)).collect();
            Some((race.setup.clone(), state, studies, e.checkpoints_kept(), e.largest_checkpoint()))
        });
        // This machine's measured throughput: every complete trial, raced or trained on its own.
        let (images, seconds) =
            self.experiment.with_value(|e| e.runs().filter_map(LiveTrial::throughput).fold((0.0, 0.0), |(i, s), (a, b)| (i + a as f64, s + b)));
        self.throughput.set((seconds > 0.0).then(|| images / seconds));
        let view = view.map(|(setup, state, studies, checkpoints, largest_checkpoint)| {
            let over = matches!(state, RaceState::Done | RaceState::Cancelled);
            if over && self.race_ended_ms.get_value().is_none() {
                self.race_ended_ms.set_value(Some(now));
            }
            RaceView {
                setup,
                state,
                studies,
                started_ms: self.race_started_ms.get_value(),
                ended_ms: self.race_ended_ms.get_value(),
                checkpoints,
                largest_checkpoint,
            }
        });
        self.race.set(view);
        let candidates = self.experiment.with_value(LiveExperiment::candidates);
        if candidates != self.candidates.get_untracked() {
            self.candidates.set(candidates);
        }
    }

    /// How many rounds `study`'s method has proposed (read while the trials change).
    pub fn rounds(&self, study: usize) -> usize {
        self.runs.track();
        self.experiment.with_value(|e| e.study(study).map_or(0, |s| s.rounds().len()))
    }

    /// What `study`'s "why this point next" panel draws for `round` on params `x` and `y`.
    pub fn why_next(&self, study: usize, round: usize, x: usize, y: usize) -> Option<WhyNext> {
        self.experiment.with_value(|e| tunelab::chart::why_next::why_next(e.study(study)?, round, x, y))
    }

    /// The median rule behind `study`'s round `round`, if the race stops trials by it.
    pub fn median(&self, study: usize, round: usize) -> Option<MedianView> {
        self.runs.track();
        self.experiment.with_value(|e| {
            let planned = |trial: usize| e.runs().find(|r| r.trial == TrialRef { study, trial }).map_or(0, |r| r.config.epochs);
            tunelab::chart::why_next::median_view(e.study(study)?, round, planned)
        })
    }

    /// What the panel of `study`'s method draws if it acts inside training (read while the
    /// trials change); None for a method that proposes rounds.
    pub fn inside_training(&self, study: usize) -> Option<InsideTraining> {
        use tunelab::chart::why_next::{lineage, path_lines, rung_ladder};
        self.runs.track();
        self.experiment.with_value(|e| {
            let s = e.study(study)?;
            Some(match s.method() {
                "hyperband" | "successive-halving" => InsideTraining::Ladder(rung_ladder(s.trials())),
                "pbt" => InsideTraining::Lineage(lineage(s.trials())),
                "hypergradient" => {
                    let runs: Vec<&LiveTrial> = e.runs().filter(|r| r.trial.study == study).collect();
                    let of = |pick: fn(&tunelab::protocol::Paths) -> Option<&tunelab::protocol::Path>| {
                        path_lines(runs.iter().filter_map(|r| Some((r.trial.trial, r.score, pick(r.paths.as_ref()?)?))))
                    };
                    InsideTraining::Paths { learning_rate: of(|p| p.learning_rate.as_ref()), l2: of(|p| p.l2.as_ref()) }
                }
                _ => return None,
            })
        })
    }

    pub fn candidates(&self) -> Signal<Vec<Candidate>> {
        self.candidates.into()
    }

    pub fn retrain_images(&self) -> Signal<u32> {
        self.retrain_images.into()
    }

    pub fn set_retrain_images(&self, images: u32) {
        self.retrain_images.set(images);
    }

    pub fn retrainings(&self) -> Signal<Retrainings> {
        self.retrainings.into()
    }

    pub fn final_shown(&self) -> Signal<Option<u32>> {
        self.final_shown.into()
    }

    pub fn show_final(&self, id: u32) {
        self.final_shown.set(Some(id));
    }

    pub fn reading(&self) -> Signal<Option<DrawingRead>> {
        self.reading.into()
    }

    pub fn reading_pending(&self) -> Signal<bool> {
        self.reading_pending.into()
    }

    /// The training file, once the workers have it (a load tried again fetches only the rest).
    pub fn training_file(&self) -> Option<Rc<LabeledImages>> {
        self.images.with_value(|i| i.train.clone())
    }

    pub fn set_test_images(&self, test: Rc<LabeledImages>) {
        self.images.update_value(|i| i.test = Some(test));
    }

    /// The test images (for the final test and the gallery of misclassified digits), once loaded.
    pub fn test_images(&self) -> Option<Rc<LabeledImages>> {
        self.images.with_value(|i| i.test.clone())
    }

    /// Retrain `candidates` on `images` of the training file and test them, one after another
    /// in the final worker; the first of them is shown once tested.
    pub fn retrain(&self, candidates: &[Candidate], images: u32) {
        let mut ids = Vec::new();
        self.retrainings.update(|r| ids = r.enqueue(candidates, images));
        if let Some(&first) = ids.first() {
            self.final_shown.set(Some(first));
        }
        self.start_next_retraining();
    }

    fn start_next_retraining(&self) {
        let Some((id, request)) = self.retrainings.try_update(Retrainings::start_next).flatten() else { return };
        if let Err(reason) = self.send_to_final_worker(ToWorker::Retrain { id, request }, None) {
            self.final_worker_lost(&reason);
        }
    }

    /// Send to the final worker, starting it first if there is none.
    fn send_to_final_worker(&self, message: ToWorker, beside: Option<Vec<u8>>) -> Result<(), Fault> {
        if self.final_worker.with_value(Option::is_none) {
            let Images { train: Some(train), test: Some(test) } = self.images.get_value() else { return Err(Fault::NoImages) };
            let lab = *self;
            let worker = FinalWorker::start(train, test, Rc::new(move |event| lab.on_final_event(event)))?;
            self.final_worker.set_value(Some(worker));
        }
        self.final_worker.with_value(|w| w.as_ref().map_or(Err(Fault::Gone), |w| w.send(message, beside)))
    }

    fn on_final_event(&self, event: FinalEvent) {
        match event {
            FinalEvent::Message(FromWorker::Retraining { id, progress }) => self.retrainings.update(|r| r.on_progress(id, progress)),
            FinalEvent::Message(FromWorker::Retrained { id, result }) => {
                self.retrainings.update(|r| r.on_result(id, result));
                self.start_next_retraining();
            }
            FinalEvent::Message(FromWorker::Reading { id, drawing, result }) => {
                // An answer for a drawing not in flight is stale (its worker was replaced).
                let (in_flight, waiting) = self.reader.with_value(|r| (r.in_flight, r.waiting.is_some()));
                let Some((_, sent_ms)) = in_flight.filter(|(d, _)| *d == drawing) else { return };
                self.reader.update_value(|r| r.in_flight = None);
                self.reading.set(Some(DrawingRead { model: id, result, ms: now_ms() - sent_ms }));
                if waiting {
                    self.send_waiting_drawing();
                } else {
                    self.reading_pending.set(false);
                }
            }
            FinalEvent::Message(_) => {}
            FinalEvent::Lost(reason) => self.final_worker_lost(&reason),
        }
    }

    fn final_worker_lost(&self, reason: &Fault) {
        // Dropping the handle terminates the worker; the next retraining starts a fresh one.
        self.final_worker.set_value(None);
        self.retrainings.update(|r| r.on_worker_lost(reason));
        self.reader.set_value(Reader::default());
        self.reading_pending.set(false);
        self.notices.update(|n| n.push(PageNotice::FinalWorkerLost(reason.clone())));
    }

    /// Read a drawing (`width` × `height` ink values) with the shown retrained network. One
    /// drawing is read at a time; while it is, only the latest drawing waits.
    pub fn read_drawing(&self, ink: Vec<u8>, width: u32, height: u32) {
        let Some(model) = self.final_shown.get_untracked() else { return };
        self.reader.update_value(|r| {
            r.waiting = Some((model, ink, width, height));
        });
        self.reading_pending.set(true);
        if self.reader.with_value(|r| r.in_flight.is_none()) {
            self.send_waiting_drawing();
        }
    }

    fn send_waiting_drawing(&self) {
        let Some((model, ink, width, height)) = self.reader.try_update_value(|r| r.waiting.take()).flatten() else { return };
        let drawing = self.reader.try_update_value(|r| {
            r.next += 1;
            r.in_flight = Some((r.next, now_ms()));
            r.next
        });
        let Some(drawing) = drawing else { return };
        if let Err(reason) = self.send_to_final_worker(ToWorker::Read { id: model, drawing, width, height }, Some(ink)) {
            self.final_worker_lost(&reason);
        }
    }

    /// Redraw soon: at most every `REDRAW_EVERY_MS`, however fast trials report.
    fn refresh_soon(&self) {
        if self.redraw_due.get_value() {
            return;
        }
        self.redraw_due.set_value(true);
        let lab = *self;
        set_timeout(move || lab.refresh(), Duration::from_millis(REDRAW_EVERY_MS));
    }

    fn on_event(&self, event: Event) {
        match &event {
            Event::Workers => {
                self.workers.set(self.host().map(|h| h.statuses()).unwrap_or_default());
                let calibration = self.host().and_then(|h| h.calibration());
                if calibration != self.calibration.get_untracked() {
                    self.calibration.set(calibration);
                }
            }
            Event::Notice(notice) => self.notices.update(|n| n.push(PageNotice::Workers(notice.clone()))),
            _ => {
                let changed = self.experiment.try_update_value(|e| e.on_event(&event, now_ms())).unwrap_or(false);
                // A segment that ended goes into the race's journal (a cancelled one is in the
                // race's own Cancelled entry).
                if let Event::Ended { trial, end } = &event {
                    if *end != JobEnd::Cancelled {
                        self.experiment.with_value(|e| {
                            if e.race().is_some_and(|r| r.studies.contains(&trial.study)) {
                                if let Some(entry) = segment_entry(e, *trial, end, clock_zero_unix_ms()) {
                                    self.keeping.write(entry, e);
                                }
                            }
                        });
                    }
                }
                if matches!(event, Event::Ended { .. }) {
                    self.dispatch();
                }
                if changed {
                    self.refresh_soon();
                }
            }
        }
    }
}
