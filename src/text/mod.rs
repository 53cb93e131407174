//! The interface's words, in English and Spanish.
//!
//! Every string the page shows is a `Key`; each language is one catalogue (`en.rs`, `es.rs`), an
//! exhaustive `match` over the keys, so a language cannot miss one (the compiler says so), and
//! `tests/text_keys.rs` checks that both fill the same placeholders and that the page uses every
//! key. A string with values to fill names them in braces, `{name}`, filled by `fill`. Numbers
//! are written as each language writes them (`number`, `percent`, `thousands`).
//!
//! The Spanish is the course's own: *tasa de aprendizaje*, *regularización L1/L2*, *búsqueda en
//! cuadrícula*, *búsqueda aleatoria*, *optimización bayesiana*, *algoritmos evolutivos*,
//! *validación cruzada*, *épocas*, *tamaño del lote*; a trial is an *ensayo* (*prueba* is the
//! test set) and accuracy *exactitud* (*precisión* is precision).

#![forbid(unsafe_code)]

mod en;
mod es;
mod problems;

use serde::{Deserialize, Serialize};

/// A language of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    En,
    Es,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// The BCP 47 code (`<html lang>`, the language picker's values).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// The language of a code ("es", "es-MX", "en-GB"…); None for one the page does not speak.
    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The language's own name, for the picker.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Es => "Español",
        }
    }

    /// The text of `key`.
    pub fn text(self, key: Key) -> &'static str {
        match self {
            Lang::En => en::text(key),
            Lang::Es => es::text(key),
        }
    }

    /// The text of `key` with its `{name}` placeholders filled from `values`.
    pub fn fill(self, key: Key, values: &[(&str, &str)]) -> String {
        fill(self.text(key), values)
    }

    /// `v` with `decimals` decimals: "0.25" / "0,25".
    pub fn number(self, v: f64, decimals: usize) -> String {
        let text = format!("{v:.decimals$}");
        match self {
            Lang::En => text,
            Lang::Es => text.replace('.', ","),
        }
    }

    /// A number already written the English way ("0.0239", "1.5e-4"), written this language's way.
    pub fn localise(self, number: &str) -> String {
        match self {
            Lang::En => number.to_string(),
            Lang::Es => number.replace('.', ","),
        }
    }

    /// A share as a percentage with two decimals: 0.9734 → "97.34%" / "97,34 %".
    pub fn percent(self, v: f64) -> String {
        self.percent_with(v, 2)
    }

    pub fn percent_with(self, v: f64, decimals: usize) -> String {
        match self {
            Lang::En => format!("{}%", self.number(v * 100.0, decimals)),
            // Spanish puts a (non-breaking) space before the sign.
            Lang::Es => format!("{}\u{a0}%", self.number(v * 100.0, decimals)),
        }
    }

    /// A whole number with its thousands marked: 60000 → "60,000" / "60 000" (the RAE's
    /// recommendation: a space, never a point or a comma, beyond four digits).
    pub fn thousands(self, n: u64) -> String {
        let digits = n.to_string();
        let separator = match self {
            Lang::En => ",",
            Lang::Es if digits.len() <= 4 => return digits,
            Lang::Es => "\u{a0}",
        };
        let mut out = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(separator);
            }
            out.push(ch);
        }
        out
    }
}

/// Fill `template`'s `{name}` placeholders from `values` (a name not given is left as it is).
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').map(|close| (&after[..close], close)) {
            Some((name, close)) if values.iter().any(|(n, _)| *n == name) => {
                out.push_str(values.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).unwrap_or_default());
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The placeholders a template fills, in order.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        names.push(&after[..close]);
        rest = &after[close + 1..];
    }
    names
}

/// Declares `Key`, with `Key::ALL` and each key's name (the tests read them).
macro_rules! keys {
    ($($key:ident),* $(,)?) => {
        /// A string of the interface.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Key { $($key),* }

        impl Key {
            pub const ALL: &'static [Key] = &[$(Key::$key),*];

            pub fn name(self) -> &'static str {
                match self { $(Key::$key => stringify!($key)),* }
            }
        }
    };
}

keys! {
    Tagline,
    LanguageLabel,
    DataLoaded,
    DataFailed,
    DataLoading,
    RaceLabel,
    RaceNotStarted,
    RaceRunning,
    RacePaused,
    RaceDone,
    RaceCancelled,
    RaceBudgetLine,
    RaceTimeMeasuring,
    RaceTimeLeft,
    RaceCheckpoints,
    RaceProgressLabel,
    Pause,
    PauseTitle,
    Resume,
    Cancel,
    DownloadRace,
    DownloadRaceTitle,
    CancelQuestion,
    CancelConfirm,
    KeepRacing,
    ResultTitle,
    ResultIntro,
    ResultEmpty,
    RetrainLegend,
    CandidateScore,
    RetrainOn,
    RetrainAll,
    Retrain10k,
    Retrain2k,
    RetrainButton,
    Retraining,
    RetrainCaption,
    ColMethod,
    ColTrainedOn,
    ColValidation,
    ColTest,
    RetrainWaiting,
    RetrainStarting,
    RetrainTraining,
    RetrainTesting,
    RetrainProgressLabel,
    Show,
    TestAccuracyLead,
    CourseSame,
    CourseAbove,
    CourseBelow,
    RaceScored,
    FewerImages,
    RetrainFailed,
    TestPending,
    ConfusionCaption,
    ConfusionCorner,
    ConfusionSummary,
    NoMistakes,
    WorstMistake,
    ConfusionColour,
    CellLabel,
    GalleryFiltered,
    GalleryAll,
    ShowEveryMistake,
    DigitLabel,
    ShowMore,
    FinalWorkerLost,
    DrawTitle,
    DrawNeedsModel,
    DrawPrompt,
    DrawBlank,
    DrawTooSmall,
    DrawReads,
    DrawProbabilities,
    DrawReadIn,
    DrawCanvasLabel,
    Clear,
    PreparedLabel,
    PreparedCaption,
    WhyButton,
    WhyButtonTitle,
    WhyTitle,
    WhyPanelLabel,
    RoundsLabel,
    PreviousRound,
    NextRound,
    RoundLabel,
    RoundOf,
    Close,
    WhyNoRoundYet,
    WhyNotTrainedYet,
    WhyNotOnSlice,
    WhyWarmingUp,
    WhyRandom,
    WhyGrid,
    WhyGridCells,
    WhyUniformLabel,
    WhyLow,
    WhyHigh,
    GpReasonUnsureGood,
    GpReasonUnsure,
    GpReasonMean,
    GpSentence,
    GpMean,
    GpMeanWhat,
    GpUncertainty,
    GpUncertaintyWhat,
    GpImprovement,
    GpImprovementWhat,
    GpMatters,
    GpMattersWhat,
    GpLengthScale,
    GpSliceLabel,
    GpMeanLabel,
    GpUncertaintyLabel,
    GpImprovementLabel,
    GpHint,
    TpeSentence,
    TpeDensityLabel,
    TpeHint,
    CmaSentence,
    CmaNarrowing,
    CmaWidening,
    CmaDistribution,
    CmaSliceLabel,
    CmaSigma,
    CmaPerGeneration,
    CmaSigmaLabel,
    GaSentence,
    GaSliceLabel,
    LadderSentence,
    LadderBracket,
    LadderRung,
    LadderEpochs,
    LadderHint,
    LadderEntry,
    PbtSentence,
    PbtExample,
    PbtNothing,
    PbtLabel,
    PbtEpoch,
    PbtHint,
    PathsSentence,
    PathsPending,
    PathsLearningRate,
    PathsL2,
    PathsOverSteps,
    PathsLabel,
    PathsSteps,
    PathsHint,
    TrialNumber,
    MethodGrid,
    MethodRandom,
    MethodTpe,
    MethodGp,
    MethodCma,
    MethodGenetic,
    MethodHypergradient,
    MethodHalving,
    MethodHyperband,
    MethodPbt,
    MethodSingle,
    SummaryGrid,
    SummaryRandom,
    SummaryTpe,
    SummaryGp,
    SummaryCma,
    SummaryGenetic,
    SummaryHypergradient,
    SummaryHalving,
    SummaryHyperband,
    SummaryPbt,
    SetupTitle,
    SetupHide,
    SetupShow,
    SetupSummary,
    HoldoutShort,
    KFoldShort,
    LegendMethods,
    LegendSpace,
    PresetLabel,
    PresetSeedGrid,
    PresetSeed,
    PresetWide,
    GridSize,
    LegendBudget,
    BudgetLabel,
    CostLine,
    EtaLine,
    WorkersOne,
    WorkersMany,
    HowMeasured,
    HowSpeedTest,
    EtaPending,
    SubsetLabel,
    ImagesCount,
    ValidationLabel,
    HoldoutOption,
    KFoldOption,
    SeedLabel,
    LegendRun,
    ProposalsLabel,
    MedianPruning,
    MedianPruningTitle,
    WorkersLabel,
    WorkersError,
    StartRace,
    StartWaits,
    NotWhole,
    WhatBudget,
    WhatImages,
    WhatSeed,
    WhatProposals,
    ColSearch,
    ColHyperparameter,
    ColFrom,
    ColTo,
    ColScale,
    ColGrid,
    ScaleLinear,
    ScaleLog,
    EveryChoice,
    EvenlySpaced,
    MapLabel,
    MapTitle,
    MapAcross,
    MapUp,
    MapSwap,
    MapSwapTitle,
    MapEmpty,
    MapScored,
    MapRunning,
    MapBest,
    MapMarkBest,
    MapLegendLabel,
    MapLegendTitle,
    MapStatesLabel,
    MapStateScored,
    MapStateBest,
    MapStateRunning,
    MapStateDiverged,
    MapStateFailed,
    MapStateStopped,
    StateWaiting,
    StateRunning,
    StatePaused,
    StateComplete,
    StatePruned,
    StateFailed,
    StateDiverged,
    StateInterrupted,
    DistinctTitle,
    DistinctCaption,
    ColMethodLower,
    BestTitle,
    BestAlong,
    BestCompute,
    BestTrials,
    BestWall,
    BestLabel,
    BestAxisY,
    BestAxisCompute,
    BestAxisTrials,
    BestAxisWall,
    StandTitle,
    StandEmpty,
    StandCaption,
    StandSpent,
    StandEpochs,
    StandTrials,
    StandBest,
    StandSkipped,
    StandSkippedTitle,
    StandDone,
    RankCaption,
    RankAt,
    ParTitle,
    ParByAccuracy,
    ParHint,
    ParShowAll,
    ParLabel,
    ParAxisLabel,
    TableTitle,
    TableEmpty,
    TableState,
    TableAccuracy,
    TableCost,
    TableTime,
    TablePrevious,
    TableNext,
    TablePage,
    TableInsideBrushes,
    RankBudget,
    TrialSingle,
    TrialWaiting,
    TrialTrainingIn,
    TrialTrainingAttempt,
    TrialComplete,
    TrialPaused,
    TrialStopped,
    TrialStoppedAfter,
    TrialFailed,
    TrialDiverged,
    TrialInterrupted,
    TrialNoneYet,
    TrialColTrial,
    TrialColState,
    TrialColEpochs,
    TrialColTime,
    TrialShowTitle,
    TrialDetailHint,
    TrialFoldScore,
    TrialFoldMean,
    TrialStatusLine,
    TrialFoldProgress,
    TrialEpochProgress,
    TrialJsonSummary,
    TrialCopy,
    TrialFinalAccuracy,
    ChartLabel,
    ChartEpoch,
    ChartTrainLoss,
    ChartValidationLoss,
    ChartTrainAccuracy,
    ChartValidationAccuracy,
    ChartAxesNote,
    SingleTitle,
    SingleHint,
    SingleTrain,
    SingleLearning,
    SingleRegularization,
    SingleArchitecture,
    SingleOptimization,
    SingleLearningRate,
    SingleLearningRateHint,
    SingleDecay,
    SingleDecayNone,
    SingleDecayStep,
    SingleDecayExponential,
    SingleDecayEvery,
    SingleDecayEveryName,
    SingleDecayFactor,
    SingleDecayFactorHint,
    SingleEpochs,
    SingleBatchSize,
    SingleL2Hint,
    SingleL1Hint,
    SingleDropoutHint,
    SingleConvLayers,
    SingleFiltersLayer,
    SingleFiltersName,
    SingleDenseUnits,
    SingleDenseUnitsHint,
    SingleOptimizer,
    SingleMomentumOption,
    SingleMomentum,
    SingleImages,
    SingleSeed,
    SingleSeedHint,
    SingleNotANumber,
    SingleUnknownOptimizer,
    SingleInvalid,
    DataDownloading,
    DataParsing,
    DataReady,
    DataCouldNotLoad,
    DataRetryHint,
    DataNoWindow,
    DataNotDownloaded,
    DataServerAnswered,
    DataNoBody,
    DataBrokeOff,
    SectionTrialDetail,
    SectionSingle,
    SectionData,
    SectionWorkers,
    FooterBefore,
    FooterAfter,
    WorkerHint,
    WorkerStarting,
    WorkerLoading,
    WorkerReady,
    WorkerTraining,
    WorkerStopping,
    WorkerRestarting,
    WorkerBroken,
    WorkerRetired,
    WorkerRestarts,
    WorkerLine,
    ParamLearningRate,
    ParamEpochs,
    ParamBatchSize,
    ParamConvLayers,
    ParamL2,
    ParamL1,
    ParamOptimizer,
    ParamMomentum,
    ParamLrDecay,
    ParamFilters,
    ParamDenseUnits,
    ParamDropout,
    ConfigSummary,
    ExplainLabel,
    TeachGridTitle,
    TeachGridBody,
    TeachRandomTitle,
    TeachRandomBody,
    TeachTpeTitle,
    TeachTpeBody,
    TeachGpEiTitle,
    TeachGpEiBody,
    TeachCmaEsTitle,
    TeachCmaEsBody,
    TeachGeneticTitle,
    TeachGeneticBody,
    TeachHypergradientTitle,
    TeachHypergradientBody,
    TeachSuccessiveHalvingTitle,
    TeachSuccessiveHalvingBody,
    TeachHyperbandTitle,
    TeachHyperbandBody,
    TeachPbtTitle,
    TeachPbtBody,
    TeachLearningRateTitle,
    TeachLearningRateBody,
    TeachEpochsTitle,
    TeachEpochsBody,
    TeachBatchSizeTitle,
    TeachBatchSizeBody,
    TeachConvLayersTitle,
    TeachConvLayersBody,
    TeachL2Title,
    TeachL2Body,
    TeachL1Title,
    TeachL1Body,
    TeachDropoutTitle,
    TeachDropoutBody,
    TeachMomentumTitle,
    TeachMomentumBody,
    TeachOptimizerTitle,
    TeachOptimizerBody,
    TeachLrDecayTitle,
    TeachLrDecayBody,
    TeachFiltersTitle,
    TeachFiltersBody,
    TeachDenseUnitsTitle,
    TeachDenseUnitsBody,
    TeachCoverageMapsTitle,
    TeachCoverageMapsBody,
    TeachBestSoFarTitle,
    TeachBestSoFarBody,
    TeachStandingTitle,
    TeachStandingBody,
    TeachDistinctValuesTitle,
    TeachDistinctValuesBody,
    TeachParallelCoordinatesTitle,
    TeachParallelCoordinatesBody,
    TeachTrialsTableTitle,
    TeachTrialsTableBody,
    TeachTrainingCurvesTitle,
    TeachTrainingCurvesBody,
    TeachValidationVsTestTitle,
    TeachValidationVsTestBody,
    TeachCrossValidationTitle,
    TeachCrossValidationBody,
    TeachBudgetTitle,
    TeachBudgetBody,
    TeachConfusionMatrixTitle,
    TeachConfusionMatrixBody,
    TeachMisclassifiedTitle,
    TeachMisclassifiedBody,
    TeachDrawDigitTitle,
    TeachDrawDigitBody,
    TeachWhyNextTitle,
    TeachWhyNextBody,
    TeachMedianPruningTitle,
    TeachMedianPruningBody,
    TeachSearchSpaceTitle,
    TeachSearchSpaceBody,
    ParNoScore,
    RetrainThis,
    RetrainThisTitle,
    RuleInterval,
    RuleBetween,
    RulePerLayer,
    RuleUnitsOrNone,
    RulePositive,
    RuleAtMost,
    RulePositiveBelowLargestL2,
    RuleInsideL2Range,
    ConfigOutOfRange,
    ConfigDecayWithHypergradient,
    ConfigMissingFilters,
    ConfigTooMuchMemory,
    FieldDecayEvery,
    FieldDecayFactor,
    FieldConvFilters,
    FieldRho,
    FieldBeta1,
    FieldBeta2,
    FieldEpsilon,
    FieldLrHyperStep,
    FieldLrHyperMax,
    FieldLrHyperMaxChange,
    FieldL2HyperStep,
    FieldL2HyperEvery,
    FieldL2HyperMin,
    FieldL2HyperMax,
    SpaceNoParams,
    SpaceEmptyName,
    SpaceDuplicateName,
    SpaceEmptyRange,
    SpaceNotFinite,
    SpaceLogNeedsPositive,
    SpaceNoChoices,
    SpaceDuplicateChoice,
    SpaceGridOutside,
    SpaceGridNotWhole,
    SpaceGridOnCategorical,
    SpaceEmptyGrid,
    SpaceJson,
    HyperUnknown,
    HyperWrongKind,
    HyperInvalid,
    HyperCombination,
    SetBadK,
    SetTooFewOne,
    SetTooFewFolds,
    SetTooManySplit,
    SetTooManyFile,
    SetupNoMethod,
    SetupUnknownMethod,
    SetupRepeatedMethod,
    SetupNoParam,
    SetupPausingNeedsHoldout,
    SetupProposals,
    SetupNoBudget,
    SetupBudgetBelowOneTrial,
    RowFixedNotANumber,
    RowFixedNotWhole,
    RowFixedNotAChoice,
    RowRangeNotNumbers,
    RowRangeNotWhole,
    RowGridNotNumbers,
    ListAnd,
    WhyDivergedBatch,
    WhyDivergedValidation,
    WhyInFold,
    WhyCheckpointLost,
    TrialCrash,
    NoticeReplaced,
    NoticeOutOfService,
    NoticeNoWorkerLeft,
    WorkerGaveUp,
    WorkerProtocol,
    IdxEmpty,
    IdxBadGzip,
    IdxTooLarge,
    IdxHeaderTruncated,
    IdxWrongMagic,
    IdxImagesFile,
    IdxLabelsFile,
    IdxZeroDimension,
    IdxTruncated,
    IdxOversized,
    IdxBadLabel,
    DataInFile,
    DataUnreadable,
    DataCountMismatch,
    DataWrongImageSize,
    DataTrainTooSmall,
    RetrainInvalid,
    RetrainNoTrainingImages,
    RetrainNoTestImages,
    RetrainImages,
    RetrainDiverged,
    RetrainNoTestLoss,
    RetrainStopped,
    RetrainBusy,
    GridSliceLabel,
    GridPositionTip,
    GridSliceHint,
    MedianTitle,
    MedianNotYet,
    MedianSentence,
    MedianChartLabel,
    MedianHint,
    DrawKeys,
    FaultPanicked,
    FaultCouldNotRead,
    FaultRefusedImages,
    FaultUnreadable,
    FaultError,
    FaultNoStart,
    FaultGone,
    FaultImagesNotSent,
    FaultNotSent,
    FaultNoImages,
    CandidatePbtValues,
    CandidateHypergradientValues,
    LinkNoVersion,
    LinkFutureVersion,
    LinkUnknownKey,
    LinkBadValue,
    LinkUnknownMethod,
    LinkUnknownParam,
    WhatMethods,
    WhatValidation,
    WhatMedianRule,
    ShareLabel,
    ShareTitle,
    ShareCopy,
    ShareNeedsNumbers,
    LinkNoticeTitle,
    LessonHeading,
    LessonLocked,
    LessonLeave,
    LessonsTitle,
    LessonsHint,
    LessonGridTitle,
    LessonGridBody,
    LessonBayesTitle,
    LessonBayesBody,
    LessonStoppingTitle,
    LessonStoppingBody,
    LessonCvTitle,
    LessonCvBody,
    LessonHypergradientTitle,
    LessonHypergradientBody,
    ExportLabel,
    ExportCsv,
    ExportCsvTitle,
    ExportOptuna,
    ExportOptunaTitle,
    ImportLabel,
    ImportHint,
    ImportReading,
    ImportOpened,
    ImportPanelKept,
    ImportRefused,
    ImportUnreadable,
    OpenTooLarge,
    ReadNotJson,
    ReadNotRecord,
    ReadVersion,
    ReadNoVersion,
    ReadMalformed,
    RebuildSetup,
    RebuildMethods,
    RebuildNotProposed,
    DataRetry,
    DataReadyTestLoading,
    OfflinePending,
    OfflineKept,
    OfflineNotKept,
    FaultHung,
    SectionExperiments,
    ExperimentsHint,
    ExperimentsEmpty,
    ExperimentLine,
    ExperimentUnfinished,
    ExperimentDone,
    ExperimentCancelled,
    ExperimentOnScreen,
    ExperimentOpen,
    ExperimentDelete,
    StorageTabOnly,
    RestoredKept,
    RestoredInterrupted,
    RestoredSkipped,
    RestoredElsewhere,
    RestoreFailed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_unknown_braces_kept() {
        assert_eq!(fill("{a} of {b}", &[("a", "3"), ("b", "9")]), "3 of 9");
        assert_eq!(fill("{a} and {c}", &[("a", "1")]), "1 and {c}");
        assert_eq!(fill("no braces", &[]), "no braces");
        assert_eq!(placeholders("{x} = {x_value}, {y}"), vec!["x", "x_value", "y"]);
    }

    #[test]
    fn numbers_are_written_as_each_language_writes_them() {
        assert_eq!((Lang::En.percent(0.9734), Lang::Es.percent(0.9734)), ("97.34%".to_string(), "97,34\u{a0}%".to_string()));
        assert_eq!((Lang::En.thousands(60_000), Lang::Es.thousands(60_000), Lang::Es.thousands(2_000)), ("60,000".into(), "60\u{a0}000".into(), "2000".into()));
        assert_eq!(Lang::Es.number(0.25, 2), "0,25");
        assert_eq!((Lang::from_code("es-MX"), Lang::from_code("en"), Lang::from_code("fr")), (Some(Lang::Es), Some(Lang::En), None));
    }
}
