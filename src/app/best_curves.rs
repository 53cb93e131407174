//! The best-so-far chart: every method's best validation accuracy so far on one chart, against
//! compute spent (epoch-equivalents, the fair axis), trials finished, or wall time. Laid out by
//! the core (`tunelab::chart::race_chart`); drawn here.

use super::explain::{Explain, Topic};
use super::lab::Lab;
use super::methods;
use super::words::Words;
use leptos::prelude::*;
use tunelab::chart::accuracy_scale::AccuracyScale;
use tunelab::chart::best_so_far::Along;
use tunelab::chart::race_chart::{best_so_far_chart, MethodCurve, BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH};
use tunelab::experiment::live::finished_trials;
use tunelab::text::Key;

#[component]
pub fn BestSoFar() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let (race, runs, now) = (lab.race_staged(2), lab.runs(), lab.clock());
    let along = RwSignal::new(Along::Compute);
    let chart = Memo::new(move |_| {
        let along = along.get();
        race.with(|r| {
            let r = r.as_ref()?;
            let per_epoch = r.setup.data.images as u64;
            let elapsed = (r.ended_ms.unwrap_or(now.get()) - r.started_ms) / 1000.0;
            let curves: Vec<MethodCurve> = runs.with(|runs| {
                r.studies
                    .iter()
                    .map(|s| {
                        let trials = finished_trials(runs, s.study, r.started_ms);
                        let now = match along {
                            Along::Compute => s.spent as f64 / per_epoch as f64,
                            Along::Trials => trials.len() as f64,
                            Along::WallTime => elapsed,
                        };
                        MethodCurve { method: s.method.to_string(), label: methods::badge(s.method), trials, now }
                    })
                    .collect()
            });
            let x_max = match along {
                Along::Compute => r.setup.budget_epochs as f64,
                Along::Trials => curves.iter().map(|c| c.trials.len()).max().unwrap_or(1).max(4) as f64,
                Along::WallTime => elapsed.max(10.0),
            };
            Some(best_so_far_chart(&curves, along, per_epoch, x_max, &AccuracyScale::default()))
        })
    });
    let (x0, x1, y0, y1) = (LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM);
    let choose = move |ev| {
        along.set(match event_target_value(&ev).as_str() {
            "trials" => Along::Trials,
            "wall" => Along::WallTime,
            _ => Along::Compute,
        })
    };
    view! {
        <section id="best-so-far-panel" class="panel">
            <div class="view-title"><h2>{words.t(Key::BestTitle)}</h2><Explain topic=Topic::BestSoFar /></div>
            <label class="field inline">
                <span>{words.t(Key::BestAlong)}</span>
                <select id="best-along" on:change=choose>
                    <option value="compute">{words.t(Key::BestCompute)}</option>
                    <option value="trials">{words.t(Key::BestTrials)}</option>
                    <option value="wall">{words.t(Key::BestWall)}</option>
                </select>
            </label>
            <svg id="best-so-far" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=words.t(Key::BestLabel)>
                <rect class="plot-area" x=x0 y=y0 width=x1 - x0 height=y1 - y0 />
                {move || chart.get().map(|c| view! {
                    {c.y_ticks.into_iter().map(|t| view! {
                        <line class="grid" x1=x0 x2=x1 y1=t.at y2=t.at />
                        <text class="tick left" x=x0 - 4.0 y=t.at + 3.0>{words.lang().localise(&t.label)}</text>
                    }).collect_view()}
                    {c.x_ticks.into_iter().map(|t| view! { <text class="tick bottom" x=t.at y=y1 + 13.0>{words.lang().localise(&t.label)}</text> }).collect_view()}
                    {c.guides.into_iter().map(|g| view! {
                        <line class="guide" x1=g.at x2=g.at y1=y0 y2=y1 />
                        <text class="guide-label" x=g.at y=y0 + 10.0>{g.label}</text>
                    }).collect_view()}
                    <text class="axis-label" x=(x0 + x1) / 2.0 y=HEIGHT - 6.0>{words.get(match along.get() {
                        Along::Compute => Key::BestAxisCompute,
                        Along::Trials => Key::BestAxisTrials,
                        Along::WallTime => Key::BestAxisWall,
                    })}</text>
                    <text class="axis-label" transform=format!("translate(12 {}) rotate(-90)", (y0 + y1) / 2.0)>{words.get(Key::BestAxisY)}</text>
                    {c.lines.into_iter().map(|line| {
                        let colour = methods::colour(&line.method);
                        let points = line.svg_points();
                        view! {
                            <polyline class="best-line" data-method=line.method.clone() points=points stroke=colour />
                            {line.end.map(|(x, y, text)| view! { <text class="end-label" x=x y=y + 4.0>{text}</text> })}
                        }
                    }).collect_view()}
                })}
            </svg>
        </section>
    }
}
