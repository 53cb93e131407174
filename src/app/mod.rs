//! The page: dataset status, the worker pool, the configuration form, and the trial being
//! trained with its live chart. State lives in signals; the pool and the data live outside them
//! (they hold JS handles) and are reached through `StoredValue`s.

mod chart;
mod dataset;
mod form;
pub mod format;
mod pool;
mod trials;

use chart::TrainingChart;
use dataset::{load_mnist, Progress};
use form::{ConfigForm, Form};
use leptos::prelude::*;
use pool::{Pool, PoolEvent, WorkerState, WorkerStatus};
use std::rc::Rc;
use trials::{TrialRecord, TrialState};
use tunelab::nn::{EpochReport, TrainConfig};
use tunelab::protocol::TrialKey;

#[derive(Debug, Clone, PartialEq)]
enum DatasetStatus {
    Downloading(Progress),
    Parsing,
    Ready { train: usize, validation: usize, test: usize },
    Failed(String),
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}

/// Default pool size: one worker per core, leaving one for the page, and at least one.
fn default_workers() -> usize {
    let cores = web_sys::window().map(|w| w.navigator().hardware_concurrency()).unwrap_or(2.0) as usize;
    cores.saturating_sub(1).max(1)
}

#[component]
pub fn App() -> impl IntoView {
    let dataset = RwSignal::new(DatasetStatus::Downloading(Progress::starting()));
    let workers = RwSignal::new(Vec::<WorkerStatus>::new());
    let worker_count = RwSignal::new(default_workers().to_string());
    let trials = RwSignal::new(Vec::<TrialRecord>::new());
    let notices = RwSignal::new(Vec::<String>::new());
    let form_error = RwSignal::new(None::<String>);
    let clock = RwSignal::new(0.0f64);
    let pool: StoredValue<Option<Pool>, LocalStorage> = StoredValue::new_local(None);
    let form = Form::new(&TrainConfig::default());

    // A ticking clock for the elapsed-time display while something trains.
    let tick = gloo_like_interval(move || clock.set(now_ms()));
    on_cleanup(move || drop(tick));

    let update_trial = move |key: TrialKey, f: &dyn Fn(&mut TrialRecord)| {
        trials.update(|list| {
            if let Some(t) = list.iter_mut().find(|t| t.key == key) {
                f(t);
            }
        });
    };
    let listener: Rc<dyn Fn(PoolEvent)> = Rc::new(move |event| match event {
        PoolEvent::Workers(list) => workers.set(list),
        PoolEvent::Started { trial, worker } => update_trial(trial, &|t| {
            t.state = TrialState::Running { worker };
            t.started_ms = Some(now_ms());
        }),
        PoolEvent::Epoch { trial, report } => update_trial(trial, &|t| t.epochs.push(report.clone())),
        PoolEvent::Finished { trial, end } => update_trial(trial, &|t| t.finish(end.clone(), now_ms())),
        PoolEvent::Crashed { trial, reason } => update_trial(trial, &|t| {
            t.state = TrialState::Failed(reason.clone());
            t.finished_ms = Some(now_ms());
        }),
        PoolEvent::Cancelled { trial } => update_trial(trial, &|t| {
            t.state = TrialState::Cancelled;
            t.finished_ms = Some(now_ms());
        }),
        PoolEvent::WorkerProblem { worker, reason } => notices.update(|n| n.push(format!("worker {}: {reason}", worker + 1))),
    });

    // Load MNIST once, then start the pool with the training pool.
    leptos::task::spawn_local(async move {
        let result = load_mnist("./mnist/", move |p| dataset.set(DatasetStatus::Downloading(p))).await;
        dataset.set(DatasetStatus::Parsing);
        match result {
            Ok(mnist) => {
                let (train, validation) = mnist.train_and_validation();
                dataset.set(DatasetStatus::Ready { train: train.len(), validation: validation.len(), test: mnist.test.len() });
                let size = worker_count.get_untracked().parse::<usize>().unwrap_or(1);
                let data = Rc::new(mnist.train_pool);
                pool.set_value(Some(Pool::new(size, data, listener.clone())));
            }
            Err(message) => dataset.set(DatasetStatus::Failed(message)),
        }
    });

    let on_workers = move |ev| {
        let text = event_target_value(&ev);
        worker_count.set(text.clone());
        if let Ok(n) = text.trim().parse::<usize>() {
            if (1..=16).contains(&n) {
                pool.with_value(|p| if let Some(p) = p { p.resize(n) });
            }
        }
    };

    let train = move |_| {
        match form.to_request() {
            Ok(request) => {
                form_error.set(None);
                let id = trials.with_untracked(|t| t.len() as u32) + 1;
                let key = TrialKey { trial_id: id, attempt: 1 };
                trials.update(|t| t.push(TrialRecord::new(key, request.clone())));
                pool.with_value(|p| if let Some(p) = p { p.submit(key, request) });
            }
            Err(message) => form_error.set(Some(message)),
        }
    };

    let ready = move || matches!(dataset.get(), DatasetStatus::Ready { .. });
    let latest = Memo::new(move |_| trials.with(|t| t.last().cloned()));
    let latest_epochs = Signal::derive(move || latest.with(|t| t.as_ref().map(|t| t.epochs.clone()).unwrap_or_default()));
    let planned = Signal::derive(move || latest.with(|t| t.as_ref().map(|t| t.request.config.epochs).unwrap_or(10)));

    view! {
        <header>
            <h1>"tunelab"</h1>
            <p class="tagline">"A hyperparameter tuning lab: train small CNNs on MNIST right here in your browser."</p>
        </header>
        <main>
            <section id="dataset" class="panel">
                <h2>"Data"</h2>
                <DatasetView status=dataset />
            </section>
            <section id="workers" class="panel">
                <h2>"Workers"</h2>
                <label class="field inline">
                    <span>"training workers"</span>
                    <input id="worker-count" type="number" min="1" max="16" prop:value=move || worker_count.get() on:change=on_workers />
                </label>
                <ul class="worker-list">
                    {move || workers.get().into_iter().map(|w| view! {
                        <li class=format!("worker {}", worker_tag(&w.state))>{describe_worker(&w)}</li>
                    }).collect_view()}
                </ul>
                {move || notices.get().into_iter().map(|n| view! { <p class="notice">{n}</p> }).collect_view()}
            </section>
            <section id="config" class="panel wide">
                <h2>"One configuration"</h2>
                <ConfigForm form=form />
                <div class="actions">
                    <button id="train-button" on:click=train disabled=move || !ready()>"Train"</button>
                    {move || latest.get().filter(|t| !t.state.is_finished()).map(|t| {
                        let id = t.key.trial_id;
                        view! { <button id="cancel-button" class="secondary" on:click=move |_| pool.with_value(|p| if let Some(p) = p { p.cancel(id) })>"Cancel"</button> }
                    })}
                    {move || form_error.get().map(|e| view! { <p id="form-error" class="error" role="alert">{e}</p> })}
                </div>
            </section>
            <section id="trial" class="panel wide">
                <h2>"Training"</h2>
                {move || match latest.get() {
                    None => view! { <p class="hint">"Press Train to train this configuration in a worker; its loss and accuracy appear here epoch by epoch."</p> }.into_any(),
                    Some(t) => view! { <TrialSummary trial=t clock=clock /> }.into_any(),
                }}
                <TrainingChart reports=latest_epochs planned_epochs=planned />
                <EpochTable reports=latest_epochs />
            </section>
        </main>
        <footer>
            <p>"MNIST database of handwritten digits by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, used under "
               <a href="https://creativecommons.org/licenses/by-sa/3.0/">"CC BY-SA 3.0"</a>
               ". Training split: 50,000 images; validation: the last 10,000 of the training file; test: the 10,000 test images."</p>
        </footer>
    }
}

/// A repeating timer that lives as long as the returned handle.
fn gloo_like_interval(f: impl Fn() + 'static) -> Interval {
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    let closure = Closure::<dyn Fn()>::new(f);
    let id = web_sys::window()
        .and_then(|w| w.set_interval_with_callback_and_timeout_and_arguments_0(closure.as_ref().unchecked_ref(), 500).ok())
        .unwrap_or(0);
    Interval { id, _closure: send_wrapper(closure) }
}

struct Interval {
    id: i32,
    _closure: SendBox,
}

impl Drop for Interval {
    fn drop(&mut self) {
        if let Some(w) = web_sys::window() {
            w.clear_interval_with_handle(self.id);
        }
    }
}

/// Leptos' cleanup wants `Send`; the page is single-threaded, so holding the JS closure is safe.
struct SendBox(#[allow(dead_code)] Box<dyn std::any::Any>);
unsafe impl Send for SendBox {}
unsafe impl Sync for SendBox {}
fn send_wrapper<T: 'static>(t: T) -> SendBox {
    SendBox(Box::new(t))
}

fn worker_tag(state: &WorkerState) -> &'static str {
    match state {
        WorkerState::Starting => "starting",
        WorkerState::LoadingData => "loading",
        WorkerState::Idle => "idle",
        WorkerState::Training(_) => "busy",
        WorkerState::Broken(_) => "broken",
    }
}

fn describe_worker(w: &WorkerStatus) -> String {
    let state = match &w.state {
        WorkerState::Starting => "starting".to_string(),
        WorkerState::LoadingData => "receiving the training data".to_string(),
        WorkerState::Idle => "ready".to_string(),
        WorkerState::Training(k) => format!("training trial {}", k.trial_id),
        WorkerState::Broken(why) => format!("out of service: {why}"),
    };
    let restarts = if w.restarts > 0 { format!(" (restarted {}×)", w.restarts) } else { String::new() };
    format!("worker {}: {state}{restarts}", w.index + 1)
}

#[component]
fn DatasetView(status: RwSignal<DatasetStatus>) -> impl IntoView {
    move || match status.get() {
        DatasetStatus::Downloading(p) => {
            let pct = if p.total > 0 { (p.loaded as f64 / p.total as f64 * 100.0).min(100.0) } else { 0.0 };
            view! {
                <div id="dataset-status" data-state="downloading">
                    <progress id="dataset-progress" max=p.total.max(1) value=p.loaded></progress>
                    <p id="dataset-progress-text">{format!("Downloading MNIST: {} of {} ({pct:.0}%)", format::megabytes(p.loaded), format::megabytes(p.total))}</p>
                </div>
            }
            .into_any()
        }
        DatasetStatus::Parsing => view! { <div id="dataset-status" data-state="parsing"><p>"Checking and unpacking MNIST…"</p></div> }.into_any(),
        DatasetStatus::Ready { train, validation, test } => view! {
            <div id="dataset-status" data-state="ready">
                <p>{format!("MNIST ready: {} training, {} validation and {} test images.", format::thousands(train as u64), format::thousands(validation as u64), format::thousands(test as u64))}</p>
            </div>
        }
        .into_any(),
        DatasetStatus::Failed(message) => view! {
            <div id="dataset-status" data-state="failed" class="error" role="alert">
                <p><strong>"MNIST could not be loaded. "</strong>{message}</p>
                <p class="hint">"Reload the page to try again. If it keeps failing, the files under mnist/ on this server are damaged or missing."</p>
            </div>
        }
        .into_any(),
    }
}

#[component]
fn TrialSummary(trial: TrialRecord, clock: RwSignal<f64>) -> impl IntoView {
    let t = trial.clone();
    let seconds = move || t.seconds(clock.get()).map(|s| format!(" · {s:.1} s")).unwrap_or_default();
    let final_accuracy = match &trial.state {
        TrialState::Completed { validation_accuracy } => Some(format::percent(*validation_accuracy)),
        _ => None,
    };
    view! {
        <div id="trial-status" data-state=trial.state.tag()>
            <p>
                <strong>{format!("Trial {}", trial.key.trial_id)}</strong>
                {format!(" — {} · {}/{} epochs", trial.state.describe(), trial.epochs.len(), trial.request.config.epochs)}
                {seconds}
            </p>
            <p class="hint">{trial.request.summary()}</p>
            {final_accuracy.map(|a| view! { <p class="result">"Final validation accuracy: " <span id="final-accuracy">{a}</span></p> })}
        </div>
    }
}

#[component]
fn EpochTable(reports: Signal<Vec<EpochReport>>) -> impl IntoView {
    view! {
        <table id="epoch-table">
            <thead><tr><th>"epoch"</th><th>"learning rate"</th><th>"train loss"</th><th>"train accuracy"</th><th>"validation loss"</th><th>"validation accuracy"</th></tr></thead>
            <tbody>
                {move || reports.get().into_iter().map(|r| view! {
                    <tr>
                        <td>{r.epoch}</td>
                        <td>{format!("{}", r.learning_rate)}</td>
                        <td>{format!("{:.4}", r.train_loss)}</td>
                        <td>{format::percent(r.train_accuracy)}</td>
                        <td>{r.validation_loss.map(|l| format!("{l:.4}")).unwrap_or_default()}</td>
                        <td class="val-acc">{r.validation_accuracy.map(format::percent).unwrap_or_default()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
