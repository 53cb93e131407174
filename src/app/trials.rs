//! The trials: a list of every trial with its state and a cancel button while it waits or
//! trains, and the chosen (or latest) trial in detail with its live chart and epoch table.
//! A trial's state is its study's (`tunelab::tuning::study::TrialState`).

use super::chart::TrainingChart;
use super::format;
use super::lab::Lab;
use super::methods;
use leptos::prelude::*;
use tunelab::experiment::live::LiveTrial;
use tunelab::nn::EpochReport;
use tunelab::scheduler::TrialRef;
use tunelab::tuning::study::TrialState;

/// How the page names a trial: one configuration trained on its own is "Trial N" (its study, one
/// trial), a race's trial its method's badge and its number in the method's study.
pub fn trial_label(run: &LiveTrial) -> String {
    match run.method {
        "single" => format!("Trial {}", run.trial.study + 1),
        method => format!("{} #{}", methods::badge(method), run.trial.trial),
    }
}

/// One word per state, for styling and tests.
pub fn state_tag(state: &TrialState) -> &'static str {
    state.name()
}

/// The state in a sentence.
pub fn describe(run: &LiveTrial) -> String {
    match &run.state {
        TrialState::Waiting => "waiting for a free worker".into(),
        TrialState::Running => match run.worker {
            Some(w) if run.attempt > 1 => format!("training in worker {} (attempt {})", w + 1, run.attempt),
            Some(w) => format!("training in worker {}", w + 1),
            None => "waiting for a free worker".into(),
        },
        TrialState::Complete => format!("complete: validation accuracy {}", run.score.map(|s| format::percent(s as f32)).unwrap_or_default()),
        TrialState::Paused => format!("paused after {} epochs, waiting for the method's decision", run.reached),
        TrialState::Pruned => match run.reached {
            0 => "stopped early".into(),
            epochs => format!("stopped early, after {epochs} epochs"),
        },
        TrialState::Failed(why) => format!("failed — {why}"),
        TrialState::Diverged(why) => format!("diverged — {why}"),
        TrialState::Interrupted => "interrupted (cancelled)".into(),
    }
}

/// Every configuration trained on its own, newest last; each can be shown in detail, and
/// cancelled while it waits or trains.
#[component]
pub fn TrialList() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let runs = lab.runs();
    let trials = move || runs.with(|r| r.iter().filter(|t| t.method == "single").map(|t| t.trial).collect::<Vec<_>>());
    view! {
        <Show when=move || runs.with(|r| r.iter().any(|t| t.method == "single")) fallback=|| view! { <p class="hint">"No configuration trained yet: press Train."</p> }>
            <table id="trial-list">
                <thead><tr><th>"trial"</th><th>"state"</th><th>"epochs"</th><th>"validation accuracy"</th><th>"time"</th><th></th></tr></thead>
                <tbody>
                    <For each=trials key=|trial| *trial let:trial>
                        <TrialRow trial=trial />
                    </For>
                </tbody>
            </table>
        </Show>
    }
}

#[component]
fn TrialRow(trial: TrialRef) -> impl IntoView {
    let lab = expect_context::<Lab>();
    let (runs, clock) = (lab.runs(), lab.clock());
    let run = Memo::new(move |_| runs.with(|r| r.iter().find(|t| t.trial == trial).cloned()));
    let shown = lab.shown();
    move || {
        run.get().map(|t| {
            let seconds = t.seconds(clock.get()).map(|s| format!("{s:.1} s")).unwrap_or_default();
            view! {
                <tr class="trial-row" class:shown=move || shown.with(|s| s.as_ref().map(|s| s.trial) == Some(trial)) data-trial=trial.study + 1 data-state=state_tag(&t.state)>
                    <td><button class="link" title="show this trial below" on:click=move |_| lab.select(trial)>{trial_label(&t)}</button></td>
                    <td class="trial-state">{describe(&t)}</td>
                    <td>
                        {format!("{}/{}", t.epochs.len(), t.config.epochs)}
                        {t.epoch_progress.map(|(_, _, done, of)| view! { <progress class="epoch-progress" max=of value=done></progress> })}
                    </td>
                    <td>{t.epochs.last().and_then(|(_, e)| e.validation_accuracy).map(format::percent).unwrap_or_default()}</td>
                    <td>{seconds}</td>
                    <td>{t.is_active().then(|| view! {
                        <button class="secondary cancel-trial" on:click=move |_| lab.cancel(trial)>"Cancel"</button>
                    })}</td>
                </tr>
            }
        })
    }
}

/// The chosen trial (else the latest): its state, its chart and its epochs.
#[component]
pub fn TrialDetail() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let shown = lab.shown();
    let shown = Memo::new(move |_| shown.get());
    // Under k-fold, the chart and table follow the fold training now (the last one once done).
    let epochs = Signal::derive(move || {
        shown.with(|t| {
            t.as_ref()
                .map(|t| {
                    let fold = t.epochs.last().map_or(0, |(f, _)| *f);
                    t.epochs.iter().filter(|(f, _)| *f == fold).map(|(_, e)| e.clone()).collect()
                })
                .unwrap_or_default()
        })
    });
    let trial = Signal::derive(move || shown.with(|t| t.as_ref().map(|t| t.trial)));
    let planned = Signal::derive(move || shown.with(|t| t.as_ref().map(|t| t.config.epochs).unwrap_or(10)));
    view! {
        {move || match shown.get() {
            None => view! { <p class="hint">"Start a race, or train one configuration: a trial's loss and accuracy appear here epoch by epoch. Choose a trial in a table to see it here."</p> }.into_any(),
            Some(t) => view! { <TrialSummary run=t /> }.into_any(),
        }}
        <TrainingChart reports=epochs planned_epochs=planned />
        <EpochTable trial=trial reports=epochs />
    }
}

#[component]
fn TrialSummary(run: LiveTrial) -> impl IntoView {
    let lab = expect_context::<Lab>();
    let clock = lab.clock();
    let (trial, active) = (run.trial, run.is_active());
    let seconds = {
        let run = run.clone();
        move || run.seconds(clock.get()).map(|s| format!(" · {s:.1} s")).unwrap_or_default()
    };
    let final_accuracy = (run.state == TrialState::Complete).then(|| run.score.map(|s| format::percent(s as f32))).flatten();
    let runs = run.data.validation.runs() as usize;
    let planned = run.config.epochs as usize * runs;
    let folds = run.folds.as_ref().map(|f| {
        let scores: Vec<String> = f.scores.iter().enumerate().map(|(k, s)| format!("fold {}: {}", k + 1, format::percent(*s as f32))).collect();
        format!("{} · mean {} ± {:.2} points", scores.join(", "), format::percent(f.mean() as f32), f.spread() * 100.0)
    });
    let config_json = serde_json::to_string_pretty(&run.config).unwrap_or_default();
    let copy = {
        let text = config_json.clone();
        move |_| {
            if let Some(window) = web_sys::window() {
                let _ = window.navigator().clipboard().write_text(&text);
            }
        }
    };
    view! {
        <div id="trial-status" data-state=state_tag(&run.state) data-attempt=run.attempt data-method=run.method data-trial=run.trial.trial>
            <p>
                <strong>{trial_label(&run)}</strong>
                {format!(" — {} · {}/{} epochs", describe(&run), run.epochs.len(), planned)}
                {seconds}
            </p>
            <p class="hint">{format::config_summary(&run.config, &run.data, run.seed)}</p>
            {folds.map(|f| view! { <p id="fold-scores">{f}</p> })}
            {run.epoch_progress.map(|(fold, epoch, done, of)| {
                let fold = if runs > 1 { format!("fold {} of {runs}, ", fold + 1) } else { String::new() };
                view! {
                <p class="epoch-progress-line">
                    <progress id="epoch-progress" max=of value=done></progress>
                    {format!(" {fold}epoch {epoch}: {done} of {of} batches")}
                </p>
            }})}
            <details class="config-json">
                <summary>"Configuration as JSON (for " <code>"tunelab train --config"</code> ")"</summary>
                <pre id="config-json">{config_json}</pre>
                <button class="secondary" on:click=copy>"Copy"</button>
            </details>
            {run.crashes.iter().map(|c| view! { <p class="notice">{c.clone()}</p> }).collect_view()}
            {final_accuracy.map(|a| view! { <p class="result">"Final validation accuracy: " <span id="final-accuracy">{a}</span></p> })}
            {active.then(|| view! { <button id="cancel-button" class="secondary" on:click=move |_| lab.cancel(trial)>"Cancel"</button> })}
        </div>
    }
}

#[component]
fn EpochTable(trial: Signal<Option<TrialRef>>, reports: Signal<Vec<EpochReport>>) -> impl IntoView {
    let rows = move || reports.get().into_iter().map(|r| (trial.get(), r)).collect::<Vec<_>>();
    view! {
        <table id="epoch-table">
            <thead><tr><th>"epoch"</th><th>"learning rate"</th><th>"train loss"</th><th>"train accuracy"</th><th>"validation loss"</th><th>"validation accuracy"</th></tr></thead>
            <tbody>
                // Keyed by trial and epoch: showing another trial replaces every row.
                <For each=rows key=|(t, r)| (*t, r.epoch) let:row>
                    {let r = row.1;
                    view! {
                    <tr>
                        <td>{r.epoch}</td>
                        <td>{format::rate(r.learning_rate)}</td>
                        <td>{format!("{:.4}", r.train_loss)}</td>
                        <td>{format::percent(r.train_accuracy)}</td>
                        <td>{r.validation_loss.map(|l| format!("{l:.4}")).unwrap_or_default()}</td>
                        <td class="val-acc">{r.validation_accuracy.map(format::percent).unwrap_or_default()}</td>
                    </tr>
                    }}
                </For>
            </tbody>
        </table>
    }
}
