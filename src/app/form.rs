//! The configuration form: every hyperparameter of one trial, as text the user edits. Turning
//! the text into a `TrainRequest` parses numbers (naming the field whose text is not one); the
//! core's `TrainConfig::validate` then judges the values. Train runs it as a study of one trial.

use super::lab::Lab;
use leptos::prelude::*;
use tunelab::data::{CrossValidation, TrainingSet, SUBSET_SIZES};
use tunelab::nn::{LrDecay, OptimizerKind, TrainConfig};
use tunelab::protocol::TrainRequest;

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
    fn to_request(self) -> Result<TrainRequest, String> {
        fn num<T: std::str::FromStr>(label: &str, s: RwSignal<String>) -> Result<T, String> {
            let raw = s.get_untracked();
            raw.trim().parse::<T>().map_err(|_| format!("{label}: “{}” is not a valid number", raw.trim()))
        }
        let optimizer_name = self.optimizer.get_untracked();
        let mut optimizer = OptimizerKind::from_name(&optimizer_name).ok_or_else(|| format!("optimizer: unknown “{optimizer_name}”"))?;
        if let OptimizerKind::Momentum { momentum } = &mut optimizer {
            *momentum = num("momentum", self.momentum)?;
        }
        let lr_decay = match self.decay.get_untracked().as_str() {
            "step" => LrDecay::Step { every_epochs: num("decay every (epochs)", self.decay_every)?, factor: num("decay factor", self.decay_factor)? },
            "exponential" => LrDecay::Exponential { factor: num("decay factor", self.decay_factor)? },
            _ => LrDecay::None,
        };
        let conv_layers: u32 = num("conv layers", self.conv_layers)?;
        // Only the layers in use need a filter count; the others' boxes are hidden.
        let conv_filters = self
            .filters
            .iter()
            .take(conv_layers as usize)
            .enumerate()
            .map(|(i, f)| num(&format!("filters in conv layer {}", i + 1), *f))
            .collect::<Result<Vec<u32>, _>>()?;
        let config = TrainConfig {
            learning_rate: num("learning rate", self.learning_rate)?,
            lr_decay,
            epochs: num("epochs", self.epochs)?,
            batch_size: num("batch size", self.batch_size)?,
            conv_layers,
            conv_filters,
            dense_units: num("dense units", self.dense_units)?,
            dropout: num("dropout", self.dropout)?,
            l2: num("L2", self.l2)?,
            l1: num("L1", self.l1)?,
            optimizer,
            lr_hypergradient: None,
            l2_hypergradient: None,
        };
        config.validate().map_err(|e| format!("invalid configuration: {e}"))?;
        let data = TrainingSet { images: num("training images", self.subset)?, validation: CrossValidation::Holdout };
        Ok(TrainRequest { config, data, seed: num("seed", self.seed)?, stage: Default::default(), checkpoint: None })
    }
}

#[component]
fn Field(label: &'static str, id: &'static str, value: RwSignal<String>, #[prop(optional)] hint: &'static str) -> impl IntoView {
    view! {
        <label class="field" title=hint>
            <span>{label}</span>
            <input id=id type="text" inputmode="decimal" autocomplete="off" spellcheck="false"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev)) />
        </label>
    }
}

#[component]
fn Choice(label: &'static str, id: &'static str, value: RwSignal<String>, options: Vec<(String, String)>) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <select id=id on:change=move |ev| value.set(event_target_value(&ev))>
                {options.into_iter().map(|(v, text)| {
                    let chosen = v.clone();
                    view! { <option value=v selected=move || value.get() == chosen>{text}</option> }
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
    let layers = move || form.conv_layers.get().parse::<usize>().unwrap_or(0);
    let subset_options: Vec<(String, String)> =
        SUBSET_SIZES.iter().map(|&n| (n.to_string(), format!("{} images", crate::app::format::thousands(n as u64)))).collect();
    let options = |list: &[(&str, &str)]| list.iter().map(|(v, t)| (v.to_string(), t.to_string())).collect::<Vec<_>>();
    view! {
        <div class="form-grid">
            <fieldset>
                <legend>"Learning"</legend>
                <Field label="learning rate" id="f-lr" value=form.learning_rate hint="step size of each update; must be > 0" />
                <Choice label="decay" id="f-decay" value=form.decay options=options(&[("none", "none"), ("step", "step"), ("exponential", "exponential")]) />
                <Show when=move || form.decay.get() == "step">
                    <Field label="every (epochs)" id="f-decay-every" value=form.decay_every />
                </Show>
                <Show when=move || form.decay.get() != "none">
                    <Field label="decay factor" id="f-decay-factor" value=form.decay_factor hint="multiplies the rate; in (0, 1]" />
                </Show>
                <Field label="epochs" id="f-epochs" value=form.epochs />
                <Field label="batch size" id="f-batch" value=form.batch_size />
            </fieldset>
            <fieldset>
                <legend>"Regularization"</legend>
                <Field label="L2" id="f-l2" value=form.l2 hint="adds λ·w to each weight's gradient" />
                <Field label="L1" id="f-l1" value=form.l1 hint="adds λ·sign(w) to each weight's gradient" />
                <Field label="dropout" id="f-dropout" value=form.dropout hint="fraction of features dropped before the output layer; in [0, 1)" />
            </fieldset>
            <fieldset>
                <legend>"Architecture"</legend>
                <Choice label="conv layers" id="f-conv" value=form.conv_layers options=(1..=4).map(|k| (k.to_string(), k.to_string())).collect() />
                {(0..4).map(|i| view! {
                    <Show when=move || (i < layers())>
                        <Field label=["filters, layer 1", "filters, layer 2", "filters, layer 3", "filters, layer 4"][i]
                            id=["f-filters-1", "f-filters-2", "f-filters-3", "f-filters-4"][i] value=form.filters[i] />
                    </Show>
                }).collect_view()}
                <Field label="dense units" id="f-dense" value=form.dense_units hint="hidden dense layer width; 0 for none" />
            </fieldset>
            <fieldset>
                <legend>"Optimization"</legend>
                <Choice label="optimizer" id="f-optimizer" value=form.optimizer
                    options=options(&[("sgd", "SGD"), ("momentum", "SGD + momentum"), ("rmsprop", "RMSprop"), ("adam", "Adam")]) />
                <Show when=move || form.optimizer.get() == "momentum">
                    <Field label="momentum" id="f-momentum" value=form.momentum />
                </Show>
            </fieldset>
            <fieldset>
                <legend>"Data"</legend>
                <Choice label="training images" id="f-subset" value=form.subset options=subset_options />
                <Field label="seed" id="f-seed" value=form.seed hint="same seed, same subset, same weights, same result" />
            </fieldset>
        </div>
    }
}

/// One configuration: the form, Train (a study of one trial) and what was wrong with the input.
#[component]
pub fn SingleConfigPanel() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let form = Form::new(&TrainConfig::default());
    let error = RwSignal::new(None::<String>);
    let train = move |_| match form.to_request().and_then(|request| lab.train(request)) {
        Ok(()) => error.set(None),
        Err(message) => error.set(Some(message)),
    };
    view! {
        <section id="config" class="panel wide">
            <h2>"Train one configuration"</h2>
            <p class="hint">"Outside the race: set every hyperparameter yourself and watch one network train, epoch by epoch."</p>
            <ConfigForm form=form />
            <div class="actions">
                <button id="train-button" on:click=train disabled=move || !lab.is_ready()>"Train"</button>
                {move || error.get().map(|e| view! { <p id="form-error" class="error" role="alert">{e}</p> })}
            </div>
        </section>
    }
}
