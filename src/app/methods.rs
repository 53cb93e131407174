//! How the page marks a method: its colour (one job: "which method"; colour-blind-safe
//! Okabe–Ito order, RACE-SCREEN.md §3.1) and its short badge, so colour is never the only cue;
//! its label and summary in the page's language.

use tunelab::text::{Key, Lang};

/// The method's colour, by registry name.
pub fn colour(method: &str) -> &'static str {
    match method {
        "grid" => "#000000",
        "random" => "#E69F00",
        "tpe" => "#56B4E9",
        "gp-ei" => "#0072B2",
        "cma-es" => "#D55E00",
        "genetic" => "#CC79A7",
        "hyperband" => "#009E73",
        "successive-halving" => "#44AA99",
        "pbt" => "#882255",
        "hypergradient" => "#332288",
        _ => "#767676",
    }
}

/// The badge's text colour: ink on the light method colours, white on the dark ones.
pub fn badge_ink(method: &str) -> &'static str {
    match method {
        "grid" | "gp-ei" | "pbt" | "hypergradient" => "#ffffff",
        _ => "#1a1a1a",
    }
}

/// The short badge.
pub fn badge(method: &str) -> String {
    match method {
        "grid" => "GRID".into(),
        "random" => "RAND".into(),
        "tpe" => "TPE".into(),
        "gp-ei" => "GP".into(),
        "cma-es" => "CMA".into(),
        "genetic" => "GA".into(),
        "single" => "ONE".into(),
        "hypergradient" => "HG".into(),
        "successive-halving" => "SH".into(),
        "hyperband" => "HB".into(),
        "pbt" => "PBT".into(),
        other => other.to_uppercase(),
    }
}

/// The method's label, in `lang` (one configuration trained on its own has no method).
pub fn label(lang: Lang, method: &str) -> &'static str {
    lang.method(method)
}

/// What the method does, in a sentence, in `lang`.
pub fn summary(lang: Lang, method: &str) -> &'static str {
    lang.text(match method {
        "grid" => Key::SummaryGrid,
        "random" => Key::SummaryRandom,
        "tpe" => Key::SummaryTpe,
        "gp-ei" => Key::SummaryGp,
        "cma-es" => Key::SummaryCma,
        "genetic" => Key::SummaryGenetic,
        "hypergradient" => Key::SummaryHypergradient,
        "successive-halving" => Key::SummaryHalving,
        "hyperband" => Key::SummaryHyperband,
        _ => Key::SummaryPbt,
    })
}

/// A method's badge: its short name on its colour.
#[leptos::component]
pub fn Badge(method: &'static str) -> impl leptos::IntoView {
    use leptos::prelude::*;
    view! { <span class="badge" style=format!("background:{};color:{}", colour(method), badge_ink(method))>{badge(method)}</span> }
}
