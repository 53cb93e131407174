//! Fetching MNIST with visible progress, then checking and unpacking it in two slices with a
//! frame drawn between them, so the page shows that step too. The bytes go to the core's
//! validating parser; what can go wrong on the way (a missing file, a server error, a broken
//! connection, a corrupt file) comes back as a sentence to show the user.

use super::format;
use super::offline::Offline;
use super::words::Words;
use leptos::prelude::*;
use std::cell::Cell;
use tunelab::data::{DataError, LabeledImages, Mnist, MnistFile};
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
    /// The training file is here (a race can start); the test images follow.
    Ready {
        train: usize,
        validation: usize,
        test: TestImages,
    },
    Failed(LoadError),
}

/// The test images: needed only by the final test, so they load after the training file.
#[derive(Debug, Clone, PartialEq)]
pub enum TestImages {
    Downloading(Progress),
    Ready(usize),
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
    /// Before the first byte: nothing loaded out of the training file's known size.
    pub fn starting() -> Self {
        Self::of(&MnistFile::ALL[..2])
    }

    fn of(files: &[MnistFile]) -> Self {
        Self { loaded: 0, total: files.iter().map(|f| f.expected_gz_bytes()).sum() }
    }
}

pub fn js_text(e: &wasm_bindgen::JsValue) -> String {
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

/// A file as downloaded, kept for the offline cache.
pub type Downloaded = (MnistFile, Vec<u8>);

/// Fetch the training file's images and labels from `base` (a folder URL ending in `/`) and
/// check them, reporting each step in `status`; the test images come after (`load_test`), as a
/// race does not need them.
pub async fn load_training(base: &str, status: RwSignal<DatasetStatus>) -> Option<(LabeledImages, Vec<Downloaded>)> {
    let loaded = async {
        let files = fetch_files(base, &MnistFile::ALL[..2], move |p| status.set(DatasetStatus::Downloading(p))).await?;
        status.set(DatasetStatus::Parsing { done: 0, steps: 1 });
        next_frame().await;
        let train_file = Mnist::training_from_files(&files[0].1, &files[1].1).map_err(LoadError::Corrupt)?;
        Ok((train_file, files))
    };
    settle(status, loaded.await, |(train_file, _)| {
        let (train, validation) = train_file.as_ref().train_validation_split();
        let test = TestImages::Downloading(Progress::of(&MnistFile::ALL[2..]));
        DatasetStatus::Ready { train: train.len(), validation: validation.len(), test }
    })
}

/// Fetch and check the test images (after the training file), showing their progress beside
/// the training file's counts.
pub async fn load_test(base: &str, status: RwSignal<DatasetStatus>, train_file: &LabeledImages) -> Option<(LabeledImages, Vec<Downloaded>)> {
    let (train, validation) = train_file.as_ref().train_validation_split();
    let (train, validation) = (train.len(), validation.len());
    let ready = move |test| DatasetStatus::Ready { train, validation, test };
    status.set(ready(TestImages::Downloading(Progress::of(&MnistFile::ALL[2..]))));
    let loaded = async {
        let files = fetch_files(base, &MnistFile::ALL[2..], move |p| status.set(ready(TestImages::Downloading(p)))).await?;
        let test = Mnist::test_from_files(&files[0].1, &files[1].1).map_err(LoadError::Corrupt)?;
        Ok((test, files))
    };
    settle(status, loaded.await, |(test, _)| ready(TestImages::Ready(test.len())))
}

fn settle<T>(status: RwSignal<DatasetStatus>, loaded: Result<T, LoadError>, ready: impl FnOnce(&T) -> DatasetStatus) -> Option<T> {
    match loaded {
        Ok(loaded) => {
            status.set(ready(&loaded));
            Some(loaded)
        }
        Err(error) => {
            status.set(DatasetStatus::Failed(error));
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

/// Fetch `files` from `base`, reporting the bytes received over all of them.
async fn fetch_files(base: &str, files: &[MnistFile], on_progress: impl Fn(Progress)) -> Result<Vec<Downloaded>, LoadError> {
    // Totals start from the files' known sizes and are corrected by the server's Content-Length.
    let expected: Vec<Cell<u64>> = files.iter().map(|f| Cell::new(f.expected_gz_bytes())).collect();
    let loaded = Cell::new(0u64);
    let report = || on_progress(Progress { loaded: loaded.get(), total: expected.iter().map(Cell::get).sum::<u64>().max(loaded.get()) });
    let mut fetched = Vec::with_capacity(files.len());
    for (k, &file) in files.iter().enumerate() {
        let url = format!("{base}{}", file.file_name());
        let bytes = fetch_file(&url, file, &mut |len| expected[k].set(len), &mut |n| {
            loaded.set(loaded.get() + n);
            report();
        })
        .await?;
        expected[k].set(bytes.len() as u64);
        report();
        fetched.push((file, bytes));
    }
    Ok(fetched)
}

/// The words a download's progress is told with: bytes so far, of the total, and the share.
fn progress_words(lang: Lang, p: Progress) -> Vec<(&'static str, String)> {
    let share = if p.total > 0 { (p.loaded as f64 / p.total as f64).min(1.0) } else { 0.0 };
    let megabytes = |bytes| lang.localise(&format::megabytes(bytes));
    vec![("loaded", megabytes(p.loaded)), ("total", megabytes(p.total)), ("share", lang.percent_with(share, 0))]
}

fn fill(lang: Lang, key: Key, words: &[(&'static str, String)]) -> String {
    lang.fill(key, &words.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>())
}

/// The data panel: download progress, the checking step, the split, or what went wrong.
#[component]
pub fn DatasetPanel(status: Signal<DatasetStatus>, offline: Signal<Offline>, retry: Callback<()>) -> impl IntoView {
    let words = expect_context::<Words>();
    move || {
        let lang = words.lang();
        match status.get() {
            DatasetStatus::Downloading(p) => {
                let text = fill(lang, Key::DataDownloading, &progress_words(lang, p));
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
                    <p id="dataset-progress-text">{lang.text(Key::DataParsing)}</p>
                </div>
            }
            .into_any(),
            DatasetStatus::Ready { train, validation, test } => {
                let count = |n: usize| lang.thousands(n as u64);
                let (train, validation) = (count(train), count(validation));
                match test {
                    TestImages::Downloading(p) => {
                        let mut words = progress_words(lang, p);
                        words.extend([("train", train), ("validation", validation)]);
                        view! {
                            <div id="dataset-status" data-state="ready" data-test="downloading">
                                <p>{fill(lang, Key::DataReadyTestLoading, &words)}</p>
                                <progress id="test-progress" max=p.total.max(1) value=p.loaded></progress>
                            </div>
                        }
                        .into_any()
                    }
                    TestImages::Ready(test) => view! {
                        <div id="dataset-status" data-state="ready" data-test="ready">
                            <p>{fill(lang, Key::DataReady, &[("train", train), ("validation", validation), ("test", count(test))])}</p>
                            <OfflineLine offline=offline />
                        </div>
                    }
                    .into_any(),
                }
            }
            DatasetStatus::Failed(error) => view! {
                <div id="dataset-status" data-state="failed" class="error" role="alert">
                    <p><strong>{lang.text(Key::DataCouldNotLoad)}</strong>{error.text(lang)}</p>
                    <p><button id="dataset-retry" type="button" on:click=move |_| retry.run(())>{lang.text(Key::DataRetry)}</button></p>
                    <p class="hint">{lang.text(Key::DataRetryHint)}</p>
                </div>
            }
            .into_any(),
        }
    }
}

/// Whether the lab is kept for offline use, in a line under the data's counts.
#[component]
fn OfflineLine(offline: Signal<Offline>) -> impl IntoView {
    let words = expect_context::<Words>();
    move || {
        let lang = words.lang();
        let (state, text) = match offline.get() {
            Offline::Pending => ("pending", lang.text(Key::OfflinePending).to_string()),
            Offline::Kept => ("kept", lang.text(Key::OfflineKept).to_string()),
            Offline::NotKept(why) => ("not-kept", lang.fill(Key::OfflineNotKept, &[("why", &why)])),
        };
        view! { <p id="offline-status" class="hint" data-state=state role="status">{text}</p> }
    }
}
