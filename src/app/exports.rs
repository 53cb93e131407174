//! The race in the files other tools read, and a record opened back: three download links —
//! the race's record as JSON (`#export-json`), its trials as CSV in scikit-learn's `cv_results_`
//! columns (`#export-csv`), its studies as Optuna's journal (`#export-optuna`) — and a file
//! picker (`#import-file`) that opens a record in place of the race on the screen. The files are
//! written by the core (`experiment::record`, `share::cv_results`, `share::optuna_journal`);
//! a link makes its file when clicked, from the race as it stands.

use super::lab::Lab;
use super::words::Words;
use leptos::prelude::*;
use std::time::Duration;
use tunelab::experiment::record::{RaceRecord, MAX_RECORD_BYTES};
use tunelab::text::Key;
use wasm_bindgen::{JsCast, JsValue};

/// A file the race can be saved as.
#[derive(Clone, Copy)]
struct Export {
    id: &'static str,
    file: &'static str,
    mime: &'static str,
    label: Key,
    title: Key,
    write: fn(&RaceRecord) -> String,
}

const EXPORTS: [Export; 3] = [
    Export {
        id: "export-json",
        file: "tunelab-race.json",
        mime: "application/json",
        label: Key::DownloadRace,
        title: Key::DownloadRaceTitle,
        write: RaceRecord::to_json,
    },
    Export {
        id: "export-csv",
        file: "tunelab-trials.csv",
        mime: "text/csv",
        label: Key::ExportCsv,
        title: Key::ExportCsvTitle,
        write: tunelab::share::cv_results::to_csv,
    },
    Export {
        id: "export-optuna",
        file: "tunelab-optuna.log",
        mime: "text/plain",
        label: Key::ExportOptuna,
        title: Key::ExportOptunaTitle,
        write: tunelab::share::optuna_journal::to_journal,
    },
];

/// A object URL for `text` (revoked after a minute, long after the download has read it).
fn object_url(text: &str, mime: &str) -> Option<String> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).ok()?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
    let revoke = url.clone();
    set_timeout(move || drop(web_sys::Url::revoke_object_url(&revoke)), Duration::from_secs(60));
    Some(url)
}

/// The race's three download links (shown once there is a race).
#[component]
pub fn Exports() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let race = lab.race();
    view! {
        <span class="exports" role="group" aria-label=words.t(Key::ExportLabel) class:hidden=move || race.with(Option::is_none)>
            <span class="exports-label">{words.t(Key::ExportLabel)}</span>
            {EXPORTS.iter().map(|export| {
                let export = *export;
                view! {
                    <a id=export.id class="button secondary" download=export.file href="#" title=words.t(export.title)
                        on:click=move |ev| {
                            let (Some(record), Some(link)) = (lab.race_record(), ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok())) else {
                                ev.prevent_default();
                                return;
                            };
                            match object_url(&(export.write)(&record), export.mime) {
                                Some(url) => drop(link.set_attribute("href", &url)),
                                None => ev.prevent_default(),
                            }
                        }>{words.t(export.label)}</a>
                }
            }).collect_view()}
        </span>
    }
}

/// What opening a file came to.
#[derive(Clone, PartialEq)]
enum Opening {
    Reading(String),
    Opened {
        file: String,
        trials: usize,
        methods: usize,
        panel_kept: bool,
    },
    Refused {
        file: String,
        why: String,
    },
    /// The browser could not read the file (its words).
    Unreadable {
        file: String,
        why: String,
    },
}

/// The file picker that opens a race record, and what came of it.
#[component]
pub fn OpenRecord(
    /// A race is running or paused: nothing can replace it.
    busy: Signal<bool>,
) -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let status = RwSignal::new(None::<Opening>);
    let on_change = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        // The same file chosen again must fire again.
        input.set_value("");
        let name = file.name();
        if file.size() > MAX_RECORD_BYTES as f64 {
            let why = words.lang().open_error(&tunelab::experiment::record::OpenError::TooLarge { bytes: file.size() as usize });
            status.set(Some(Opening::Refused { file: name, why }));
            return;
        }
        status.set(Some(Opening::Reading(name.clone())));
        wasm_bindgen_futures::spawn_local(async move {
            let text = wasm_bindgen_futures::JsFuture::from(file.text()).await;
            let outcome = match text.map(|t| t.as_string().unwrap_or_default()) {
                Err(e) => Opening::Unreadable { file: name.clone(), why: e.as_string().unwrap_or_else(|| format!("{e:?}")) },
                Ok(text) => match lab.open_record(&text) {
                    Ok((trials, methods)) => {
                        let panel_kept = lab.imported().get_untracked().is_some_and(|p| p.is_none());
                        Opening::Opened { file: name.clone(), trials, methods, panel_kept }
                    }
                    Err(e) => Opening::Refused { file: name.clone(), why: words.lang().open_error(&e) },
                },
            };
            status.set(Some(outcome));
        });
    };
    let said = move || {
        status.get().map(|s| match s {
            Opening::Reading(file) => words.fill(Key::ImportReading, &[("file", &file)]),
            Opening::Opened { file, trials, methods, panel_kept } => {
                let opened = words.fill(Key::ImportOpened, &[("file", &file), ("trials", &trials.to_string()), ("methods", &methods.to_string())]);
                if panel_kept {
                    format!("{opened} {}", words.get(Key::ImportPanelKept))
                } else {
                    opened
                }
            }
            Opening::Refused { file, why } => words.fill(Key::ImportRefused, &[("file", &file), ("why", &why)]),
            Opening::Unreadable { file, why } => words.fill(Key::ImportUnreadable, &[("file", &file), ("why", &why)]),
        })
    };
    let state = move || match status.get() {
        Some(Opening::Reading(_)) => "reading",
        Some(Opening::Opened { .. }) => "opened",
        Some(Opening::Refused { .. } | Opening::Unreadable { .. }) => "refused",
        None => "idle",
    };
    view! {
        <span class="open-record">
            <label for="import-file" class="button secondary" title=words.t(Key::ImportHint)>{words.t(Key::ImportLabel)}</label>
            <input type="file" id="import-file" class="visually-hidden" accept=".json,application/json" prop:disabled=busy on:change=on_change />
            <span id="import-status" role="status" data-state=state class:error=move || state() == "refused">{said}</span>
        </span>
    }
}
