//! Parallel coordinates of every trial of the race, coloured by method or by accuracy. Drag
//! along an axis to hold a range (a brush); the coverage maps and the trials table then show
//! only the trials inside every brush. Laid out by the core (`tunelab::chart::parallel`).

use super::explain::{Explain, Topic};
use super::lab::Lab;
use super::methods;
use super::words::Words;
use leptos::prelude::*;
use tunelab::chart::accuracy_scale::AccuracyScale;
use tunelab::chart::parallel::{parallel_coordinates, unit_of_y, Brush, BOTTOM, HEIGHT, LANE, TOP, WIDTH};
use tunelab::experiment::live::LiveTrial;
use tunelab::text::Key;
use wasm_bindgen::JsCast;

/// An axis's name: a hyperparameter's label, or the last axis, the score.
fn axis_name(lang: tunelab::text::Lang, score: bool, name: &str) -> String {
    if score {
        lang.text(Key::MapLegendTitle).to_string()
    } else {
        lang.param(name)
    }
}

#[component]
pub fn ParallelView() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let (race, runs, brushes) = (lab.race_staged(5), lab.runs(), lab.brushes());
    let by_accuracy = RwSignal::new(false);
    let chart = Memo::new(move |_| {
        race.with(|r| {
            let r = r.as_ref()?;
            let studies: Vec<usize> = r.studies.iter().map(|s| s.study).collect();
            runs.with(|runs| {
                let trials: Vec<(&str, &LiveTrial)> = runs.iter().filter(|t| studies.contains(&t.trial.study)).map(|t| (t.method, t)).collect();
                Some(parallel_coordinates(&r.setup.space, &trials, &AccuracyScale::default(), &brushes.get()))
            })
        })
    });
    // The axes change only with the space; the lines with the trials, the brushes and the colouring.
    let shown = Memo::new(move |_| chart.with(Option::is_some));
    let axes = Memo::new(move |_| chart.with(|c| c.as_ref().map(|c| c.axes.clone())));
    let lines = move || {
        let by_accuracy = by_accuracy.get();
        chart.with(|c| c.as_ref().map(|c| c.lines.iter().map(|l| (l.clone(), by_accuracy)).collect::<Vec<_>>()).unwrap_or_default())
    };
    // A drag on an axis: where it started (axis, unit), and where it is now.
    let drag = RwSignal::new(None::<(usize, f64, f64)>);
    let unit_at = |ev: &leptos::ev::PointerEvent| -> Option<f64> {
        let svg = ev.target()?.dyn_into::<web_sys::Element>().ok()?.closest("svg").ok()??;
        let rect = svg.get_bounding_client_rect();
        (rect.height() > 0.0).then(|| unit_of_y((ev.client_y() as f64 - rect.top()) / rect.height() * HEIGHT))
    };
    let scale = AccuracyScale::default();
    view! {
        <section id="parallel" class="panel wide">
            <div class="view-title"><h2>{words.t(Key::ParTitle)}</h2><Explain topic=Topic::ParallelCoordinates /></div>
            <div class="map-controls">
                <label class="field inline"><input type="checkbox" id="pc-by-accuracy" prop:checked=move || by_accuracy.get() on:change=move |ev| by_accuracy.set(event_target_checked(&ev)) />
                    <span>{words.t(Key::ParByAccuracy)}</span></label>
                <span class="hint">{words.t(Key::ParHint)}</span>
                <button class="secondary" id="clear-brushes" prop:disabled=move || brushes.with(Vec::is_empty) on:click=move |_| lab.set_brushes(Vec::new())>{words.t(Key::ParShowAll)}</button>
            </div>
            {move || shown.get().then(|| view! {
                <svg id="parallel-coordinates" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=words.t(Key::ParLabel)>
                    // Keyed by everything a line shows, so a redraw touches only the lines that changed.
                    <For each=lines key=|(l, by_accuracy)| (l.method.clone(), l.trial, l.selected, l.score.map(f64::to_bits), *by_accuracy)
                        children=move |(l, by_accuracy)| {
                            let colour = if by_accuracy { l.score.map(|s| scale.colour(s)).unwrap_or_else(|| "#767676".into()) } else { methods::colour(&l.method).to_string() };
                            view! { <polyline class="pc-line" class:dimmed=!l.selected data-method=l.method.clone() data-trial=l.trial points=l.svg_points() stroke=colour /> }
                        } />
                    {move || axes.get().map(|axes| { let n_axes = axes.len(); axes.into_iter().enumerate().map(|(k, a)| {
                        let x = a.x;
                        let held = move || brushes.with(|b| b.iter().find(|b| b.axis == k).copied());
                        view! {
                            <g class="pc-axis" data-axis=k>
                                <line class="pc-axis-line" x1=x x2=x y1=TOP y2=HEIGHT - BOTTOM />
                                {a.ticks.into_iter().map(|(y, label)| view! { <text class="tick left" x=x - 4.0 y=y + 3.0>{words.lang().localise(&label)}</text> }).collect_view()}
                                <text class="axis-label" x=x y=HEIGHT - 6.0>{axis_name(words.lang(), k + 1 == n_axes, &a.name)}</text>
                                {(k + 1 == n_axes).then(|| view! { <text class="tick left" x=x - 4.0 y=HEIGHT - BOTTOM + LANE + 3.0>{words.get(Key::ParNoScore)}</text> })}
                                {move || held().map(|b| view! { <rect class="pc-brush" x=x - 7.0 y=TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - b.high) width=14 height=(HEIGHT - TOP - BOTTOM) * (b.high - b.low) /> })}
                                {move || drag.get().filter(|d| d.0 == k).map(|(_, a, b)| view! { <rect class="pc-brush dragging" x=x - 7.0 y=TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - a.max(b)) width=14 height=(HEIGHT - TOP - BOTTOM) * (a - b).abs() /> })}
                                <rect class="pc-grab" x=x - 12.0 y=TOP - 4.0 width=24 height=HEIGHT - TOP - BOTTOM + 8.0
                                    tabindex="0" aria-label=words.fill(Key::ParAxisLabel, &[("param", &axis_name(words.lang(), k + 1 == n_axes, &a.name))])
                                    on:keydown=move |ev| {
                                        // The keyboard's brush: a fifth of the axis, moved a tenth at a time.
                                        let held = brushes.get_untracked().into_iter().find(|b| b.axis == k);
                                        let low = match (ev.key().as_str(), held) {
                                            ("ArrowUp", Some(b)) => (b.low + 0.1).min(0.8),
                                            ("ArrowDown", Some(b)) => (b.low - 0.1).max(0.0),
                                            ("ArrowUp" | "ArrowDown", None) => 0.4,
                                            ("Escape", _) => -1.0,
                                            _ => return,
                                        };
                                        ev.prevent_default();
                                        let mut all: Vec<Brush> = brushes.get_untracked().into_iter().filter(|b| b.axis != k).collect();
                                        if low >= 0.0 {
                                            all.push(Brush { axis: k, low, high: low + 0.2 });
                                        }
                                        lab.set_brushes(all);
                                    }
                                    on:pointerdown=move |ev| { ev.prevent_default(); if let Some(u) = unit_at(&ev) { drag.set(Some((k, u, u))); } }
                                    on:pointermove=move |ev| { if let (Some((axis, a, _)), Some(u)) = (drag.get_untracked(), unit_at(&ev)) { if axis == k { drag.set(Some((k, a, u))); } } }
                                    on:pointerup=move |_| {
                                        if let Some((axis, a, b)) = drag.get_untracked() {
                                            drag.set(None);
                                            let mut all: Vec<Brush> = brushes.get_untracked().into_iter().filter(|x| x.axis != axis).collect();
                                            // A click without a drag clears the axis's brush.
                                            if (a - b).abs() > 0.01 {
                                                all.push(Brush { axis, low: a.min(b), high: a.max(b) });
                                            }
                                            lab.set_brushes(all);
                                        }
                                    } />
                            </g>
                        }
                    }).collect_view() })}
                </svg>
            })}
        </section>
    }
}
