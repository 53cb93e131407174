//! Coverage maps: where each method looked. One small map per racing method, all on the same
//! two params (the user picks them) over their declared ranges and scales, each trial a mark —
//! shape for its state, fill for its validation accuracy on the shared colour scale — the best
//! starred, running trials hollow, with marginal rugs counting the distinct values tried. Below,
//! the strip of 1-D projections: for every param, the distinct values each method tried.
//! The geometry comes from the core (`tunelab::chart::{coverage, param_axis, accuracy_scale}`);
//! this file draws it.

use super::explain::{Explain, Topic};
use super::lab::Lab;
use super::methods::{self, Badge};
use super::race_table::state_name;
use super::trials::state_tag;
use super::why_next::WhyNextPanel;
use super::words::Words;
use leptos::prelude::*;
use tunelab::chart::accuracy_scale::{AccuracyScale, STOPS};
use tunelab::chart::coverage::{coverage, distinct_values, path_on_map, rug, CoveragePoint};
use tunelab::chart::param_axis::param_ticks;
use tunelab::experiment::live::LiveTrial;
use tunelab::text::{Key, Lang};
use tunelab::tuning::study::TrialState;

/// A map's size in SVG units: the plot, and room for the rugs (top, left) and tick labels.
const PLOT: f64 = 190.0;
const PAD_LEFT: f64 = 44.0;
const PAD_TOP: f64 = 14.0;
const PAD_BOTTOM: f64 = 30.0;
const PAD_RIGHT: f64 = 10.0;
const MAP_WIDTH: f64 = PAD_LEFT + PLOT + PAD_RIGHT;
const MAP_HEIGHT: f64 = PAD_TOP + PLOT + PAD_BOTTOM;

fn px(x: f64) -> f64 {
    PAD_LEFT + x * PLOT
}
fn py(y: f64) -> f64 {
    PAD_TOP + (1.0 - y) * PLOT
}

#[component]
pub fn CoverageMaps() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let race = lab.race_staged(1);
    let params = Memo::new(move |_| {
        race.with(|r| r.as_ref().map(|r| r.setup.space.params().iter().map(|p| words.lang().param(&p.name)).collect::<Vec<_>>()).unwrap_or_default())
    });
    let x_param = RwSignal::new(0usize);
    let y_param = RwSignal::new(1usize);
    // A new race may search other params: keep the choices inside it, on two different params.
    Effect::new(move |_| {
        let n = params.with(Vec::len);
        if n == 0 {
            return;
        }
        if x_param.get_untracked() >= n {
            x_param.set(0);
        }
        if y_param.get_untracked() >= n || (n > 1 && y_param.get_untracked() == x_param.get_untracked()) {
            y_param.set(if x_param.get_untracked() == 0 { 1.min(n - 1) } else { 0 });
        }
    });
    let studies = Memo::new(move |_| race.with(|r| r.as_ref().map(|r| r.studies.iter().map(|s| (s.study, s.method)).collect::<Vec<_>>()).unwrap_or_default()));
    // The method whose "why this point next" panel is open (one at a time, below the maps).
    let why = RwSignal::new(None::<usize>);
    // A new race closes it.
    Effect::new(move |_| {
        let open = why.get_untracked();
        if open.is_some() && !studies.with(|s| s.iter().any(|(study, _)| Some(*study) == open)) {
            why.set(None);
        }
    });
    let picker = move |id: &'static str, label: Key, chosen: RwSignal<usize>| {
        view! {
            <label class="field inline">
                <span>{words.t(label)}</span>
                <select id=id on:change=move |ev| chosen.set(event_target_value(&ev).parse().unwrap_or(0))>
                    {move || params.get().into_iter().enumerate().map(|(i, name)| view! { <option value=i selected=move || chosen.get() == i>{name}</option> }).collect_view()}
                </select>
            </label>
        }
    };
    view! {
        <section id="coverage" class="panel wide">
            <div class="view-title"><h2>{words.t(Key::MapTitle)}</h2><Explain topic=Topic::CoverageMaps /></div>
            <Show when=move || race.with(Option::is_some) fallback=move || view! { <p class="hint">{words.t(Key::MapEmpty)}</p> }>
                <div class="map-controls">
                    {picker("map-x", Key::MapAcross, x_param)}
                    {picker("map-y", Key::MapUp, y_param)}
                    <button class="secondary" title=words.t(Key::MapSwapTitle) on:click=move |_| { let x = x_param.get(); x_param.set(y_param.get()); y_param.set(x); }>{words.t(Key::MapSwap)}</button>
                    <AccuracyLegend />
                    <StateLegend />
                </div>
                <div class="maps">
                    <For each=move || studies.get() key=|(study, _)| *study let:entry>
                        <CoverageMap study=entry.0 method=entry.1 x_param=x_param.into() y_param=y_param.into() why=why />
                    </For>
                </div>
                {move || why.get().and_then(|study| studies.with(|s| s.iter().find(|(s, _)| *s == study).copied())).map(|(study, method)| view! {
                    <WhyNextPanel study=study method=method x_param=x_param.into() y_param=y_param.into() on_close=Callback::new(move |()| why.set(None)) />
                })}
            </Show>
        </section>
    }
}

/// One method's map.
#[component]
fn CoverageMap(study: usize, method: &'static str, x_param: Signal<usize>, y_param: Signal<usize>, why: RwSignal<Option<usize>>) -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let (race, runs) = (lab.race(), lab.runs());
    let scale = AccuracyScale::default();
    let mine = Memo::new(move |_| runs.with(|r| r.iter().filter(|t| t.trial.study == study).cloned().collect::<Vec<LiveTrial>>()));
    // The study's best trial and score (`StudySummary::best`).
    let best = Memo::new(move |_| race.with(|r| r.as_ref().and_then(|r| r.studies.iter().find(|s| s.study == study)?.best)));
    let points = Memo::new(move |_| {
        let (x, y) = (x_param.get(), y_param.get());
        mine.with(|trials| {
            if trials.first().is_some_and(|t| t.unit.len() <= x.max(y)) {
                return Vec::new();
            }
            coverage(trials, x, y, best.get().map(|(id, _)| id))
        })
    });
    let axes = Memo::new(move |_| {
        race.with(|r| {
            let r = r.as_ref()?;
            let params = r.setup.space.params();
            let (x, y) = (params.get(x_param.get())?, params.get(y_param.get())?);
            Some((param_ticks(x), param_ticks(y), words.lang().param(&x.name), words.lang().param(&y.name)))
        })
    });
    let header = move || {
        mine.with(|t| {
            let complete = t.iter().filter(|t| t.state == TrialState::Complete).count();
            let running = t.iter().filter(|t| t.is_active()).count();
            let best = best.get().map(|(_, b)| words.fill(Key::MapBest, &[("score", &words.percent(b))])).unwrap_or_default();
            let running = if running > 0 { words.fill(Key::MapRunning, &[("count", &running.to_string())]) } else { String::new() };
            format!("{}{running}{best}", words.fill(Key::MapScored, &[("count", &complete.to_string())]))
        })
    };
    // The keyboard: arrows step through the trials in the order they were proposed; Enter opens one.
    let focused = RwSignal::new(None::<usize>);
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let count = mine.with(Vec::len);
        if count == 0 {
            return;
        }
        let next = match (ev.key().as_str(), focused.get_untracked()) {
            ("ArrowRight" | "ArrowDown", Some(i)) => (i + 1).min(count - 1),
            ("ArrowLeft" | "ArrowUp", Some(i)) => i.saturating_sub(1),
            ("ArrowRight" | "ArrowDown" | "ArrowLeft" | "ArrowUp" | "Home", _) => 0,
            ("End", _) => count - 1,
            ("Enter", Some(i)) => {
                lab.select(tunelab::scheduler::TrialRef { study, trial: i });
                return;
            }
            ("Escape", _) => {
                focused.set(None);
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        focused.set(Some(next));
    };
    // A hypergradient trial moves its learning rate and L2 as it trains: its path across the map.
    let hg_paths = Memo::new(move |_| {
        if method != "hypergradient" {
            return Vec::new();
        }
        let (x, y) = (x_param.get(), y_param.get());
        race.with(|r| {
            let Some(r) = r.as_ref() else { return Vec::new() };
            mine.with(|trials| {
                trials
                    .iter()
                    .filter_map(|t| path_on_map(&r.setup.space, &t.unit, t.paths.as_ref()?, x, y))
                    .map(|line| line.iter().map(|&(a, b)| format!("{:.1},{:.1}", px(a), py(b))).collect::<Vec<_>>().join(" "))
                    .collect::<Vec<String>>()
            })
        })
    });
    let rugs = move || {
        points.with(|p| {
            let done: Vec<&CoveragePoint> = p.iter().filter(|p| p.state.is_finished()).collect();
            (rug(done.iter().map(|p| p.x)), rug(done.iter().map(|p| p.y)))
        })
    };
    let marks = move || {
        let kept: Vec<bool> = mine.with(|t| t.iter().map(|t| lab.passes(t)).collect());
        let lang = words.lang();
        points.with(|p| p.iter().map(|p| (p.clone(), kept.get(p.trial).copied().unwrap_or(true), lang)).collect::<Vec<_>>())
    };
    view! {
        <figure class="coverage-map" data-method=method>
            <figcaption>
                <Badge method=method />
                " " <span class="map-count">{header}</span>
                <button class="secondary small why-button" data-method=method aria-expanded=move || (why.get() == Some(study)).to_string()
                    title=words.t(Key::WhyButtonTitle)
                    on:click=move |_| why.update(|w| *w = if *w == Some(study) { None } else { Some(study) })>{words.t(Key::WhyButton)}</button>
            </figcaption>
            <svg viewBox=format!("0 0 {MAP_WIDTH} {MAP_HEIGHT}") role="img" tabindex="0" on:keydown=on_key
                aria-label=move || words.fill(Key::MapLabel, &[("method", methods::label(words.lang(), method))])>
                <rect class="plot-area" x=PAD_LEFT y=PAD_TOP width=PLOT height=PLOT />
                {move || axes.get().map(|(xt, yt, xn, yn)| view! {
                    {xt.into_iter().map(|t| view! {
                        <line class="grid" x1=px(t.position) x2=px(t.position) y1=PAD_TOP y2=PAD_TOP + PLOT />
                        <text class="tick bottom" x=px(t.position) y=PAD_TOP + PLOT + 11.0>{t.label}</text>
                    }).collect_view()}
                    {yt.into_iter().map(|t| view! {
                        <line class="grid" x1=PAD_LEFT x2=PAD_LEFT + PLOT y1=py(t.position) y2=py(t.position) />
                        <text class="tick left" x=PAD_LEFT - 3.0 y=py(t.position) + 3.0>{t.label}</text>
                    }).collect_view()}
                    <text class="axis-label" x=PAD_LEFT + PLOT / 2.0 y=MAP_HEIGHT - 3.0>{xn}</text>
                    <text class="axis-label" transform=format!("translate(9 {}) rotate(-90)", PAD_TOP + PLOT / 2.0)>{yn}</text>
                })}
                {move || { let (rx, ry) = rugs(); let (nx, ny) = (rx.len(), ry.len()); view! {
                    <g class="rug" data-axis="x" data-distinct=nx>
                        {rx.into_iter().map(|t| view! { <line x1=px(t.position) x2=px(t.position) y1=PAD_TOP y2=PAD_TOP + (5.0 + 3.0 * t.count as f64).min(24.0) /> }).collect_view()}
                    </g>
                    <g class="rug" data-axis="y" data-distinct=ny>
                        {ry.into_iter().map(|t| view! { <line x1=PAD_LEFT x2=PAD_LEFT + (5.0 + 3.0 * t.count as f64).min(24.0) y1=py(t.position) y2=py(t.position) /> }).collect_view()}
                    </g>
                }}}
                <g class="hg-paths">{move || hg_paths.get().into_iter().map(|points| view! { <polyline class="hg-path" points=points /> }).collect_view()}</g>
                // Keyed by everything a mark shows, so a redraw touches only the marks that changed.
                <For each=marks key=|(p, kept, lang)| (p.trial, state_tag(&p.state), p.score.map(f64::to_bits), p.best, p.stack, *kept, p.x.to_bits(), p.y.to_bits(), *lang)
                    children=move |(p, kept, lang)| mark(lang, &p, &scale, kept) />
                {move || focused.get().and_then(|i| points.with(|p| p.iter().find(|p| p.trial == i).map(|p| (px(p.x), py(p.y), p.trial)))).map(|(x, y, trial)| view! {
                    <circle class="focus-ring" cx=x cy=y r=9 />
                    <text class="tick" x=PAD_LEFT + 2.0 y=PAD_TOP + 10.0>{format!("#{trial}")}</text>
                })}
            </svg>
        </figure>
    }
}

/// A trial's mark: shape for its state, fill for its accuracy.
fn mark(lang: Lang, p: &CoveragePoint, scale: &AccuracyScale, kept: bool) -> impl IntoView {
    let (x, y) = (px(p.x), py(p.y));
    let tag = state_tag(&p.state);
    let score = p.score.map(|s| format!("{s}"));
    let title = match (&p.state, p.score) {
        (TrialState::Complete, Some(s)) => format!("#{} · {}{}", p.trial, lang.percent(s), if p.best { lang.text(Key::MapMarkBest) } else { "" }),
        (state, _) => format!("#{} · {}", p.trial, state_name(lang, state)),
    };
    let fill = p.score.map(|s| scale.colour(s)).unwrap_or_else(|| "none".into());
    let shape = match (&p.state, p.best) {
        (TrialState::Complete, true) => view! { <polygon class="mark best" points=star(x, y, 10.0) fill=fill /> }.into_any(),
        (TrialState::Complete | TrialState::Pruned, _) => view! { <circle class="mark complete" cx=x cy=y r=5 fill=fill /> }.into_any(),
        (TrialState::Running | TrialState::Waiting | TrialState::Paused, _) => view! { <circle class="mark running" cx=x cy=y r=5 /> }.into_any(),
        (TrialState::Diverged(_), _) => view! { <path class="mark diverged" d=format!("M{} {}l8 8m0 -8l-8 8", x - 4.0, y - 4.0) /> }.into_any(),
        (TrialState::Failed(_), _) => view! { <rect class="mark failed" x=x - 4.5 y=y - 4.5 width=9 height=9 /> }.into_any(),
        (TrialState::Interrupted, _) => view! { <circle class="mark interrupted" cx=x cy=y r=3 /> }.into_any(),
    };
    let stack = (p.stack > 1).then(|| view! { <text class="stack" x=x + 6.0 y=y - 5.0>{format!("×{}", p.stack)}</text> });
    view! {
        <g data-trial=p.trial data-state=tag data-score=score class:filtered-out=!kept>
            <title>{title}</title>
            {shape}
            {stack}
        </g>
    }
}

/// A five-pointed star's `points` around (x, y).
fn star(x: f64, y: f64, r: f64) -> String {
    (0..10)
        .map(|k| {
            let a = std::f64::consts::PI * (k as f64) / 5.0 - std::f64::consts::FRAC_PI_2;
            let rr = if k % 2 == 0 { r } else { r * 0.45 };
            format!("{:.1},{:.1}", x + rr * a.cos(), y + rr * a.sin())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[component]
fn AccuracyLegend() -> impl IntoView {
    let words = expect_context::<Words>();
    let scale = AccuracyScale::default();
    let stops = STOPS.iter().enumerate().map(|(i, c)| view! { <stop offset=format!("{}%", i as f64 * 12.5) stop-color=*c /> }).collect_view();
    view! {
        <svg class="legend-scale" viewBox="0 0 220 34" role="img" aria-label=words.t(Key::MapLegendLabel)>
            <defs><linearGradient id="accuracy-ramp">{stops}</linearGradient></defs>
            <text class="tick" x=0 y=9>{words.t(Key::MapLegendTitle)}</text>
            <rect x=0 y=12 width=220 height=9 fill="url(#accuracy-ramp)" />
            {scale.ticks().into_iter().map(|(t, label)| view! { <text class="tick bottom" x=t * 210.0 + 5.0 y=32>{move || words.lang().localise(&label)}</text> }).collect_view()}
        </svg>
    }
}

#[component]
fn StateLegend() -> impl IntoView {
    let words = expect_context::<Words>();
    view! {
        <svg class="legend-states" viewBox="0 0 330 20" role="img" aria-label=words.t(Key::MapStatesLabel)>
            <circle class="mark complete" cx=8 cy=10 r=5 fill="#21918C" /><text class="tick" x=16 y=14>{words.t(Key::MapStateScored)}</text>
            <polygon class="mark best" points=star(70.0, 10.0, 8.0) fill="#440154" /><text class="tick" x=80 y=14>{words.t(Key::MapStateBest)}</text>
            <circle class="mark running" cx=118 cy=10 r=5 /><text class="tick" x=126 y=14>{words.t(Key::MapStateRunning)}</text>
            <path class="mark diverged" d="M170 6l8 8m0 -8l-8 8" /><text class="tick" x=182 y=14>{words.t(Key::MapStateDiverged)}</text>
            <rect class="mark failed" x=228 y=5.5 width=9 height=9 /><text class="tick" x=241 y=14>{words.t(Key::MapStateFailed)}</text>
            <circle class="mark interrupted" cx=282 cy=10 r=3 /><text class="tick" x=288 y=14>{words.t(Key::MapStateStopped)}</text>
        </svg>
    }
}

/// For every param, the distinct values each method tried (Bergstra & Bengio's picture): grid
/// search tries few values of each, random search about as many as it ran trials.
#[component]
pub fn DistinctStrip() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let (race, runs) = (lab.race_staged(4), lab.runs());
    let table = Memo::new(move |_| {
        race.with(|r| {
            let r = r.as_ref()?;
            let names: Vec<String> = r.setup.space.params().iter().map(|p| words.lang().param(&p.name)).collect();
            let rows = runs.with(|runs| {
                r.studies
                    .iter()
                    .map(|s| {
                        let mine: Vec<LiveTrial> = runs.iter().filter(|t| t.trial.study == s.study).cloned().collect();
                        let tried = mine.iter().filter(|t| t.state != TrialState::Waiting).count();
                        (s.method, tried, distinct_values(&r.setup.space, &mine))
                    })
                    .collect::<Vec<_>>()
            });
            Some((names, rows))
        })
    });
    const W: f64 = 120.0;
    view! {
        <section id="distinct" class="panel wide">
        <div class="view-title"><h2>{words.t(Key::DistinctTitle)}</h2><Explain topic=Topic::DistinctValues /></div>
        {move || table.get().map(|(names, rows)| view! {
            <table id="distinct-values" class="strip">
                <caption>{words.t(Key::DistinctCaption)}</caption>
                <thead><tr><th>{words.t(Key::ColMethodLower)}</th>{names.into_iter().map(|n| view! { <th>{n}</th> }).collect_view()}</tr></thead>
                <tbody>
                    {rows.into_iter().map(|(method, tried, params)| view! {
                        <tr data-method=method>
                            <td><Badge method=method /></td>
                            {params.into_iter().map(|d| {
                                let few = tried > 0 && d.count() * 4 <= tried;
                                view! {
                                    <td data-param=d.param.clone() data-distinct=d.count()>
                                        <svg class="strip-cell" viewBox=format!("0 0 {W} 14") aria-hidden="true">
                                            <line class="strip-axis" x1=0 x2=W y1=13 y2=13 />
                                            {d.positions.iter().map(|&p| view! { <line class="strip-tick" x1=p * (W - 4.0) + 2.0 x2=p * (W - 4.0) + 2.0 y1=2 y2=13 /> }).collect_view()}
                                        </svg>
                                        <span class="distinct-count" class:few=few>{d.count()}</span>
                                    </td>
                                }
                            }).collect_view()}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        })}
        </section>
    }
}
