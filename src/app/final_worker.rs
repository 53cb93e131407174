//! The final worker: one web worker, apart from the pool that runs the race, that retrains the
//! chosen configurations on the whole training file, tests them on the test images, and keeps
//! the networks to read the digits a student draws — so neither training nor inference ever
//! runs on the page's main thread. What to retrain, in which order, and what a result or a
//! crash means is the core's (`experiment::final_eval::Retrainings`); this file only starts the
//! worker, moves the images to it and routes its messages back.

use super::wire;
use std::cell::RefCell;
use std::rc::Rc;
use tunelab::data::mnist::LabeledImages;
use tunelab::protocol::{envelope, FromWorker, ToWorker, PROTOCOL_VERSION};
use tunelab::scheduler::Fault;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};

/// What the final worker tells the page.
pub enum FinalEvent {
    Message(FromWorker),
    /// It is gone (a crash, a refused image file, another protocol): why, in a sentence.
    Lost(Fault),
}

/// A started final worker; messages sent before it is ready wait in `waiting`.
pub struct FinalWorker {
    worker: Worker,
    state: Rc<RefCell<Waiting>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

/// Messages posted to a worker before its handler is installed are lost, so they wait for
/// `Ready` (None once it came).
struct Waiting(Option<Vec<(ToWorker, Option<Vec<u8>>)>>);

impl FinalWorker {
    /// Start a worker with the training file and the test images; `on_event` hears it.
    pub fn start(train: Rc<LabeledImages>, test: Rc<LabeledImages>, on_event: Rc<dyn Fn(FinalEvent)>) -> Result<Self, Fault> {
        let worker = Worker::new("./worker_loader.js").map_err(|e| Fault::NoStart(format!("{e:?}")))?;
        let state = Rc::new(RefCell::new(Waiting(Some(Vec::new()))));
        let (w, s, events) = (worker.clone(), state.clone(), on_event.clone());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| match wire::decode::<FromWorker>(e.data()) {
            Ok(FromWorker::Ready { protocol_version }) if protocol_version == PROTOCOL_VERSION => {
                // The images first, then what waited: a worker takes its messages in order.
                let Some(waiting) = s.borrow_mut().0.take() else { return };
                let sent = post_images(&w, &ToWorker::LoadData { count: train.labels.len() as u32 }, &train)
                    .and_then(|()| post_images(&w, &ToWorker::LoadTest { count: test.labels.len() as u32 }, &test))
                    .and_then(|()| waiting.into_iter().try_for_each(|(message, beside)| post(&w, &message, beside.as_deref())));
                if let Err(reason) = sent {
                    events(FinalEvent::Lost(reason));
                }
            }
            Ok(FromWorker::Ready { protocol_version }) => events(FinalEvent::Lost(Fault::Protocol { worker: protocol_version, page: PROTOCOL_VERSION })),
            Ok(FromWorker::DataRejected { reason }) => events(FinalEvent::Lost(Fault::RefusedImages(reason))),
            Ok(FromWorker::Panicked { message, .. }) => events(FinalEvent::Lost(Fault::Panicked(message))),
            Ok(FromWorker::ProtocolError { message }) => events(FinalEvent::Lost(Fault::CouldNotRead(message))),
            Ok(message) => events(FinalEvent::Message(message)),
            Err(e) => events(FinalEvent::Lost(Fault::Unreadable(e))),
        });
        let events = on_event;
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |e: ErrorEvent| {
            e.prevent_default();
            events(FinalEvent::Lost(Fault::Error(Some(e.message()).filter(|m| !m.is_empty()))));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Self { worker, state, _on_message: on_message, _on_error: on_error })
    }

    /// Send `message`, with `beside` (a drawing's ink) as a transferred buffer; it waits if the
    /// worker is not ready yet.
    pub fn send(&self, message: ToWorker, beside: Option<Vec<u8>>) -> Result<(), Fault> {
        if let Some(waiting) = self.state.borrow_mut().0.as_mut() {
            waiting.push((message, beside));
            return Ok(());
        }
        post(&self.worker, &message, beside.as_deref())
    }
}

impl Drop for FinalWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

fn post(worker: &Worker, message: &ToWorker, beside: Option<&[u8]>) -> Result<(), Fault> {
    let envelope = wire::envelope_of(message).map_err(Fault::NotSent)?;
    let sent = match beside {
        Some(bytes) => {
            let buffer = js_sys::Uint8Array::from(bytes).buffer();
            wire::put(&envelope, envelope::IMAGES, &buffer);
            worker.post_message_with_transfer(&envelope, &js_sys::Array::of1(&buffer))
        }
        None => worker.post_message(&envelope.into()),
    };
    sent.map_err(|e| Fault::NotSent(format!("{e:?}")))
}

/// The images and their labels beside `message`, both transferred (fresh copies: the page keeps
/// its own).
fn post_images(worker: &Worker, message: &ToWorker, images: &LabeledImages) -> Result<(), Fault> {
    let (pixels, labels) = (js_sys::Uint8Array::from(&images.pixels[..]), js_sys::Uint8Array::from(&images.labels[..]));
    let envelope = wire::envelope_of(message).map_err(Fault::ImagesNotSent)?;
    wire::put(&envelope, envelope::IMAGES, &pixels.buffer());
    wire::put(&envelope, envelope::LABELS, &labels.buffer());
    let transfer = js_sys::Array::of2(&pixels.buffer(), &labels.buffer());
    worker.post_message_with_transfer(&envelope, &transfer).map_err(|e| Fault::ImagesNotSent(format!("{e:?}")))
}
