//! The races kept in this browser: the list of past experiments (`#experiments-list`), each
//! reopened or deleted with a button; what the page says when the browser will not keep them
//! (`#storage-notice`); and what it says about a race it restored (`#restore-notice`).

use super::keeping::Storage;
use super::lab::{Lab, RestoredNote};
use super::methods;
use super::tab_lease;
use super::words::Words;
use leptos::prelude::*;
use tunelab::experiment::journal::{Standing, Summary};
use tunelab::text::{Key, Lang};

/// A summary's line: when, which methods, the budget, how far it got.
fn describe(lang: Lang, s: &Summary) -> String {
    let date = js_sys::Date::new(&s.started_unix_ms.into());
    let locale = if lang == Lang::Es { "es-ES" } else { "en-GB" };
    let when = String::from(date.to_locale_string(locale, &js_sys::Object::new()));
    let methods: Vec<&str> = s.methods.iter().map(|m| methods::label(lang, m)).collect();
    lang.fill(
        Key::ExperimentLine,
        &[
            ("when", &when),
            ("methods", &methods.join(", ")),
            ("budget", &s.budget_epochs.to_string()),
            ("images", &lang.thousands(s.images as u64)),
            ("finished", &s.finished.to_string()),
            ("trials", &s.trials.to_string()),
        ],
    )
}

fn standing(s: &Summary) -> (&'static str, Key) {
    match s.standing {
        Standing::Unfinished => ("unfinished", Key::ExperimentUnfinished),
        Standing::Done => ("done", Key::ExperimentDone),
        Standing::Cancelled => ("cancelled", Key::ExperimentCancelled),
    }
}

#[component]
pub fn ExperimentsPanel() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let keeping = lab.keeping();
    let storage = keeping.storage();
    let experiments = keeping.experiments();
    let runs = lab.runs();
    // Another race cannot come on the screen while trials of this one train.
    let busy = Memo::new(move |_| runs.with(|r| r.iter().any(|t| t.is_active())));
    let ids = move || experiments.with(|list| list.iter().map(|s| s.id.clone()).collect::<Vec<_>>());
    view! {
        <section id="experiments" class="panel wide">
            <h2>{words.t(Key::SectionExperiments)}</h2>
            {move || match storage.get() {
                Storage::TabOnly(why) => Some(view! { <p id="storage-notice" class="notice" role="alert">{words.fill(Key::StorageTabOnly, &[("why", &why)])}</p> }),
                _ => None,
            }}
            <p class="hint">{words.t(Key::ExperimentsHint)}</p>
            <Show when=move || experiments.with(Vec::is_empty)>
                <p class="hint" id="experiments-empty">{words.t(Key::ExperimentsEmpty)}</p>
            </Show>
            <ul id="experiments-list">
                <For each=ids key=|id| id.clone() let:id>
                    <ExperimentRow id=id busy=busy.into() />
                </For>
            </ul>
        </section>
    }
}

#[component]
fn ExperimentRow(id: String, busy: Signal<bool>) -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let keeping = lab.keeping();
    let experiments = keeping.experiments();
    let summary = {
        let id = id.clone();
        Memo::new(move |_| experiments.with(|list| list.iter().find(|s| s.id == id).cloned()))
    };
    let on_screen = {
        let id = id.clone();
        let writing = keeping.writing();
        Memo::new(move |_| writing.with(|w| w.as_deref() == Some(id.as_str())))
    };
    let (open_id, delete_id, held) = (id.clone(), id.clone(), id.clone());
    view! {
        <li class="experiment" data-id=id.clone() data-standing=move || summary.with(|s| s.as_ref().map_or("", |s| standing(s).0))>
            <span class="experiment-line">{move || summary.with(|s| s.as_ref().map(|s| describe(words.lang(), s)))}</span>
            " · "
            <strong class="experiment-standing">{move || summary.with(|s| s.as_ref().map(|s| words.get(standing(s).1)))}</strong>
            {move || on_screen.get().then(|| view! { <span class="hint">" · "{words.t(Key::ExperimentOnScreen)}</span> })}
            <button type="button" class="secondary experiment-open" prop:disabled=move || busy.get() || on_screen.get()
                on:click=move |_| lab.open_experiment(open_id.clone())>{words.t(Key::ExperimentOpen)}</button>
            <button type="button" class="secondary danger experiment-delete" prop:disabled=move || on_screen.get() || tab_lease::held_elsewhere(&held)
                on:click=move |_| keeping.delete(delete_id.clone())>{words.t(Key::ExperimentDelete)}</button>
        </li>
    }
}

/// What the page says about the race it restored last, above the race bar.
#[component]
pub fn RestoreNotice() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let restored = lab.restored();
    move || {
        let lang = words.lang();
        restored.get().map(|note| {
            let (state, text) = match note {
                RestoredNote::Kept { finished, interrupted, skipped } => {
                    let mut text = lang.fill(Key::RestoredKept, &[("finished", &finished.to_string())]);
                    if interrupted > 0 {
                        text.push(' ');
                        text.push_str(&lang.fill(Key::RestoredInterrupted, &[("interrupted", &interrupted.to_string())]));
                    }
                    if skipped > 0 {
                        text.push(' ');
                        text.push_str(&lang.fill(Key::RestoredSkipped, &[("bytes", &skipped.to_string())]));
                    }
                    ("kept", text)
                }
                RestoredNote::Elsewhere { finished } => ("elsewhere", lang.fill(Key::RestoredElsewhere, &[("finished", &finished.to_string())])),
                RestoredNote::Failed(why) => ("failed", lang.fill(Key::RestoreFailed, &[("why", &why)])),
            };
            view! { <p id="restore-notice" class="notice panel wide" data-state=state role="status">{text}</p> }
        })
    }
}
