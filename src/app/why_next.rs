//! "Why this point next": one panel per method, opened from its coverage map, drawn from the
//! state each round's proposals came from (`tunelab::chart::why_next`): GP-EI's posterior and
//! expected improvement, TPE's good and bad densities, CMA-ES's ellipses and step size, the
//! genetic algorithm's parents and children, the grid's cells, random search's uniform draws;
//! under the median rule, the scores each round's trials had to reach.
//! Step buttons and a slider move through the rounds; a sentence says what the method did.

use super::explain::{Explain, Topic};
use super::lab::Lab;
use super::methods::{self, Badge};
use super::words::Words;
use leptos::prelude::*;
use tunelab::chart::accuracy_scale::ramp;
use tunelab::chart::accuracy_scale::AccuracyScale;
use tunelab::chart::param_axis::{number_label, param_ticks, value_label, Tick};
use tunelab::chart::why_next::{Bracket, CmaView, GaView, GpView, GridSlice, Heatmap, InsideTraining, MedianView, Member, PathLine, TpeParam, WhyNext};
use tunelab::text::Key;
use tunelab::tuning::space::SearchSpace;

/// A slice chart's plot and margins, in SVG units.
const PLOT: f64 = 170.0;
const LEFT: f64 = 42.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 30.0;
const WIDTH: f64 = LEFT + PLOT + 8.0;
const HEIGHT: f64 = TOP + PLOT + BOTTOM;

fn px(x: f64) -> f64 {
    LEFT + x.clamp(0.0, 1.0) * PLOT
}
fn py(y: f64) -> f64 {
    TOP + (1.0 - y.clamp(0.0, 1.0)) * PLOT
}

/// The panel of `study`'s method, on the coverage maps' two params.
#[component]
pub fn WhyNextPanel(study: usize, method: &'static str, x_param: Signal<usize>, y_param: Signal<usize>, on_close: Callback<()>) -> impl IntoView {
    let lab = expect_context::<Lab>();
    let w = expect_context::<Words>();
    let rounds = Memo::new(move |_| lab.rounds(study));
    // The round shown (None: follow the latest).
    let chosen = RwSignal::new(None::<usize>);
    let round = Memo::new(move |_| {
        let n = rounds.get();
        chosen.get().filter(|&r| r < n).unwrap_or(n.saturating_sub(1))
    });
    let space = Memo::new(move |_| lab.race().with(|r| r.as_ref().map(|r| r.setup.space.clone())));
    let inside = Memo::new(move |_| if rounds.get() == 0 { lab.inside_training(study) } else { None });
    let view_data = Memo::new(move |_| {
        if rounds.get() == 0 {
            return None;
        }
        lab.why_next(study, round.get(), x_param.get(), y_param.get())
    });
    let median = Memo::new(move |_| if rounds.get() == 0 { None } else { lab.median(study, round.get()) });
    let step = move |delta: i64| {
        let n = rounds.get_untracked() as i64;
        if n > 0 {
            chosen.set(Some((round.get_untracked() as i64 + delta).clamp(0, n - 1) as usize));
        }
    };
    let at_last = move || round.get() + 1 >= rounds.get();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            on_close.run(());
        }
    };
    view! {
        <section class="why-next" data-method=method data-round=move || round.get().to_string() data-rounds=move || rounds.get().to_string() on:keydown=on_key
            aria-label=move || w.fill(Key::WhyPanelLabel, &[("method", methods::label(w.lang(), method))])>
            <header class="why-head">
                <h3><Badge method=method />{w.t(Key::WhyTitle)} {move || methods::label(w.lang(), method)}</h3>
                <div class="round-stepper" role="group" aria-label=w.t(Key::RoundsLabel) class:hidden=move || rounds.get() == 0>
                    <button class="secondary small round-prev" on:click=move |_| step(-1) disabled=move || round.get() == 0 aria-label=w.t(Key::PreviousRound)>"◀"</button>
                    <input type="range" class="round-slider" min="1" max=move || rounds.get().max(1).to_string() prop:value=move || (round.get() + 1).to_string()
                        aria-label=w.t(Key::RoundLabel) on:input=move |e| chosen.set(event_target_value(&e).parse::<usize>().ok().map(|r| r.saturating_sub(1))) />
                    <button class="secondary small round-next" on:click=move |_| step(1) disabled=at_last aria-label=w.t(Key::NextRound)>"▶"</button>
                    <span class="round-label">{move || w.fill(Key::RoundOf, &[("round", &(round.get() + 1).to_string()), ("rounds", &rounds.get().to_string())])}</span>
                </div>
                <Explain topic=Topic::WhyNext />
                {Topic::for_method(method).map(|topic| view! { <Explain topic=topic /> })}
                <button class="secondary small why-close" on:click=move |_| on_close.run(()) aria-label=w.t(Key::Close)>"✕"</button>
            </header>
            {move || match (view_data.get(), space.get()) {
                (Some(data), Some(space)) => explain(w, data, &space, x_param.get_untracked(), y_param.get_untracked()).into_any(),
                (None, Some(space)) if inside.with(Option::is_some) => inside_training(w, inside.get().expect("checked"), &space).into_any(),
                _ if rounds.get() == 0 => view! { <p class="why-sentence">{no_rounds(w, method)}</p> }.into_any(),
                _ => view! { <p class="why-sentence">{w.t(Key::WhyNotOnSlice)}</p> }.into_any(),
            }}
            {move || median.get().map(|v| median_chart(w, v))}
        </section>
    }
}

fn no_rounds(w: Words, method: &str) -> String {
    match method {
        "hyperband" | "successive-halving" | "pbt" | "hypergradient" => w.fill(Key::WhyNotTrainedYet, &[("method", methods::label(w.lang(), method))]),
        _ => w.get(Key::WhyNoRoundYet).into(),
    }
}

/// The panel of a method that acts inside training.
fn inside_training(w: Words, data: InsideTraining, space: &SearchSpace) -> impl IntoView {
    match data {
        InsideTraining::Ladder(brackets) => ladder(w, brackets).into_any(),
        InsideTraining::Lineage(members) => lineage_tree(w, members, space).into_any(),
        InsideTraining::Paths { learning_rate, l2 } => view! {
            <p class="why-sentence">{paths_sentence(w, &learning_rate)}</p>
            <div class="heatmaps">
                {path_chart(w, Key::PathsLearningRate, &learning_rate)}
                {(!l2.is_empty()).then(|| path_chart(w, Key::PathsL2, &l2))}
            </div>
            <p class="hint">{w.get(Key::PathsHint)}</p>
        }
        .into_any(),
    }
}

/// A ladder chart's size.
const LW: f64 = 260.0;
const LH: f64 = 150.0;

fn ladder(w: Words, brackets: Vec<Bracket>) -> impl IntoView {
    let sentence = w.get(Key::LadderSentence);
    let scores: Vec<f64> = brackets.iter().flat_map(|b| b.rungs.iter().flat_map(|r| r.entries.iter().map(|e| e.score))).collect();
    let (low, high) = (scores.iter().copied().fold(f64::INFINITY, f64::min), scores.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    let y = move |s: f64| 12.0 + (1.0 - if high > low { (s - low) / (high - low) } else { 0.5 }) * (LH - 36.0);
    let charts = brackets
        .into_iter()
        .map(|b| {
            let n = b.rungs.len();
            let x = move |r: usize| 40.0 + if n > 1 { r as f64 * (LW - 60.0) / (n - 1) as f64 } else { (LW - 60.0) / 2.0 };
            let counts: Vec<String> =
                b.rungs.iter().map(|r| w.fill(Key::LadderRung, &[("count", &r.entries.len().to_string()), ("epochs", &r.epochs.to_string())])).collect();
            let caption = w.fill(Key::LadderBracket, &[("bracket", &(b.group + 1).to_string()), ("rungs", &counts.join(" → "))]);
            let mut links = Vec::new();
            for (i, r) in b.rungs.iter().enumerate() {
                for e in r.entries.iter().filter(|e| e.promoted) {
                    if let Some(next) = b.rungs.get(i + 1).and_then(|n| n.entries.iter().find(|f| f.trial == e.trial)) {
                        links.push((x(i), y(e.score), x(i + 1), y(next.score)));
                    }
                }
            }
            let scale = AccuracyScale::default();
            view! {
                <figure class="ladder" data-bracket=b.group.to_string()>
                    <figcaption>{caption.clone()}</figcaption>
                    <svg viewBox=format!("0 0 {LW} {LH}") role="img" aria-label=caption>
                        {links.into_iter().map(|(x1, y1, x2, y2)| view! { <line class="promotion" x1=x1 y1=y1 x2=x2 y2=y2 /> }).collect_view()}
                        {b.rungs.iter().enumerate().map(|(i, r)| view! {
                            <text class="tick bottom" x=x(i) y=LH - 8.0>{w.fill(Key::LadderEpochs, &[("epochs", &r.epochs.to_string())])}</text>
                            {r.entries.iter().map(|e| view! {
                                <circle class="rung-entry" class:promoted=e.promoted cx=x(i) cy=y(e.score) r="4.5" fill=scale.colour(e.score)>
                                    <title>{w.fill(Key::LadderEntry, &[("trial", &e.trial.to_string()), ("score", &w.percent(e.score))])}</title>
                                </circle>
                            }).collect_view()}
                        }).collect_view()}
                        <text class="tick left" x="34" y=y(high) + 3.0>{w.percent(high)}</text>
                        <text class="tick left" x="34" y=y(low) + 3.0>{w.percent(low)}</text>
                    </svg>
                </figure>
            }
        })
        .collect_view();
    view! {
        <p class="why-sentence">{sentence}</p>
        <div class="heatmaps">{charts}</div>
        <p class="hint">{w.get(Key::LadderHint)}</p>
    }
}

fn lineage_tree(w: Words, members: Vec<Member>, space: &SearchSpace) -> impl IntoView {
    let copies: usize = members.iter().map(|m| m.copies.len()).sum();
    let example = members.iter().find_map(|m| m.copies.first().map(|c| (m.trial, c))).map(|(trial, c)| {
        let changes: Vec<String> =
            c.changed.iter().map(|(p, a, b)| format!("{} {} → {}", name(space, *p), w.lang().localise(a), w.lang().localise(b))).collect();
        let changes = if changes.is_empty() { w.get(Key::PbtNothing).to_string() } else { changes.join(", ") };
        w.fill(Key::PbtExample, &[("epochs", &c.epochs.to_string()), ("trial", &trial.to_string()), ("from", &c.from.to_string()), ("changes", &changes)])
    });
    let sentence =
        format!("{}{}", w.fill(Key::PbtSentence, &[("members", &members.len().to_string()), ("copies", &copies.to_string())]), example.unwrap_or_default());
    let max_epochs = members.iter().flat_map(|m| m.scored.iter().map(|s| s.0)).max().unwrap_or(1).max(1) as f64;
    let rows = members.len().max(1) as f64;
    let height = 20.0 + rows * 22.0;
    let x = move |e: u32| 50.0 + e as f64 * (LW * 1.6 - 70.0) / max_epochs;
    let row_of = |trial: usize| members.iter().position(|m| m.trial == trial);
    let y = move |row: usize| 14.0 + row as f64 * 22.0;
    let scale = AccuracyScale::default();
    let mut arrows = Vec::new();
    for (row, m) in members.iter().enumerate() {
        for c in &m.copies {
            if let Some(from) = row_of(c.from) {
                arrows.push((x(c.epochs), y(from), y(row)));
            }
        }
    }
    let width = LW * 1.6;
    view! {
        <p class="why-sentence">{sentence}</p>
        <figure class="lineage">
            <svg viewBox=format!("0 0 {width} {height}") role="img"
                aria-label=w.fill(Key::PbtLabel, &[("members", &members.len().to_string()), ("epochs", &max_epochs.to_string()), ("copies", &copies.to_string())])>
                {members.iter().enumerate().map(|(row, m)| view! {
                    <text class="tick left" x="44" y=y(row) + 3.0>{format!("#{}", m.trial)}</text>
                    <line class="member-line" x1=x(0) x2=x(m.scored.last().map_or(0, |s| s.0)) y1=y(row) y2=y(row) />
                    {m.scored.iter().map(|&(e, s)| view! { <circle class="member-score" cx=x(e) cy=y(row) r="5" fill=scale.colour(s)><title>{w.fill(Key::PbtEpoch, &[("epochs", &e.to_string()), ("score", &w.percent(s))])}</title></circle> }).collect_view()}
                }).collect_view()}
                {arrows.into_iter().map(|(ax, y1, y2)| view! { <path class="copy-arrow" d=format!("M{ax} {y1}L{ax} {y2}M{} {}L{ax} {y2}L{} {}", ax - 3.0, y2 - 4.0 * (y2 - y1).signum(), ax + 3.0, y2 - 4.0 * (y2 - y1).signum()) /> }).collect_view()}
            </svg>
        </figure>
        <p class="hint">{w.get(Key::PbtHint)}</p>
    }
}

fn paths_sentence(w: Words, lines: &[PathLine]) -> String {
    let best = lines.iter().filter(|l| l.score.is_some()).max_by(|a, b| a.score.unwrap().total_cmp(&b.score.unwrap()));
    match best.and_then(|l| Some((l, l.points.first()?, l.points.last()?))) {
        Some((l, first, last)) => w.fill(
            Key::PathsSentence,
            &[
                ("trial", &l.trial.to_string()),
                ("from", &w.lang().localise(&number_label(first.1))),
                ("to", &w.lang().localise(&number_label(last.1))),
                ("steps", &w.thousands(last.0 as u64)),
            ],
        ),
        None => w.get(Key::PathsPending).into(),
    }
}

fn path_chart(w: Words, title: Key, lines: &[PathLine]) -> impl IntoView {
    let title = w.get(title);
    let values: Vec<f64> = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).filter(|v| *v > 0.0).collect();
    let (low, high) = (values.iter().copied().fold(f64::INFINITY, f64::min).log10(), values.iter().copied().fold(f64::NEG_INFINITY, f64::max).log10());
    let steps = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)).fold(1.0, f64::max);
    let best = lines.iter().filter(|l| l.score.is_some()).max_by(|a, b| a.score.unwrap().total_cmp(&b.score.unwrap())).map(|l| l.trial);
    let x = move |s: f64| 40.0 + s / steps * (LW - 50.0);
    let y = move |v: f64| 10.0 + (1.0 - if high > low { (v.max(1e-12).log10() - low) / (high - low) } else { 0.5 }) * (LH - 34.0);
    view! {
        <figure class="paths">
            <figcaption><strong>{title}</strong>" " <span class="hint">{w.get(Key::PathsOverSteps)}</span></figcaption>
            <svg viewBox=format!("0 0 {LW} {LH}") role="img" aria-label=w.fill(Key::PathsLabel, &[("what", title), ("count", &lines.len().to_string())])>
                {lines.iter().map(|l| {
                    let points = l.points.iter().map(|&(s, v)| format!("{:.1},{:.1}", x(s), y(v))).collect::<Vec<_>>().join(" ");
                    let is_best = Some(l.trial) == best;
                    view! {
                        <polyline class="path-line" class:best=is_best points=points>
                            <title>{w.fill(Key::TrialNumber, &[("trial", &l.trial.to_string())])}</title>
                        </polyline>
                    }
                }).collect_view()}
                <text class="tick left" x="36" y=y(10f64.powf(high)) + 3.0>{w.lang().localise(&number_label(10f64.powf(high)))}</text>
                <text class="tick left" x="36" y=y(10f64.powf(low)) + 3.0>{w.lang().localise(&number_label(10f64.powf(low)))}</text>
                <text class="tick bottom" x=x(steps) y=LH - 8.0>{w.fill(Key::PathsSteps, &[("steps", &w.thousands(steps as u64))])}</text>
            </svg>
        </figure>
    }
}

fn name(space: &SearchSpace, param: usize) -> String {
    let lang = expect_context::<Words>().lang();
    space.params().get(param).map_or_else(String::new, |p| lang.param(&p.name))
}

/// A param's value at a unit coordinate, as its axis labels it.
fn value_at(w: Words, space: &SearchSpace, param: usize, u: f64) -> String {
    space.params().get(param).map_or_else(String::new, |p| w.lang().localise(&value_label(&p.from_unit(u))))
}

fn explain(w: Words, data: WhyNext, space: &SearchSpace, x: usize, y: usize) -> impl IntoView {
    let n = |v: usize| v.to_string();
    match data {
        WhyNext::Uniform { warming_up: Some((have, need)), proposals } => view! {
            <p class="why-sentence">{w.fill(Key::WhyWarmingUp, &[("need", &n(need)), ("have", &n(have)), ("count", &n(proposals))])}</p>
        }
        .into_any(),
        WhyNext::Uniform { warming_up: None, proposals } => view! {
            <p class="why-sentence">{w.fill(Key::WhyRandom, &[("count", &n(proposals))])}</p>
            <UniformStrip />
        }
        .into_any(),
        WhyNext::Grid { before, cells, proposals, slice } => {
            let left = cells.saturating_sub(before + proposals);
            view! {
                <p class="why-sentence">{w.fill(Key::WhyGrid, &[("count", &n(proposals)), ("before", &n(before)), ("cells", &n(cells)), ("left", &n(left))])}</p>
                <GridCells before=before proposals=proposals cells=cells />
                {grid_slice(w, slice, space, x, y)}
            }
            .into_any()
        }
        WhyNext::Gp(v) => gp_panel(w, *v, space).into_any(),
        WhyNext::Tpe(params) => tpe_panel(w, params, space).into_any(),
        WhyNext::Cma(v) => cma_panel(w, v, space, x, y).into_any(),
        WhyNext::Ga(v) => ga_panel(w, v, space, x, y).into_any(),
    }
}

/// The slice's axes: ticks, grid lines and names.
fn axes(w: Words, space: &SearchSpace, x: usize, y: usize) -> impl IntoView {
    let ticks = |p: usize| space.params().get(p).map(param_ticks).unwrap_or_default();
    let (xt, yt): (Vec<Tick>, Vec<Tick>) = (ticks(x), ticks(y));
    view! {
        {xt.into_iter().map(|t| view! { <text class="tick bottom" x=px(t.position) y=TOP + PLOT + 11.0>{w.lang().localise(&t.label)}</text> }).collect_view()}
        {yt.into_iter().map(|t| view! { <text class="tick left" x=LEFT - 3.0 y=py(t.position) + 3.0>{w.lang().localise(&t.label)}</text> }).collect_view()}
        <text class="axis-label" x=LEFT + PLOT / 2.0 y=HEIGHT - 3.0>{name(space, x)}</text>
        <text class="axis-label" transform=format!("translate(9 {}) rotate(-90)", TOP + PLOT / 2.0)>{name(space, y)}</text>
    }
}

fn heatmap(w: Words, title: &'static str, what: &'static str, map: &Heatmap, v: &GpView, space: &SearchSpace, label: String) -> impl IntoView {
    let cell = PLOT / map.cells as f64;
    let rects = (0..map.values.len())
        .map(|k| {
            let (col, row) = (k % map.cells, k / map.cells);
            view! { <rect x=LEFT + col as f64 * cell y=TOP + PLOT - (row + 1) as f64 * cell width=cell + 0.3 height=cell + 0.3 fill=ramp(map.t(k)) /> }
        })
        .collect_view();
    let observed = v.observed.iter().map(|&(x, y, _)| view! { <circle class="seen" cx=px(x) cy=py(y) r="3" /> }).collect_view();
    let next = v
        .next
        .iter()
        .enumerate()
        .map(|(i, &(x, y))| view! { <path class=if i == 0 { "next first" } else { "next" } d=cross(px(x), py(y), if i == 0 { 7.0 } else { 5.0 }) /> })
        .collect_view();
    let (bx, by) = v.incumbent;
    view! {
        <figure class="slice">
            <figcaption><strong>{title}</strong>" " <span class="hint">{what}</span></figcaption>
            <svg class="heatmap" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=label>
                {rects}
                {axes(w, space, v.x, v.y)}
                {observed}
                <path class="incumbent" d=star(px(bx), py(by), 7.0) />
                {next}
            </svg>
        </figure>
    }
}

fn cross(x: f64, y: f64, r: f64) -> String {
    format!("M{} {}L{} {}M{} {}L{} {}", x - r, y - r, x + r, y + r, x - r, y + r, x + r, y - r)
}

fn star(x: f64, y: f64, r: f64) -> String {
    let points: Vec<String> = (0..10)
        .map(|k| {
            let a = std::f64::consts::PI * k as f64 / 5.0 - std::f64::consts::FRAC_PI_2;
            let radius = if k % 2 == 0 { r } else { r * 0.45 };
            format!("{:.1} {:.1}", x + radius * a.cos(), y + radius * a.sin())
        })
        .collect();
    format!("M{}Z", points.join("L"))
}

fn gp_panel(w: Words, v: GpView, space: &SearchSpace) -> impl IntoView {
    let (nx, ny) = v.next.first().copied().unwrap_or_default();
    let unsure = v.next_deviation > v.median_deviation;
    let good = v.next_mean >= v.best - 0.005;
    let reason = w.get(match (unsure, good) {
        (true, true) => Key::GpReasonUnsureGood,
        (true, false) => Key::GpReasonUnsure,
        (false, _) => Key::GpReasonMean,
    });
    let sentence = w.fill(
        Key::GpSentence,
        &[
            ("x", &name(space, v.x)),
            ("x_value", &value_at(w, space, v.x, nx)),
            ("y", &name(space, v.y)),
            ("y_value", &value_at(w, space, v.y, ny)),
            ("reason", reason),
            ("mean", &w.percent(v.next_mean)),
            ("deviation", &w.percent(v.next_deviation)),
            ("best", &w.percent(v.best)),
        ],
    );
    // Drawn as relevance: the shortest length-scale's bar is full, a long one's nearly empty.
    let lengths = {
        let shortest = v.length_scales.iter().copied().fold(f64::INFINITY, f64::min).max(1e-9);
        let mut order: Vec<usize> = (0..v.length_scales.len()).collect();
        order.sort_by(|&a, &b| v.length_scales[a].total_cmp(&v.length_scales[b]));
        order
            .into_iter()
            .map(|p| {
                let l = v.length_scales[p];
                view! {
                    <li>
                        <span class="param">{name(space, p)}</span>
                        <span class="bar"><span style=format!("width:{:.1}%", 100.0 * shortest / l.max(1e-9))></span></span>
                        <span class="value" title=w.get(Key::GpLengthScale)>{format!("ℓ = {}", w.lang().localise(&number_label(l)))}</span>
                    </li>
                }
            })
            .collect_view()
    };
    let summary = |what: Key| w.fill(Key::GpSliceLabel, &[("what", w.get(what)), ("x", &name(space, v.x)), ("y", &name(space, v.y))]);
    view! {
        <p class="why-sentence">{sentence}</p>
        <div class="heatmaps">
            {heatmap(w, w.get(Key::GpMean), w.get(Key::GpMeanWhat), &v.mean, &v, space, summary(Key::GpMeanLabel))}
            {heatmap(w, w.get(Key::GpUncertainty), w.get(Key::GpUncertaintyWhat), &v.deviation, &v, space, summary(Key::GpUncertaintyLabel))}
            {heatmap(w, w.get(Key::GpImprovement), w.get(Key::GpImprovementWhat), &v.improvement, &v, space, summary(Key::GpImprovementLabel))}
            <figure class="length-scales">
                <figcaption><strong>{w.get(Key::GpMatters)}</strong>" " <span class="hint">{w.get(Key::GpMattersWhat)}</span></figcaption>
                <ul class="bars">{lengths}</ul>
            </figure>
        </div>
        <p class="hint">{w.get(Key::GpHint)}</p>
    }
}

/// A density chart's size.
const DW: f64 = 220.0;
const DH: f64 = 90.0;

fn tpe_panel(w: Words, params: Vec<TpeParam>, space: &SearchSpace) -> impl IntoView {
    let good = params.first().map_or(0, |p| p.good_trials.len());
    let seen = params.first().map_or(0, |p| p.good_trials.len() + p.bad_trials.len());
    let values: Vec<String> =
        params.iter().map(|p| format!("{} = {}", name(space, p.param), value_at(w, space, p.param, p.chosen.first().copied().unwrap_or(0.5)))).collect();
    let sentence = w.fill(Key::TpeSentence, &[("seen", &seen.to_string()), ("good", &good.to_string()), ("values", &values.join(", "))]);
    let charts = params
        .into_iter()
        .map(|p| {
            let top = p.good.iter().chain(&p.bad).copied().fold(1e-9, f64::max);
            let ratio_top = p.ratio.iter().copied().filter(|r| r.is_finite()).fold(1e-9, f64::max);
            let xy = |values: &[f64], top: f64| -> String {
                p.at.iter().zip(values).map(|(&u, &v)| format!("{:.1},{:.1}", 30.0 + u * (DW - 36.0), 8.0 + (1.0 - (v / top).min(1.0)) * (DH - 24.0))).collect::<Vec<_>>().join(" ")
            };
            let x_at = |u: f64| 30.0 + u * (DW - 36.0);
            let rug = |us: &[f64], class: &'static str, y: f64| us.iter().map(|&u| view! { <line class=class x1=x_at(u) x2=x_at(u) y1=y y2=y + 5.0 /> }).collect_view();
            let label = w.fill(Key::TpeDensityLabel, &[("param", &name(space, p.param))]);
            view! {
                <figure class="density" data-param=name(space, p.param)>
                    <figcaption>{name(space, p.param)}</figcaption>
                    <svg viewBox=format!("0 0 {DW} {DH}") role="img" aria-label=label>
                        <polyline class="ratio" points=format!("30,{} {} {},{}", DH - 16.0, xy(&p.ratio, ratio_top), DW - 6.0, DH - 16.0) />
                        <polyline class="good" points=xy(&p.good, top) />
                        <polyline class="bad" points=xy(&p.bad, top) />
                        {rug(&p.good_trials, "rug-good", DH - 14.0)}
                        {rug(&p.bad_trials, "rug-bad", DH - 8.0)}
                        {p.chosen.iter().enumerate().map(|(i, &u)| view! { <line class=if i == 0 { "chosen first" } else { "chosen" } x1=x_at(u) x2=x_at(u) y1="4" y2=DH - 16.0 /> }).collect_view()}
                        <text class="tick" x="30" y=DH - 1.0>{value_at(w, space, p.param, 0.0)}</text>
                        <text class="tick left-end" x=DW - 6.0 y=DH - 1.0 text-anchor="end">{value_at(w, space, p.param, 1.0)}</text>
                    </svg>
                </figure>
            }
        })
        .collect_view();
    view! {
        <p class="why-sentence">{sentence}</p>
        <div class="densities">{charts}</div>
        <p class="hint">{w.get(Key::TpeHint)}</p>
    }
}

fn cma_panel(w: Words, v: CmaView, space: &SearchSpace, x: usize, y: usize) -> impl IntoView {
    let n = v.generations.len();
    let sigma = v.sigmas.last().copied().unwrap_or(0.0);
    let first_sigma = v.sigmas.first().copied().unwrap_or(sigma);
    let sentence = w.fill(
        Key::CmaSentence,
        &[
            ("generation", &n.to_string()),
            ("sigma", &w.lang().number(sigma, 3)),
            ("trend", w.get(if sigma < first_sigma { Key::CmaNarrowing } else { Key::CmaWidening })),
            ("first", &w.lang().number(first_sigma, 3)),
        ],
    );
    let outlines = v
        .generations
        .iter()
        .enumerate()
        .map(|(g, e)| {
            let ((mx, my), outline) = (e.mean, &e.outline);
            let points = outline.iter().map(|&(a, b)| format!("{:.1},{:.1}", px(a), py(b))).collect::<Vec<_>>().join(" ");
            let opacity = 0.25 + 0.75 * (g + 1) as f64 / n as f64;
            view! {
                <polyline class="ellipse" class:current=g + 1 == n points=points style=format!("opacity:{opacity:.2}") />
                <circle class="mean" cx=px(mx) cy=py(my) r="2.5" style=format!("opacity:{opacity:.2}") />
            }
        })
        .collect_view();
    let sigmas = {
        let top = v.sigmas.iter().copied().fold(1e-9, f64::max);
        v.sigmas
            .iter()
            .enumerate()
            .map(|(g, s)| format!("{:.1},{:.1}", 30.0 + g as f64 * (DW - 36.0) / (n.max(2) - 1) as f64, 8.0 + (1.0 - s / top) * (DH - 24.0)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let label = w.fill(Key::CmaSliceLabel, &[("x", &name(space, x)), ("y", &name(space, y))]);
    view! {
        <p class="why-sentence">{sentence}</p>
        <div class="heatmaps">
            <figure class="slice">
                <figcaption><strong>{w.get(Key::CmaDistribution)}</strong></figcaption>
                <svg class="cma" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=label>
                    <rect class="plot-area" x=LEFT y=TOP width=PLOT height=PLOT />
                    {axes(w, space, x, y)}
                    {outlines}
                    {v.next.iter().map(|&(a, b)| view! { <path class="next" d=cross(px(a), py(b), 4.0) /> }).collect_view()}
                </svg>
            </figure>
            <figure class="density">
                <figcaption><strong>{w.get(Key::CmaSigma)}</strong>" " <span class="hint">{w.get(Key::CmaPerGeneration)}</span></figcaption>
                <svg viewBox=format!("0 0 {DW} {DH}") role="img" aria-label=w.fill(Key::CmaSigmaLabel, &[("count", &n.to_string()), ("sigma", &w.lang().number(sigma, 3))])>
                    <polyline class="good" points=sigmas />
                    <text class="tick" x="30" y=DH - 1.0>"1"</text>
                    <text class="tick" x=DW - 6.0 y=DH - 1.0 text-anchor="end">{n.to_string()}</text>
                </svg>
            </figure>
        </div>
    }
}

fn ga_panel(w: Words, v: GaView, space: &SearchSpace, x: usize, y: usize) -> impl IntoView {
    let sentence = w.fill(
        Key::GaSentence,
        &[("generation", &(v.generation + 1).to_string()), ("parents", &v.parents.len().to_string()), ("children", &v.children.len().to_string())],
    );
    let label = w.fill(Key::GaSliceLabel, &[("x", &name(space, x)), ("y", &name(space, y))]);
    view! {
        <p class="why-sentence">{sentence}</p>
        <figure class="slice">
            <svg class="ga" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=label>
                <rect class="plot-area" x=LEFT y=TOP width=PLOT height=PLOT />
                {axes(w, space, x, y)}
                {v.children.iter().zip(&v.bred_from).flat_map(|(&(a, b), &(p, q))| {
                    [p, q].into_iter().filter_map(|k| v.parents.get(k)).map(move |&(c, d, _, _)| view! {
                        <line class="bred" x1=px(c) y1=py(d) x2=px(a) y2=py(b) />
                    })
                }).collect_view()}
                {v.parents.iter().map(|&(a, b, s, elite)| view! {
                    <circle class="parent" class:elite=elite cx=px(a) cy=py(b) r=if elite { 6.0 } else { 4.0 }><title>{w.percent(s)}</title></circle>
                }).collect_view()}
                {v.children.iter().map(|&(a, b)| view! { <path class="next" d=cross(px(a), py(b), 5.0) /> }).collect_view()}
            </svg>
        </figure>
    }
}

/// The grid on the maps' two params: each position's cells, shaded by the share tried before
/// this round; the visiting order so far as a line; this round's cells as crosses.
fn grid_slice(w: Words, slice: GridSlice, space: &SearchSpace, x: usize, y: usize) -> impl IntoView {
    let order = slice.visited.iter().map(|&(a, b)| format!("{:.1},{:.1}", px(a), py(b))).collect::<Vec<_>>().join(" ");
    let label = w.fill(Key::GridSliceLabel, &[("x", &name(space, x)), ("y", &name(space, y))]);
    view! {
        <figure class="slice">
            <svg class="grid-slice" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=label>
                <rect class="plot-area" x=LEFT y=TOP width=PLOT height=PLOT />
                {axes(w, space, x, y)}
                {slice.positions.iter().map(|p| {
                    let share = p.visited as f64 / p.cells.max(1) as f64;
                    let tip = w.fill(Key::GridPositionTip, &[("visited", &p.visited.to_string()), ("cells", &p.cells.to_string())]);
                    view! { <rect class="grid-cell" x=px(p.at.0) - 7.0 y=py(p.at.1) - 7.0 width="14" height="14" style=format!("fill-opacity:{:.2}", 0.08 + 0.8 * share)><title>{tip}</title></rect> }
                }).collect_view()}
                <polyline class="grid-order" points=order />
                {slice.now.iter().map(|&(a, b)| view! { <path class="next" d=cross(px(a), py(b), 5.0) /> }).collect_view()}
            </svg>
            <figcaption class="hint">{w.t(Key::GridSliceHint)}</figcaption>
        </figure>
    }
}

/// The median-stopping rule at a round: the score to reach after each epoch (a step line) and
/// each of the round's trials, as far as it trained; a stopped trial ends in a cross.
fn median_chart(w: Words, v: MedianView) -> impl IntoView {
    let epochs = v
        .trials
        .iter()
        .map(|t| t.planned)
        .max()
        .unwrap_or(1)
        .max(v.thresholds.len() as u32)
        .max(v.trials.iter().map(|t| t.scores.len() as u32).max().unwrap_or(1))
        .max(1);
    let all: Vec<f64> =
        v.thresholds.iter().flatten().copied().chain(v.trials.iter().flat_map(|t| t.scores.iter().copied())).filter(|s| s.is_finite()).collect();
    let (low, high) = (all.iter().copied().fold(1.0, f64::min).min(0.9), all.iter().copied().fold(0.0, f64::max).max(0.1));
    let (low, high) = (if high - low < 0.02 { low - 0.01 } else { low }, high);
    // Each epoch has a slot of the x axis: its scores at the slot's centre, its threshold across it.
    let ex = |e: f64| 36.0 + (e - 0.5) / epochs as f64 * (LW - 44.0);
    let ey = |s: f64| 8.0 + (1.0 - ((s - low) / (high - low)).clamp(0.0, 1.0)) * (LH - 30.0);
    let steps = v
        .thresholds
        .iter()
        .enumerate()
        .filter_map(|(k, t)| t.map(|t| format!("M{:.1} {:.1}H{:.1}", ex(k as f64 + 0.5), ey(t), ex(k as f64 + 1.5))))
        .collect::<Vec<_>>()
        .join("");
    let (stopped, saved) = v.saved();
    let sentence = if v.thresholds.iter().all(Option::is_none) {
        w.get(Key::MedianNotYet).to_string()
    } else {
        w.fill(Key::MedianSentence, &[("count", &v.trials.len().to_string()), ("stopped", &stopped.to_string()), ("saved", &saved.to_string())])
    };
    let summary = w.fill(Key::MedianChartLabel, &[("count", &v.trials.len().to_string()), ("stopped", &stopped.to_string())]);
    view! {
        <div class="median-rule">
            <h4>{w.t(Key::MedianTitle)} <Explain topic=Topic::MedianPruning /></h4>
            <p class="why-sentence median-sentence">{sentence}</p>
            <svg class="median-chart" viewBox=format!("0 0 {LW} {LH}") role="img" aria-label=summary>
                <text class="tick" x="32" y=ey(high) + 3.0 text-anchor="end">{w.lang().percent_with(high, 1)}</text>
                <text class="tick" x="32" y=ey(low) + 3.0 text-anchor="end">{w.lang().percent_with(low, 1)}</text>
                {(1..=epochs).map(|e| view! { <text class="tick" x=ex(e as f64) y=LH - 12.0 text-anchor="middle">{e.to_string()}</text> }).collect_view()}
                <text class="axis-name" x=LW / 2.0 y=LH - 1.0 text-anchor="middle">{w.t(Key::ChartEpoch)}</text>
                {v.trials.iter().map(|t| {
                    let points = t.scores.iter().enumerate().map(|(k, &s)| format!("{:.1},{:.1}", ex(k as f64 + 1.0), ey(s))).collect::<Vec<_>>().join(" ");
                    let end = t.scores.last().map(|&s| (ex(t.scores.len() as f64), ey(s)));
                    let dots = t.scores.iter().enumerate().map(|(k, &s)| view! { <circle class="median-score" class:stopped=t.stopped cx=ex(k as f64 + 1.0) cy=ey(s) r="2.5" /> }).collect_view();
                    view! {
                        <polyline class="median-trial" class:stopped=t.stopped points=points><title>{w.fill(Key::TrialNumber, &[("trial", &t.trial.to_string())])}</title></polyline>
                        {dots}
                        {end.filter(|_| t.stopped).map(|(a, b)| view! { <path class="stop-mark" d=cross(a, b, 3.5) /> })}
                    }
                }).collect_view()}
                <path class="median-threshold" d=steps />
            </svg>
            <p class="hint">{w.t(Key::MedianHint)}</p>
        </div>
    }
}

/// Random search's density: flat.
#[component]
fn UniformStrip() -> impl IntoView {
    let w = expect_context::<Words>();
    view! {
        <svg class="uniform" viewBox=format!("0 0 {DW} 40") role="img" aria-label=w.t(Key::WhyUniformLabel)>
            <rect x="30" y="10" width=DW - 36.0 height="20" class="uniform-band" />
            <text class="tick" x="30" y="39">{w.t(Key::WhyLow)}</text>
            <text class="tick" x=DW - 6.0 y="39" text-anchor="end">{w.t(Key::WhyHigh)}</text>
        </svg>
    }
}

/// The grid's cells as a bar: tried before, this round, left.
#[component]
fn GridCells(before: usize, proposals: usize, cells: usize) -> impl IntoView {
    let w = expect_context::<Words>();
    let share = |n: usize| 100.0 * n as f64 / cells.max(1) as f64;
    view! {
        <div class="grid-cells" role="img"
            aria-label=move || w.fill(Key::WhyGridCells, &[("before", &before.to_string()), ("count", &proposals.to_string()), ("cells", &cells.to_string())])>
            <span class="before" style=format!("width:{:.1}%", share(before))></span>
            <span class="now" style=format!("width:{:.1}%", share(proposals))></span>
        </div>
    }
}
