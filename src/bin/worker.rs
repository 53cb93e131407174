//! The training worker: a Web Worker that receives the training file's 60,000 images once, then
//! trains trials one at a time (`experiment::job`: hold-out, or every fold of a k-fold), posting
//! a progress message after every epoch. The page's final worker also gets the test file: it
//! retrains a configuration on the whole training file, tests it (`experiment::final_eval`) and
//! keeps the network to read the digits a student draws.
//!
//! It speaks the versioned protocol in `tunelab::protocol`: it posts `Ready` once its message
//! handler is installed (a message posted to a worker before its wasm has started is lost), and
//! if it panics it reports the panic text and the trial it was running before it dies — the page
//! then marks that trial failed and starts a fresh worker.
//!
//! Training runs in slices of a few batches (`SLICE_MS` of work, the next slice scheduled as a
//! message to itself), so the worker's event loop turns between slices: a `Stop` is honoured at
//! the next batch boundary — the worker keeps its data and takes the next trial, so cancelling
//! costs no new copy of the training images. Slicing changes nothing in the result.

#![forbid(unsafe_code)]

// The page's encoder and decoder; the worker only opens envelopes, never builds one.
#[cfg(target_arch = "wasm32")]
#[path = "../app/wire.rs"]
#[allow(dead_code)]
mod wire;

#[cfg(target_arch = "wasm32")]
mod worker {
    use super::wire;
    use std::cell::{Cell, RefCell};
    use tunelab::data::mnist::LabeledImages;
    use tunelab::experiment::final_eval::{read_drawing, FinalJob, FinalStep};
    use tunelab::experiment::job::{Step, TrialJob};
    use tunelab::protocol::{envelope, FromWorker, ReadFailure, RetrainFailure, RetrainProgress, ToWorker, TrainRequest, TrialEnd, TrialKey, PROTOCOL_VERSION};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    /// The trial being trained, between two slices.
    struct ActiveTrial {
        key: TrialKey,
        job: TrialJob,
        /// When the page next hears where the epoch stands (`performance.now()`).
        progress_due_ms: f64,
    }

    thread_local! {
        static IMAGES: RefCell<Option<LabeledImages>> = const { RefCell::new(None) };
        static TEST: RefCell<Option<LabeledImages>> = const { RefCell::new(None) };
        /// The retraining under way (its model id, the job, when progress is next due).
        static RETRAINING: RefCell<Option<(u32, FinalJob, f64)>> = const { RefCell::new(None) };
        /// The networks retrained and tested, by model id, kept to read drawings.
        static MODELS: RefCell<Vec<(u32, FinalJob)>> = const { RefCell::new(Vec::new()) };
        static RUNNING: Cell<Option<TrialKey>> = const { Cell::new(None) };
        static ACTIVE: RefCell<Option<ActiveTrial>> = const { RefCell::new(None) };
        /// A trial the page asked to stop; honoured before its next slice.
        static STOP: Cell<Option<TrialKey>> = const { Cell::new(None) };
        /// The next slice is a message on this channel: unlike `setTimeout(0)`, which browsers
        /// clamp to 4 ms once timers nest, it costs nothing, and the page's messages still get
        /// their turn between slices.
        static NEXT_SLICE: web_sys::MessagePort = {
            let channel = web_sys::MessageChannel::new().expect("a worker can open a message channel");
            let run = Closure::<dyn FnMut()>::new(run_next_slice);
            channel.port1().set_onmessage(Some(run.as_ref().unchecked_ref()));
            run.forget();
            channel.port2()
        };
    }

    fn scope() -> DedicatedWorkerGlobalScope {
        js_sys::global().unchecked_into()
    }

    fn post(msg: &FromWorker) {
        match wire::encode(msg) {
            // A paused trial's checkpoint goes beside the message, transferred, not cloned.
            Ok(value) => match msg {
                FromWorker::Finished { end: TrialEnd::Paused { checkpoint, .. }, .. } => {
                    let bytes = js_sys::Uint8Array::from(&checkpoint[..]);
                    wire::put(value.unchecked_ref(), envelope::CHECKPOINT, &bytes.buffer());
                    let _ = scope().post_message_with_transfer(&value, &js_sys::Array::of1(&bytes.buffer()));
                }
                _ => {
                    let _ = scope().post_message(&value);
                }
            },
            Err(e) => web_sys::console::error_1(&format!("worker: {e}").into()),
        }
    }

    fn bytes_of(value: &JsValue) -> Option<Vec<u8>> {
        value.dyn_ref::<js_sys::ArrayBuffer>().map(|b| js_sys::Uint8Array::new(b).to_vec())
    }

    /// The `count` images and labels that came beside a message, checked.
    fn images_beside(data: &JsValue, count: u32) -> Result<LabeledImages, String> {
        let images = bytes_of(&wire::field(data, envelope::IMAGES));
        let labels = bytes_of(&wire::field(data, envelope::LABELS));
        match (images, labels) {
            (Some(images), Some(labels)) if labels.len() == count as usize => LabeledImages::from_parts(images, labels),
            (Some(_), Some(labels)) => Err(format!("expected {count} labels, got {}", labels.len())),
            _ => Err("the images or labels buffer is missing".into()),
        }
    }

    fn on_message(event: MessageEvent) {
        let data = event.data();
        let msg: ToWorker = match wire::open(&data) {
            Ok(m) => m,
            Err(e) => return post(&FromWorker::ProtocolError { message: format!("cannot read the message: {e}") }),
        };
        match msg {
            ToWorker::LoadData { count } => post(&match images_beside(&data, count) {
                Ok(images) => {
                    let performance = scope().performance().expect("workers have performance.now");
                    let calibration = tunelab::nn::bench::calibrate(images.as_ref(), &|| performance.now());
                    IMAGES.with(|p| *p.borrow_mut() = Some(images));
                    FromWorker::DataLoaded { count, calibration }
                }
                Err(reason) => FromWorker::DataRejected { reason },
            }),
            ToWorker::Benchmark { spec } => {
                let report = IMAGES.with(|p| {
                    p.borrow().as_ref().map(|images| {
                        let (train, _) = images.as_ref().train_validation_split();
                        let performance = scope().performance().expect("workers have performance.now");
                        tunelab::nn::bench::run_benchmark(&spec, train, &|| performance.now())
                    })
                });
                match report {
                    Some(report) => post(&FromWorker::BenchmarkDone { report, wasm_memory_bytes: wasm_memory_bytes() }),
                    None => post(&FromWorker::ProtocolError { message: "benchmark before any data was loaded".into() }),
                }
            }
            ToWorker::ReportMemory => post(&FromWorker::Memory { wasm_memory_bytes: wasm_memory_bytes() }),
            ToWorker::LoadTest { count } => post(&match images_beside(&data, count) {
                Ok(images) => {
                    TEST.with(|t| *t.borrow_mut() = Some(images));
                    FromWorker::TestLoaded { count }
                }
                Err(reason) => FromWorker::DataRejected { reason: format!("the test images: {reason}") },
            }),
            ToWorker::Retrain { id, request } => {
                let busy = ACTIVE.with(|a| a.borrow().is_some()) || RETRAINING.with(|r| r.borrow().is_some());
                let started = match IMAGES.with(|p| p.borrow().as_ref().map(|images| FinalJob::start(&request, images.as_ref()))) {
                    _ if busy => Err(RetrainFailure::Busy),
                    None => Err(RetrainFailure::NoTrainingImages),
                    Some(started) => started,
                };
                match started {
                    Ok(job) => {
                        RETRAINING.with(|r| *r.borrow_mut() = Some((id, job, 0.0)));
                        schedule_next_slice();
                    }
                    Err(reason) => post(&FromWorker::Retrained { id, result: Err(reason) }),
                }
            }
            ToWorker::Read { id, drawing, width, height } => {
                let ink = bytes_of(&wire::field(&data, envelope::IMAGES)).unwrap_or_default();
                let result = MODELS.with(|m| match m.borrow_mut().iter_mut().find(|(model, _)| *model == id) {
                    Some((_, job)) => read_drawing(job, &ink, width as usize, height as usize),
                    None => Err(ReadFailure::Other(format!("model {id} is not in this worker: retrain it first"))),
                });
                post(&FromWorker::Reading { id, drawing, result });
            }
            ToWorker::Stop { trial } => {
                // Only the trial running now; a stop for anything else is stale.
                if RUNNING.with(|r| r.get()) == Some(trial) {
                    STOP.with(|s| s.set(Some(trial)));
                }
            }
            ToWorker::Train { trial, mut request } => {
                request.checkpoint = bytes_of(&wire::field(&data, envelope::CHECKPOINT)).map(std::sync::Arc::from);
                if ACTIVE.with(|a| a.borrow().is_some()) {
                    let reason = "this worker is already training a trial".to_string();
                    return post(&FromWorker::Finished { trial, end: TrialEnd::Rejected { reason } });
                }
                match start_trial(trial, &request) {
                    Ok(active) => {
                        RUNNING.with(|r| r.set(Some(trial)));
                        ACTIVE.with(|a| *a.borrow_mut() = Some(active));
                        schedule_next_slice();
                    }
                    Err(end) => post(&FromWorker::Finished { trial, end }),
                }
            }
        }
    }

    fn wasm_memory_bytes() -> f64 {
        let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
        memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length() as f64
    }

    /// Check the request and draw its images (subset or folds).
    fn start_trial(key: TrialKey, request: &TrainRequest) -> Result<ActiveTrial, TrialEnd> {
        IMAGES.with(|p| {
            let images = p.borrow();
            let images = images.as_ref().ok_or_else(|| TrialEnd::Rejected { reason: "no training data has been loaded in this worker".into() })?;
            Ok(ActiveTrial { key, job: TrialJob::start(request, images.as_ref())?, progress_due_ms: 0.0 })
        })
    }

    fn schedule_next_slice() {
        NEXT_SLICE.with(|port| {
            let _ = port.post_message(&JsValue::NULL);
        });
    }

    /// How long a slice of training may run before the worker looks at its messages again.
    const SLICE_MS: f64 = 50.0;
    /// How often the page hears where an epoch stands.
    const PROGRESS_EVERY_MS: f64 = 250.0;

    /// Train a slice of the active trial; post each finished epoch, then schedule the next slice
    /// or finish.
    fn run_next_slice() {
        let Some(mut active) = ACTIVE.with(|a| a.borrow_mut().take()) else { return run_retraining_slice() };
        if STOP.with(|s| s.take()) == Some(active.key) {
            RUNNING.with(|r| r.set(None));
            return post(&FromWorker::Finished { trial: active.key, end: TrialEnd::Stopped { epochs_done: active.job.epochs_done() } });
        }
        let performance = scope().performance().expect("workers have performance.now");
        let deadline = performance.now() + SLICE_MS;
        let step = IMAGES.with(|p| {
            let images = p.borrow();
            let images = images.as_ref().expect("a trial starts only after the data arrived");
            active.job.step(images.as_ref(), &mut || performance.now() < deadline)
        });
        let end = match step {
            Step::Training { fold, epoch, batches_done, batches } => {
                if performance.now() >= active.progress_due_ms {
                    active.progress_due_ms = performance.now() + PROGRESS_EVERY_MS;
                    post(&FromWorker::Progress { trial: active.key, fold, epoch, batches_done, batches });
                }
                ACTIVE.with(|a| *a.borrow_mut() = Some(active));
                return schedule_next_slice();
            }
            Step::Epoch { fold, report, end } => {
                post(&FromWorker::Epoch { trial: active.key, fold, report });
                let Some(end) = end else {
                    ACTIVE.with(|a| *a.borrow_mut() = Some(active));
                    return schedule_next_slice();
                };
                end
            }
            Step::Diverged(end) => end,
        };
        RUNNING.with(|r| r.set(None));
        post(&FromWorker::Finished { trial: active.key, end });
    }

    /// The most retrained networks a worker keeps (one per method of a race).
    const MODELS_KEPT: usize = 12;

    /// Retrain or test a slice of the retraining under way; post where it stands, then schedule
    /// the next slice or post the result and keep the network.
    fn run_retraining_slice() {
        let Some((id, mut job, mut progress_due_ms)) = RETRAINING.with(|r| r.borrow_mut().take()) else { return };
        let performance = scope().performance().expect("workers have performance.now");
        let deadline = performance.now() + SLICE_MS;
        let step = IMAGES.with(|p| {
            TEST.with(|t| {
                let (images, test) = (p.borrow(), t.borrow());
                let images = images.as_ref().expect("a retraining starts only after the data arrived");
                match test.as_ref() {
                    Some(test) => job.step(images.as_ref(), test.as_ref(), &mut || performance.now() < deadline),
                    None => FinalStep::Failed(RetrainFailure::NoTestImages),
                }
            })
        });
        let epochs = job.epochs();
        let progress = match step {
            FinalStep::Training { epoch, batches_done, batches } => Some(RetrainProgress::Training { epoch, epochs, batches_done, batches }),
            FinalStep::Epoch(report) => Some(RetrainProgress::Training { epoch: report.epoch, epochs, batches_done: 1, batches: 1 }),
            FinalStep::Testing { done, of } => Some(RetrainProgress::Testing { done, of }),
            FinalStep::Tested(report) => {
                post(&FromWorker::Retrained { id, result: Ok(report) });
                return MODELS.with(|m| {
                    let mut models = m.borrow_mut();
                    models.retain(|(model, _)| *model != id);
                    if models.len() >= MODELS_KEPT {
                        models.remove(0);
                    }
                    models.push((id, job));
                });
            }
            FinalStep::Failed(reason) => return post(&FromWorker::Retrained { id, result: Err(reason) }),
        };
        if let Some(progress) = progress.filter(|_| performance.now() >= progress_due_ms) {
            progress_due_ms = performance.now() + PROGRESS_EVERY_MS;
            post(&FromWorker::Retraining { id, progress });
        }
        RETRAINING.with(|r| *r.borrow_mut() = Some((id, job, progress_due_ms)));
        schedule_next_slice();
    }

    pub fn start() {
        std::panic::set_hook(Box::new(|info| {
            let message = info.to_string();
            post(&FromWorker::Panicked { trial: RUNNING.with(|r| r.get()), message: message.clone() });
            web_sys::console::error_1(&format!("worker panicked: {message}").into());
        }));
        let handler = Closure::<dyn FnMut(MessageEvent)>::new(on_message);
        scope().set_onmessage(Some(handler.as_ref().unchecked_ref()));
        handler.forget();
        post(&FromWorker::Ready { protocol_version: PROTOCOL_VERSION });
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {
    worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the worker runs inside the browser; build it with Trunk (see README)");
}
