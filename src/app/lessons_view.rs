//! The built-in lessons (`tunelab::share::lessons`): the one the page was opened with, explained
//! at the top; and the list of them, each a link a teacher can open or share.

use super::link;
use super::words::Words;
use leptos::prelude::*;
use tunelab::share::lessons::{Lesson, LESSONS};
use tunelab::text::Key;

fn title(lesson: &Lesson) -> Key {
    match lesson.id {
        "grid-vs-random" => Key::LessonGridTitle,
        "bayes-vs-random" => Key::LessonBayesTitle,
        "early-stopping" => Key::LessonStoppingTitle,
        "cross-validation" => Key::LessonCvTitle,
        _ => Key::LessonHypergradientTitle,
    }
}

fn body(lesson: &Lesson) -> Key {
    match lesson.id {
        "grid-vs-random" => Key::LessonGridBody,
        "bayes-vs-random" => Key::LessonBayesBody,
        "early-stopping" => Key::LessonStoppingBody,
        "cross-validation" => Key::LessonCvBody,
        _ => Key::LessonHypergradientBody,
    }
}

/// Open `fragment` as a fresh page: a link opens an experiment only when the page loads.
fn open(fragment: &str) {
    if let Some(location) = web_sys::window().map(|w| w.location()) {
        let _ = location.set_hash(fragment);
        let _ = location.reload();
    }
}

/// The lesson the page was opened with.
#[component]
pub fn LessonPanel(lesson: Lesson) -> impl IntoView {
    let words = expect_context::<Words>();
    view! {
        <section id="lesson" class="panel wide" data-lesson=lesson.id>
            <h2>{words.t(Key::LessonHeading)} " " {words.t(title(&lesson))}</h2>
            <p class="lesson-body">{words.t(body(&lesson))}</p>
            <p class="hint">{words.t(Key::LessonLocked)} " "
                <a href="#" id="lesson-leave" on:click=move |ev| { ev.prevent_default(); open(""); }>{words.t(Key::LessonLeave)}</a>
            </p>
        </section>
    }
}

/// Every built-in lesson, as a link.
#[component]
pub fn LessonList() -> impl IntoView {
    let words = expect_context::<Words>();
    view! {
        <section id="lessons" class="panel wide">
            <h2>{words.t(Key::LessonsTitle)}</h2>
            <p class="hint">{words.t(Key::LessonsHint)}</p>
            <ul class="lesson-list">
                {LESSONS.iter().map(|lesson| {
                    let fragment = lesson.fragment();
                    let href = link::address(&fragment);
                    view! {
                        <li>
                            <a class="lesson-link" data-lesson=lesson.id href=href on:click=move |ev| { ev.prevent_default(); open(&fragment); }>
                                {words.t(title(lesson))}
                            </a>
                            <p class="hint">{words.t(body(lesson))}</p>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
