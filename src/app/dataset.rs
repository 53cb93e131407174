//! Fetching MNIST with visible progress, then checking and unpacking it in two slices with a
//! frame drawn between them, so the page shows that step too. The bytes go to the core's
//! validating parser; what can go wrong on the way (a missing file, a server error, a broken
//! connection, a corrupt file) comes back as a sentence to show the user.

use super::format;
use super::words::Words;
use leptos::prelude::*;
use std::cell::Cell;
use tunelab::data::{DataError, Mnist, MnistFile};
use tunelab::text::{Key, Lang};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, Response};

#[derive(Debug, Clone, PartialEq)]
pub enum DatasetStatus {
    Downloading(Progress),
    /// Checking and unpacking: `done` of `steps` slices.
    Parsing {
        done: u32,
        steps: u32,
    },
    Ready {
        train: usize,
        validation: usize,
        test: usize,
    },
    Failed(LoadError),
}

/// What went wrong loading MNIST; told in the page's language (the browser's and the core's
/// own explanations stay as they come).
#[derive(Debug, Clone, PartialEq)]
pub enum LoadError {
    NoWindow,
    /// A file could not be fetched: its name and the browser's reason.
    NotDownloaded {
        file: String,
        why: String,
    },
    ServerAnswered {
        file: String,
        status: u16,
        text: String,
    },
    NoBody {
        file: String,
    },
    BrokeOff {
        file: String,
        why: String,
    },
    /// A file arrived but is not what MNIST should be.
    Corrupt(DataError),
    /// The browser's words for what went wrong while reading a download.
    Other(String),
}

impl LoadError {
    pub fn text(&self, lang: Lang) -> String {
        match self {
            LoadError::NoWindow => lang.text(Key::DataNoWindow).to_string(),
            LoadError::NotDownloaded { file, why } => lang.fill(Key::DataNotDownloaded, &[("file", file), ("why", why)]),
            LoadError::ServerAnswered { file, status, text } => {
                lang.fill(Key::DataServerAnswered, &[("file", file), ("status", &status.to_string()), ("text", text)])
            }
            LoadError::NoBody { file } => lang.fill(Key::DataNoBody, &[("file", file)]),
            LoadError::BrokeOff { file, why } => lang.fill(Key::DataBrokeOff, &[("file", file), ("why", why)]),
            LoadError::Corrupt(e) => lang.data_error(e),
            LoadError::Other(message) => message.clone(),
        }
    }
}

/// Bytes fetched so far and the total expected, over all four files.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Progress {
    pub loaded: u64,
    pub total: u64,
}

impl Progress {
    /// Before the first byte: nothing loaded out of the files' known sizes.
    pub fn starting() -> Self {
        Self { loaded: 0, total: MnistFile::ALL.iter().map(|f| f.expected_gz_bytes()).sum() }
    }
}

fn js_text(e: &wasm_bindgen::JsValue) -> String {
    e.as_string().or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message()))).unwrap_or_else(|| format!("{e:?}"))
}

/// Fetch one file into memory, calling `on_bytes` with the bytes received in each chunk and
/// `on_length` once with the length the server announced (if it did).
async fn fetch_file(url: &str, file: MnistFile, on_length: &mut dyn FnMut(u64), on_bytes: &mut dyn FnMut(u64)) -> Result<Vec<u8>, LoadError> {
    let window = web_sys::window().ok_or(LoadError::NoWindow)?;
    let response: Response =
        JsFuture::from(window.fetch_with_str(url)).await.map_err(|e| LoadError::NotDownloaded { file: file.to_string(), why: js_text(&e) })?.unchecked_into();
    if !response.ok() {
        return Err(LoadError::ServerAnswered { file: file.to_string(), status: response.status(), text: response.status_text() });
    }
    if let Some(length) = response.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<u64>().ok()) {
        on_length(length);
    }
    let body = response.body().ok_or_else(|| LoadError::NoBody { file: file.to_string() })?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| LoadError::BrokeOff { file: file.to_string(), why: js_text(&e) })?;
        let done = js_sys::Reflect::get(&chunk, &"done".into()).map(|v| v.is_truthy()).unwrap_or(true);
        if done {
            break;
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(|e| LoadError::Other(js_text(&e)))?;
        let array: js_sys::Uint8Array = value.unchecked_into();
        let start = bytes.len();
        bytes.resize(start + array.length() as usize, 0);
        array.copy_to(&mut bytes[start..]);
        on_bytes(array.length() as u64);
    }
    Ok(bytes)
}

/// Fetch the four MNIST files from `base` (a folder URL ending in `/`) and parse them,
/// reporting each step in `status`; returns the training file's images.
pub async fn load_mnist(base: &str, status: RwSignal<DatasetStatus>) -> Option<Mnist> {
    match fetch_and_parse(base, status).await {
        Ok(mnist) => {
            let (train, validation) = mnist.train_and_validation();
            status.set(DatasetStatus::Ready { train: train.len(), validation: validation.len(), test: mnist.test.len() });
            Some(mnist)
        }
        Err(message) => {
            status.set(DatasetStatus::Failed(message));
            None
        }
    }
}

/// Let the browser draw a frame (two animation frames: the next one is painted).
async fn next_frame() {
    for _ in 0..2 {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w.request_animation_frame(&resolve);
            }
        });
        let _ = JsFuture::from(promise).await;
    }
}

async fn fetch_and_parse(base: &str, status: RwSignal<DatasetStatus>) -> Result<Mnist, LoadError> {
    let files = fetch_files(base, move |p| status.set(DatasetStatus::Downloading(p))).await?;
    status.set(DatasetStatus::Parsing { done: 0, steps: 2 });
    next_frame().await;
    let train_file = Mnist::training_from_files(&files[0], &files[1]).map_err(LoadError::Corrupt)?;
    status.set(DatasetStatus::Parsing { done: 1, steps: 2 });
    next_frame().await;
    let test = Mnist::test_from_files(&files[2], &files[3]).map_err(LoadError::Corrupt)?;
    Ok(Mnist { train_file, test })
}

/// Fetch the four MNIST files from `base`.
async fn fetch_files(base: &str, on_progress: impl Fn(Progress)) -> Result<Vec<Vec<u8>>, LoadError> {
    // Totals start from the files' known sizes and are corrected by the server's Content-Length.
    let expected: Vec<Cell<u64>> = MnistFile::ALL.iter().map(|f| Cell::new(f.expected_gz_bytes())).collect();
    let loaded = Cell::new(0u64);
    let report = || on_progress(Progress { loaded: loaded.get(), total: expected.iter().map(Cell::get).sum::<u64>().max(loaded.get()) });
    let mut files = Vec::with_capacity(4);
    for (k, file) in MnistFile::ALL.into_iter().enumerate() {
        let url = format!("{base}{}", file.file_name());
        let bytes = fetch_file(&url, file, &mut |len| expected[k].set(len), &mut |n| {
            loaded.set(loaded.get() + n);
            report();
        })
        .await?;
        expected[k].set(bytes.len() as u64);
        report();
        files.push(bytes);
    }
    Ok(files)
}

/// The data panel: download progress, the checking step, the split, or what went wrong.
#[component]
pub fn DatasetPanel(status: Signal<DatasetStatus>) -> impl IntoView {
    let words = expect_context::<Words>();
    move || {
        let lang = words.lang();
        match status.get() {
            DatasetStatus::Downloading(p) => {
                let share = if p.total > 0 { (p.loaded as f64 / p.total as f64).min(1.0) } else { 0.0 };
                let megabytes = |bytes| lang.localise(&format::megabytes(bytes));
                let text = lang
                    .fill(Key::DataDownloading, &[("loaded", &megabytes(p.loaded)), ("total", &megabytes(p.total)), ("share", &lang.percent_with(share, 0))]);
                view! {
                    <div id="dataset-status" data-state="downloading">
                        <progress id="dataset-progress" max=p.total.max(1) value=p.loaded></progress>
                        <p id="dataset-progress-text">{text}</p>
                    </div>
                }
                .into_any()
            }
            DatasetStatus::Parsing { done, steps } => view! {
                <div id="dataset-status" data-state="parsing">
                    <progress id="dataset-progress" max=steps value=done></progress>
                    <p id="dataset-progress-text">{lang.fill(Key::DataParsing, &[("done", &done.to_string()), ("steps", &steps.to_string())])}</p>
                </div>
            }
            .into_any(),
            DatasetStatus::Ready { train, validation, test } => {
                let count = |n: usize| lang.thousands(n as u64);
                view! {
                    <div id="dataset-status" data-state="ready">
                        <p>{lang.fill(Key::DataReady, &[("train", &count(train)), ("validation", &count(validation)), ("test", &count(test))])}</p>
                    </div>
                }
                .into_any()
            }
            DatasetStatus::Failed(error) => view! {
                <div id="dataset-status" data-state="failed" class="error" role="alert">
                    <p><strong>{lang.text(Key::DataCouldNotLoad)}</strong>{error.text(lang)}</p>
                    <p class="hint">{lang.text(Key::DataReloadHint)}</p>
                </div>
            }
            .into_any(),
        }
    }
}
