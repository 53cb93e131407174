//! What the core refuses or reports, said in the page's language: a bad field of the experiment
//! panel, a bad row of the search space, a configuration that cannot train, why a trial failed
//! or diverged, a retraining that gave no test result, a worker put out of service, an MNIST
//! file that is not one, a race record that cannot be opened. The core keeps each problem
//! as data (an enum per reason, its `Display` the command line's English); here each becomes a
//! sentence of the catalogues, hyperparameters named as the page names them.

use super::{Key, Lang};
use crate::data::idx::IMAGES_MAGIC;
use crate::data::validation::{CvError, SetError, TRAINING_FILE_IMAGES};
use crate::data::{DataError, IdxError};
use crate::experiment::live::Why;
use crate::experiment::presets::{HyperparamError, KNOWN};
use crate::experiment::race::{SetupProblem, MAX_PROPOSALS};
use crate::experiment::record::{OpenError, ReadError, RebuildError, MAX_RECORD_BYTES, VERSION};
use crate::experiment::space_form::RowProblem;
use crate::nn::config::{ConfigError, Rule, MAX_TRAINING_MEMORY_BYTES};
use crate::protocol::RetrainFailure;
use crate::scheduler::{Fault, Notice, OutOfService};
use crate::share::link::LinkProblem;
use crate::tuning::methods;
use crate::tuning::space::SpaceError;

impl Lang {
    /// A hyperparameter or configuration field by its name in the core (`learning_rate`,
    /// `lr_decay.factor`), as the page shows it; a name it does not know is shown as it is.
    pub fn param(self, name: &str) -> String {
        let key = match name {
            "learning_rate" => Key::ParamLearningRate,
            "epochs" => Key::ParamEpochs,
            "batch_size" => Key::ParamBatchSize,
            "conv_layers" => Key::ParamConvLayers,
            "l2" => Key::ParamL2,
            "l1" => Key::ParamL1,
            "optimizer" => Key::ParamOptimizer,
            "momentum" => Key::ParamMomentum,
            "lr_decay" => Key::ParamLrDecay,
            "filters" => Key::ParamFilters,
            "dense_units" => Key::ParamDenseUnits,
            "dropout" => Key::ParamDropout,
            "lr_decay.every_epochs" => Key::FieldDecayEvery,
            "lr_decay.factor" => Key::FieldDecayFactor,
            "conv_filters" => Key::FieldConvFilters,
            "rho" => Key::FieldRho,
            "beta1" => Key::FieldBeta1,
            "beta2" => Key::FieldBeta2,
            "epsilon" => Key::FieldEpsilon,
            "lr_hypergradient.step" => Key::FieldLrHyperStep,
            "lr_hypergradient.max" => Key::FieldLrHyperMax,
            "lr_hypergradient.max_change" => Key::FieldLrHyperMaxChange,
            "l2_hypergradient.step" => Key::FieldL2HyperStep,
            "l2_hypergradient.every" => Key::FieldL2HyperEvery,
            "l2_hypergradient.min" => Key::FieldL2HyperMin,
            "l2_hypergradient.max" => Key::FieldL2HyperMax,
            _ => return name.to_string(),
        };
        self.text(key).to_string()
    }

    /// A method's label by its registry name (one configuration trained on its own has none).
    pub fn method(self, name: &str) -> &'static str {
        self.text(match name {
            "grid" => Key::MethodGrid,
            "random" => Key::MethodRandom,
            "tpe" => Key::MethodTpe,
            "gp-ei" => Key::MethodGp,
            "cma-es" => Key::MethodCma,
            "genetic" => Key::MethodGenetic,
            "hypergradient" => Key::MethodHypergradient,
            "successive-halving" => Key::MethodHalving,
            "hyperband" => Key::MethodHyperband,
            "pbt" => Key::MethodPbt,
            _ => Key::MethodSingle,
        })
    }

    /// Items as a sentence lists them: "a, b and c" / "a, b y c".
    pub fn list(self, items: &[String]) -> String {
        match items.split_last() {
            None => String::new(),
            Some((last, [])) => last.clone(),
            Some((last, rest)) => self.fill(Key::ListAnd, &[("rest", &rest.join(", ")), ("last", last)]),
        }
    }

    /// What a rule asks of a value: "must be between 1 and 1000".
    pub fn rule(self, rule: &Rule) -> String {
        let n = |v: &u32| v.to_string();
        match rule {
            Rule::Interval(interval) => self.fill(Key::RuleInterval, &[("interval", &self.localise(interval))]),
            Rule::Between { low, high } => self.fill(Key::RuleBetween, &[("low", &n(low)), ("high", &n(high))]),
            Rule::PerLayer { low, high } => self.fill(Key::RulePerLayer, &[("low", &n(low)), ("high", &n(high))]),
            Rule::UnitsOrNone { high } => self.fill(Key::RuleUnitsOrNone, &[("high", &n(high))]),
            Rule::Positive => self.text(Key::RulePositive).to_string(),
            Rule::AtMost(most) => self.fill(Key::RuleAtMost, &[("most", &n(most))]),
            Rule::PositiveBelowLargestL2 => self.text(Key::RulePositiveBelowLargestL2).to_string(),
            Rule::InsideL2Range => self.text(Key::RuleInsideL2Range).to_string(),
        }
    }

    /// Why a configuration cannot train.
    pub fn config_error(self, e: &ConfigError) -> String {
        match e {
            ConfigError::OutOfRange { name, value, rule } => {
                self.fill(Key::ConfigOutOfRange, &[("field", &self.param(name)), ("rule", &self.rule(rule)), ("value", &self.localise(value))])
            }
            ConfigError::DecayWithHypergradient => self.text(Key::ConfigDecayWithHypergradient).to_string(),
            ConfigError::MissingFilters { given, needed } => {
                self.fill(Key::ConfigMissingFilters, &[("given", &given.to_string()), ("needed", &needed.to_string())])
            }
            ConfigError::TooMuchMemory { needed, batch_size } => self.fill(
                Key::ConfigTooMuchMemory,
                &[
                    ("needed", &self.number(*needed as f64 / 1e9, 1)),
                    ("batch", &batch_size.to_string()),
                    ("limit", &self.number(MAX_TRAINING_MEMORY_BYTES as f64 / 1e9, 1)),
                ],
            ),
        }
    }

    /// Why a search space cannot be built.
    pub fn space_error(self, e: &SpaceError) -> String {
        let quoted = |text: &str| match self {
            Lang::En => format!("“{text}”"),
            Lang::Es => format!("«{text}»"),
        };
        match e {
            SpaceError::NoParams => self.text(Key::SpaceNoParams).to_string(),
            SpaceError::EmptyName => self.text(Key::SpaceEmptyName).to_string(),
            SpaceError::DuplicateName { name } => self.fill(Key::SpaceDuplicateName, &[("name", &quoted(name))]),
            SpaceError::EmptyRange { name, low, high } => {
                self.fill(Key::SpaceEmptyRange, &[("name", &self.param(name)), ("low", &self.localise(low)), ("high", &self.localise(high))])
            }
            SpaceError::NotFinite { name, value } => {
                self.fill(Key::SpaceNotFinite, &[("name", &self.param(name)), ("value", &self.localise(&value.to_string()))])
            }
            SpaceError::LogNeedsPositive { name, low } => self.fill(Key::SpaceLogNeedsPositive, &[("name", &self.param(name)), ("low", &self.localise(low))]),
            SpaceError::NoChoices { name } => self.fill(Key::SpaceNoChoices, &[("name", &self.param(name))]),
            SpaceError::DuplicateChoice { name, choice } => self.fill(Key::SpaceDuplicateChoice, &[("name", &self.param(name)), ("choice", &quoted(choice))]),
            SpaceError::GridOutside { name, value, low, high } => self.fill(
                Key::SpaceGridOutside,
                &[("name", &self.param(name)), ("value", &self.localise(&value.to_string())), ("low", &self.localise(low)), ("high", &self.localise(high))],
            ),
            SpaceError::GridNotWhole { name, value } => {
                self.fill(Key::SpaceGridNotWhole, &[("name", &self.param(name)), ("value", &self.localise(&value.to_string()))])
            }
            SpaceError::GridOnCategorical { name } => self.fill(Key::SpaceGridOnCategorical, &[("name", &self.param(name))]),
            SpaceError::EmptyGrid { name } => self.fill(Key::SpaceEmptyGrid, &[("name", &self.param(name))]),
            SpaceError::Json(why) => self.fill(Key::SpaceJson, &[("why", why)]),
        }
    }

    /// Why a hyperparameter's values cannot train.
    pub fn hyperparam_error(self, e: &HyperparamError) -> String {
        match e {
            HyperparamError::Unknown { name } => self.fill(Key::HyperUnknown, &[("name", name), ("known", &KNOWN.map(|k| self.param(k)).join(", "))]),
            HyperparamError::WrongKind { name, value } => self.fill(Key::HyperWrongKind, &[("name", &self.param(name)), ("value", &self.localise(value))]),
            // The value broke its own field's rule, which names the field and the value.
            HyperparamError::Invalid { name, source: source @ ConfigError::OutOfRange { name: field, .. }, .. } if field == name => self.config_error(source),
            HyperparamError::Invalid { name, value, source } => {
                self.fill(Key::HyperInvalid, &[("name", &self.param(name)), ("value", &self.localise(value)), ("why", &self.config_error(source))])
            }
            HyperparamError::Combination(source) => self.fill(Key::HyperCombination, &[("why", &self.config_error(source))]),
            HyperparamError::Space(e) => self.space_error(e),
        }
    }

    /// Why trials cannot train on a training set.
    pub fn set_error(self, e: &SetError) -> String {
        match e {
            SetError::Validation(CvError::BadK { k }) => self.fill(Key::SetBadK, &[("k", &k.to_string())]),
            SetError::TooFew { folds: None, got } => self.fill(Key::SetTooFewOne, &[("got", &self.thousands(*got as u64))]),
            SetError::TooFew { folds: Some(k), got } => self.fill(Key::SetTooFewFolds, &[("k", &k.to_string()), ("got", &self.thousands(*got as u64))]),
            SetError::TooMany { whole_file, most, got } => self.fill(
                if *whole_file { Key::SetTooManyFile } else { Key::SetTooManySplit },
                &[("most", &self.thousands(*most as u64)), ("got", &self.thousands(*got as u64))],
            ),
        }
    }

    /// Why a race's setup cannot run.
    pub fn setup_problem(self, p: &SetupProblem) -> String {
        match p {
            SetupProblem::NoMethod => self.text(Key::SetupNoMethod).to_string(),
            SetupProblem::UnknownMethod { name } => {
                self.fill(Key::SetupUnknownMethod, &[("name", name), ("known", &methods::names().collect::<Vec<_>>().join(", "))])
            }
            SetupProblem::RepeatedMethod => self.text(Key::SetupRepeatedMethod).to_string(),
            SetupProblem::NoParam => self.text(Key::SetupNoParam).to_string(),
            SetupProblem::Space(e) => self.hyperparam_error(e),
            SetupProblem::PausingNeedsHoldout { pausing } => {
                let labels: Vec<String> = pausing.iter().map(|m| self.method(m).to_string()).collect();
                self.fill(Key::SetupPausingNeedsHoldout, &[("methods", &self.list(&labels))])
            }
            SetupProblem::Data(e) => self.set_error(e),
            SetupProblem::Proposals => self.fill(Key::SetupProposals, &[("most", &MAX_PROPOSALS.to_string())]),
            SetupProblem::NoBudget => self.text(Key::SetupNoBudget).to_string(),
            SetupProblem::BudgetBelowOneTrial { need } => self.fill(Key::SetupBudgetBelowOneTrial, &[("need", &need.to_string())]),
        }
    }

    /// Why a row of the search space cannot be searched or fixed.
    pub fn row_problem(self, p: &RowProblem) -> String {
        match p {
            RowProblem::FixedNotANumber { name, text, whole } => {
                self.fill(if *whole { Key::RowFixedNotWhole } else { Key::RowFixedNotANumber }, &[("name", &self.param(name)), ("text", text)])
            }
            RowProblem::FixedNotAChoice { name, text, choices } => {
                self.fill(Key::RowFixedNotAChoice, &[("name", &self.param(name)), ("text", text), ("choices", &choices.join(", "))])
            }
            RowProblem::RangeNotNumbers { name } => self.fill(Key::RowRangeNotNumbers, &[("name", &self.param(name))]),
            RowProblem::RangeNotWhole { name } => self.fill(Key::RowRangeNotWhole, &[("name", &self.param(name))]),
            RowProblem::GridNotNumbers { name, text } => self.fill(Key::RowGridNotNumbers, &[("name", &self.param(name)), ("text", text)]),
            RowProblem::Space(e) => self.space_error(e),
            RowProblem::Hyperparam(e) => self.hyperparam_error(e),
        }
    }

    /// Why a trial failed or diverged.
    pub fn trial_why(self, why: &Why) -> String {
        match why {
            Why::Diverged { diverged, fold } => {
                let loss = self.localise(&diverged.loss);
                let epoch = diverged.epoch.to_string();
                let what = match diverged.batch {
                    0 => self.fill(Key::WhyDivergedValidation, &[("loss", &loss), ("epoch", &epoch)]),
                    batch => self.fill(Key::WhyDivergedBatch, &[("loss", &loss), ("epoch", &epoch), ("batch", &batch.to_string())]),
                };
                match fold {
                    Some((fold, folds)) => self.fill(Key::WhyInFold, &[("fold", &fold.to_string()), ("folds", &folds.to_string()), ("why", &what)]),
                    None => what,
                }
            }
            Why::Invalid(e) => self.hyperparam_error(e),
            Why::CheckpointLost => self.text(Key::WhyCheckpointLost).to_string(),
            // The worker's own words: not ours to translate.
            Why::Refused(words) => words.clone(),
            Why::Lost(fault) => self.fault(fault),
        }
    }

    /// An earlier attempt of a trial that lost its worker.
    pub fn crash(self, attempt: u32, fault: &Fault) -> String {
        self.fill(Key::TrialCrash, &[("attempt", &attempt.to_string()), ("why", &self.fault(fault))])
    }

    /// Why a worker was lost (the worker's or the browser's own words inside are kept as they are).
    pub fn fault(self, fault: &Fault) -> String {
        let with = |key: Key, why: &str| self.fill(key, &[("why", why)]);
        match fault {
            Fault::Panicked(why) => with(Key::FaultPanicked, why),
            Fault::CouldNotRead(why) => with(Key::FaultCouldNotRead, why),
            Fault::RefusedImages(why) => with(Key::FaultRefusedImages, why),
            Fault::Unreadable(why) => with(Key::FaultUnreadable, why),
            Fault::Error(Some(words)) => words.clone(),
            Fault::Error(None) => self.text(Key::FaultError).to_string(),
            Fault::NoStart(why) => with(Key::FaultNoStart, why),
            Fault::Gone => self.text(Key::FaultGone).to_string(),
            Fault::NoImages => self.text(Key::FaultNoImages).to_string(),
            Fault::ImagesNotSent(why) => with(Key::FaultImagesNotSent, why),
            Fault::NotSent(why) => with(Key::FaultNotSent, why),
            Fault::Protocol { worker, page } => self.fill(Key::WorkerProtocol, &[("worker", &worker.to_string()), ("page", &page.to_string())]),
            Fault::OutOfService(why) => self.out_of_service(why),
            Fault::Hung { seconds } => self.fill(Key::FaultHung, &[("seconds", &seconds.to_string())]),
        }
    }

    /// Why a worker is out of service.
    pub fn out_of_service(self, why: &OutOfService) -> String {
        match why {
            OutOfService::Crashed { times, last } => self.fill(Key::WorkerGaveUp, &[("times", &times.to_string()), ("why", &self.fault(last))]),
            OutOfService::Unusable(fault) => self.fault(fault),
        }
    }

    /// A notice about the workers.
    pub fn notice(self, notice: &Notice) -> String {
        match notice {
            Notice::Replaced { worker } => self.fill(Key::NoticeReplaced, &[("worker", &(worker + 1).to_string())]),
            Notice::OutOfService { worker, why } => {
                self.fill(Key::NoticeOutOfService, &[("worker", &(worker + 1).to_string()), ("why", &self.out_of_service(why))])
            }
            Notice::NoWorkerLeft => self.text(Key::NoticeNoWorkerLeft).to_string(),
        }
    }

    /// Why an MNIST file cannot be read.
    pub fn data_error(self, e: &DataError) -> String {
        let n = |v: usize| self.thousands(v as u64);
        match e {
            DataError::File { file, source } => self.fill(Key::DataInFile, &[("file", file.file_name()), ("why", &self.idx_error(source))]),
            DataError::Unreadable { file, reason } => self.fill(Key::DataUnreadable, &[("file", file.file_name()), ("why", reason)]),
            DataError::CountMismatch { images, image_count, labels, label_count } => self.fill(
                Key::DataCountMismatch,
                &[("images", images.file_name()), ("image_count", &n(*image_count)), ("labels", labels.file_name()), ("label_count", &n(*label_count))],
            ),
            DataError::WrongImageSize { file, rows, cols } => {
                self.fill(Key::DataWrongImageSize, &[("file", file.file_name()), ("rows", &rows.to_string()), ("cols", &cols.to_string())])
            }
            DataError::TrainFileTooSmall { count, minimum } => self.fill(Key::DataTrainTooSmall, &[("count", &n(*count)), ("minimum", &n(*minimum))]),
        }
    }

    /// Why an IDX file's bytes are not an MNIST file.
    pub fn idx_error(self, e: &IdxError) -> String {
        let dims = |dims: &[u32]| dims.iter().map(u32::to_string).collect::<Vec<_>>().join(" × ");
        match e {
            IdxError::Empty => self.text(Key::IdxEmpty).to_string(),
            IdxError::BadGzip(why) => self.fill(Key::IdxBadGzip, &[("why", why)]),
            IdxError::TooLargeInflated { limit } => self.fill(Key::IdxTooLarge, &[("limit", &self.thousands(*limit))]),
            IdxError::HeaderTruncated { len, needed } => self.fill(Key::IdxHeaderTruncated, &[("len", &len.to_string()), ("needed", &needed.to_string())]),
            IdxError::WrongMagic { found, expected, .. } => {
                let what = self.text(if *expected == IMAGES_MAGIC { Key::IdxImagesFile } else { Key::IdxLabelsFile });
                self.fill(Key::IdxWrongMagic, &[("found", &format!("{found:08x}")), ("expected", &format!("{expected:08x}")), ("what", what)])
            }
            IdxError::ZeroDimension { dims: d } => self.fill(Key::IdxZeroDimension, &[("dims", &dims(d))]),
            IdxError::Truncated { dims: d, declared, actual } => {
                self.fill(Key::IdxTruncated, &[("declared", &self.thousands(*declared)), ("dims", &dims(d)), ("actual", &self.thousands(*actual))])
            }
            IdxError::Oversized { dims: d, declared, actual } => {
                self.fill(Key::IdxOversized, &[("declared", &self.thousands(*declared)), ("dims", &dims(d)), ("actual", &self.thousands(*actual))])
            }
            IdxError::BadLabel { index, value } => self.fill(Key::IdxBadLabel, &[("value", &value.to_string()), ("index", &self.thousands(*index as u64))]),
        }
    }

    /// Why a retraining has no test result.
    pub fn retrain_failure(self, f: &RetrainFailure) -> String {
        match f {
            RetrainFailure::Invalid { why } => self.fill(Key::RetrainInvalid, &[("why", why)]),
            RetrainFailure::NoTrainingImages => self.text(Key::RetrainNoTrainingImages).to_string(),
            RetrainFailure::Busy => self.text(Key::RetrainBusy).to_string(),
            RetrainFailure::NoTestImages => self.text(Key::RetrainNoTestImages).to_string(),
            RetrainFailure::Images { images } => {
                self.fill(Key::RetrainImages, &[("most", &self.thousands(TRAINING_FILE_IMAGES as u64)), ("images", &self.thousands(*images as u64))])
            }
            RetrainFailure::Diverged { diverged } => {
                self.fill(Key::RetrainDiverged, &[("why", &self.trial_why(&Why::Diverged { diverged: diverged.clone(), fold: None }))])
            }
            RetrainFailure::NoTestLoss { loss } => self.fill(Key::RetrainNoTestLoss, &[("loss", &self.localise(loss))]),
            RetrainFailure::Stopped { epoch } => self.fill(Key::RetrainStopped, &[("epoch", &epoch.to_string())]),
        }
    }

    /// What was wrong with a link.
    pub fn link_problem(self, p: &LinkProblem) -> String {
        match p {
            LinkProblem::NoVersion => self.text(Key::LinkNoVersion).to_string(),
            LinkProblem::FutureVersion(v) => self.fill(Key::LinkFutureVersion, &[("version", &v.to_string())]),
            LinkProblem::UnknownKey { key } => self.fill(Key::LinkUnknownKey, &[("key", key)]),
            LinkProblem::BadValue { key, value } => {
                let what = match key.as_str() {
                    "m" => self.text(Key::WhatMethods).to_string(),
                    "sp" => self.text(Key::PresetLabel).to_string(),
                    "b" => self.text(Key::WhatBudget).to_string(),
                    "n" => self.text(Key::WhatImages).to_string(),
                    "cv" => self.text(Key::WhatValidation).to_string(),
                    "s" => self.text(Key::WhatSeed).to_string(),
                    "p" => self.text(Key::WhatProposals).to_string(),
                    "mp" => self.text(Key::WhatMedianRule).to_string(),
                    row => row.strip_prefix("r.").map_or_else(|| row.to_string(), |name| self.param(name)),
                };
                self.fill(Key::LinkBadValue, &[("what", &what), ("value", value)])
            }
            LinkProblem::UnknownMethod { name } => self.fill(Key::LinkUnknownMethod, &[("name", name)]),
            LinkProblem::UnknownParam { name } => self.fill(Key::LinkUnknownParam, &[("name", name)]),
        }
    }

    /// Why a file was not opened as a race (the JSON reader's own words stay as it wrote them).
    pub fn open_error(self, e: &OpenError) -> String {
        let mb = |bytes: usize| self.number(bytes as f64 / 1e6, 1);
        match e {
            OpenError::TooLarge { bytes } => self.fill(Key::OpenTooLarge, &[("size", &mb(*bytes)), ("most", &mb(MAX_RECORD_BYTES))]),
            OpenError::Read(ReadError::NotJson(detail)) => self.fill(Key::ReadNotJson, &[("detail", detail)]),
            OpenError::Read(ReadError::NotARecord) => self.text(Key::ReadNotRecord).to_string(),
            OpenError::Read(ReadError::Version(found)) => self.fill(Key::ReadVersion, &[("found", &found.to_string()), ("known", &VERSION.to_string())]),
            OpenError::Read(ReadError::NoVersion) => self.text(Key::ReadNoVersion).to_string(),
            OpenError::Read(ReadError::Malformed(detail)) => self.fill(Key::ReadMalformed, &[("detail", detail)]),
            OpenError::Rebuild(RebuildError::Setup(errors)) => {
                let problems: Vec<String> = errors.iter().map(|e| self.setup_problem(&e.problem)).collect();
                self.fill(Key::RebuildSetup, &[("problems", &problems.join("; "))])
            }
            OpenError::Rebuild(RebuildError::Methods { setup, studies }) => {
                let names = |list: &[String]| list.iter().map(|m| self.method(m).to_string()).collect::<Vec<_>>().join(", ");
                self.fill(Key::RebuildMethods, &[("studies", &names(studies)), ("methods", &names(setup))])
            }
            OpenError::Rebuild(RebuildError::NotProposed { method, trial }) => {
                self.fill(Key::RebuildNotProposed, &[("trial", &trial.to_string()), ("method", self.method(method))])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::race::RaceSetup;
    use crate::experiment::space_form::{build, rows_of};
    use crate::nn::TrainConfig;

    /// Every sentence is whole (no placeholder left) and the Spanish is not the English.
    fn said_in_both(say: impl Fn(Lang) -> String) -> (String, String) {
        let (en, es) = (say(Lang::En), say(Lang::Es));
        for text in [&en, &es] {
            assert!(!text.is_empty() && !text.contains('{'), "{text:?}");
        }
        assert_ne!(en, es);
        (en, es)
    }

    #[test]
    fn a_refused_configuration_is_said_in_both_languages() {
        let config = TrainConfig { learning_rate: 0.0, ..TrainConfig::default() };
        let e = config.validate().unwrap_err();
        let (en, es) = said_in_both(|l| l.config_error(&e));
        assert_eq!(en, e.to_string(), "the page's English is the command line's");
        assert_eq!(es, "tasa de aprendizaje debe estar en (0, 10]; su valor es 0");
        let mut big = TrainConfig { batch_size: 4096, ..TrainConfig::default() };
        big.conv_filters[0] = 256;
        let big = big.validate().unwrap_err();
        assert!(matches!(big, ConfigError::TooMuchMemory { .. }));
        let (en, es) = said_in_both(|l| l.config_error(&big));
        assert_eq!(en, big.to_string());
        assert!(es.contains(",") && es.starts_with("esta red necesita unos"), "{es}");
    }

    #[test]
    fn every_refused_setup_and_row_is_said_in_both_languages() {
        use crate::data::validation::{CrossValidation, TrainingSet};
        let setups = [
            RaceSetup { methods: vec![], proposals: 0, ..RaceSetup::default() },
            RaceSetup { methods: vec!["grid".into(), "annealing".into(), "grid".into()], ..RaceSetup::default() },
            RaceSetup { budget_epochs: 4, ..RaceSetup::default() },
            RaceSetup { budget_epochs: 0, ..RaceSetup::default() },
            RaceSetup { data: TrainingSet { images: 2, validation: CrossValidation::KFold { k: 3 } }, ..RaceSetup::default() },
            RaceSetup { data: TrainingSet { images: 0, validation: CrossValidation::Holdout }, ..RaceSetup::default() },
            RaceSetup { data: TrainingSet { images: 55_000, validation: CrossValidation::Holdout }, ..RaceSetup::default() },
            RaceSetup {
                methods: vec!["hyperband".into(), "pbt".into()],
                data: TrainingSet { images: 2_000, validation: CrossValidation::KFold { k: 4 } },
                ..RaceSetup::default()
            },
            RaceSetup { space: crate::tuning::space::SearchSpace::nothing(), ..RaceSetup::default() },
        ];
        let mut seen = 0;
        for setup in &setups {
            for problem in setup.problems() {
                let (en, _) = said_in_both(|l| l.setup_problem(&problem.problem));
                assert!(!en.is_empty());
                seen += 1;
            }
        }
        assert!(seen >= 11, "{seen}");
        let pausing = SetupProblem::PausingNeedsHoldout { pausing: vec!["hyperband", "pbt"] };
        let (en, es) = said_in_both(|l| l.setup_problem(&pausing));
        assert_eq!(en, pausing.to_string());
        assert!(es.starts_with("Hyperband y entrenamiento basado en poblaciones") || es.contains(" y "), "{es}");

        let base = TrainConfig::default();
        let mut rows = rows_of(&crate::experiment::presets::wide(), &base);
        rows[0].low = "fast".into();
        rows[1].on = false;
        rows[1].fixed = "2.5".into();
        rows[5].on = false;
        rows[5].fixed = "lion".into();
        rows[2].grid = "32, lots".into();
        rows[3].low = "0.5".into();
        let errors = build(&rows, &base).unwrap_err();
        assert_eq!(errors.len(), 5);
        for e in &errors {
            let (en, es) = said_in_both(|l| l.row_problem(&e.problem));
            assert!(!en.contains('_') && !es.contains('_'), "hyperparameters by their label: {en} / {es}");
        }
        let mut rows = rows_of(&crate::experiment::presets::seed_grid(), &base);
        rows[4].low = "0.1".into();
        rows[4].high = "0.01".into();
        let (_, es) = said_in_both(|l| l.row_problem(&build(&rows, &base).unwrap_err()[0].problem));
        assert!(es.contains("0,1") && es.contains("0,01"), "numbers the Spanish way: {es}");
    }

    #[test]
    fn a_record_that_cannot_be_opened_is_said_in_both_languages() {
        use crate::experiment::record::RaceRecord;
        let texts =
            ["{", "[]", "{\"format\": \"tunelab-race\", \"version\": 7}", "{\"format\": \"tunelab-race\"}", "{\"format\": \"tunelab-race\", \"version\": 1}"];
        for text in texts {
            let e = RaceRecord::open(text).err().unwrap();
            let (en, _) = said_in_both(|l| l.open_error(&e));
            if !matches!(e, OpenError::Read(ReadError::NotJson(_) | ReadError::Malformed(_))) {
                assert!(!en.contains("tunelab-race\"") || en == e.to_string(), "{en}");
            }
        }
        let rebuilds = [
            RebuildError::Methods { setup: vec!["grid".into()], studies: vec!["tpe".into()] },
            RebuildError::NotProposed { method: "gp-ei".into(), trial: 3 },
            RebuildError::Setup(RaceSetup { methods: vec![], ..RaceSetup::default() }.problems()),
        ];
        for e in rebuilds {
            let (en, es) = said_in_both(|l| l.open_error(&OpenError::Rebuild(e.clone())));
            assert!(!en.contains("gp-ei") && !es.contains("gp-ei"), "methods by their label: {en} / {es}");
        }
        let (en, es) = said_in_both(|l| l.open_error(&OpenError::TooLarge { bytes: 70_000_000 }));
        assert!(en.contains("70.0 MB") && es.contains("70,0 MB"), "{en} / {es}");
    }

    #[test]
    fn a_corrupt_mnist_file_is_said_in_both_languages() {
        use crate::data::{Mnist, MnistFile};
        let labels = [0u8, 0, 8, 1, 0, 0, 0, 2, 3, 11];
        let e = Mnist::training_from_files(&[], &labels).unwrap_err();
        let (en, _) = said_in_both(|l| l.data_error(&e));
        assert!(en.contains(MnistFile::TrainImages.file_name()), "{en}");
        for e in [
            IdxError::WrongMagic { found: 0x0801, expected: IMAGES_MAGIC, what: "" },
            IdxError::Truncated { dims: vec![60_000, 28, 28], declared: 47_040_000, actual: 1_000 },
            IdxError::BadLabel { index: 1, value: 11 },
        ] {
            said_in_both(|l| l.idx_error(&e));
        }
    }

    #[test]
    fn why_a_trial_or_a_retraining_ended_is_said_in_both_languages() {
        use crate::nn::train::Diverged;
        let in_batch = Diverged { epoch: 2, batch: 17, loss: "NaN".into() };
        let (en, es) = said_in_both(|l| l.trial_why(&Why::Diverged { diverged: in_batch.clone(), fold: Some((2, 5)) }));
        assert_eq!(
            (en.as_str(), es.as_str()),
            ("in fold 2 of 5, the loss became NaN in epoch 2, batch 17", "en la partición 2 de 5, la pérdida se volvió NaN en la época 2, lote 17")
        );
        let on_validation = Diverged { epoch: 3, batch: 0, loss: "inf".into() };
        let (en, _) = said_in_both(|l| l.trial_why(&Why::Diverged { diverged: on_validation.clone(), fold: None }));
        assert!(en.contains("validation set") && en.contains("epoch 3"), "{en}");
        said_in_both(|l| l.trial_why(&Why::CheckpointLost));
        said_in_both(|l| l.crash(1, &Fault::Panicked("RuntimeError: unreachable".into())));
        for f in
            [Fault::Error(None), Fault::Gone, Fault::NoStart("SecurityError".into()), Fault::Unreadable("missing field".into()), Fault::Hung { seconds: 20 }]
        {
            let (en, _) = said_in_both(|l| l.fault(&f));
            assert_eq!(en, f.to_string(), "the page's English is the command line's");
        }
        for f in [RetrainFailure::Diverged { diverged: in_batch }, RetrainFailure::NoTestLoss { loss: "NaN".into() }, RetrainFailure::Images { images: 0 }] {
            said_in_both(|l| l.retrain_failure(&f));
        }
        for n in [
            Notice::Replaced { worker: 0 },
            Notice::OutOfService { worker: 1, why: OutOfService::Crashed { times: 4, last: Fault::Error(Some("RuntimeError".into())) } },
            Notice::OutOfService { worker: 1, why: OutOfService::Unusable(Fault::Protocol { worker: 5, page: 6 }) },
            Notice::NoWorkerLeft,
        ] {
            let (en, _) = said_in_both(|l| l.notice(&n));
            assert_eq!(en, n.to_string(), "the page's English is the command line's");
        }
    }

    #[test]
    fn what_was_wrong_with_a_link_is_said_in_both_languages() {
        let opened = crate::share::link::decode("#v1&m=grid,annealing&b=-3&n=1234&cv=4&s=x&p=0&zz=1&r.nothing=1&r.epochs=1:2&mp=2");
        assert_eq!(opened.problems.len(), 10);
        for p in opened.problems.iter().chain([&LinkProblem::NoVersion, &LinkProblem::FutureVersion(2)]) {
            said_in_both(|l| l.link_problem(p));
        }
        let (_, es) = said_in_both(|l| l.link_problem(&LinkProblem::BadValue { key: "r.learning_rate".into(), value: "x".into() }));
        assert!(es.contains("tasa de aprendizaje"), "{es}");
    }
}
