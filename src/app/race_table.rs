//! The race's trials table: every trial of every method with its params, state, score (± the
//! folds' spread under k-fold), cost and time; sortable by any column, paged so that a race of
//! a thousand trials stays quick; a row opens the trial below (its curves, folds, configuration).

use super::explain::{Explain, Topic};
use super::format::rate;
use super::lab::Lab;
use super::methods::Badge;
use super::trials::state_tag;
use super::words::Words;
use leptos::prelude::*;
use std::cmp::Ordering;
use tunelab::experiment::live::LiveTrial;
use tunelab::text::{Key, Lang};
use tunelab::tuning::space::Value;
use tunelab::tuning::study::TrialState;

const PAGE: usize = 50;

/// A trial's state in a word, in `lang`.
pub fn state_name(lang: Lang, state: &TrialState) -> &'static str {
    lang.text(match state {
        TrialState::Waiting => Key::StateWaiting,
        TrialState::Running => Key::StateRunning,
        TrialState::Paused => Key::StatePaused,
        TrialState::Complete => Key::StateComplete,
        TrialState::Pruned => Key::StatePruned,
        TrialState::Failed(_) => Key::StateFailed,
        TrialState::Diverged(_) => Key::StateDiverged,
        TrialState::Interrupted => Key::StateInterrupted,
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SortBy {
    /// Method, then trial number (the race's order).
    Method,
    Param(usize),
    State,
    Score,
    Cost,
    Time,
}

fn value_key(v: Option<&Value>) -> (f64, String) {
    match v {
        Some(Value::Int(i)) => (*i as f64, String::new()),
        Some(Value::Float(f)) => (*f, String::new()),
        Some(Value::Choice(c)) => (0.0, c.clone()),
        None => (f64::NEG_INFINITY, String::new()),
    }
}

fn compare(a: &LiveTrial, b: &LiveTrial, by: SortBy, now: f64) -> Ordering {
    let opt = |x: Option<f64>, y: Option<f64>| x.unwrap_or(f64::NEG_INFINITY).total_cmp(&y.unwrap_or(f64::NEG_INFINITY));
    match by {
        SortBy::Method => Ordering::Equal,
        SortBy::Param(i) => {
            let (x, y) = (value_key(a.values.get(i)), value_key(b.values.get(i)));
            x.0.total_cmp(&y.0).then(x.1.cmp(&y.1))
        }
        SortBy::State => state_tag(&a.state).cmp(state_tag(&b.state)),
        SortBy::Score => opt(a.score, b.score),
        SortBy::Cost => a.cost.cmp(&b.cost),
        SortBy::Time => opt(a.seconds(now), b.seconds(now)),
    }
    .then(a.trial.cmp(&b.trial))
}

fn show_value(v: &Value) -> String {
    match v {
        Value::Float(f) => rate(*f as f32),
        other => other.to_string(),
    }
}

#[component]
pub fn RaceTrialsTable() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let (race, runs, now) = (lab.race_staged(6), lab.runs(), lab.clock());
    let sort = RwSignal::new((SortBy::Method, true));
    let page = RwSignal::new(0usize);
    let names = Memo::new(move |_| {
        race.with(|r| r.as_ref().map(|r| r.setup.space.params().iter().map(|p| words.lang().param(&p.name)).collect::<Vec<_>>()).unwrap_or_default())
    });
    let per_epoch = Memo::new(move |_| race.with(|r| r.as_ref().map_or(1.0, |r| r.setup.data.images as f64)));
    let rows = Memo::new(move |_| {
        let studies: Vec<usize> = race.with(|r| r.as_ref().map(|r| r.studies.iter().map(|s| s.study).collect()).unwrap_or_default());
        let (by, ascending) = sort.get();
        let mut rows: Vec<LiveTrial> = runs.with(|r| r.iter().filter(|t| studies.contains(&t.trial.study) && lab.passes(t)).cloned().collect());
        let now = now.get_untracked();
        rows.sort_by(|a, b| {
            let o = compare(a, b, by, now);
            if ascending {
                o
            } else {
                o.reverse()
            }
        });
        rows
    });
    let any = Memo::new(move |_| {
        let studies: Vec<usize> = race.with(|r| r.as_ref().map(|r| r.studies.iter().map(|s| s.study).collect()).unwrap_or_default());
        runs.with(|r| r.iter().any(|t| studies.contains(&t.trial.study)))
    });
    let pages = move || rows.with(Vec::len).div_ceil(PAGE).max(1);
    // Closures named outside `view!`, where a `>` would end the tag.
    let on_last_page = move || page.get() + 1 >= pages();
    let shown = move || {
        let p = page.get().min(pages() - 1);
        rows.with(|r| r.iter().skip(p * PAGE).take(PAGE).cloned().collect::<Vec<_>>())
    };
    let header_with = move |label: Box<dyn Fn() -> String + Send + Sync>, by: SortBy| {
        let arrow = move || match sort.get() {
            (b, true) if b == by => " ▲",
            (b, false) if b == by => " ▼",
            _ => "",
        };
        let aria = move || match sort.get() {
            (b, true) if b == by => "ascending",
            (b, false) if b == by => "descending",
            _ => "none",
        };
        view! {
            <th aria-sort=aria>
                <button class="sort" on:click=move |_| sort.update(|(b, asc)| { if *b == by { *asc = !*asc } else { *b = by; *asc = by == SortBy::Method } })>
                    {move || label()}{arrow}
                </button>
            </th>
        }
    };
    let header = move |key: Key, by: SortBy| header_with(Box::new(move || words.get(key).to_string()), by);
    let param_header = move |name: String, by: SortBy| header_with(Box::new(move || name.clone()), by);
    let selected = lab.selected();
    let started_ms = move || race.with(|r| r.as_ref().map_or(0.0, |r| r.started_ms));
    view! {
        <section id="race-trials" class="panel wide">
            <div class="view-title"><h2>{words.t(Key::TableTitle)}</h2><Explain topic=Topic::TrialsTable /></div>
            <Show when=move || any.get() fallback=move || view! { <p class="hint">{words.t(Key::TableEmpty)}</p> }>
                <table id="trials-table">
                    <thead><tr>
                        {header(Key::ColMethodLower, SortBy::Method)}
                        <th>"#"</th>
                        {move || names.get().into_iter().enumerate().map(|(i, n)| param_header(n, SortBy::Param(i))).collect_view()}
                        {header(Key::TableState, SortBy::State)}
                        {header(Key::TableAccuracy, SortBy::Score)}
                        {header(Key::TableCost, SortBy::Cost)}
                        {header(Key::TableTime, SortBy::Time)}
                    </tr></thead>
                    <tbody>
                        {move || shown().into_iter().map(|t| {
                            let trial = t.trial;
                            let score = match (&t.folds, t.score) {
                                (Some(f), Some(s)) => format!("{} ± {}", words.lang().percent(s), words.lang().number(f.spread() * 100.0, 2)),
                                (None, Some(s)) => words.lang().percent(s),
                                _ => String::new(),
                            };
                            let time = t.seconds(now.get_untracked()).map(|s| format!("{s:.1} s")).unwrap_or_default();
                            let is_selected = move || selected.get() == Some(trial);
                            let why = match (&t.state, &t.why) {
                                (tunelab::tuning::study::TrialState::Failed(_) | tunelab::tuning::study::TrialState::Diverged(_), Some(why)) => words.lang().trial_why(why),
                                (tunelab::tuning::study::TrialState::Failed(w) | tunelab::tuning::study::TrialState::Diverged(w), None) => w.clone(),
                                _ => String::new(),
                            };
                            view! {
                                <tr data-trial=t.trial.trial data-method=t.method data-state=state_tag(&t.state) class:shown=is_selected
                                    data-started=t.started_ms.map(|ms| format!("{:.0}", ms - started_ms())) data-finished=t.finished_ms.map(|ms| format!("{:.0}", ms - started_ms()))
                                    tabindex="0" on:click=move |_| lab.select(trial)
                                    on:keydown=move |ev| if ev.key() == "Enter" { lab.select(trial) }>
                                    <td><Badge method=t.method /></td>
                                    <td>{t.trial.trial}</td>
                                    {t.values.iter().map(|v| view! { <td>{show_value(v)}</td> }).collect_view()}
                                    <td class="trial-state" title=why>{state_name(words.lang(), &t.state)}
                                        {t.epoch_progress.map(|(_, _, done, of)| view! { <progress class="epoch-progress" max=of value=done></progress> })}
                                    </td>
                                    <td class="score">{score}</td>
                                    <td>{format!("{:.0}", t.cost as f64 / per_epoch.get_untracked())}</td>
                                    <td>{time}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <div class="pager">
                    <button class="secondary" prop:disabled=move || page.get() == 0 on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>{words.t(Key::TablePrevious)}</button>
                    <span id="trials-page">{move || format!("{}{}",
                        words.fill(Key::TablePage, &[("page", &(page.get().min(pages() - 1) + 1).to_string()), ("pages", &pages().to_string()), ("count", &rows.with(Vec::len).to_string())]),
                        if lab.brushes().with(Vec::is_empty) { "" } else { words.get(Key::TableInsideBrushes) })}</span>
                    <button class="secondary" prop:disabled=on_last_page on:click=move |_| page.update(|p| *p += 1)>{words.t(Key::TableNext)}</button>
                </div>
            </Show>
        </section>
    }
}
