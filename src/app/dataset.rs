//! Fetching MNIST with visible progress. The bytes go to the core's validating parser; what can
//! go wrong on the way (a missing file, a server error, a broken connection, a corrupt file) comes
//! back as a sentence to show the user.

use std::cell::Cell;
use tunelab::data::{Mnist, MnistFile};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, Response};

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
    e.as_string()
        .or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())))
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Fetch one file into memory, calling `on_bytes` with the bytes received in each chunk and
/// `on_length` once with the length the server announced (if it did).
async fn fetch_file(url: &str, file: MnistFile, on_length: &mut dyn FnMut(u64), on_bytes: &mut dyn FnMut(u64)) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response: Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| format!("{file} could not be downloaded: {}", js_text(&e)))?
        .unchecked_into();
    if !response.ok() {
        return Err(format!("{file} could not be downloaded: the server answered {} {}", response.status(), response.status_text()));
    }
    if let Some(length) = response.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<u64>().ok()) {
        on_length(length);
    }
    let body = response.body().ok_or_else(|| format!("{file} arrived without a body"))?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| format!("{file}: the download broke off: {}", js_text(&e)))?;
        let done = js_sys::Reflect::get(&chunk, &"done".into()).map(|v| v.is_truthy()).unwrap_or(true);
        if done {
            break;
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(|e| js_text(&e))?;
        let array: js_sys::Uint8Array = value.unchecked_into();
        let start = bytes.len();
        bytes.resize(start + array.length() as usize, 0);
        array.copy_to(&mut bytes[start..]);
        on_bytes(array.length() as u64);
    }
    Ok(bytes)
}

/// Fetch the four MNIST files from `base` (a folder URL ending in `/`) and parse them.
pub async fn load_mnist(base: &str, on_progress: impl Fn(Progress)) -> Result<Mnist, String> {
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
    Mnist::from_files(&files[0], &files[1], &files[2], &files[3]).map_err(|e| e.to_string())
}
