//! Teaching texts: a small round "?" button beside a method, a hyperparameter or a view that
//! opens a short card saying what it is, what it trades off and where it comes from, in the
//! page's language. Each topic is two keys of `tunelab::text` (a title and a body of a few
//! sentences); the card opens inline, right after the button, and Escape closes it.

use super::words::Words;
use leptos::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering};
use tunelab::text::Key;

/// What a "?" button explains.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Topic {
    // Methods, by their registry names.
    Grid,
    Random,
    Tpe,
    GpEi,
    CmaEs,
    Genetic,
    Hypergradient,
    SuccessiveHalving,
    Hyperband,
    Pbt,
    // Hyperparameters, by their names in a search space.
    LearningRate,
    Epochs,
    BatchSize,
    ConvLayers,
    L2,
    L1,
    Dropout,
    Momentum,
    Optimizer,
    LrDecay,
    Filters,
    DenseUnits,
    // Views and ideas.
    CoverageMaps,
    BestSoFar,
    Standing,
    DistinctValues,
    ParallelCoordinates,
    TrialsTable,
    TrainingCurves,
    ValidationVsTest,
    CrossValidation,
    Budget,
    ConfusionMatrix,
    Misclassified,
    DrawDigit,
    WhyNext,
    MedianPruning,
    SearchSpace,
}

impl Topic {
    /// The card's title (also in the button's accessible label).
    pub fn title(self) -> Key {
        match self {
            Topic::Grid => Key::TeachGridTitle,
            Topic::Random => Key::TeachRandomTitle,
            Topic::Tpe => Key::TeachTpeTitle,
            Topic::GpEi => Key::TeachGpEiTitle,
            Topic::CmaEs => Key::TeachCmaEsTitle,
            Topic::Genetic => Key::TeachGeneticTitle,
            Topic::Hypergradient => Key::TeachHypergradientTitle,
            Topic::SuccessiveHalving => Key::TeachSuccessiveHalvingTitle,
            Topic::Hyperband => Key::TeachHyperbandTitle,
            Topic::Pbt => Key::TeachPbtTitle,
            Topic::LearningRate => Key::TeachLearningRateTitle,
            Topic::Epochs => Key::TeachEpochsTitle,
            Topic::BatchSize => Key::TeachBatchSizeTitle,
            Topic::ConvLayers => Key::TeachConvLayersTitle,
            Topic::L2 => Key::TeachL2Title,
            Topic::L1 => Key::TeachL1Title,
            Topic::Dropout => Key::TeachDropoutTitle,
            Topic::Momentum => Key::TeachMomentumTitle,
            Topic::Optimizer => Key::TeachOptimizerTitle,
            Topic::LrDecay => Key::TeachLrDecayTitle,
            Topic::Filters => Key::TeachFiltersTitle,
            Topic::DenseUnits => Key::TeachDenseUnitsTitle,
            Topic::CoverageMaps => Key::TeachCoverageMapsTitle,
            Topic::BestSoFar => Key::TeachBestSoFarTitle,
            Topic::Standing => Key::TeachStandingTitle,
            Topic::DistinctValues => Key::TeachDistinctValuesTitle,
            Topic::ParallelCoordinates => Key::TeachParallelCoordinatesTitle,
            Topic::TrialsTable => Key::TeachTrialsTableTitle,
            Topic::TrainingCurves => Key::TeachTrainingCurvesTitle,
            Topic::ValidationVsTest => Key::TeachValidationVsTestTitle,
            Topic::CrossValidation => Key::TeachCrossValidationTitle,
            Topic::Budget => Key::TeachBudgetTitle,
            Topic::ConfusionMatrix => Key::TeachConfusionMatrixTitle,
            Topic::Misclassified => Key::TeachMisclassifiedTitle,
            Topic::DrawDigit => Key::TeachDrawDigitTitle,
            Topic::WhyNext => Key::TeachWhyNextTitle,
            Topic::MedianPruning => Key::TeachMedianPruningTitle,
            Topic::SearchSpace => Key::TeachSearchSpaceTitle,
        }
    }

    /// The card's text: two to four sentences.
    pub fn body(self) -> Key {
        match self {
            Topic::Grid => Key::TeachGridBody,
            Topic::Random => Key::TeachRandomBody,
            Topic::Tpe => Key::TeachTpeBody,
            Topic::GpEi => Key::TeachGpEiBody,
            Topic::CmaEs => Key::TeachCmaEsBody,
            Topic::Genetic => Key::TeachGeneticBody,
            Topic::Hypergradient => Key::TeachHypergradientBody,
            Topic::SuccessiveHalving => Key::TeachSuccessiveHalvingBody,
            Topic::Hyperband => Key::TeachHyperbandBody,
            Topic::Pbt => Key::TeachPbtBody,
            Topic::LearningRate => Key::TeachLearningRateBody,
            Topic::Epochs => Key::TeachEpochsBody,
            Topic::BatchSize => Key::TeachBatchSizeBody,
            Topic::ConvLayers => Key::TeachConvLayersBody,
            Topic::L2 => Key::TeachL2Body,
            Topic::L1 => Key::TeachL1Body,
            Topic::Dropout => Key::TeachDropoutBody,
            Topic::Momentum => Key::TeachMomentumBody,
            Topic::Optimizer => Key::TeachOptimizerBody,
            Topic::LrDecay => Key::TeachLrDecayBody,
            Topic::Filters => Key::TeachFiltersBody,
            Topic::DenseUnits => Key::TeachDenseUnitsBody,
            Topic::CoverageMaps => Key::TeachCoverageMapsBody,
            Topic::BestSoFar => Key::TeachBestSoFarBody,
            Topic::Standing => Key::TeachStandingBody,
            Topic::DistinctValues => Key::TeachDistinctValuesBody,
            Topic::ParallelCoordinates => Key::TeachParallelCoordinatesBody,
            Topic::TrialsTable => Key::TeachTrialsTableBody,
            Topic::TrainingCurves => Key::TeachTrainingCurvesBody,
            Topic::ValidationVsTest => Key::TeachValidationVsTestBody,
            Topic::CrossValidation => Key::TeachCrossValidationBody,
            Topic::Budget => Key::TeachBudgetBody,
            Topic::ConfusionMatrix => Key::TeachConfusionMatrixBody,
            Topic::Misclassified => Key::TeachMisclassifiedBody,
            Topic::DrawDigit => Key::TeachDrawDigitBody,
            Topic::WhyNext => Key::TeachWhyNextBody,
            Topic::MedianPruning => Key::TeachMedianPruningBody,
            Topic::SearchSpace => Key::TeachSearchSpaceBody,
        }
    }

    /// The topic of a method, by its name in the registry (`tuning::methods`).
    pub fn for_method(name: &str) -> Option<Topic> {
        Some(match name {
            "grid" => Topic::Grid,
            "random" => Topic::Random,
            "tpe" => Topic::Tpe,
            "gp-ei" => Topic::GpEi,
            "cma-es" => Topic::CmaEs,
            "genetic" => Topic::Genetic,
            "hypergradient" => Topic::Hypergradient,
            "successive-halving" => Topic::SuccessiveHalving,
            "hyperband" => Topic::Hyperband,
            "pbt" => Topic::Pbt,
            _ => return None,
        })
    }

    /// The topic of a hyperparameter, by its name in a search space (`experiment::presets::KNOWN`).
    pub fn for_param(name: &str) -> Option<Topic> {
        Some(match name {
            "learning_rate" => Topic::LearningRate,
            "epochs" => Topic::Epochs,
            "batch_size" => Topic::BatchSize,
            "conv_layers" => Topic::ConvLayers,
            "l2" => Topic::L2,
            "l1" => Topic::L1,
            "dropout" => Topic::Dropout,
            "momentum" => Topic::Momentum,
            "optimizer" => Topic::Optimizer,
            "lr_decay" => Topic::LrDecay,
            "filters" => Topic::Filters,
            "dense_units" => Topic::DenseUnits,
            _ => return None,
        })
    }
}

/// Numbers the cards, so that each button's `aria-controls` names its own card.
static NEXT_CARD: AtomicU32 = AtomicU32::new(0);

/// A round "?" button that opens, right after it, a card explaining `topic`; pressing it again
/// or Escape closes the card.
#[component]
pub fn Explain(topic: Topic) -> impl IntoView {
    let words = expect_context::<Words>();
    let id = format!("explain-{}", NEXT_CARD.fetch_add(1, Ordering::Relaxed));
    let open = RwSignal::new(false);
    let button = NodeRef::<leptos::html::Button>::new();
    let label = move || words.fill(Key::ExplainLabel, &[("title", words.get(topic.title()))]);
    // Escape closes an open card (and goes no further: a panel around it keeps its own Escape),
    // and the focus returns to the button, since the card it may have been on disappears.
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" && open.get_untracked() {
            ev.stop_propagation();
            open.set(false);
            if let Some(b) = button.get_untracked() {
                let _ = b.focus();
            }
        }
    };
    view! {
        <button type="button" class="explain-button" node_ref=button aria-expanded=move || open.get().to_string() aria-controls=id.clone()
            aria-label=label title=label on:click=move |_| open.update(|o| *o = !*o) on:keydown=on_key>"?"</button>
        <div class="explain-card" role="note" id=id tabindex="-1" hidden=move || !open.get() on:keydown=on_key>
            <strong>{words.t(topic.title())}</strong>" "{words.t(topic.body())}
        </div>
    }
}
