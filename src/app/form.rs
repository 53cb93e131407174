//! The configuration form: every hyperparameter of one trial, as text the user edits. Turning
//! the text into a `TrainRequest` parses numbers (naming the field whose text is not one); the
//! core's `TrainConfig::validate` then judges the values. Train runs it as a study of one trial.

use super::lab::Lab;
use super::words::Words;
use leptos::prelude::*;
use tunelab::data::{CrossValidation, TrainingSet, SUBSET_SIZES};
use tunelab::experiment::live::SingleError;
use tunelab::nn::config::ConfigError;
use tunelab::nn::{LrDecay, OptimizerKind, TrainConfig};
use tunelab::protocol::TrainRequest;
use tunelab::text::{Key, Lang};

/// A text on the form: a field's name, an option.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Name {
    Text(Key),
    /// The same in both languages: "L2", "dropout", "Adam".
    Same(&'static str),
    /// A number of conv layers.
    Number(u32),
    /// A subset's size: "5,000 images".
    Images(u32),
    /// The filters of layer n (from 1), on the form…
    FiltersLayer(usize),
    /// …and in an error message.
    FiltersIn(usize),
}

impl Name {
    fn text(self, lang: Lang) -> String {
        match self {
            Name::Text(key) => lang.text(key).to_string(),
            Name::Same(text) => text.to_string(),
            Name::Number(n) => n.to_string(),
            Name::Images(n) => lang.fill(Key::ImagesCount, &[("count", &lang.thousands(n as u64))]),
            Name::FiltersLayer(layer) => lang.fill(Key::SingleFiltersLayer, &[("layer", &layer.to_string())]),
            Name::FiltersIn(layer) => lang.fill(Key::SingleFiltersName, &[("layer", &layer.to_string())]),
        }
    }
}

/// What was wrong with the form, shown in the page's language.
#[derive(Clone, Debug, PartialEq)]
enum FormError {
    /// A box whose text is not a number: the field and the text.
    NotANumber(Name, String),
    UnknownOptimizer(String),
    /// The core's verdict on the values.
    Invalid(ConfigError),
    /// The lab refused the request.
    Refused(SingleError),
}

impl FormError {
    fn text(&self, lang: Lang) -> String {
        match self {
            FormError::NotANumber(name, text) => lang.fill(Key::SingleNotANumber, &[("label", &name.text(lang)), ("text", text)]),
            FormError::UnknownOptimizer(name) => lang.fill(Key::SingleUnknownOptimizer, &[("name", name)]),
            FormError::Invalid(why) => lang.fill(Key::SingleInvalid, &[("why", &lang.config_error(why))]),
            FormError::Refused(SingleError::Config(why)) => lang.fill(Key::SingleInvalid, &[("why", &lang.config_error(why))]),
            FormError::Refused(SingleError::Data(why)) => lang.set_error(why),
        }
    }
}

/// The form's fields, as the text in each box.
#[derive(Clone, Copy)]
struct Form {
    learning_rate: RwSignal<String>,
    decay: RwSignal<String>,
    decay_every: RwSignal<String>,
    decay_factor: RwSignal<String>,
    epochs: RwSignal<String>,
    batch_size: RwSignal<String>,
    conv_layers: RwSignal<String>,
    filters: [RwSignal<String>; 4],
    dense_units: RwSignal<String>,
    dropout: RwSignal<String>,
    l2: RwSignal<String>,
    l1: RwSignal<String>,
    optimizer: RwSignal<String>,
    momentum: RwSignal<String>,
    subset: RwSignal<String>,
    seed: RwSignal<String>,
}

fn text(v: impl ToString) -> RwSignal<String> {
    RwSignal::new(v.to_string())
}

impl Form {
    /// A form showing `c` (the seed's best point by default), a 5,000-image subset and seed 1.
    fn new(c: &TrainConfig) -> Self {
        let (decay, every, factor) = match c.lr_decay {
            LrDecay::None => ("none", 3, 0.5),
            LrDecay::Step { every_epochs, factor } => ("step", every_epochs, factor),
            LrDecay::Exponential { factor } => ("exponential", 3, factor),
        };
        let momentum = match c.optimizer {
            OptimizerKind::Momentum { momentum } => momentum,
            _ => 0.9,
        };
        let filter = |i: usize| text(c.conv_filters.get(i).copied().unwrap_or(tunelab::nn::config::DEFAULT_FILTERS[i]));
        Self {
            learning_rate: text(c.learning_rate),
            decay: text(decay),
            decay_every: text(every),
            decay_factor: text(factor),
            epochs: text(c.epochs),
            batch_size: text(c.batch_size),
            conv_layers: text(c.conv_layers),
            filters: [filter(0), filter(1), filter(2), filter(3)],
            dense_units: text(c.dense_units),
            dropout: text(c.dropout),
            l2: text(c.l2),
            l1: text(c.l1),
            optimizer: text(c.optimizer.name()),
            momentum: text(momentum),
            subset: text(5000),
            seed: text(1),
        }
    }

    /// Parse the form into a request; the error names the field.
    fn to_request(self) -> Result<TrainRequest, FormError> {
        fn num<T: std::str::FromStr>(name: Name, s: RwSignal<String>) -> Result<T, FormError> {
            let raw = s.get_untracked();
            raw.trim().parse::<T>().map_err(|_| FormError::NotANumber(name, raw.trim().to_string()))
        }
        use Name::{Same, Text};
        let optimizer_name = self.optimizer.get_untracked();
        let mut optimizer = OptimizerKind::from_name(&optimizer_name).ok_or_else(|| FormError::UnknownOptimizer(optimizer_name.clone()))?;
        if let OptimizerKind::Momentum { momentum } = &mut optimizer {
            *momentum = num(Text(Key::SingleMomentum), self.momentum)?;
        }
        let lr_decay = match self.decay.get_untracked().as_str() {
            "step" => LrDecay::Step {
                every_epochs: num(Text(Key::SingleDecayEveryName), self.decay_every)?,
                factor: num(Text(Key::SingleDecayFactor), self.decay_factor)?,
            },
            "exponential" => LrDecay::Exponential { factor: num(Text(Key::SingleDecayFactor), self.decay_factor)? },
            _ => LrDecay::None,
        };
        let conv_layers: u32 = num(Text(Key::SingleConvLayers), self.conv_layers)?;
        // Only the layers in use need a filter count; the others' boxes are hidden.
        let conv_filters =
            self.filters.iter().take(conv_layers as usize).enumerate().map(|(i, f)| num(Name::FiltersIn(i + 1), *f)).collect::<Result<Vec<u32>, _>>()?;
        let config = TrainConfig {
            learning_rate: num(Text(Key::SingleLearningRate), self.learning_rate)?,
            lr_decay,
            epochs: num(Text(Key::SingleEpochs), self.epochs)?,
            batch_size: num(Text(Key::SingleBatchSize), self.batch_size)?,
            conv_layers,
            conv_filters,
            dense_units: num(Text(Key::SingleDenseUnits), self.dense_units)?,
            dropout: num(Same("dropout"), self.dropout)?,
            l2: num(Same("L2"), self.l2)?,
            l1: num(Same("L1"), self.l1)?,
            optimizer,
            lr_hypergradient: None,
            l2_hypergradient: None,
        };
        config.validate().map_err(FormError::Invalid)?;
        let data = TrainingSet { images: num(Text(Key::SingleImages), self.subset)?, validation: CrossValidation::Holdout };
        Ok(TrainRequest { config, data, seed: num(Text(Key::SingleSeed), self.seed)?, stage: Default::default(), checkpoint: None })
    }
}

#[component]
fn Field(label: Name, id: &'static str, value: RwSignal<String>, #[prop(optional)] hint: Option<Key>) -> impl IntoView {
    let words = expect_context::<Words>();
    view! {
        <label class="field" title=move || hint.map(|k| words.get(k))>
            <span>{move || label.text(words.lang())}</span>
            <input id=id type="text" inputmode="decimal" autocomplete="off" spellcheck="false"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev)) />
        </label>
    }
}

#[component]
fn Choice(label: Name, id: &'static str, value: RwSignal<String>, options: Vec<(String, Name)>) -> impl IntoView {
    let words = expect_context::<Words>();
    view! {
        <label class="field">
            <span>{move || label.text(words.lang())}</span>
            <select id=id on:change=move |ev| value.set(event_target_value(&ev))>
                {options.into_iter().map(|(v, text)| {
                    let chosen = v.clone();
                    view! { <option value=v selected=move || value.get() == chosen>{move || text.text(words.lang())}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}

/// The form, grouped as the seed document groups hyperparameters.
// The parentheses in `when=move || (i < layers())` keep `<` from reading as a tag.
#[allow(unused_parens)]
#[component]
fn ConfigForm(form: Form) -> impl IntoView {
    use Name::{Same, Text};
    let words = expect_context::<Words>();
    let layers = move || form.conv_layers.get().parse::<usize>().unwrap_or(0);
    let subset_options: Vec<(String, Name)> = SUBSET_SIZES.iter().map(|&n| (n.to_string(), Name::Images(n as u32))).collect();
    let options = |list: &[(&str, Name)]| list.iter().map(|(v, t)| (v.to_string(), *t)).collect::<Vec<_>>();
    view! {
        <div class="form-grid">
            <fieldset>
                <legend>{words.t(Key::SingleLearning)}</legend>
                <Field label=Text(Key::SingleLearningRate) id="f-lr" value=form.learning_rate hint=Key::SingleLearningRateHint />
                <Choice label=Text(Key::SingleDecay) id="f-decay" value=form.decay
                    options=options(&[("none", Text(Key::SingleDecayNone)), ("step", Text(Key::SingleDecayStep)), ("exponential", Text(Key::SingleDecayExponential))]) />
                <Show when=move || form.decay.get() == "step">
                    <Field label=Text(Key::SingleDecayEvery) id="f-decay-every" value=form.decay_every />
                </Show>
                <Show when=move || form.decay.get() != "none">
                    <Field label=Text(Key::SingleDecayFactor) id="f-decay-factor" value=form.decay_factor hint=Key::SingleDecayFactorHint />
                </Show>
                <Field label=Text(Key::SingleEpochs) id="f-epochs" value=form.epochs />
                <Field label=Text(Key::SingleBatchSize) id="f-batch" value=form.batch_size />
            </fieldset>
            <fieldset>
                <legend>{words.t(Key::SingleRegularization)}</legend>
                <Field label=Same("L2") id="f-l2" value=form.l2 hint=Key::SingleL2Hint />
                <Field label=Same("L1") id="f-l1" value=form.l1 hint=Key::SingleL1Hint />
                <Field label=Same("dropout") id="f-dropout" value=form.dropout hint=Key::SingleDropoutHint />
            </fieldset>
            <fieldset>
                <legend>{words.t(Key::SingleArchitecture)}</legend>
                <Choice label=Text(Key::SingleConvLayers) id="f-conv" value=form.conv_layers options=(1..=4).map(|k: u32| (k.to_string(), Name::Number(k))).collect() />
                {(0..4).map(|i| view! {
                    <Show when=move || (i < layers())>
                        <Field label=Name::FiltersLayer(i + 1)
                            id=["f-filters-1", "f-filters-2", "f-filters-3", "f-filters-4"][i] value=form.filters[i] />
                    </Show>
                }).collect_view()}
                <Field label=Text(Key::SingleDenseUnits) id="f-dense" value=form.dense_units hint=Key::SingleDenseUnitsHint />
            </fieldset>
            <fieldset>
                <legend>{words.t(Key::SingleOptimization)}</legend>
                <Choice label=Text(Key::SingleOptimizer) id="f-optimizer" value=form.optimizer
                    options=options(&[("sgd", Same("SGD")), ("momentum", Text(Key::SingleMomentumOption)), ("rmsprop", Same("RMSprop")), ("adam", Same("Adam"))]) />
                <Show when=move || form.optimizer.get() == "momentum">
                    <Field label=Text(Key::SingleMomentum) id="f-momentum" value=form.momentum />
                </Show>
            </fieldset>
            <fieldset>
                <legend>{words.t(Key::SectionData)}</legend>
                <Choice label=Text(Key::SingleImages) id="f-subset" value=form.subset options=subset_options />
                <Field label=Text(Key::SingleSeed) id="f-seed" value=form.seed hint=Key::SingleSeedHint />
            </fieldset>
        </div>
    }
}

/// One configuration: the form, Train (a study of one trial) and what was wrong with the input.
#[component]
pub fn SingleConfigPanel() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let form = Form::new(&TrainConfig::default());
    let error = RwSignal::new(None::<FormError>);
    let train = move |_| match form.to_request().and_then(|request| lab.train(request).map_err(FormError::Refused)) {
        Ok(()) => error.set(None),
        Err(e) => error.set(Some(e)),
    };
    view! {
        <section id="config" class="panel wide">
            <h2>{words.t(Key::SingleTitle)}</h2>
            <p class="hint">{words.t(Key::SingleHint)}</p>
            <ConfigForm form=form />
            <div class="actions">
                <button id="train-button" on:click=train disabled=move || !lab.is_ready()>{words.t(Key::SingleTrain)}</button>
                {move || error.get().map(|e| view! { <p id="form-error" class="error" role="alert">{e.text(words.lang())}</p> })}
            </div>
        </section>
    }
}
