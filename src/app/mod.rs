//! The page. Its main screen is the race: the experiment panel, where the race stands, where
//! each method looked, the best so far, the trials, and the trial shown in detail. Below it,
//! training one configuration on its own, the data and the workers. Each panel is a component
//! that reads the page's state through read-only signals and acts through the `Lab` handle
//! (`lab.rs`), provided through context.

#![forbid(unsafe_code)]

mod best_curves;
mod chart;
mod coverage_maps;
mod dataset;
mod draw_digit;
mod experiments_view;
mod explain;
mod exports;
mod final_worker;
mod form;
pub mod format;
mod journal_store;
mod keeping;
mod lab;
mod lessons_view;
mod link;
mod methods;
mod offline;
mod parallel_view;
mod race_board;
mod race_setup;
mod race_table;
mod result_panel;
mod tab_lease;
mod trials;
mod why_next;
mod words;
// Shared with the worker; the page builds envelopes and never opens one.
#[allow(dead_code)]
mod wire;
mod workers;

use best_curves::BestSoFar;
use coverage_maps::{CoverageMaps, DistinctStrip};
use dataset::{load_test, load_training, DatasetPanel, DatasetStatus, Downloaded, Progress};
use experiments_view::{ExperimentsPanel, RestoreNotice};
use explain::{Explain, Topic};
use form::SingleConfigPanel;
use lab::Lab;
use leptos::prelude::*;
use lessons_view::{LessonList, LessonPanel};
use offline::Offline;
use parallel_view::ParallelView;
use race_board::{RaceBar, RaceStanding};
use race_setup::RaceSetupPanel;
use race_table::RaceTrialsTable;
use result_panel::ResultPanel;
use std::rc::Rc;
use std::time::Duration;
use trials::{TrialDetail, TrialList};
use tunelab::scheduler::{TrialRef, WorkerState, WorkerStatus};
use tunelab::share::lessons;
use tunelab::share::link::View;
use tunelab::text::{Key, Lang};
use words::{LanguagePicker, Words};

/// Where MNIST's files are, beside the page.
const MNIST: &str = "./mnist/";

#[component]
pub fn App() -> impl IntoView {
    let dataset = RwSignal::new(DatasetStatus::Downloading(Progress::starting()));
    let words = Words::new();
    provide_context(words);
    let lab = Lab::new(dataset);
    provide_context(lab);

    // Load MNIST's training file, start the workers with it, then load the test images (only
    // the final test needs them) and keep everything for offline use. A failed load can be
    // tried again from the data panel; it fetches only what is still missing.
    let offline = RwSignal::new(Offline::Pending);
    let downloaded = StoredValue::new_local(Vec::<Downloaded>::new());
    let load = move || {
        leptos::task::spawn_local(async move {
            let train_file = match lab.training_file() {
                Some(train_file) => train_file,
                None => {
                    dataset.set(DatasetStatus::Downloading(Progress::starting()));
                    let Some((train_file, files)) = load_training(MNIST, dataset).await else { return };
                    downloaded.update_value(|d| d.extend(files));
                    let train_file = Rc::new(train_file);
                    lab.start_workers(train_file.clone());
                    train_file
                }
            };
            let Some((test, files)) = load_test(MNIST, dataset, &train_file).await else { return };
            lab.set_test_images(Rc::new(test));
            downloaded.update_value(|d| d.extend(files));
            offline::keep(MNIST, downloaded.try_update_value(std::mem::take).unwrap_or_default(), offline).await;
        });
    };
    load();
    tick_while_training(lab);
    // A link opens an experiment, perhaps a lesson that hides some views.
    let opened = link::read();
    // The races kept in this browser; a race the page went away from comes back.
    lab.open_storage(opened.as_ref().map(|o| o.state.clone()));
    let classroom = opened.as_ref().map(|o| o.classroom.clone()).unwrap_or_default();
    let shown = |view: View| !classroom.hides(view);
    let lesson = classroom.lesson.as_deref().and_then(lessons::by_id).copied();

    view! {
        <header>
            <h1>"tunelab"</h1>
            <p class="tagline">{words.t(Key::Tagline)}</p>
            <p class="data-chip" role="status">{move || words.get(data_chip(&lab.dataset().get()))}</p>
            <LanguagePicker />
        </header>
        <main>
            {lesson.map(|lesson| view! { <LessonPanel lesson=lesson /> })}
            <RaceSetupPanel opened=opened />
            <RestoreNotice />
            <RaceBar />
            {shown(View::Maps).then(|| view! { <CoverageMaps /> })}
            {shown(View::Best).then(|| view! { <BestSoFar /> })}
            {shown(View::Standing).then(|| view! { <RaceStanding /> })}
            {shown(View::Distinct).then(|| view! { <DistinctStrip /> })}
            {shown(View::Parallel).then(|| view! { <ParallelView /> })}
            {shown(View::Table).then(|| view! { <RaceTrialsTable /> })}
            {shown(View::Result).then(|| view! { <ResultPanel /> })}
            {shown(View::Trial).then(|| view! {
                <section id="trial" class="panel wide">
                    <div class="view-title"><h2>{words.t(Key::SectionTrialDetail)}</h2><Explain topic=Topic::TrainingCurves /></div>
                    <TrialDetail />
                </section>
            })}
            {shown(View::Single).then(|| view! {
                <SingleConfigPanel />
                <section id="trials" class="panel wide">
                    <h2>{words.t(Key::SectionSingle)}</h2>
                    <TrialList />
                </section>
            })}
            {shown(View::Data).then(|| view! {
                <section id="dataset" class="panel">
                    <h2>{words.t(Key::SectionData)}</h2>
                    <DatasetPanel status=lab.dataset() offline=offline.into() retry=Callback::new(move |()| load()) />
                </section>
            })}
            {shown(View::Workers).then(|| view! { <WorkersPanel /> })}
            <ExperimentsPanel />
            <LessonList />
        </main>
        <footer>
            <p>{words.t(Key::FooterBefore)}
               <a href="https://creativecommons.org/licenses/by-sa/3.0/">"CC BY-SA 3.0"</a>
               {words.t(Key::FooterAfter)}</p>
        </footer>
    }
}

/// The data's state in a few words, for the header.
fn data_chip(status: &DatasetStatus) -> Key {
    match status {
        DatasetStatus::Ready { .. } => Key::DataLoaded,
        DatasetStatus::Failed(_) => Key::DataFailed,
        _ => Key::DataLoading,
    }
}

/// Keep the page clock ticking (for elapsed times) while a trial waits or trains, and only then.
fn tick_while_training(lab: Lab) {
    let active = Memo::new(move |_| lab.runs().with(|runs| runs.iter().any(|r| r.is_active())));
    let interval = StoredValue::new(None::<IntervalHandle>);
    Effect::new(move |_| match (active.get(), interval.get_value()) {
        (true, None) => interval.set_value(set_interval_with_handle(move || lab.tick_clock(), Duration::from_millis(500)).ok()),
        (false, Some(handle)) => {
            handle.clear();
            interval.set_value(None);
            lab.tick_clock();
        }
        _ => {}
    });
    on_cleanup(move || {
        if let Some(handle) = interval.try_get_value().flatten() {
            handle.clear();
        }
    });
}

#[component]
fn WorkersPanel() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let workers = lab.workers();
    let notices = lab.notices();
    let slots = move || workers.with(|ws| ws.iter().map(|w| w.slot).collect::<Vec<_>>());
    let notice_list = move || notices.get().into_iter().enumerate().collect::<Vec<_>>();
    view! {
        <section id="workers" class="panel">
            <h2>{words.t(Key::SectionWorkers)}</h2>
            <p class="hint">{words.t(Key::WorkerHint)}</p>
            <ul class="worker-list">
                <For each=slots key=|slot| *slot let:slot>
                    <WorkerRow status=Signal::derive(move || workers.with(|ws| ws.iter().find(|w| w.slot == slot).cloned())) />
                </For>
            </ul>
            <For each=notice_list key=|(i, _)| *i let:notice>
                <p class="notice" role="status">{move || notice.1.text(words.lang())}</p>
            </For>
        </section>
    }
}

#[component]
fn WorkerRow(status: Signal<Option<WorkerStatus>>) -> impl IntoView {
    let runs = expect_context::<Lab>().runs();
    let words = expect_context::<Words>();
    move || {
        let lang = words.lang();
        status.get().map(|w| {
            let label = |trial: TrialRef| runs.with(|r| r.iter().find(|t| t.trial == trial).map(|t| trials::trial_label(lang, t))).unwrap_or_default();
            view! { <li class=format!("worker {}", worker_tag(&w.state)) data-state=worker_tag(&w.state)>{describe_worker(lang, &w, label)}</li> }
        })
    }
}

fn worker_tag(state: &WorkerState) -> &'static str {
    match state {
        WorkerState::Starting => "starting",
        WorkerState::LoadingData => "loading",
        WorkerState::Idle => "idle",
        WorkerState::Training(_) => "busy",
        WorkerState::Stopping { .. } => "stopping",
        WorkerState::Restarting { .. } => "restarting",
        WorkerState::Broken(_) | WorkerState::Retired => "broken",
    }
}

/// The worker's state in a sentence, in `lang` (why it crashed is the worker's or the browser's own words).
fn describe_worker(lang: Lang, w: &WorkerStatus, label: impl Fn(TrialRef) -> String) -> String {
    let state = match &w.state {
        WorkerState::Starting => lang.text(Key::WorkerStarting).to_string(),
        WorkerState::LoadingData => lang.text(Key::WorkerLoading).to_string(),
        WorkerState::Idle => lang.text(Key::WorkerReady).to_string(),
        WorkerState::Training(trial) => lang.fill(Key::WorkerTraining, &[("trial", &label(*trial))]),
        WorkerState::Stopping { trial, .. } => lang.fill(Key::WorkerStopping, &[("trial", &label(*trial))]),
        WorkerState::Restarting { reason, .. } => lang.fill(Key::WorkerRestarting, &[("reason", &lang.fault(reason))]),
        WorkerState::Broken(why) => lang.fill(Key::WorkerBroken, &[("why", &lang.out_of_service(why))]),
        WorkerState::Retired => lang.text(Key::WorkerRetired).to_string(),
    };
    let restarts = if w.restarts > 0 { lang.fill(Key::WorkerRestarts, &[("count", &w.restarts.to_string())]) } else { String::new() };
    lang.fill(Key::WorkerLine, &[("worker", &(w.slot + 1).to_string()), ("state", &state), ("restarts", &restarts)])
}
