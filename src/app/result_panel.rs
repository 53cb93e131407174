//! The result: each method's best configuration retrained on the whole training file and tested
//! once on the 10,000 test images no trial saw (in the final worker), its test accuracy beside
//! the course's and beside its validation score in the race, the confusion matrix, the test
//! digits it got wrong, and a canvas where a student draws a digit for it to read.

use super::draw_digit::{paint_digit, DrawDigit};
use super::format::{config_summary, percent, thousands};
use super::lab::Lab;
use super::methods::{self, Badge};
use leptos::html::Canvas;
use leptos::prelude::*;
use tunelab::chart::confusion::{cells, worst_mistake};
use tunelab::data::mnist::PIXELS_PER_IMAGE;
use tunelab::experiment::final_eval::{RetrainState, Retraining};
use tunelab::protocol::TestReport;
use tunelab::scheduler::TrialRef;

/// The test accuracy the course reports for its best configuration.
pub const COURSE_TEST_ACCURACY: f32 = 0.985;

/// The training file's sizes the panel offers to retrain on (all of it is the course's).
const RETRAIN_SIZES: [(u32, &str); 3] = [
    (60_000, "all 60,000 training images (as the course)"),
    (10_000, "10,000 images (quicker, a little less accurate)"),
    (2_000, "2,000 images (a quick look)"),
];

/// Misclassified digits shown at first, and added by "Show more".
const GALLERY_PAGE: usize = 48;

#[component]
pub fn ResultPanel() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let candidates = lab.candidates();
    let retrainings = lab.retrainings();
    let shown = lab.final_shown();
    // The methods ticked to retrain (None: the winner alone).
    let chosen = RwSignal::new(None::<Vec<TrialRef>>);
    let images = RwSignal::new(RETRAIN_SIZES[0].0);
    let ticked = move |trial: TrialRef| {
        chosen.with(|c| match c {
            Some(c) => c.contains(&trial),
            None => candidates.with(|all| all.first().map(|w| w.trial) == Some(trial)),
        })
    };
    let toggle = move |trial: TrialRef| {
        let mut now: Vec<TrialRef> = candidates.with_untracked(|all| all.iter().map(|c| c.trial).filter(|&t| ticked(t)).collect());
        match now.iter().position(|&t| t == trial) {
            Some(i) => {
                now.remove(i);
            }
            None => now.push(trial),
        }
        chosen.set(Some(now));
    };
    let busy = move || retrainings.with(|r| r.busy());
    let go = move |_| {
        let picked: Vec<_> = candidates.with_untracked(|all| all.iter().filter(|c| ticked(c.trial)).cloned().collect());
        lab.retrain(&picked, images.get_untracked());
    };
    let none_ticked = move || candidates.with(|all| !all.iter().any(|c| ticked(c.trial)));
    let report = Memo::new(move |_| {
        let id = shown.get()?;
        retrainings.with(|r| r.get(id).cloned())
    });
    view! {
        <section id="result" class="panel wide">
            <h2>"The winner, tested"</h2>
            <p class="hint">
                "Validation picked the winner, so its validation score flatters it a little. The fair measure is one test on the 10,000 test images no trial has seen, "
                "after retraining the configuration on the whole training file (training and validation images together), as the course did."
            </p>
            <Show
                when=move || candidates.with(|c| !c.is_empty())
                fallback=|| view! { <p class="empty" id="result-empty">"No trial has completed yet: when one has, its configuration can be retrained and tested here."</p> }
            >
                <fieldset class="candidates">
                    <legend>"Retrain each method's best configuration"</legend>
                    <ul class="candidate-list">
                        <For each=move || candidates.get() key=|c| (c.trial, c.score.to_bits()) let:c>
                            {
                                let trial = c.trial;
                                let summary = config_summary(&c.config, &tunelab::data::TrainingSet { images: 60_000, validation: tunelab::data::CrossValidation::Holdout }, c.seed);
                                view! {
                                    <li>
                                        <label>
                                            <input type="checkbox" data-method=c.method prop:checked=move || ticked(trial) on:change=move |_| toggle(trial) />
                                            <Badge method=c.method />
                                            " " {methods::label(c.method)} ": " {percent(c.score as f32)} " on validation"
                                        </label>
                                        <span class="hint">" · " {summary}</span>
                                    </li>
                                }
                            }
                        </For>
                    </ul>
                    <div class="actions">
                        <label class="field inline">
                            "Train on"
                            <select id="retrain-images" on:change=move |e| images.set(event_target_value(&e).parse().unwrap_or(RETRAIN_SIZES[0].0))>
                                {RETRAIN_SIZES.map(|(n, label)| view! { <option value=n.to_string() selected=move || images.get() == n>{label}</option> }).to_vec()}
                            </select>
                        </label>
                        <button id="retrain-winner" on:click=go disabled=move || busy() || none_ticked()>
                            {move || if busy() { "Retraining…" } else { "Retrain and test" }}
                        </button>
                    </div>
                </fieldset>
            </Show>
            <RetrainingList />
            {move || report.get().map(|r| view! { <TestResult retraining=r /> })}
            <DrawDigit />
        </section>
    }
}

/// Every retraining asked for: its progress, then its test accuracy; one is shown below.
#[component]
fn RetrainingList() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let retrainings = lab.retrainings();
    let shown = lab.final_shown();
    let rows = move || retrainings.with(|r| r.list.clone());
    view! {
        <Show when=move || retrainings.with(|r| !r.list.is_empty())>
            <table class="retrainings">
                <caption class="hint">"Retrained and tested; the course reported " {percent(COURSE_TEST_ACCURACY)} " on the test images."</caption>
                <thead><tr><th scope="col">"Method"</th><th scope="col">"Trained on"</th><th scope="col">"Validation (race)"</th><th scope="col">"Test"</th><th scope="col"></th></tr></thead>
                <tbody>
                    <For each=rows key=|r| (r.id, state_key(&r.state)) let:r>
                        {
                            let id = r.id;
                            let state = match &r.state {
                                RetrainState::Queued => view! { <span class="hint">"waiting"</span> }.into_any(),
                                RetrainState::Running(progress) => {
                                    let (value, text) = match progress {
                                        None => (0.0, "starting".to_string()),
                                        Some(p) => (p.fraction(), progress_text(p)),
                                    };
                                    view! { <span><progress max="1" value=value.to_string() aria-label="retraining"></progress>" " {text}</span> }.into_any()
                                }
                                RetrainState::Tested(t) => view! { <strong>{percent(t.test_accuracy)}</strong> }.into_any(),
                                RetrainState::Failed(why) => view! { <span class="error">{why.clone()}</span> }.into_any(),
                            };
                            let tested = matches!(r.state, RetrainState::Tested(_));
                            view! {
                                <tr class:shown=move || shown.get() == Some(id)>
                                    <td><Badge method=r.method />" " {methods::label(r.method)}</td>
                                    <td>{thousands(r.request.images as u64)}</td>
                                    <td>{percent(r.validation as f32)}</td>
                                    <td>{state}</td>
                                    <td>{tested.then(|| view! { <button class="secondary small" on:click=move |_| lab.show_final(id) disabled=move || shown.get() == Some(id)>"Show"</button> })}</td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
        </Show>
    }
}

fn state_key(state: &RetrainState) -> String {
    match state {
        RetrainState::Queued => "queued".into(),
        RetrainState::Running(p) => format!("{:.3}", p.map_or(0.0, |p| p.fraction())),
        RetrainState::Tested(_) => "tested".into(),
        RetrainState::Failed(_) => "failed".into(),
    }
}

fn progress_text(p: &tunelab::protocol::RetrainProgress) -> String {
    match *p {
        tunelab::protocol::RetrainProgress::Training { epoch, epochs, .. } => format!("training, epoch {epoch} of {epochs}"),
        tunelab::protocol::RetrainProgress::Testing { done, of } => format!("testing, {} of {} images", thousands(done as u64), thousands(of as u64)),
    }
}

/// The shown retraining's test: accuracy, confusion matrix and the digits it got wrong.
#[component]
fn TestResult(retraining: Retraining) -> impl IntoView {
    match retraining.state {
        RetrainState::Tested(report) => {
            let report = StoredValue::new(report);
            // The confusion matrix cell clicked: the gallery shows only its digits.
            let filter = RwSignal::new(None::<(u8, u8)>);
            let accuracy = report.with_value(|r| r.test_accuracy);
            let gap = accuracy - COURSE_TEST_ACCURACY;
            let comparison = if gap.abs() < 0.0005 {
                "the course's own figure".to_string()
            } else {
                format!("{:.1} points {} the course's {}", gap.abs() * 100.0, if gap > 0.0 { "above" } else { "below" }, percent(COURSE_TEST_ACCURACY))
            };
            view! {
                <div class="test-result">
                    <p class="result">
                        <Badge method=retraining.method />" " {methods::label(retraining.method)} "'s best, retrained on " {thousands(retraining.request.images as u64)} " images: test accuracy "
                        <span id="test-accuracy">{percent(accuracy)}</span>
                    </p>
                    <p class="hint">
                        {comparison} "; in the race it scored " {percent(retraining.validation as f32)} " on validation. "
                        {(retraining.request.images < 60_000).then_some("Trained on fewer images than the course, it is expected to score a little lower.")}
                    </p>
                    <div class="result-grid">
                        <ConfusionMatrix report=report filter=filter />
                        <MisclassifiedGallery report=report filter=filter />
                    </div>
                </div>
            }
            .into_any()
        }
        RetrainState::Failed(why) => view! { <p class="error" role="alert">{format!("The retraining failed: {why}")}</p> }.into_any(),
        _ => view! { <p class="hint">"The test result appears here when the retraining is done."</p> }.into_any(),
    }
}

#[component]
fn ConfusionMatrix(report: StoredValue<TestReport>, filter: RwSignal<Option<(u8, u8)>>) -> impl IntoView {
    let cells = report.with_value(cells);
    let summary = report.with_value(|r| {
        let worst = worst_mistake(r).map_or("no mistakes".to_string(), |(t, p, n)| format!("the most frequent mistake: {t} read as {p}, {n} times"));
        format!(
            "{} of {} test images right ({}); {worst}.",
            thousands((r.images_tested() as usize - r.misclassified.len()) as u64),
            thousands(r.images_tested() as u64),
            percent(r.test_accuracy)
        )
    });
    let rows = (0..10u8)
        .map(|truth| {
            let row: Vec<_> = cells.iter().filter(|c| c.truth == truth).cloned().collect();
            view! {
                <tr>
                    <th scope="row">{truth}</th>
                    {row
                        .into_iter()
                        .map(|c| {
                            let key = (c.truth, c.predicted);
                            let label = format!("true {}, read as {}: {} images ({:.1} % of the {}s)", c.truth, c.predicted, c.count, c.share * 100.0, c.truth);
                            let style = format!("background:{};color:{}", c.fill, if c.light_text { "#fff" } else { "#1d2330" });
                            let mistake = c.truth != c.predicted && c.count > 0;
                            view! {
                                <td>
                                    <button
                                        class="cell"
                                        class:diagonal=c.truth == c.predicted
                                        class:chosen=move || filter.get() == Some(key)
                                        data-cell=format!("{}-{}", c.truth, c.predicted)
                                        data-count=c.count.to_string()
                                        style=style
                                        title=label.clone()
                                        aria-label=label
                                        aria-pressed=move || (filter.get() == Some(key)).to_string()
                                        disabled=!mistake
                                        on:click=move |_| filter.update(|f| *f = if *f == Some(key) { None } else { Some(key) })
                                    >
                                        {c.count}
                                    </button>
                                </td>
                            }
                        })
                        .collect_view()}
                </tr>
            }
        })
        .collect_view();
    view! {
        <figure class="confusion">
            <table id="confusion-matrix" aria-describedby="confusion-summary">
                <caption>"Confusion matrix: rows are the true digit, columns what the network read. Click a mistake to see its digits."</caption>
                <thead><tr><th scope="col">"true ↓ read →"</th>{(0..10).map(|p| view! { <th scope="col">{p}</th> }).collect_view()}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <figcaption id="confusion-summary" class="hint">{summary} " Colour: the share of the true digit's images, on a log scale (pale: a few, dark: most)."</figcaption>
        </figure>
    }
}

#[component]
fn MisclassifiedGallery(report: StoredValue<TestReport>, filter: RwSignal<Option<(u8, u8)>>) -> impl IntoView {
    let lab = expect_context::<Lab>();
    let test = StoredValue::new_local(lab.test_images());
    let shown_count = RwSignal::new(GALLERY_PAGE);
    // The most confident mistakes first: they are the instructive ones.
    let sorted = report.with_value(|r| {
        let mut m = r.misclassified.clone();
        m.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.index.cmp(&b.index)));
        m
    });
    let sorted = StoredValue::new(sorted);
    let matching =
        move || sorted.with_value(|all| all.iter().filter(|m| filter.get().is_none_or(|(t, p)| m.truth == t && m.predicted == p)).cloned().collect::<Vec<_>>());
    let visible = move || matching().into_iter().take(shown_count.get()).collect::<Vec<_>>();
    let total = move || matching().len();
    view! {
        <div id="misclassified" class="gallery">
            <p class="hint">
                {move || match filter.get() {
                    Some((t, p)) => format!("{} test images of a {t} read as {p}, the most confident first. ", total()),
                    None => format!("{} test images read wrong, the most confident first. Each shows the true digit → what the network read, and its confidence.", total()),
                }}
                {move || filter.get().is_some().then(|| view! { <button class="secondary small" on:click=move |_| filter.set(None)>"Show every mistake"</button> })}
            </p>
            <ul class="digits">
                <For each=visible key=|m| m.index let:m>
                    {
                        let canvas = NodeRef::<Canvas>::new();
                        let pixels = test.with_value(|t| t.as_ref().map(|t| t.pixels[m.index as usize * PIXELS_PER_IMAGE..][..PIXELS_PER_IMAGE].to_vec()));
                        Effect::new(move |_| {
                            if let (Some(c), Some(p)) = (canvas.get(), pixels.as_ref()) {
                                paint_digit(&c, p);
                            }
                        });
                        let text = format!("{} → {} · {}", m.truth, m.predicted, percent(m.confidence));
                        let label = format!("test image {}: a {} read as {} with {} confidence", m.index, m.truth, m.predicted, percent(m.confidence));
                        view! {
                            <li data-index=m.index.to_string() data-truth=m.truth.to_string() data-predicted=m.predicted.to_string()>
                                <canvas node_ref=canvas width="28" height="28" role="img" aria-label=label></canvas>
                                <span>{text}</span>
                            </li>
                        }
                    }
                </For>
            </ul>
            {move || (total() > shown_count.get()).then(|| view! {
                <button class="secondary small" on:click=move |_| shown_count.update(|n| *n += GALLERY_PAGE)>{format!("Show more ({} left)", total() - shown_count.get())}</button>
            })}
        </div>
    }
}
