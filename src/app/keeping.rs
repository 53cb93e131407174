//! Keeping races in this browser: the race on the screen is written to its journal
//! (`tunelab::experiment::journal`) as it runs, an entry each time a trial's segment ends, in
//! IndexedDB (`journal_store.rs`); the list of past experiments is read from there. A browser
//! that refuses storage (a private window, a full disk) keeps the race in the tab only, and the
//! page says so. One tab writes a journal at a time (`tab_lease.rs`).

use super::journal_store::JournalStore;
use super::tab_lease;
use leptos::prelude::*;
use std::time::Duration;
use tunelab::experiment::journal::{encode, Entry, Summary, JOURNAL_VERSION};
use tunelab::experiment::live::LiveExperiment;

/// Whether the page can keep its races.
#[derive(Debug, Clone, PartialEq)]
pub enum Storage {
    Opening,
    Kept,
    /// Kept in this tab only: the browser's words for why.
    TabOnly(String),
}

/// The journal being written: its name, the next entry's number, and the race's start.
#[derive(Debug, Clone, PartialEq)]
struct Writer {
    id: String,
    next: u32,
    started_unix_ms: f64,
}

/// An entry waiting to be stored: its journal, its number, its frame and the race's summary.
type Unsent = (String, u32, Vec<u8>, String);

/// The handle to what the page keeps; cheap to copy.
#[derive(Clone, Copy)]
pub struct Keeping {
    store: StoredValue<Option<JournalStore>, LocalStorage>,
    storage: RwSignal<Storage>,
    writer: StoredValue<Option<Writer>>,
    /// The journal being written, for the views.
    writing: RwSignal<Option<String>>,
    /// Past experiments, the newest first.
    experiments: RwSignal<Vec<Summary>>,
    /// Entries written before the storage was open, to go out once it is.
    waiting: StoredValue<Vec<Unsent>>,
}

/// When the page's clock read 0, in ms since 1970.
pub fn clock_zero_unix_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.time_origin())
}

impl Keeping {
    pub fn new() -> Self {
        let keeping = Self {
            store: StoredValue::new_local(None),
            storage: RwSignal::new(Storage::Opening),
            writer: StoredValue::new(None),
            writing: RwSignal::new(None),
            experiments: RwSignal::new(Vec::new()),
            waiting: StoredValue::new(Vec::new()),
        };
        // The lease on the journal being written is renewed while the page lives, and given up
        // when it goes (a reload included). A tab that lost it (asleep past its lapse, while
        // another tab took the race over) stops writing: one journal, one writer.
        let _ = set_interval_with_handle(
            move || {
                if let Some(w) = keeping.writer.try_get_value().flatten() {
                    if !tab_lease::claim(&w.id) {
                        keeping.writer.set_value(None);
                        keeping.writing.set(None);
                    }
                }
            },
            Duration::from_millis(tab_lease::RENEW_MS.into()),
        );
        if let Some(window) = web_sys::window() {
            let on_hide = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
                if let Some(w) = keeping.writer.try_get_value().flatten() {
                    tab_lease::release(&w.id);
                }
            });
            let _ = window.add_event_listener_with_callback("pagehide", wasm_bindgen::JsCast::unchecked_ref(on_hide.as_ref()));
            on_hide.forget();
        }
        keeping
    }

    pub fn storage(&self) -> Signal<Storage> {
        self.storage.into()
    }

    pub fn experiments(&self) -> Signal<Vec<Summary>> {
        self.experiments.into()
    }

    /// The journal being written, if any.
    pub fn writing(&self) -> Signal<Option<String>> {
        self.writing.into()
    }

    /// Open the browser's storage and read the list of past experiments.
    pub async fn open(&self) {
        match JournalStore::open().await {
            Ok(store) => {
                let summaries = store.summaries().await;
                self.store.set_value(Some(store));
                self.storage.set(Storage::Kept);
                let mut list: Vec<Summary> = summaries.unwrap_or_default().iter().filter_map(|s| serde_json::from_str(s).ok()).collect();
                // A race started before the storage opened is already listed.
                self.experiments.with_untracked(|known| list.retain(|s| known.iter().all(|k| k.id != s.id)));
                list.extend(self.experiments.get_untracked());
                list.sort_by(|a, b| b.started_unix_ms.total_cmp(&a.started_unix_ms));
                self.experiments.set(list);
                for (id, seq, frame, summary) in self.waiting.try_update_value(std::mem::take).unwrap_or_default() {
                    self.send(&id, seq, &frame, &summary);
                }
            }
            Err(why) => {
                self.waiting.set_value(Vec::new());
                self.storage.set(Storage::TabOnly(why));
            }
        }
    }

    /// Start the journal of the race just added to `live`.
    pub fn begin(&self, live: &LiveExperiment, workers: usize) {
        self.stop_writing();
        let Some(race) = live.race() else { return };
        let started_unix_ms = js_sys::Date::now();
        let id = format!("{started_unix_ms:.0}-{:04x}", (js_sys::Math::random() * 65536.0) as u32);
        tab_lease::claim(&id);
        self.writing.set(Some(id.clone()));
        self.writer.set_value(Some(Writer { id, next: 0, started_unix_ms }));
        self.write(Entry::Race { version: JOURNAL_VERSION, setup: race.setup.clone(), workers, started_unix_ms }, live);
    }

    /// Go on writing journal `id` (a race restored from it), after its `next` entries; false if
    /// another tab is writing it.
    pub fn resume_writing(&self, id: &str, next: u32, started_unix_ms: f64) -> bool {
        self.stop_writing();
        if !tab_lease::claim(id) {
            return false;
        }
        self.writer.set_value(Some(Writer { id: id.to_string(), next, started_unix_ms }));
        self.writing.set(Some(id.to_string()));
        true
    }

    /// Write no more to the journal being written (another race is on the screen).
    pub fn stop_writing(&self) {
        if let Some(w) = self.writer.get_value() {
            tab_lease::release(&w.id);
        }
        self.writer.set_value(None);
        self.writing.set(None);
    }

    /// Append `entry` to the journal being written, with the race's summary from `live`.
    pub fn write(&self, entry: Entry, live: &LiveExperiment) {
        let Some(writer) = self.writer.get_value() else { return };
        let Some(summary) = Summary::of(&writer.id, writer.started_unix_ms, live) else { return };
        self.writer.update_value(|w| {
            if let Some(w) = w {
                w.next += 1;
            }
        });
        self.experiments.update(|list| match list.iter_mut().find(|s| s.id == summary.id) {
            Some(known) => *known = summary.clone(),
            None => list.insert(0, summary.clone()),
        });
        let json = serde_json::to_string(&summary).expect("a summary serializes");
        if self.storage.get_untracked() == Storage::Opening {
            self.waiting.update_value(|w| w.push((writer.id, writer.next, encode(&entry), json)));
            return;
        }
        self.send(&writer.id, writer.next, &encode(&entry), &json);
    }

    /// Append a frame to the store, if there is one.
    fn send(&self, id: &str, seq: u32, frame: &[u8], summary: &str) {
        let Some(store) = self.store.get_value() else { return };
        let written = store.append(id, seq, frame, summary);
        let keeping = *self;
        leptos::task::spawn_local(async move {
            if let Err(why) = written.await {
                // Full or refused: the race goes on in the tab, and the page says it is not kept.
                keeping.storage.set(Storage::TabOnly(why));
                keeping.store.set_value(None);
            }
        });
    }

    /// Journal `id` as written, and how many entries it holds.
    pub async fn load(&self, id: &str) -> Result<(Vec<u8>, u32), String> {
        let store = self.store.get_value().ok_or("storage is not open")?;
        store.load(id).await
    }

    /// Forget experiment `id` (not the one being written).
    pub fn delete(&self, id: String) {
        if self.writing.get_untracked().as_deref() == Some(id.as_str()) {
            return;
        }
        self.experiments.update(|list| list.retain(|s| s.id != id));
        let Some(store) = self.store.get_value() else { return };
        leptos::task::spawn_local(async move {
            let _ = store.delete(&id).await;
        });
    }
}
