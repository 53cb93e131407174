//! The live loss/accuracy-per-epoch chart: draws, as SVG, what `tunelab::chart` laid out.

use super::words::Words;
use leptos::prelude::*;
use tunelab::chart::{training_chart, Axis, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, VIEW_HEIGHT, VIEW_WIDTH};
use tunelab::nn::EpochReport;
use tunelab::text::{Key, Lang};

/// A tick's label ("0.5", "25%"), written the way `lang` writes numbers.
fn tick_label(lang: Lang, label: &str) -> String {
    match lang {
        Lang::En => label.to_string(),
        Lang::Es => lang.localise(label).replace('%', "\u{a0}%"),
    }
}

#[component]
pub fn TrainingChart(reports: Signal<Vec<EpochReport>>, planned_epochs: Signal<u32>) -> impl IntoView {
    let words = expect_context::<Words>();
    let chart = Memo::new(move |_| training_chart(&reports.get(), planned_epochs.get()));
    let view_box = format!("0 0 {VIEW_WIDTH} {VIEW_HEIGHT}");
    let (x0, x1, y0, y1) = (MARGIN_LEFT, VIEW_WIDTH - MARGIN_RIGHT, MARGIN_TOP, VIEW_HEIGHT - MARGIN_BOTTOM);
    view! {
        <figure class="chart">
            <svg id="training-chart" viewBox=view_box role="img" aria-label=words.t(Key::ChartLabel)>
                <rect class="plot-area" x=x0 y=y0 width=x1 - x0 height=y1 - y0 />
                {move || { let lang = words.lang(); chart.with(|c| c.accuracy_ticks.iter().map(|t| view! {
                    <line class="grid" x1=x0 x2=x1 y1=t.position y2=t.position />
                    <text class="tick right" x=x1 + 4.0 y=t.position + 3.0>{tick_label(lang, &t.label)}</text>
                }).collect_view()) }}
                {move || { let lang = words.lang(); chart.with(|c| c.loss_ticks.iter().map(|t| view! {
                    <text class="tick left" x=x0 - 4.0 y=t.position + 3.0>{tick_label(lang, &t.label)}</text>
                }).collect_view()) }}
                {move || chart.with(|c| c.epoch_ticks.iter().map(|t| view! {
                    <text class="tick bottom" x=t.position y=y1 + 14.0>{t.label.clone()}</text>
                }).collect_view())}
                <text class="axis-label" x=(x0 + x1) / 2.0 y=VIEW_HEIGHT - 2.0>{words.t(Key::ChartEpoch)}</text>
                {move || chart.with(|c| c.series.iter().enumerate().map(|(k, s)| {
                    let class = format!("series s{k} {}", if s.axis == Axis::Loss { "loss" } else { "accuracy" });
                    let dots = s.points.iter().map(|&(x, y)| view! { <circle class=class.clone() cx=x cy=y r=3 /> }).collect_view();
                    view! {
                        <polyline class=class.clone() data-series=s.name.clone() points=s.svg_points() />
                        {dots}
                    }
                }).collect_view())}
            </svg>
            <figcaption class="legend">
                <span class="key s0">{words.t(Key::ChartTrainLoss)}</span>
                <span class="key s1">{words.t(Key::ChartValidationLoss)}</span>
                <span class="key s2">{words.t(Key::ChartTrainAccuracy)}</span>
                <span class="key s3">{words.t(Key::ChartValidationAccuracy)}</span>
                <span class="axes-note">{words.t(Key::ChartAxesNote)}</span>
            </figcaption>
        </figure>
    }
}
