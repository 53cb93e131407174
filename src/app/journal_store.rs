//! Where the page keeps its races' journals: IndexedDB, database `tunelab`. The store
//! `entries` holds each race's journal, one frame of `tunelab::experiment::journal` per value
//! under the key [experiment id, sequence number], so an entry is written whole or not at all;
//! `experiments` holds each race's summary (JSON, by id) for the list of past experiments.
//!
//! Writes are queued in order: IndexedDB runs read-write transactions on the same stores in the
//! order they were made, so an append never has to wait for the one before to finish.

use super::dataset::js_text;
use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbKeyRange, IdbObjectStore, IdbRequest, IdbTransaction, IdbTransactionMode};

const DATABASE: &str = "tunelab";
const VERSION: u32 = 1;
const ENTRIES: &str = "entries";
const EXPERIMENTS: &str = "experiments";

/// The open database.
#[derive(Clone)]
pub struct JournalStore {
    db: IdbDatabase,
}

/// Wait for a request's result (or its error, in the browser's words).
async fn settle(request: &IdbRequest) -> Result<JsValue, String> {
    let promise = Promise::new(&mut |resolve, reject| {
        let done = request.clone();
        let on_success = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call1(&JsValue::UNDEFINED, &done.result().unwrap_or(JsValue::UNDEFINED));
        });
        let failed = request.clone();
        let on_error = Closure::once_into_js(move |_: web_sys::Event| {
            let why = failed.error().ok().flatten().map(|e| format!("{}: {}", e.name(), e.message())).unwrap_or_else(|| "IndexedDB failed".into());
            let _ = reject.call1(&JsValue::UNDEFINED, &JsValue::from_str(&why));
        });
        request.set_onsuccess(Some(on_success.unchecked_ref()));
        request.set_onerror(Some(on_error.unchecked_ref()));
    });
    JsFuture::from(promise).await.map_err(|e| js_text(&e))
}

/// Wait for a transaction to commit.
async fn committed(tx: &IdbTransaction) -> Result<(), String> {
    let promise = Promise::new(&mut |resolve, reject| {
        let on_complete = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        });
        let failed = tx.clone();
        let reject_with = move || {
            let why = failed.error().map(|e| format!("{}: {}", e.name(), e.message())).unwrap_or_else(|| "the transaction was aborted".into());
            let _ = reject.call1(&JsValue::UNDEFINED, &JsValue::from_str(&why));
        };
        let on_abort = Closure::once_into_js(move |_: web_sys::Event| reject_with());
        tx.set_oncomplete(Some(on_complete.unchecked_ref()));
        tx.set_onabort(Some(on_abort.unchecked_ref()));
    });
    JsFuture::from(promise).await.map(|_| ()).map_err(|e| js_text(&e))
}

fn range_of(id: &str) -> Result<IdbKeyRange, String> {
    let low = Array::of2(&JsValue::from_str(id), &JsValue::from_f64(0.0));
    let high = Array::of2(&JsValue::from_str(id), &JsValue::from_f64(f64::INFINITY));
    IdbKeyRange::bound(&low, &high).map_err(|e| js_text(&e))
}

impl JournalStore {
    /// Open (or create) the database; an error says why the browser refused (a private window,
    /// storage switched off, ...).
    pub async fn open() -> Result<Self, String> {
        let window = web_sys::window().ok_or("no window")?;
        let factory = window.indexed_db().map_err(|e| js_text(&e))?.ok_or("this browser has no IndexedDB here")?;
        let request = factory.open_with_u32(DATABASE, VERSION).map_err(|e| js_text(&e))?;
        let upgrading = request.clone();
        let on_upgrade = Closure::once_into_js(move |_: web_sys::Event| {
            if let Ok(db) = upgrading.result().map(JsCast::unchecked_into::<IdbDatabase>) {
                let names = db.object_store_names();
                for store in [ENTRIES, EXPERIMENTS] {
                    if !names.contains(store) {
                        let _ = db.create_object_store(store);
                    }
                }
            }
        });
        request.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
        let db: IdbDatabase = settle(&request).await?.unchecked_into();
        Ok(Self { db })
    }

    fn stores(&self, mode: IdbTransactionMode) -> Result<(IdbTransaction, IdbObjectStore, IdbObjectStore), String> {
        let names = Array::of2(&JsValue::from_str(ENTRIES), &JsValue::from_str(EXPERIMENTS));
        let tx = self.db.transaction_with_str_sequence_and_mode(&names, mode).map_err(|e| js_text(&e))?;
        let entries = tx.object_store(ENTRIES).map_err(|e| js_text(&e))?;
        let experiments = tx.object_store(EXPERIMENTS).map_err(|e| js_text(&e))?;
        Ok((tx, entries, experiments))
    }

    /// Append frame `seq` of experiment `id`'s journal and its new summary, in one transaction.
    /// The writes are made now, in order; the returned future says whether they committed.
    pub fn append(&self, id: &str, seq: u32, frame: &[u8], summary: &str) -> impl std::future::Future<Output = Result<(), String>> {
        let made = (|| {
            let (tx, entries, experiments) = self.stores(IdbTransactionMode::Readwrite)?;
            let key = Array::of2(&JsValue::from_str(id), &JsValue::from_f64(seq as f64));
            entries.put_with_key(&Uint8Array::from(frame), &key).map_err(|e| js_text(&e))?;
            experiments.put_with_key(&JsValue::from_str(summary), &JsValue::from_str(id)).map_err(|e| js_text(&e))?;
            Ok::<_, String>(tx)
        })();
        async move { committed(&made?).await }
    }

    /// Experiment `id`'s journal: its frames laid end to end, and how many there are.
    pub async fn load(&self, id: &str) -> Result<(Vec<u8>, u32), String> {
        let (_, entries, _) = self.stores(IdbTransactionMode::Readonly)?;
        let request = entries.get_all_with_key(&range_of(id)?.into()).map_err(|e| js_text(&e))?;
        let frames: Array = settle(&request).await?.unchecked_into();
        let mut journal = Vec::new();
        for frame in frames.iter() {
            journal.extend(frame.unchecked_into::<Uint8Array>().to_vec());
        }
        Ok((journal, frames.length()))
    }

    /// Every experiment's summary, as written.
    pub async fn summaries(&self) -> Result<Vec<String>, String> {
        let (_, _, experiments) = self.stores(IdbTransactionMode::Readonly)?;
        let request = experiments.get_all().map_err(|e| js_text(&e))?;
        let all: Array = settle(&request).await?.unchecked_into();
        Ok(all.iter().filter_map(|v| v.as_string()).collect())
    }

    /// Forget experiment `id`: its journal and its summary.
    pub async fn delete(&self, id: &str) -> Result<(), String> {
        let (tx, entries, experiments) = self.stores(IdbTransactionMode::Readwrite)?;
        entries.delete(&range_of(id)?.into()).map_err(|e| js_text(&e))?;
        experiments.delete(&JsValue::from_str(id)).map_err(|e| js_text(&e))?;
        committed(&tx).await
    }
}
