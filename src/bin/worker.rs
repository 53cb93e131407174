//! The training worker: a Web Worker that receives the training pool once, then trains trials
//! one at a time, posting a progress message after every epoch.
//!
//! It speaks the versioned protocol in `tunelab::protocol`: it posts `Ready` once its message
//! handler is installed (a message posted to a worker before its wasm has started is lost), and
//! if it panics it reports the panic text and the trial it was running before it dies — the page
//! then marks that trial failed and starts a fresh worker.

#[cfg(target_arch = "wasm32")]
mod worker {
    use std::cell::{Cell, RefCell};
    use tunelab::data::mnist::{ImagesRef, LabeledImages};
    use tunelab::data::stratified_subset;
    use tunelab::nn::train::{Trainer, TrainingData};
    use tunelab::protocol::{FromWorker, ToWorker, TrainRequest, TrialEnd, TrialKey, PROTOCOL_VERSION};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    thread_local! {
        static POOL: RefCell<Option<LabeledImages>> = const { RefCell::new(None) };
        static RUNNING: Cell<Option<TrialKey>> = const { Cell::new(None) };
    }

    fn scope() -> DedicatedWorkerGlobalScope {
        js_sys::global().unchecked_into()
    }

    fn post(msg: &FromWorker) {
        let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
        match serde::Serialize::serialize(msg, &serializer) {
            Ok(value) => {
                let _ = scope().post_message(&value);
            }
            Err(e) => web_sys::console::error_1(&format!("worker: cannot encode a message: {e}").into()),
        }
    }

    fn bytes_of(value: &JsValue) -> Option<Vec<u8>> {
        value.dyn_ref::<js_sys::ArrayBuffer>().map(|b| js_sys::Uint8Array::new(b).to_vec())
    }

    fn on_message(event: MessageEvent) {
        let data = event.data();
        let message = js_sys::Reflect::get(&data, &"message".into()).unwrap_or(JsValue::UNDEFINED);
        let msg: ToWorker = match serde_wasm_bindgen::from_value(message) {
            Ok(m) => m,
            Err(e) => return post(&FromWorker::ProtocolError { message: format!("cannot read the message: {e}") }),
        };
        match msg {
            ToWorker::LoadData { count } => {
                let images = js_sys::Reflect::get(&data, &"images".into()).ok().and_then(|v| bytes_of(&v));
                let labels = js_sys::Reflect::get(&data, &"labels".into()).ok().and_then(|v| bytes_of(&v));
                let reply = match (images, labels) {
                    (Some(images), Some(labels)) if labels.len() == count as usize => match LabeledImages::from_parts(images, labels) {
                        Ok(pool) => {
                            POOL.with(|p| *p.borrow_mut() = Some(pool));
                            FromWorker::DataLoaded { count }
                        }
                        Err(reason) => FromWorker::DataRejected { reason },
                    },
                    (Some(_), Some(labels)) => FromWorker::DataRejected { reason: format!("expected {count} labels, got {}", labels.len()) },
                    _ => FromWorker::DataRejected { reason: "the images or labels buffer is missing".into() },
                };
                post(&reply);
            }
            ToWorker::Train { trial, request } => {
                RUNNING.with(|r| r.set(Some(trial)));
                let end = POOL.with(|p| match p.borrow().as_ref() {
                    Some(pool) => run_trial(trial, &request, pool.as_ref()),
                    None => TrialEnd::Rejected { reason: "no training data has been loaded in this worker".into() },
                });
                RUNNING.with(|r| r.set(None));
                post(&FromWorker::Finished { trial, end });
            }
        }
    }

    /// Train one trial, posting an `Epoch` message after each epoch.
    fn run_trial(trial: TrialKey, request: &TrainRequest, pool: ImagesRef<'_>) -> TrialEnd {
        let config = match request.config.validate() {
            Ok(c) => c,
            Err(e) => return TrialEnd::Rejected { reason: format!("invalid configuration: {e}") },
        };
        let (train_split, validation) = pool.train_validation_split();
        let size = (request.subset_size as usize).clamp(1, train_split.len());
        let subset = train_split.select(&stratified_subset(train_split.labels, size, request.seed as u64));
        let data = TrainingData { train: subset.as_ref(), validation: Some(validation) };
        let mut trainer = Trainer::new(&config, request.seed as u64);
        let mut last = None;
        for _ in 0..config.epochs {
            match trainer.run_epoch(data) {
                Ok(report) => {
                    post(&FromWorker::Epoch { trial, report: report.clone() });
                    last = Some(report);
                }
                Err(diverged) => return TrialEnd::Diverged { diverged },
            }
        }
        let last = last.expect("at least one epoch");
        TrialEnd::Completed {
            validation_accuracy: last.validation_accuracy.unwrap_or(f32::NAN),
            validation_loss: last.validation_loss.unwrap_or(f32::NAN),
        }
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
