//! The experiment panel: what races — the methods, the search space (a preset, each param
//! editable or fixed), the budget per method, the training subset, the validation scheme, the
//! seed, the proposals per round and the workers. Every field is parsed here and judged by the
//! core (`RaceSetup::problems`, `space_form::build`); a bad field is marked where it is, with the
//! reason in the form's words, and Start stays disabled until the whole experiment can run.

use super::explain::{Explain, Topic};
use super::format::clock;
use super::lab::{cores, Lab, MAX_WORKERS};
use super::link;
use super::methods::{self, Badge};
use super::words::Words;
use leptos::prelude::*;
use tunelab::data::{CrossValidation, TrainingSet, SUBSET_SIZES};
use tunelab::experiment::live::RaceState;
use tunelab::experiment::race::{estimate_seconds, Field, FieldError, RaceSetup};
use tunelab::experiment::space_form::{build, grid_size, ParamRow};
use tunelab::nn::TrainConfig;
use tunelab::share::link::{encode_with, preset_rows, Control, Opened, PanelState};
use tunelab::text::{Key, Lang};
use tunelab::tuning::methods as registry;

/// The search-space presets, as (value, label).
const PRESETS: [(&str, Key); 3] = [("seed-grid", Key::PresetSeedGrid), ("seed", Key::PresetSeed), ("wide", Key::PresetWide)];

/// Problems by field key ("methods", "space", "budget", "subset", "cv", "seed", "proposals",
/// "workers"), and by space row.
#[derive(Debug, Clone, Default, PartialEq)]
struct Problems {
    fields: Vec<(&'static str, String)>,
    rows: Vec<(usize, String)>,
}

impl Problems {
    fn of(&self, key: &str) -> Option<String> {
        let all: Vec<&str> = self.fields.iter().filter(|(k, _)| *k == key).map(|(_, m)| m.as_str()).collect();
        (!all.is_empty()).then(|| all.join("; "))
    }
    fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.rows.is_empty()
    }
}

#[derive(Clone, Copy)]
struct SetupForm {
    methods: RwSignal<Vec<String>>,
    preset: RwSignal<String>,
    rows: RwSignal<Vec<ParamRow>>,
    budget: RwSignal<String>,
    subset: RwSignal<String>,
    cv: RwSignal<String>,
    seed: RwSignal<String>,
    proposals: RwSignal<String>,
    /// Stop poor trials early by the median rule (the methods that propose points).
    median_pruning: RwSignal<bool>,
}

impl SetupForm {
    /// The panel showing `state` (a link's, or the defaults).
    fn from_state(state: &PanelState) -> Self {
        Self {
            methods: RwSignal::new(state.methods.clone()),
            preset: RwSignal::new(state.preset.clone()),
            rows: RwSignal::new(state.rows.clone()),
            budget: RwSignal::new(state.budget.to_string()),
            subset: RwSignal::new(state.subset.to_string()),
            cv: RwSignal::new(match state.validation {
                CrossValidation::Holdout => "holdout".into(),
                CrossValidation::KFold { k } => k.to_string(),
            }),
            seed: RwSignal::new(state.seed.to_string()),
            proposals: RwSignal::new(state.proposals.to_string()),
            median_pruning: RwSignal::new(state.median_pruning),
        }
    }

    /// Show `state` (a record opened on the page).
    fn load(&self, state: &PanelState) {
        let other = Self::from_state(state);
        self.methods.set(other.methods.get_untracked());
        self.preset.set(other.preset.get_untracked());
        self.rows.set(other.rows.get_untracked());
        self.budget.set(other.budget.get_untracked());
        self.subset.set(other.subset.get_untracked());
        self.cv.set(other.cv.get_untracked());
        self.seed.set(other.seed.get_untracked());
        self.proposals.set(other.proposals.get_untracked());
        self.median_pruning.set(other.median_pruning.get_untracked());
    }

    /// The panel's fields for a link, once the numbers in them read as numbers.
    fn state(&self) -> Option<PanelState> {
        let number = |text: RwSignal<String>| text.get().trim().parse::<u32>().ok();
        Some(PanelState {
            methods: self.methods.get(),
            preset: self.preset.get(),
            rows: self.rows.get(),
            budget: number(self.budget)?,
            subset: number(self.subset)?,
            validation: match self.cv.get().as_str() {
                "holdout" => CrossValidation::Holdout,
                k => CrossValidation::KFold { k: k.parse().ok()? },
            },
            seed: number(self.seed)?,
            proposals: number(self.proposals)? as usize,
            median_pruning: self.median_pruning.get(),
        })
    }

    /// The experiment, or every problem with it.
    fn parse(&self, lang: Lang) -> Result<RaceSetup, Problems> {
        let mut p = Problems::default();
        let whole = |p: &mut Problems, key: &'static str, text: String, what: Key| -> u32 {
            text.trim().parse::<u32>().unwrap_or_else(|_| {
                p.fields.push((key, lang.fill(Key::NotWhole, &[("what", lang.text(what)), ("text", text.trim())])));
                0
            })
        };
        let budget = whole(&mut p, "budget", self.budget.get(), Key::WhatBudget);
        let images = whole(&mut p, "subset", self.subset.get(), Key::WhatImages);
        let seed = whole(&mut p, "seed", self.seed.get(), Key::WhatSeed);
        let proposals = whole(&mut p, "proposals", self.proposals.get(), Key::WhatProposals);
        let validation = match self.cv.get().as_str() {
            "holdout" => CrossValidation::Holdout,
            k => CrossValidation::KFold { k: k.parse().unwrap_or(0) },
        };
        let base = TrainConfig::default();
        let built = self.rows.with(|rows| build(rows, &base));
        let (space, base) = match built {
            Ok(built) => built,
            Err(errors) => {
                p.rows = errors.into_iter().map(|e| (e.row, lang.row_problem(&e.problem))).collect();
                (tunelab::tuning::space::SearchSpace::nothing(), base)
            }
        };
        let setup = RaceSetup {
            methods: self.methods.get(),
            space,
            budget_epochs: budget,
            data: TrainingSet { images, validation },
            seed,
            proposals: proposals as usize,
            base,
            pruner: self.median_pruning.get().then(tunelab::tuning::median_pruner::MedianPruner::default),
        };
        let parsed_fields: Vec<&str> = p.fields.iter().map(|(k, _)| *k).collect();
        for problem in setup.problems() {
            let key = match problem.field {
                Field::Methods => "methods",
                Field::Space => "space",
                Field::Budget => "budget",
                Field::Subset => "subset",
                Field::Validation => "cv",
                Field::Proposals => "proposals",
            };
            // A field that did not parse is already marked; a space with bad rows is marked at the rows.
            let shadowed = parsed_fields.contains(&key) || (key == "space" && !p.rows.is_empty()) || (key == "budget" && !p.rows.is_empty());
            if !shadowed {
                p.fields.push((key, lang.setup_problem(&problem.problem)));
            }
        }
        if p.is_empty() {
            Ok(setup)
        } else {
            Err(p)
        }
    }
}

/// The validation scheme in a few words ("hold-out", "5-fold").
fn validation_short(lang: Lang, validation: CrossValidation) -> String {
    match validation {
        CrossValidation::Holdout => lang.text(Key::HoldoutShort).to_string(),
        CrossValidation::KFold { k } => lang.fill(Key::KFoldShort, &[("k", &k.to_string())]),
    }
}

/// A field's error, under it, tied to its input for screen readers.
fn field_error(problems: Memo<Problems>, key: &'static str) -> impl IntoView {
    move || problems.with(|p| p.of(key)).map(|m| view! { <p class="field-error" id=format!("{key}-error") role="alert">{m}</p> })
}

#[component]
pub fn RaceSetupPanel(
    /// The link the page was opened with, if any.
    opened: Option<Opened>,
) -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    // A link opens the experiment it carries (never starting it); what was wrong with it is said.
    let classroom = opened.as_ref().map(|o| o.classroom.clone()).unwrap_or_default();
    let form = SetupForm::from_state(&opened.as_ref().map_or_else(PanelState::default, |o| o.state.clone()));
    let link_problems = RwSignal::new(opened.map(|o| o.problems).unwrap_or_default());
    let fragment = {
        let classroom = classroom.clone();
        Memo::new(move |_| form.state().map(|s| encode_with(&s, &classroom)))
    };
    Effect::new(move |_| {
        if let Some(f) = fragment.get() {
            link::show(&f);
        }
    });
    // A record opened on the page shows its experiment here, when the panel can hold it.
    let imported = lab.imported();
    Effect::new(move |_| {
        if let Some(Some(state)) = imported.get() {
            form.load(&state);
        }
    });
    let parsed = Memo::new(move |_| form.parse(words.lang()));
    let problems = Memo::new(move |_| parsed.with(|r| r.as_ref().err().cloned().unwrap_or_default()));
    let race = lab.race();
    let busy = Memo::new(move |_| race.with(|r| r.as_ref().is_some_and(|r| matches!(r.state, RaceState::Running | RaceState::Paused))));
    let worker_text = RwSignal::new(lab.worker_count().get_untracked().to_string());
    let most_workers = (cores() + 4).min(MAX_WORKERS);
    let worker_error = Memo::new(move |_| match worker_text.get().trim().parse::<usize>() {
        Ok(n) if (1..=most_workers).contains(&n) => None,
        _ => Some(words.fill(Key::WorkersError, &[("most", &most_workers.to_string()), ("cores", &cores().to_string())])),
    });
    let on_workers = move |ev| {
        worker_text.set(event_target_value(&ev));
        if let Ok(n) = worker_text.get_untracked().trim().parse::<usize>() {
            if (1..=most_workers).contains(&n) {
                lab.resize(n);
            }
        }
    };
    let start_error = RwSignal::new(None::<Vec<FieldError>>);
    let can_start = move || lab.is_ready() && parsed.with(Result::is_ok) && worker_error.get().is_none() && !busy.get();
    let start = move |_| {
        let Ok(setup) = parsed.get_untracked() else { return };
        match lab.start_race(setup) {
            Ok(()) => start_error.set(None),
            Err(problems) => start_error.set(Some(problems)),
        }
    };
    let cost_line = move || {
        let setup = parsed.get().ok()?;
        let per_method = setup.budget_images();
        let total = per_method * setup.methods.len() as u64;
        let workers = lab.worker_count().get();
        let rate = lab.rate_for(&setup);
        let eta = match (rate, estimate_seconds(total, rate.map(|(r, _)| r), workers)) {
            (Some((_, measured)), Some(s)) => {
                let how = words.get(if measured { Key::HowMeasured } else { Key::HowSpeedTest });
                let count =
                    if workers == 1 { words.get(Key::WorkersOne).to_string() } else { words.fill(Key::WorkersMany, &[("count", &workers.to_string())]) };
                words.fill(Key::EtaLine, &[("time", &clock(s)), ("workers", &count), ("how", how)])
            }
            _ => words.get(Key::EtaPending).to_string(),
        };
        Some(words.fill(Key::CostLine, &[("per_method", &words.thousands(per_method)), ("total", &words.thousands(total)), ("eta", &eta)]))
    };
    let grid_line = move || {
        let setup = parsed.get().ok()?;
        let (sizes, total) = grid_size(&setup.space);
        let sizes: Vec<String> = sizes.iter().map(usize::to_string).collect();
        Some(words.fill(Key::GridSize, &[("sizes", &sizes.join(" × ")), ("total", &words.thousands(total as u64))]))
    };
    // A lesson's locked controls stay as its link set them.
    let locks = StoredValue::new(classroom);
    let held = move |control: Control| move || busy.get() || locks.with_value(|c| c.locks(control));
    // After Start the panel folds into a line, so the race fills the screen; it opens again on demand.
    let expanded = RwSignal::new(true);
    Effect::new(move |_| {
        if busy.get() {
            expanded.set(false);
        }
    });
    let summary = move || {
        race.with(|r| {
            r.as_ref().map(|r| {
                let s = &r.setup;
                words.fill(
                    Key::SetupSummary,
                    &[
                        ("methods", &s.methods.iter().map(|m| methods::badge(m)).collect::<Vec<_>>().join(" ")),
                        ("budget", &s.budget_epochs.to_string()),
                        ("images", &words.thousands(s.data.images as u64)),
                        ("validation", &validation_short(words.lang(), s.data.validation)),
                        ("seed", &s.seed.to_string()),
                        ("proposals", &s.proposals.to_string()),
                    ],
                )
            })
        })
    };
    view! {
        <section id="race-setup" class="panel wide" class:folded=move || !expanded.get()>
            <div class="setup-head">
                <h2>{words.t(Key::SetupTitle)}</h2>
                {move || (!expanded.get()).then(|| view! { <span class="setup-summary">{summary}</span> })}
                <button class="secondary" id="race-setup-toggle" aria-expanded=move || expanded.get().to_string()
                    on:click=move |_| expanded.update(|e| *e = !*e)>{move || words.get(if expanded.get() { Key::SetupHide } else { Key::SetupShow })}</button>
            </div>
            {move || (!link_problems.with(Vec::is_empty)).then(|| view! {
                <div id="link-notice" class="notice" role="alert">
                    <p><strong>{words.t(Key::LinkNoticeTitle)}</strong></p>
                    <ul>{link_problems.get().iter().map(|p| view! { <li>{words.lang().link_problem(p)}</li> }).collect_view()}</ul>
                    <button class="secondary small" id="link-notice-close" on:click=move |_| link_problems.set(Vec::new())>{words.t(Key::Close)}</button>
                </div>
            })}
            <div class="setup-grid" class:hidden=move || !expanded.get()>
                <fieldset id="race-methods" aria-describedby="methods-error">
                    <legend>{words.t(Key::LegendMethods)}</legend>
                    {registry::all().iter().map(|m| {
                        let name = m.name.to_string();
                        let name_of = m.name;
                        let checked = { let name = name.clone(); move || form.methods.with(|ms| ms.contains(&name)) };
                        let toggle = { let name = name.clone(); move |ev| {
                            let on = event_target_checked(&ev);
                            form.methods.update(|ms| {
                                ms.retain(|x| *x != name);
                                if on {
                                    ms.push(name.clone());
                                    // Keep the registry's order, so every view lists methods alike.
                                    ms.sort_by_key(|x| registry::all().iter().position(|m| m.name == x));
                                }
                            });
                        }};
                        view! {
                            <label class="method-choice" title=move || methods::summary(words.lang(), name_of)>
                                <input type="checkbox" name="race-method" value=m.name prop:checked=checked on:change=toggle prop:disabled=held(Control::Methods) />
                                <Badge method=m.name />
                                <span class="method-label">{move || methods::label(words.lang(), name_of)}</span>
                            </label>
                            {Topic::for_method(name_of).map(|topic| view! { <Explain topic=topic /> })}
                        }
                    }).collect_view()}
                    {field_error(problems, "methods")}
                </fieldset>
                <fieldset id="race-space-fields">
                    <legend>{words.t(Key::LegendSpace)}</legend>
                    <label class="field">
                        <span>{words.t(Key::PresetLabel)}</span>
                        <select id="race-space" prop:disabled=held(Control::Space) on:change=move |ev| {
                            let preset = event_target_value(&ev);
                            form.rows.set(preset_rows(&preset));
                            form.preset.set(preset);
                        }>
                            {PRESETS.iter().map(|&(v, text)| view! { <option value=v selected=move || form.preset.get() == v>{words.t(text)}</option> }).collect_view()}
                        </select>
                    </label>
                    <Explain topic=Topic::SearchSpace />
                    <SpaceRows form=form problems=problems disabled=Signal::derive(held(Control::Space)) />
                    <p class="hint" id="grid-size">{grid_line}</p>
                    {field_error(problems, "space")}
                </fieldset>
                <fieldset>
                    <legend>{words.t(Key::LegendBudget)}</legend>
                    <label class="field">
                        <span>{words.t(Key::BudgetLabel)}</span>
                        <input id="race-budget" type="number" min="1" prop:value=move || form.budget.get() prop:disabled=held(Control::Budget)
                            aria-invalid=move || problems.with(|p| p.of("budget").is_some()).to_string()
                            on:input=move |ev| form.budget.set(event_target_value(&ev)) />
                    </label>
                    <Explain topic=Topic::Budget />
                    <p class="hint" id="race-cost">{cost_line}</p>
                    {field_error(problems, "budget")}
                    <label class="field">
                        <span>{words.t(Key::SubsetLabel)}</span>
                        <select id="race-subset" prop:disabled=held(Control::Data) on:change=move |ev| form.subset.set(event_target_value(&ev))>
                            {SUBSET_SIZES.iter().map(|&n| {
                                let v = n.to_string();
                                let chosen = v.clone();
                                view! { <option value=v selected=move || form.subset.get() == chosen>{move || words.fill(Key::ImagesCount, &[("count", &words.thousands(n as u64))])}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                    {field_error(problems, "subset")}
                    <label class="field">
                        <span>{words.t(Key::ValidationLabel)}</span>
                        <select id="race-cv" prop:disabled=held(Control::Data) on:change=move |ev| form.cv.set(event_target_value(&ev))>
                            <option value="holdout" selected=move || form.cv.get() == "holdout">{words.t(Key::HoldoutOption)}</option>
                            {["3", "5", "10"].map(|k| view! {
                                <option value=k selected=move || form.cv.get() == k>{move || words.fill(Key::KFoldOption, &[("k", k)])}</option>
                            }).to_vec()}
                        </select>
                    </label>
                    <Explain topic=Topic::CrossValidation />
                    {field_error(problems, "cv")}
                    <label class="field">
                        <span>{words.t(Key::SeedLabel)}</span>
                        <input id="race-seed" type="text" inputmode="numeric" prop:value=move || form.seed.get() prop:disabled=held(Control::Seed)
                            on:input=move |ev| form.seed.set(event_target_value(&ev)) />
                    </label>
                    {field_error(problems, "seed")}
                </fieldset>
                <fieldset>
                    <legend>{words.t(Key::LegendRun)}</legend>
                    <label class="field">
                        <span>{words.t(Key::ProposalsLabel)}</span>
                        <input id="race-proposals" type="number" min="1" prop:value=move || form.proposals.get() prop:disabled=held(Control::Proposals)
                            on:input=move |ev| form.proposals.set(event_target_value(&ev)) />
                    </label>
                    {field_error(problems, "proposals")}
                    <label class="check" title=words.t(Key::MedianPruningTitle)>
                        <input id="race-median-pruning" type="checkbox" prop:checked=move || form.median_pruning.get() prop:disabled=held(Control::Median)
                            on:change=move |ev| form.median_pruning.set(event_target_checked(&ev)) />
                        {words.t(Key::MedianPruning)}
                    </label>
                    <Explain topic=Topic::MedianPruning />
                    <label class="field">
                        <span>{words.t(Key::WorkersLabel)}</span>
                        <input id="race-workers" type="number" min="1" max=most_workers prop:value=move || worker_text.get() on:input=on_workers />
                    </label>
                    {move || worker_error.get().map(|m| view! { <p class="field-error" id="workers-error" role="alert">{m}</p> })}
                    <button id="race-start" class="start" on:click=start prop:disabled=move || !can_start()>{words.t(Key::StartRace)}</button>
                    {move || (!lab.is_ready()).then(|| view! { <p class="hint">{words.t(Key::StartWaits)}</p> })}
                    {move || start_error.get().map(|problems| {
                        let lang = words.lang();
                        let text = problems.iter().map(|p| lang.setup_problem(&p.problem)).collect::<Vec<_>>().join("; ");
                        view! { <p class="error" role="alert">{text}</p> }
                    })}
                </fieldset>
                <div class="share">
                    {move || match fragment.get() {
                        Some(f) => {
                            let address = link::address(&f);
                            let (copied, href) = (address.clone(), address.clone());
                            view! {
                                <span>{words.t(Key::ShareLabel)}</span>" "
                                <a id="share-link" href=href title=words.t(Key::ShareTitle)>{address}</a>" "
                                <button class="secondary small" id="share-copy" on:click=move |_| link::copy(&copied)>{words.t(Key::ShareCopy)}</button>
                            }.into_any()
                        }
                        None => view! { <span class="hint">{words.t(Key::ShareNeedsNumbers)}</span> }.into_any(),
                    }}
                </div>
            </div>
        </section>
    }
}

/// One row per hyperparameter of the chosen preset: searched or fixed, range, scale, grid values.
#[component]
fn SpaceRows(form: SetupForm, problems: Memo<Problems>, disabled: Signal<bool>) -> impl IntoView {
    let words = expect_context::<Words>();
    let count = move || form.rows.with(Vec::len);
    let row_error = move |i: usize| problems.with(|p| p.rows.iter().filter(|(r, _)| *r == i).map(|(_, m)| m.clone()).collect::<Vec<_>>().join("; "));
    let edit = move |i: usize, f: fn(&mut ParamRow, String)| {
        move |ev| {
            let value = event_target_value(&ev);
            form.rows.update(|rows| f(&mut rows[i], value));
        }
    };
    view! {
        <table class="space-rows">
            <thead><tr>
                <th>{words.t(Key::ColSearch)}</th><th>{words.t(Key::ColHyperparameter)}</th><th>{words.t(Key::ColFrom)}</th>
                <th>{words.t(Key::ColTo)}</th><th>{words.t(Key::ColScale)}</th><th>{words.t(Key::ColGrid)}</th>
            </tr></thead>
            <tbody>
                {move || (0..count()).map(|i| {
                    let row = form.rows.with(|r| r[i].clone());
                    let name = row.name.clone();
                    let categorical = !row.choices.is_empty();
                    let on = row.on;
                    let error = row_error(i);
                    view! {
                        <tr class="space-row" data-param=row.name.clone() class:off=!on class:bad=!error.is_empty()>
                            <td><input type="checkbox" class="param-on" prop:checked=on prop:disabled=disabled
                                on:change=move |ev| { let v = event_target_checked(&ev); form.rows.update(|rows| rows[i].on = v) } /></td>
                            <td class="param-name" title=row.name.clone()>{move || words.lang().param(&name)}
                                {Topic::for_param(&row.name).map(|topic| view! { <Explain topic=topic /> })}</td>
                            {if categorical {
                                view! { <td colspan="3" class="choices">{row.choices.join(" · ")}</td> }.into_any()
                            } else {
                                view! {
                                    <td><input class="param-low" type="text" prop:value=row.low.clone() prop:disabled=move || disabled.get() || !on on:change=edit(i, |r, v| r.low = v) /></td>
                                    <td><input class="param-high" type="text" prop:value=row.high.clone() prop:disabled=move || disabled.get() || !on on:change=edit(i, |r, v| r.high = v) /></td>
                                    <td><select class="param-scale" prop:disabled=move || disabled.get() || !on
                                        on:change=move |ev| { let log = event_target_value(&ev) == "log"; form.rows.update(|rows| rows[i].log = log) }>
                                        <option value="lin" selected=!row.log>{words.t(Key::ScaleLinear)}</option>
                                        <option value="log" selected=row.log>{words.t(Key::ScaleLog)}</option>
                                    </select></td>
                                }.into_any()
                            }}
                            <td>{if on {
                                view! { <input class="param-grid" type="text" placeholder=words.t(if categorical { Key::EveryChoice } else { Key::EvenlySpaced })
                                    prop:value=row.grid.clone() prop:disabled=move || disabled.get() || categorical on:change=edit(i, |r, v| r.grid = v) /> }.into_any()
                            } else {
                                view! { <input class="param-fixed" type="text" prop:value=row.fixed.clone() prop:disabled=disabled on:change=edit(i, |r, v| r.fixed = v) /> }.into_any()
                            }}</td>
                        </tr>
                        {(!error.is_empty()).then(|| view! { <tr class="row-error"><td colspan="6" class="field-error" role="alert">{error}</td></tr> })}
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
