//! The trials: a list of every trial with its state and a cancel button while it waits or
//! trains, and the chosen (or latest) trial in detail with its live chart and epoch table.
//! A trial's state is its study's (`tunelab::tuning::study::TrialState`).

use super::chart::TrainingChart;
use super::format;
use super::lab::Lab;
use super::methods;
use super::words::Words;
use leptos::prelude::*;
use tunelab::experiment::live::LiveTrial;
use tunelab::nn::EpochReport;
use tunelab::scheduler::TrialRef;
use tunelab::text::{Key, Lang};
use tunelab::tuning::study::TrialState;

/// How the page names a trial: one configuration trained on its own is "Trial N" (its study, one
/// trial), a race's trial its method's badge and its number in the method's study.
pub fn trial_label(lang: Lang, run: &LiveTrial) -> String {
    match run.method {
        "single" => lang.fill(Key::TrialSingle, &[("n", &(run.trial.study + 1).to_string())]),
        method => format!("{} #{}", methods::badge(method), run.trial.trial),
    }
}

/// One word per state, for styling and tests.
pub fn state_tag(state: &TrialState) -> &'static str {
    state.name()
}

/// The state in a sentence, in `lang` (why a trial failed or diverged is the core's English).
pub fn describe(lang: Lang, run: &LiveTrial) -> String {
    match &run.state {
        TrialState::Waiting => lang.text(Key::TrialWaiting).into(),
        TrialState::Running => match run.worker {
            Some(w) if run.attempt > 1 => lang.fill(Key::TrialTrainingAttempt, &[("worker", &(w + 1).to_string()), ("attempt", &run.attempt.to_string())]),
            Some(w) => lang.fill(Key::TrialTrainingIn, &[("worker", &(w + 1).to_string())]),
            None => lang.text(Key::TrialWaiting).into(),
        },
        TrialState::Complete => lang.fill(Key::TrialComplete, &[("score", &run.score.map(|s| lang.percent(s)).unwrap_or_default())]),
        TrialState::Paused => lang.fill(Key::TrialPaused, &[("epochs", &run.reached.to_string())]),
        TrialState::Pruned => match run.reached {
            0 => lang.text(Key::TrialStopped).into(),
            epochs => lang.fill(Key::TrialStoppedAfter, &[("epochs", &epochs.to_string())]),
        },
        TrialState::Failed(why) => lang.fill(Key::TrialFailed, &[("why", &run.why.as_ref().map_or_else(|| why.clone(), |w| lang.trial_why(w)))]),
        TrialState::Diverged(why) => lang.fill(Key::TrialDiverged, &[("why", &run.why.as_ref().map_or_else(|| why.clone(), |w| lang.trial_why(w)))]),
        TrialState::Interrupted => lang.text(Key::TrialInterrupted).into(),
    }
}

/// Seconds with one decimal: "12.3 s" / "12,3 s".
fn seconds_text(lang: Lang, seconds: f64) -> String {
    format!("{} s", lang.number(seconds, 1))
}

/// Every configuration trained on its own, newest last; each can be shown in detail, and
/// cancelled while it waits or trains.
#[component]
pub fn TrialList() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let runs = lab.runs();
    let trials = move || runs.with(|r| r.iter().filter(|t| t.method == "single").map(|t| t.trial).collect::<Vec<_>>());
    view! {
        <Show when=move || runs.with(|r| r.iter().any(|t| t.method == "single")) fallback=move || view! { <p class="hint">{words.t(Key::TrialNoneYet)}</p> }>
            <table id="trial-list">
                <thead><tr>
                    <th>{words.t(Key::TrialColTrial)}</th><th>{words.t(Key::TrialColState)}</th><th>{words.t(Key::TrialColEpochs)}</th>
                    <th>{words.t(Key::ChartValidationAccuracy)}</th><th>{words.t(Key::TrialColTime)}</th><th></th>
                </tr></thead>
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
    let words = expect_context::<Words>();
    let (runs, clock) = (lab.runs(), lab.clock());
    let run = Memo::new(move |_| runs.with(|r| r.iter().find(|t| t.trial == trial).cloned()));
    let shown = lab.shown();
    move || {
        // The row is redrawn when the trial or the language changes.
        let lang = words.lang();
        run.get().map(|t| {
            let seconds = t.seconds(clock.get()).map(|s| seconds_text(lang, s)).unwrap_or_default();
            view! {
                <tr class="trial-row" class:shown=move || shown.with(|s| s.as_ref().map(|s| s.trial) == Some(trial)) data-trial=trial.study + 1 data-state=state_tag(&t.state)>
                    <td><button class="link" title=lang.text(Key::TrialShowTitle) on:click=move |_| lab.select(trial)>{trial_label(lang, &t)}</button></td>
                    <td class="trial-state">{describe(lang, &t)}</td>
                    <td>
                        {format!("{}/{}", t.epochs.len(), t.config.epochs)}
                        {t.epoch_progress.map(|(_, _, done, of)| view! { <progress class="epoch-progress" max=of value=done></progress> })}
                    </td>
                    <td>{t.epochs.last().and_then(|(_, e)| e.validation_accuracy).map(|a| lang.percent(a as f64)).unwrap_or_default()}</td>
                    <td>{seconds}</td>
                    <td>{t.is_active().then(|| view! {
                        <button class="secondary cancel-trial" on:click=move |_| lab.cancel(trial)>{lang.text(Key::Cancel)}</button>
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
    let words = expect_context::<Words>();
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
            None => view! { <p class="hint">{words.t(Key::TrialDetailHint)}</p> }.into_any(),
            Some(t) => view! { <TrialSummary run=t /> }.into_any(),
        }}
        <TrainingChart reports=epochs planned_epochs=planned />
        <EpochTable trial=trial reports=epochs />
    }
}

#[component]
fn TrialSummary(run: LiveTrial) -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let clock = lab.clock();
    let (trial, active) = (run.trial, run.is_active());
    let seconds = {
        let run = run.clone();
        move || run.seconds(clock.get()).map(|s| format!(" · {}", seconds_text(words.lang(), s))).unwrap_or_default()
    };
    let final_accuracy = (run.state == TrialState::Complete).then_some(run.score).flatten();
    let runs = run.data.validation.runs() as usize;
    let planned = run.config.epochs as usize * runs;
    let folds = run.folds.clone().map(|f| {
        move || {
            let lang = words.lang();
            let scores: Vec<String> = f
                .scores
                .iter()
                .enumerate()
                .map(|(k, s)| lang.fill(Key::TrialFoldScore, &[("fold", &(k + 1).to_string()), ("score", &lang.percent(*s))]))
                .collect();
            lang.fill(Key::TrialFoldMean, &[("scores", &scores.join(", ")), ("mean", &lang.percent(f.mean())), ("spread", &lang.number(f.spread() * 100.0, 2))])
        }
    });
    let config_json = serde_json::to_string_pretty(&run.config).unwrap_or_default();
    // A complete trial can be retrained and tested like a method's best.
    let retrain = final_accuracy.map(|score| tunelab::experiment::live::Candidate {
        trial: run.trial,
        method: run.method,
        score,
        config: run.config.clone(),
        seed: run.seed,
    });
    let copy = {
        let text = config_json.clone();
        move |_| {
            if let Some(window) = web_sys::window() {
                let _ = window.navigator().clipboard().write_text(&text);
            }
        }
    };
    let label = {
        let run = run.clone();
        move || trial_label(words.lang(), &run)
    };
    let status = {
        let run = run.clone();
        move || {
            let lang = words.lang();
            lang.fill(Key::TrialStatusLine, &[("state", &describe(lang, &run)), ("done", &run.epochs.len().to_string()), ("planned", &planned.to_string())])
        }
    };
    view! {
        <div id="trial-status" data-state=state_tag(&run.state) data-attempt=run.attempt data-method=run.method data-trial=run.trial.trial>
            <p>
                <strong>{label}</strong>
                {status}
                {seconds}
            </p>
            <p class="hint">{move || format::config_summary(words.lang(), &run.config, &run.data, run.seed)}</p>
            {folds.map(|f| view! { <p id="fold-scores">{f}</p> })}
            {run.epoch_progress.map(|(fold, epoch, done, of)| {
                let line = move || {
                    let lang = words.lang();
                    let fold = if runs > 1 { lang.fill(Key::TrialFoldProgress, &[("fold", &(fold + 1).to_string()), ("folds", &runs.to_string())]) } else { String::new() };
                    let epoch = lang.fill(Key::TrialEpochProgress, &[("epoch", &epoch.to_string()), ("done", &done.to_string()), ("of", &of.to_string())]);
                    format!(" {fold}{epoch}")
                };
                view! {
                <p class="epoch-progress-line">
                    <progress id="epoch-progress" max=of value=done></progress>
                    {line}
                </p>
            }})}
            {retrain.map(|candidate| view! {
                <button id="retrain-trial" class="secondary" title=words.t(Key::RetrainThisTitle) on:click=move |_| {
                    lab.retrain(std::slice::from_ref(&candidate), lab.retrain_images().get_untracked());
                    if let Some(result) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("result")) {
                        result.scroll_into_view();
                    }
                }>{words.t(Key::RetrainThis)}</button>
            })}
            <details class="config-json">
                <summary>{words.t(Key::TrialJsonSummary)} <code>"tunelab train --config"</code> ")"</summary>
                <pre id="config-json">{config_json}</pre>
                <button class="secondary" on:click=copy>{words.t(Key::TrialCopy)}</button>
            </details>
            {run.crashes.iter().map(|(attempt, why)| {
                let (attempt, why) = (*attempt, why.clone());
                view! { <p class="notice">{move || words.lang().crash(attempt, &why)}</p> }
            }).collect_view()}
            {final_accuracy.map(|a| view! { <p class="result">{words.t(Key::TrialFinalAccuracy)} <span id="final-accuracy">{move || words.percent(a)}</span></p> })}
            {active.then(|| view! { <button id="cancel-button" class="secondary" on:click=move |_| lab.cancel(trial)>{words.t(Key::Cancel)}</button> })}
        </div>
    }
}

#[component]
fn EpochTable(trial: Signal<Option<TrialRef>>, reports: Signal<Vec<EpochReport>>) -> impl IntoView {
    let words = expect_context::<Words>();
    let rows = move || reports.get().into_iter().map(|r| (trial.get(), r)).collect::<Vec<_>>();
    view! {
        <table id="epoch-table">
            <thead><tr>
                <th>{words.t(Key::ChartEpoch)}</th><th>{words.t(Key::SingleLearningRate)}</th><th>{words.t(Key::ChartTrainLoss)}</th>
                <th>{words.t(Key::ChartTrainAccuracy)}</th><th>{words.t(Key::ChartValidationLoss)}</th><th>{words.t(Key::ChartValidationAccuracy)}</th>
            </tr></thead>
            <tbody>
                // Keyed by trial and epoch: showing another trial replaces every row.
                <For each=rows key=|(t, r)| (*t, r.epoch) let:row>
                    {let r = row.1;
                    let (rate, loss, accuracy) = (r.learning_rate, r.train_loss, r.train_accuracy);
                    let (validation_loss, validation_accuracy) = (r.validation_loss, r.validation_accuracy);
                    view! {
                    <tr>
                        <td>{r.epoch}</td>
                        <td>{move || words.lang().localise(&format::rate(rate))}</td>
                        <td>{move || words.lang().number(loss as f64, 4)}</td>
                        <td>{move || words.percent(accuracy as f64)}</td>
                        <td>{move || validation_loss.map(|l| words.lang().number(l as f64, 4)).unwrap_or_default()}</td>
                        <td class="val-acc">{move || validation_accuracy.map(|a| words.percent(a as f64)).unwrap_or_default()}</td>
                    </tr>
                    }}
                </For>
            </tbody>
        </table>
    }
}
