//! Where the race stands: its state and the Pause, Resume and Cancel buttons, one progress bar
//! overall with the time elapsed and left (`RaceBar`); one bar per method (budget spent), and
//! the ranking at equal compute — each method's best validation accuracy at 25, 50 and 100 % of
//! its budget (`RaceStanding`).

use super::explain::{Explain, Topic};
use super::exports::{Exports, OpenRecord};
use super::format::clock;
use super::lab::{Lab, RaceView};
use super::methods::{self, Badge};
use super::words::Words;
use leptos::prelude::*;
use tunelab::chart::best_so_far::best_within;
use tunelab::experiment::live::{finished_trials, LiveTrial, RaceState};
use tunelab::experiment::race::estimate_seconds;
use tunelab::text::Key;

fn state_sentence(view: &RaceView) -> Key {
    match view.state {
        RaceState::Running => Key::RaceRunning,
        RaceState::Paused => Key::RacePaused,
        RaceState::Done => Key::RaceDone,
        RaceState::Cancelled => Key::RaceCancelled,
    }
}

/// The race's bar: its state, Pause, Resume and Cancel, and the overall progress.
#[component]
pub fn RaceBar() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let race = lab.race();
    let clock_now = lab.clock();
    let state = move || race.with(|r| r.as_ref().map_or("idle", |r| r.state.tag()));
    let running = move || state() == "running";
    let paused = move || state() == "paused";
    let confirm_cancel = RwSignal::new(false);
    let overall = move || {
        race.with(|r| {
            let r = r.as_ref()?;
            let budget: u64 = r.studies.iter().map(|s| s.budget).sum();
            let spent: u64 = r.studies.iter().map(|s| s.spent).sum();
            let elapsed = (r.ended_ms.unwrap_or(clock_now.get()) - r.started_ms) / 1000.0;
            // Left: what is not yet spent, at the measured rate on the pool's workers.
            let left = match r.state {
                RaceState::Running | RaceState::Paused => {
                    estimate_seconds(budget.saturating_sub(spent), lab.rate_for(&r.setup).map(|(rate, _)| rate), lab.worker_count().get())
                        .map_or(words.get(Key::RaceTimeMeasuring).to_string(), |s| words.fill(Key::RaceTimeLeft, &[("left", &clock(s))]))
                }
                _ => String::new(),
            };
            // The methods that pause trials keep their checkpoints on the page meanwhile.
            let kept = match (r.checkpoints, r.largest_checkpoint) {
                (_, 0) => String::new(),
                ((count, bytes), largest) => {
                    let mb = |b: usize| format!("{} MB", words.lang().number(b as f64 / 1e6, 1));
                    words.fill(Key::RaceCheckpoints, &[("count", &count.to_string()), ("size", &mb(bytes)), ("largest", &mb(largest))])
                }
            };
            let share = words.lang().percent_with(spent as f64 / budget.max(1) as f64, 0);
            Some((spent, budget, format!("{}{left}{kept}", words.fill(Key::RaceBudgetLine, &[("share", &share), ("elapsed", &clock(elapsed))]))))
        })
    };
    view! {
        <section id="race-board" class="panel wide" class:live=move || race.with(Option::is_some)>
            <div class="race-bar">
                <p id="race-status" data-state=state>
                    <strong>{words.t(Key::RaceLabel)}</strong>
                    {move || words.get(race.with(|r| r.as_ref().map_or(Key::RaceNotStarted, state_sentence)))}
                </p>
                {move || overall().map(|(spent, budget, text)| view! {
                <div class="overall">
                    <progress id="race-progress" max=budget value=spent data-spent=spent data-budget=budget aria-label=words.t(Key::RaceProgressLabel)></progress>
                    <span class="overall-text">{text}</span>
                </div>
                })}

                <button id="race-pause" class="secondary" prop:disabled=move || !running() on:click=move |_| lab.set_paused(true) title=words.t(Key::PauseTitle)>{words.t(Key::Pause)}</button>
                <button id="race-resume" class="secondary" prop:disabled=move || !paused() || !lab.resumable() on:click=move |_| lab.set_paused(false)>{words.t(Key::Resume)}</button>
                <button id="race-cancel" class="secondary danger" prop:disabled=move || !(running() || paused()) on:click=move |_| confirm_cancel.set(true)>{words.t(Key::Cancel)}</button>
                <Exports />
                <OpenRecord busy=Signal::derive(move || running() || paused()) />
                <Show when=move || confirm_cancel.get() && (running() || paused())>
                    <span class="confirm" role="alertdialog" aria-label=words.t(Key::CancelQuestion)>
                        {words.t(Key::CancelQuestion)}
                        <button id="race-cancel-confirm" class="danger" on:click=move |_| { confirm_cancel.set(false); lab.cancel_race(); }>{words.t(Key::CancelConfirm)}</button>
                        <button class="secondary" on:click=move |_| confirm_cancel.set(false)>{words.t(Key::KeepRacing)}</button>
                    </span>
                </Show>
            </div>
        </section>
    }
}

/// Where each method stands: budget spent, and the ranking at equal compute.
#[component]
pub fn RaceStanding() -> impl IntoView {
    let race = expect_context::<Lab>().race_staged(3);
    let words = expect_context::<Words>();
    view! {
        <section id="race-standing" class="panel">
            <div class="view-title"><h2>{words.t(Key::StandTitle)}</h2><Explain topic=Topic::Standing /></div>
            <Show when=move || race.with(Option::is_some) fallback=move || view! { <p class="hint">{words.t(Key::StandEmpty)}</p> }>
                <MethodBoard />
                <Ranking />
            </Show>
        </section>
    }
}

/// One row per method: its badge, budget spent (finished trials solid, running ones hatched),
/// trials, and its best so far.
#[component]
fn MethodBoard() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let (race, runs) = (lab.race(), lab.runs());
    let rows = move || {
        race.with(|r| {
            let Some(r) = r.as_ref() else { return Vec::new() };
            let per_epoch = r.setup.data.images as f64;
            r.studies
                .iter()
                .map(|s| {
                    let (count, running) = runs.with(|runs| {
                        let mine: Vec<&LiveTrial> = runs.iter().filter(|t| t.trial.study == s.study).collect();
                        let running = mine.iter().filter(|t| t.is_active()).map(|t| t.cost).sum::<u64>();
                        (mine.iter().filter(|t| t.state.is_finished()).count(), running)
                    });
                    (s.clone(), count, running, s.best.map(|(_, b)| b), per_epoch)
                })
                .collect::<Vec<_>>()
        })
    };
    view! {
        <table id="method-board" class="board">
            <caption>{words.t(Key::StandCaption)}</caption>
            <thead><tr>
                <th>{words.t(Key::ColMethodLower)}</th><th>{words.t(Key::StandSpent)}</th><th>{words.t(Key::StandEpochs)}</th>
                <th>{words.t(Key::StandTrials)}</th><th>{words.t(Key::StandBest)}</th>
            </tr></thead>
            <tbody>
                {move || rows().into_iter().map(|(s, count, running, best, per_epoch)| {
                    let width = |v: u64| format!("{:.1}%", v as f64 * 100.0 / s.budget.max(1) as f64);
                    let skipped = (s.skipped > 0).then(|| view! {
                        <span class="skipped" title=words.get(Key::StandSkippedTitle)>{words.fill(Key::StandSkipped, &[("count", &s.skipped.to_string())])}</span>
                    });
                    view! {
                        <tr data-method=s.method data-spent=s.spent data-budget=s.budget>
                            <td><Badge method=s.method /></td>
                            <td class="bar-cell">
                                <span class="bar" role="progressbar" aria-valuemin="0" aria-valuemax=s.budget aria-valuenow=s.spent>
                                    <span class="spent" style=format!("width:{};background:{}", width(s.spent), methods::colour(s.method))></span>
                                    <span class="committed" style=format!("width:{}", width(running))></span>
                                </span>
                            </td>
                            <td>{format!("{:.0} / {:.0}", s.spent as f64 / per_epoch, s.budget as f64 / per_epoch)}{s.over.then(|| words.get(Key::StandDone))}</td>
                            <td>{count}{skipped}</td>
                            <td class="best">{best.map(|b| words.percent(b)).unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Each method's best at 25, 50 and 100 % of its budget, with its rank in each column.
#[component]
fn Ranking() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let (race, runs) = (lab.race(), lab.runs());
    let table = move || {
        race.with(|r| {
            let r = r.as_ref()?;
            let shares = [0.25, 0.5, 1.0];
            let bests: Vec<(&'static str, Vec<Option<f64>>)> = runs.with(|runs| {
                r.studies
                    .iter()
                    .map(|s| (s.method, shares.iter().map(|&share| best_within(&finished_trials(runs, s.study, r.started_ms), s.budget, share)).collect()))
                    .collect()
            });
            let rank = |col: usize, value: Option<f64>| value.map(|v| 1 + bests.iter().filter(|(_, b)| b[col].is_some_and(|o| o > v)).count());
            Some(bests.iter().map(|(m, b)| (*m, (0..3).map(|c| (b[c], rank(c, b[c]))).collect::<Vec<_>>())).collect::<Vec<_>>())
        })
    };
    view! {
        <table id="ranking" class="board">
            <caption>{words.t(Key::RankCaption)}</caption>
            <thead><tr>
                <th>{words.t(Key::ColMethodLower)}</th>
                {[0.25, 0.5, 1.0].map(|share| view! { <th>{move || words.fill(Key::RankAt, &[("share", &words.lang().percent_with(share, 0))])}</th> }).to_vec()}
            </tr></thead>
            <tbody>
                {move || table().unwrap_or_default().into_iter().map(|(method, cols)| view! {
                    <tr data-method=method>
                        <td><Badge method=method /></td>
                        {cols.into_iter().map(|(best, rank)| view! {
                            <td data-rank=rank.map(|r| r.to_string()).unwrap_or_default()>
                                {match (best, rank) {
                                    (Some(b), Some(r)) => format!("{} (#{r})", words.percent(b)),
                                    _ => "—".into(),
                                }}
                            </td>
                        }).collect_view()}
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <p class="hint">{move || race.with(|r| r.as_ref().map(|r| words.fill(Key::RankBudget, &[("budget", &r.setup.budget_epochs.to_string()), ("images", &words.thousands(r.setup.budget_images()))])))}</p>
    }
}
