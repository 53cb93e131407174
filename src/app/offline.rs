//! Offline use. Once MNIST is loaded, the page registers the service worker (`public/sw.js`),
//! which keeps the app's files, and puts the MNIST files it downloaded in the cache that worker
//! answers from: after the first visit the lab opens and trains with no network, and a reload
//! starts from the browser's cache. It waits for the data so that the first visit spends its
//! bandwidth on what the first trial needs.
//!
//! Best effort: a browser without service workers or Cache Storage (an insecure origin, some
//! private windows) runs the same page online, and the data panel says so.

use super::dataset::js_text;
use js_sys::Uint8Array;
use leptos::prelude::*;
use tunelab::data::MnistFile;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, Headers, Response, ResponseInit};

/// The cache MNIST is kept in; `DATA_CACHE` in sw.js names the same one.
const DATA_CACHE: &str = "tunelab-data-1";

/// Whether this browser keeps the lab for offline use.
#[derive(Debug, Clone, PartialEq)]
pub enum Offline {
    /// Not known yet: the data is loading, or the service worker installing.
    Pending,
    /// The app and the data are kept: the lab works offline from now on.
    Kept,
    /// The browser's words for why the lab is not kept.
    NotKept(String),
}

/// Register the service worker and keep `files` (MNIST's, fetched from `base`, as downloaded),
/// reporting the outcome in `state`.
pub async fn keep(base: &str, files: Vec<(MnistFile, Vec<u8>)>, state: RwSignal<Offline>) {
    let outcome = match register().await {
        Ok(()) => keep_data(base, &files).await,
        Err(why) => Err(why),
    };
    state.set(match outcome {
        Ok(()) => Offline::Kept,
        Err(why) => Offline::NotKept(why),
    });
}

async fn register() -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let navigator = window.navigator();
    if !js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) || !window.is_secure_context() {
        return Err("this browser has no service workers here".into());
    }
    let container = navigator.service_worker();
    JsFuture::from(container.register("./sw.js")).await.map_err(|e| js_text(&e))?;
    // Installed and active: the app's files are in its cache.
    JsFuture::from(container.ready().map_err(|e| js_text(&e))?).await.map_err(|e| js_text(&e))?;
    Ok(())
}

async fn keep_data(base: &str, files: &[(MnistFile, Vec<u8>)]) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let caches = window.caches().map_err(|e| js_text(&e))?;
    let cache: Cache = JsFuture::from(caches.open(DATA_CACHE)).await.map_err(|e| js_text(&e))?.unchecked_into();
    for (file, bytes) in files {
        let url = format!("{base}{}", file.file_name());
        if !JsFuture::from(cache.match_with_str(&url)).await.map_err(|e| js_text(&e))?.is_undefined() {
            continue;
        }
        let headers = Headers::new().map_err(|e| js_text(&e))?;
        headers.set("content-type", "application/octet-stream").map_err(|e| js_text(&e))?;
        headers.set("content-length", &bytes.len().to_string()).map_err(|e| js_text(&e))?;
        let init = ResponseInit::new();
        init.set_headers(&headers);
        let body = Uint8Array::from(bytes.as_slice());
        let response = Response::new_with_opt_buffer_source_and_init(Some(&body), &init).map_err(|e| js_text(&e))?;
        JsFuture::from(cache.put_with_str(&url, &response)).await.map_err(|e| js_text(&e))?;
    }
    Ok(())
}
