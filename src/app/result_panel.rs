//! The result: each method's best configuration retrained on the whole training file and tested
//! once on the 10,000 test images no trial saw (in the final worker), its test accuracy beside
//! the course's and beside its validation score in the race, the confusion matrix, the test
//! digits it got wrong, and a canvas where a student draws a digit for it to read.

use super::draw_digit::{paint_digit, DrawDigit};
use super::explain::{Explain, Topic};
use super::format::config_summary;
use super::lab::Lab;
use super::methods::{self, Badge};
use super::words::Words;
use leptos::html::Canvas;
use leptos::prelude::*;
use tunelab::chart::confusion::{cells, worst_mistake};
use tunelab::data::mnist::PIXELS_PER_IMAGE;
use tunelab::experiment::final_eval::{RetrainState, Retraining};
use tunelab::protocol::TestReport;
use tunelab::scheduler::TrialRef;
use tunelab::text::Key;

/// The test accuracy the course reports for its best configuration.
pub const COURSE_TEST_ACCURACY: f64 = 0.985;

/// The training file's sizes the panel offers to retrain on (all of it is the course's).
const RETRAIN_SIZES: [(u32, Key); 3] = [(60_000, Key::RetrainAll), (10_000, Key::Retrain10k), (2_000, Key::Retrain2k)];

/// Misclassified digits shown at first, and added by "Show more".
const GALLERY_PAGE: usize = 48;

#[component]
pub fn ResultPanel() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let candidates = lab.candidates();
    let retrainings = lab.retrainings();
    let shown = lab.final_shown();
    // The methods ticked to retrain (None: the winner alone).
    let chosen = RwSignal::new(None::<Vec<TrialRef>>);
    let images = lab.retrain_images();
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
            <div class="view-title"><h2>{words.t(Key::ResultTitle)}</h2><Explain topic=Topic::ValidationVsTest /></div>
            <p class="hint">{words.t(Key::ResultIntro)}</p>
            <Show
                when=move || candidates.with(|c| !c.is_empty())
                fallback=move || view! { <p class="empty" id="result-empty">{words.t(Key::ResultEmpty)}</p> }
            >
                <fieldset class="candidates">
                    <legend>{words.t(Key::RetrainLegend)}</legend>
                    <ul class="candidate-list">
                        <For each=move || candidates.get() key=|c| (c.trial, c.score.to_bits()) let:c>
                            {
                                let trial = c.trial;
                                let (config, seed) = (c.config.clone(), c.seed);
                                let summary = move || config_summary(words.lang(), &config, &tunelab::data::TrainingSet { images: 60_000, validation: tunelab::data::CrossValidation::Holdout }, seed);
                                let (method, score) = (c.method, c.score);
                                let label = move || words.fill(Key::CandidateScore, &[("method", methods::label(words.lang(), method)), ("score", &words.percent(score))]);
                                view! {
                                    <li>
                                        <label>
                                            <input type="checkbox" data-method=c.method prop:checked=move || ticked(trial) on:change=move |_| toggle(trial) />
                                            <Badge method=c.method />
                                            " " {label}
                                        </label>
                                        <span class="hint">" · " {summary}</span>
                                        {schedule_note(method).map(|key| view! { <p class="hint schedule-note">{words.t(key)}</p> })}
                                    </li>
                                }
                            }
                        </For>
                    </ul>
                    <div class="actions">
                        <label class="field inline">
                            {words.t(Key::RetrainOn)}
                            <select id="retrain-images" on:change=move |e| lab.set_retrain_images(event_target_value(&e).parse().unwrap_or(RETRAIN_SIZES[0].0))>
                                {RETRAIN_SIZES.map(|(n, label)| view! { <option value=n.to_string() selected=move || images.get() == n>{words.t(label)}</option> }).to_vec()}
                            </select>
                        </label>
                        <button id="retrain-winner" on:click=go disabled=move || busy() || none_ticked()>
                            {move || words.get(if busy() { Key::Retraining } else { Key::RetrainButton })}
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
    let words = expect_context::<Words>();
    let retrainings = lab.retrainings();
    let shown = lab.final_shown();
    let rows = move || retrainings.with(|r| r.list.clone());
    view! {
        <Show when=move || retrainings.with(|r| !r.list.is_empty())>
            <table class="retrainings">
                <caption class="hint">{move || words.fill(Key::RetrainCaption, &[("course", &words.percent(COURSE_TEST_ACCURACY))])}</caption>
                <thead><tr>
                    <th scope="col">{words.t(Key::ColMethod)}</th><th scope="col">{words.t(Key::ColTrainedOn)}</th>
                    <th scope="col">{words.t(Key::ColValidation)}</th><th scope="col">{words.t(Key::ColTest)}</th><th scope="col"></th>
                </tr></thead>
                <tbody>
                    <For each=rows key=|r| (r.id, state_key(&r.state)) let:r>
                        {
                            let id = r.id;
                            let state = match r.state.clone() {
                                RetrainState::Queued => view! { <span class="hint">{words.t(Key::RetrainWaiting)}</span> }.into_any(),
                                RetrainState::Running(progress) => {
                                    let value = progress.map_or(0.0, |p| p.fraction());
                                    let text = move || progress.map_or_else(|| words.get(Key::RetrainStarting).to_string(), |p| progress_text(words, &p));
                                    view! { <span><progress max="1" value=value.to_string() aria-label=words.t(Key::RetrainProgressLabel)></progress>" " {text}</span> }.into_any()
                                }
                                RetrainState::Tested(t) => view! { <strong>{move || words.percent(t.test_accuracy as f64)}</strong> }.into_any(),
                                RetrainState::Failed(why) => view! { <span class="error">{move || words.lang().retrain_failure(&why)}</span> }.into_any(),
                                RetrainState::Lost(why) => view! { <span class="error">{move || words.lang().fault(&why)}</span> }.into_any(),
                            };
                            let (images, validation) = (r.request.images as u64, r.validation);
                            let tested = matches!(r.state, RetrainState::Tested(_));
                            view! {
                                <tr class:shown=move || shown.get() == Some(id)>
                                    <td><Badge method=r.method />" " {move || methods::label(words.lang(), r.method)}</td>
                                    <td>{move || words.thousands(images)}</td>
                                    <td>{move || words.percent(validation)}</td>
                                    <td>{state}</td>
                                    <td>{tested.then(|| view! { <button class="secondary small" on:click=move |_| lab.show_final(id) disabled=move || shown.get() == Some(id)>{words.t(Key::Show)}</button> })}</td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
        </Show>
    }
}

/// What retraining means for a method that changes its values while a trial trains: PBT's
/// member is retrained with the values it ended with, held fixed; a hypergradient trial moves
/// its values again from where it started.
fn schedule_note(method: &str) -> Option<Key> {
    match method {
        "pbt" => Some(Key::CandidatePbtValues),
        "hypergradient" => Some(Key::CandidateHypergradientValues),
        _ => None,
    }
}

fn state_key(state: &RetrainState) -> String {
    match state {
        RetrainState::Queued => "queued".into(),
        RetrainState::Running(p) => format!("{:.3}", p.map_or(0.0, |p| p.fraction())),
        RetrainState::Tested(_) => "tested".into(),
        RetrainState::Failed(_) | RetrainState::Lost(_) => "failed".into(),
    }
}

fn progress_text(words: Words, p: &tunelab::protocol::RetrainProgress) -> String {
    match *p {
        tunelab::protocol::RetrainProgress::Training { epoch, epochs, .. } => {
            words.fill(Key::RetrainTraining, &[("epoch", &epoch.to_string()), ("epochs", &epochs.to_string())])
        }
        tunelab::protocol::RetrainProgress::Testing { done, of } => {
            words.fill(Key::RetrainTesting, &[("done", &words.thousands(done as u64)), ("of", &words.thousands(of as u64))])
        }
    }
}

/// The shown retraining's test: accuracy, confusion matrix and the digits it got wrong.
#[component]
fn TestResult(retraining: Retraining) -> impl IntoView {
    let words = expect_context::<Words>();
    match retraining.state {
        RetrainState::Tested(report) => {
            let report = StoredValue::new(report);
            // The confusion matrix cell clicked: the gallery shows only its digits.
            let filter = RwSignal::new(None::<(u8, u8)>);
            let accuracy = report.with_value(|r| r.test_accuracy) as f64;
            let gap = accuracy - COURSE_TEST_ACCURACY;
            let comparison = move || {
                if gap.abs() < 0.0005 {
                    return words.get(Key::CourseSame).to_string();
                }
                let points = words.lang().number(gap.abs() * 100.0, 1);
                words
                    .fill(if gap > 0.0 { Key::CourseAbove } else { Key::CourseBelow }, &[("points", &points), ("course", &words.percent(COURSE_TEST_ACCURACY))])
            };
            let (method, images, validation) = (retraining.method, retraining.request.images, retraining.validation);
            let lead =
                move || words.fill(Key::TestAccuracyLead, &[("method", methods::label(words.lang(), method)), ("images", &words.thousands(images as u64))]);
            view! {
                <div class="test-result">
                    <p class="result">
                        <Badge method=method />" " {lead}
                        <span id="test-accuracy">{move || words.percent(accuracy)}</span>
                    </p>
                    <p class="hint">
                        {comparison} {move || words.fill(Key::RaceScored, &[("validation", &words.percent(validation))])}
                        {(images < 60_000).then_some(words.t(Key::FewerImages))}
                    </p>
                    <div class="result-grid">
                        <ConfusionMatrix report=report filter=filter />
                        <MisclassifiedGallery report=report filter=filter />
                    </div>
                </div>
            }
            .into_any()
        }
        RetrainState::Failed(why) => {
            view! { <p class="error" role="alert">{move || words.fill(Key::RetrainFailed, &[("why", &words.lang().retrain_failure(&why))])}</p> }.into_any()
        }
        RetrainState::Lost(why) => {
            view! { <p class="error" role="alert">{move || words.fill(Key::RetrainFailed, &[("why", &words.lang().fault(&why))])}</p> }.into_any()
        }
        _ => view! { <p class="hint">{words.t(Key::TestPending)}</p> }.into_any(),
    }
}

#[component]
fn ConfusionMatrix(report: StoredValue<TestReport>, filter: RwSignal<Option<(u8, u8)>>) -> impl IntoView {
    let words = expect_context::<Words>();
    let cells = report.with_value(cells);
    let summary = move || {
        report.with_value(|r| {
            let worst = worst_mistake(r).map_or(words.get(Key::NoMistakes).to_string(), |(t, p, n)| {
                words.fill(Key::WorstMistake, &[("truth", &t.to_string()), ("predicted", &p.to_string()), ("count", &n.to_string())])
            });
            words.fill(
                Key::ConfusionSummary,
                &[
                    ("right", &words.thousands((r.images_tested() as usize - r.misclassified.len()) as u64)),
                    ("total", &words.thousands(r.images_tested() as u64)),
                    ("accuracy", &words.percent(r.test_accuracy as f64)),
                    ("worst", &worst),
                ],
            )
        })
    };
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
                            let label = move || {
                                words.fill(
                                    Key::CellLabel,
                                    &[("truth", &c.truth.to_string()), ("predicted", &c.predicted.to_string()), ("count", &c.count.to_string()), ("share", &words.lang().percent_with(c.share, 1))],
                                )
                            };
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
                                        title=label
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
            <Explain topic=Topic::ConfusionMatrix />
            <table id="confusion-matrix" aria-describedby="confusion-summary">
                <caption>{words.t(Key::ConfusionCaption)}</caption>
                <thead><tr><th scope="col">{words.t(Key::ConfusionCorner)}</th>{(0..10).map(|p| view! { <th scope="col">{p}</th> }).collect_view()}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <figcaption id="confusion-summary" class="hint">{summary} {words.t(Key::ConfusionColour)}</figcaption>
        </figure>
    }
}

#[component]
fn MisclassifiedGallery(report: StoredValue<TestReport>, filter: RwSignal<Option<(u8, u8)>>) -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
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
            <Explain topic=Topic::Misclassified />
            <p class="hint">
                {move || match filter.get() {
                    Some((t, p)) => words.fill(Key::GalleryFiltered, &[("count", &total().to_string()), ("truth", &t.to_string()), ("predicted", &p.to_string())]),
                    None => words.fill(Key::GalleryAll, &[("count", &total().to_string())]),
                }}
                {move || filter.get().is_some().then(|| view! { <button class="secondary small" on:click=move |_| filter.set(None)>{words.t(Key::ShowEveryMistake)}</button> })}
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
                        let confidence = m.confidence as f64;
                        let text = move || format!("{} → {} · {}", m.truth, m.predicted, words.lang().percent_with(confidence, 1));
                        let label = move || {
                            words.fill(
                                Key::DigitLabel,
                                &[("index", &m.index.to_string()), ("truth", &m.truth.to_string()), ("predicted", &m.predicted.to_string()), ("confidence", &words.percent(confidence))],
                            )
                        };
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
                <button class="secondary small" on:click=move |_| shown_count.update(|n| *n += GALLERY_PAGE)>{move || words.fill(Key::ShowMore, &[("left", &(total() - shown_count.get()).to_string())])}</button>
            })}
        </div>
    }
}
