//! The experiment panel in a link: everything a race depends on — the methods, the search space
//! with its edits, the budget, the training subset, the validation scheme, the seed, the
//! proposals per round and the median rule — in the URL's fragment, so that a class opens the
//! same experiment and, pressing Start, gets the same trials and scores. The worker count is
//! left out: it changes no result.
//!
//! The fragment reads like a query string, versioned first:
//! `#v1&m=grid,random,tpe,gp-ei&sp=seed-grid&b=100&n=2000&cv=h&s=1&p=4`. A space row appears
//! only where it differs from the preset's, as `r.<param>=<on>:<from>:<to>:<log>:<grid>:<fixed>`,
//! so the presets stay short. Only letters, digits and `.,:=&-_` are written bare; anything else
//! is percent-encoded, so the link survives chat apps, which cut at spaces and quotes.
//!
//! A teacher's link may also lock controls (`lock=methods,space`), hide views (`hide=parallel`)
//! and name a built-in lesson (`l=grid-vs-random`, `share::lessons`), so a class explores only
//! what the lesson is about; locks and hidden views change no result.
//!
//! Reading never fails: a value that is missing, malformed or out of range keeps the default and
//! is reported (`LinkProblem`), and the rest of the link still counts; a link of another version
//! is read as far as it goes and reported. Text from a link is only ever data: the page shows it
//! as text, never as markup.

use crate::data::validation::{CrossValidation, TrainingSet};
use crate::experiment::presets;
use crate::experiment::race::{RaceSetup, MAX_PROPOSALS};
use crate::experiment::space_form::{build, rows_of, ParamRow, RowError};
use crate::nn::TrainConfig;
use crate::tuning::median_pruner::MedianPruner;
use crate::tuning::methods;

/// The version this code writes and reads.
pub const LINK_VERSION: u32 = 1;

/// The experiment panel's fields, as the panel holds them (the rows as text, as typed).
#[derive(Debug, Clone, PartialEq)]
pub struct PanelState {
    pub methods: Vec<String>,
    /// The search space's preset (`presets::NAMES`), and its rows as edited.
    pub preset: String,
    pub rows: Vec<ParamRow>,
    pub budget: u32,
    pub subset: u32,
    pub validation: CrossValidation,
    pub seed: u32,
    pub proposals: usize,
    pub median_pruning: bool,
}

impl Default for PanelState {
    /// The default race (`RaceSetup::default`) on its preset.
    fn default() -> Self {
        let d = RaceSetup::default();
        let preset = presets::NAMES[0].to_string();
        Self {
            rows: preset_rows(&preset),
            preset,
            methods: d.methods,
            budget: d.budget_epochs,
            subset: d.data.images,
            validation: d.data.validation,
            seed: d.seed,
            proposals: d.proposals,
            median_pruning: d.pruner.is_some(),
        }
    }
}

impl PanelState {
    /// The race the panel describes, or the rows that cannot be read (the fields the race then
    /// judges: `RaceSetup::problems`).
    pub fn setup(&self) -> Result<RaceSetup, Vec<RowError>> {
        let (space, base) = build(&self.rows, &TrainConfig::default())?;
        Ok(RaceSetup {
            methods: self.methods.clone(),
            space,
            budget_epochs: self.budget,
            data: TrainingSet { images: self.subset, validation: self.validation },
            seed: self.seed,
            proposals: self.proposals,
            base,
            pruner: self.median_pruning.then(MedianPruner::default),
        })
    }
}

impl PanelState {
    /// The panel showing `setup` (a record's), if the panel can show it exactly: the preset is
    /// the one its rows differ least from. None for a setup the panel's fields cannot hold (a
    /// base network or a median rule of its own, as the command line allows).
    pub fn of(setup: &RaceSetup) -> Option<PanelState> {
        let searched = rows_of(&setup.space, &setup.base);
        // On each preset's rows: the setup's row where it searches the param, else the row off,
        // fixed at the setup's value.
        let on_preset = |preset: &str| -> Option<(usize, PanelState)> {
            let rows: Vec<ParamRow> = rows_of(&presets::by_name(preset)?, &setup.base)
                .into_iter()
                .map(|row| searched.iter().find(|r| r.name == row.name).cloned().unwrap_or(ParamRow { on: false, ..row }))
                .collect();
            let differences = preset_rows(preset).iter().zip(&rows).filter(|(a, b)| a != b).count();
            let state = PanelState {
                methods: setup.methods.clone(),
                preset: preset.to_string(),
                rows,
                budget: setup.budget_epochs,
                subset: setup.data.images,
                validation: setup.data.validation,
                seed: setup.seed,
                proposals: setup.proposals,
                median_pruning: setup.pruner.is_some(),
            };
            (state.setup().ok().as_ref() == Some(setup)).then_some((differences, state))
        };
        presets::NAMES.iter().filter_map(|p| on_preset(p)).min_by_key(|(differences, _)| *differences).map(|(_, state)| state)
    }
}

/// A preset's rows, on the default configuration.
pub fn preset_rows(preset: &str) -> Vec<ParamRow> {
    rows_of(&presets::by_name(preset).unwrap_or_else(presets::seed_grid), &TrainConfig::default())
}

/// A control of the experiment panel a lesson can lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Control {
    Methods,
    Space,
    Budget,
    /// The training subset and the validation scheme.
    Data,
    Seed,
    Proposals,
    Median,
}

impl Control {
    pub const ALL: [Control; 7] = [Control::Methods, Control::Space, Control::Budget, Control::Data, Control::Seed, Control::Proposals, Control::Median];

    pub fn code(self) -> &'static str {
        match self {
            Control::Methods => "methods",
            Control::Space => "space",
            Control::Budget => "budget",
            Control::Data => "data",
            Control::Seed => "seed",
            Control::Proposals => "proposals",
            Control::Median => "median",
        }
    }
}

/// A view of the page a lesson can hide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    Maps,
    Best,
    Standing,
    Distinct,
    Parallel,
    Table,
    Result,
    Trial,
    /// One configuration trained on its own, and its list.
    Single,
    Data,
    Workers,
}

impl View {
    pub const ALL: [View; 11] = [
        View::Maps,
        View::Best,
        View::Standing,
        View::Distinct,
        View::Parallel,
        View::Table,
        View::Result,
        View::Trial,
        View::Single,
        View::Data,
        View::Workers,
    ];

    pub fn code(self) -> &'static str {
        match self {
            View::Maps => "maps",
            View::Best => "best",
            View::Standing => "standing",
            View::Distinct => "distinct",
            View::Parallel => "parallel",
            View::Table => "table",
            View::Result => "result",
            View::Trial => "trial",
            View::Single => "single",
            View::Data => "data",
            View::Workers => "workers",
        }
    }
}

/// What a teacher's link adds to the experiment: controls locked, views hidden, the lesson shown.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Classroom {
    pub lock: Vec<Control>,
    pub hide: Vec<View>,
    /// A built-in lesson's id (`share::lessons`), whose explanation the page shows.
    pub lesson: Option<String>,
}

impl Classroom {
    pub fn locks(&self, control: Control) -> bool {
        self.lock.contains(&control)
    }

    pub fn hides(&self, view: View) -> bool {
        self.hide.contains(&view)
    }
}

/// What was wrong with a link; the rest of it was still read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LinkProblem {
    /// It does not start with a version: not a tunelab link, or cut before its start.
    #[error("the link does not say which version of tunelab wrote it")]
    NoVersion,
    /// A newer tunelab wrote it: read as far as this one understands.
    #[error("the link was written by a newer tunelab (version {0}); what this one understands was read")]
    FutureVersion(u32),
    #[error("the link's part “{key}” is not one tunelab knows")]
    UnknownKey { key: String },
    /// A value that cannot be read or is out of range; the default is kept.
    #[error("the link's {key} “{value}” cannot be used; the default is kept")]
    BadValue { key: String, value: String },
    #[error("the link names a method tunelab does not have: “{name}”")]
    UnknownMethod { name: String },
    #[error("the link names a hyperparameter the search space does not have: “{name}”")]
    UnknownParam { name: String },
}

/// The characters written bare; everything else is percent-encoded.
fn bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | ',' | '-' | '_')
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if bare(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Percent-decoding; a broken escape is kept as it is (the value it is part of is then judged).
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn validation_code(v: CrossValidation) -> String {
    match v {
        CrossValidation::Holdout => "h".into(),
        CrossValidation::KFold { k } => k.to_string(),
    }
}

fn row_code(row: &ParamRow) -> String {
    let fields = [if row.on { "1" } else { "0" }, &row.low, &row.high, if row.log { "1" } else { "0" }, &row.grid, &row.fixed];
    fields.iter().map(|f| escape(f.trim())).collect::<Vec<_>>().join(":")
}

/// The fragment (without `#`) for `state`.
pub fn encode(state: &PanelState) -> String {
    encode_with(state, &Classroom::default())
}

/// The fragment (without `#`) for `state` in `classroom`.
pub fn encode_with(state: &PanelState, classroom: &Classroom) -> String {
    let mut parts = vec![
        format!("v{LINK_VERSION}"),
        format!("m={}", state.methods.iter().map(|m| escape(m)).collect::<Vec<_>>().join(",")),
        format!("sp={}", escape(&state.preset)),
        format!("b={}", state.budget),
        format!("n={}", state.subset),
        format!("cv={}", validation_code(state.validation)),
        format!("s={}", state.seed),
        format!("p={}", state.proposals),
    ];
    if state.median_pruning {
        parts.push("mp=1".into());
    }
    let preset = preset_rows(&state.preset);
    for row in &state.rows {
        let unchanged = preset.iter().find(|r| r.name == row.name).is_some_and(|r| row_code(r) == row_code(row));
        if !unchanged {
            parts.push(format!("r.{}={}", escape(&row.name), row_code(row)));
        }
    }
    if !classroom.lock.is_empty() {
        parts.push(format!("lock={}", classroom.lock.iter().map(|c| c.code()).collect::<Vec<_>>().join(",")));
    }
    if !classroom.hide.is_empty() {
        parts.push(format!("hide={}", classroom.hide.iter().map(|v| v.code()).collect::<Vec<_>>().join(",")));
    }
    if let Some(lesson) = &classroom.lesson {
        parts.push(format!("l={}", escape(lesson)));
    }
    parts.join("&")
}

/// Read a comma-separated list of codes of `all` into `into` (each once); returns the codes it
/// does not know.
fn read_codes<T: Copy + PartialEq>(value: &str, all: &[T], code: fn(T) -> &'static str, into: &mut Vec<T>) -> Vec<String> {
    let mut unknown = Vec::new();
    for text in value.split(',').filter(|c| !c.is_empty()) {
        match all.iter().find(|&&t| code(t) == text) {
            Some(&t) if !into.contains(&t) => into.push(t),
            Some(_) => {}
            None => unknown.push(unescape(text)),
        }
    }
    unknown
}

/// What a link opens: the panel's fields (defaults where the link said nothing usable) and what
/// was wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    pub state: PanelState,
    pub classroom: Classroom,
    pub problems: Vec<LinkProblem>,
}

/// Read a fragment (with or without its `#`). Never fails: see the module's comment.
pub fn decode(fragment: &str) -> Opened {
    let mut state = PanelState::default();
    let mut classroom = Classroom::default();
    let mut problems = Vec::new();
    let text = fragment.trim().trim_start_matches('#');
    let mut parts = text.split('&').filter(|p| !p.is_empty());
    match parts.next().and_then(|v| v.strip_prefix('v')).map(|v| v.parse::<u32>()) {
        Some(Ok(LINK_VERSION)) => {}
        Some(Ok(v)) if v > LINK_VERSION => problems.push(LinkProblem::FutureVersion(v)),
        _ => {
            problems.push(LinkProblem::NoVersion);
            return Opened { state, classroom, problems };
        }
    }
    let bad = |problems: &mut Vec<LinkProblem>, key: &str, value: &str| problems.push(LinkProblem::BadValue { key: key.into(), value: value.into() });
    // The preset first: rows are edits of it, wherever they stand in the link.
    let pairs: Vec<(String, String)> = parts.map(|p| p.split_once('=').unwrap_or((p, ""))).map(|(k, v)| (unescape(k), v.to_string())).collect();
    if let Some((_, v)) = pairs.iter().find(|(k, _)| k == "sp") {
        let preset = unescape(v);
        if presets::NAMES.contains(&preset.as_str()) {
            state.rows = preset_rows(&preset);
            state.preset = preset;
        } else {
            bad(&mut problems, "sp", &preset);
        }
    }
    for (key, value) in &pairs {
        let number = |v: &str| v.parse::<u32>().ok();
        match key.as_str() {
            "sp" => {}
            "m" => {
                let mut chosen = Vec::new();
                for name in value.split(',').map(unescape).filter(|n| !n.is_empty()) {
                    match methods::by_name(&name) {
                        Ok(m) if !chosen.contains(&m.name.to_string()) => chosen.push(m.name.to_string()),
                        Ok(_) => {}
                        Err(_) => problems.push(LinkProblem::UnknownMethod { name }),
                    }
                }
                if chosen.is_empty() {
                    bad(&mut problems, key, &unescape(value));
                } else {
                    state.methods = chosen;
                }
            }
            "b" => match number(value).filter(|&b| b >= 1) {
                Some(b) => state.budget = b,
                None => bad(&mut problems, key, &unescape(value)),
            },
            "n" => match number(value).filter(|n| crate::data::SUBSET_SIZES.contains(&(*n as usize))) {
                Some(n) => state.subset = n,
                None => bad(&mut problems, key, &unescape(value)),
            },
            "cv" => match value.as_str() {
                "h" => state.validation = CrossValidation::Holdout,
                k => match number(k).map(|k| CrossValidation::KFold { k }).filter(|v| v.validate().is_ok()) {
                    Some(v) => state.validation = v,
                    None => bad(&mut problems, key, &unescape(value)),
                },
            },
            "s" => match number(value) {
                Some(s) => state.seed = s,
                None => bad(&mut problems, key, &unescape(value)),
            },
            "p" => match number(value).map(|p| p as usize).filter(|p| (1..=MAX_PROPOSALS).contains(p)) {
                Some(p) => state.proposals = p,
                None => bad(&mut problems, key, &unescape(value)),
            },
            "lock" => {
                for unknown in read_codes(value, &Control::ALL, Control::code, &mut classroom.lock) {
                    bad(&mut problems, key, &unknown);
                }
            }
            "hide" => {
                for unknown in read_codes(value, &View::ALL, View::code, &mut classroom.hide) {
                    bad(&mut problems, key, &unknown);
                }
            }
            "l" => match super::lessons::by_id(&unescape(value)) {
                Some(lesson) => classroom.lesson = Some(lesson.id.to_string()),
                None => bad(&mut problems, key, &unescape(value)),
            },
            "mp" => match value.as_str() {
                "1" => state.median_pruning = true,
                "0" => state.median_pruning = false,
                _ => bad(&mut problems, key, &unescape(value)),
            },
            row if row.starts_with("r.") => {
                let name = &row[2..];
                let Some(target) = state.rows.iter_mut().find(|r| r.name == name) else {
                    problems.push(LinkProblem::UnknownParam { name: name.to_string() });
                    continue;
                };
                let fields: Vec<String> = value.split(':').map(unescape).collect();
                let flag = |f: &str| match f {
                    "1" => Some(true),
                    "0" => Some(false),
                    _ => None,
                };
                match fields.as_slice() {
                    [on, low, high, log, grid, fixed] if flag(on).is_some() && flag(log).is_some() => {
                        target.on = flag(on) == Some(true);
                        target.low = low.clone();
                        target.high = high.clone();
                        target.log = flag(log) == Some(true);
                        target.grid = grid.clone();
                        target.fixed = fixed.clone();
                    }
                    _ => bad(&mut problems, row, &unescape(value)),
                }
            }
            _ => problems.push(LinkProblem::UnknownKey { key: key.clone() }),
        }
    }
    Opened { state, classroom, problems }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A setup the panel made comes back as the same panel, preset and edits included; one the
    /// panel cannot hold is said so.
    #[test]
    fn a_setup_reads_back_as_its_panel() {
        let mut state = PanelState { preset: "wide".into(), rows: preset_rows("wide"), seed: 9, median_pruning: true, ..PanelState::default() };
        state.rows[0].high = "0.05".into();
        let setup = state.setup().unwrap();
        let back = PanelState::of(&setup).unwrap();
        assert_eq!(back.preset, "wide");
        assert_eq!(back.setup().unwrap(), setup);
        assert_eq!(PanelState::of(&RaceSetup::default()), Some(PanelState::default()));
        // A value switched off is a row fixed at it.
        let fixed = RaceSetup { base: TrainConfig { dense_units: 7, ..TrainConfig::default() }, ..RaceSetup::default() };
        assert_eq!(PanelState::of(&fixed).unwrap().setup().unwrap(), fixed);
        let own_rule = RaceSetup { pruner: Some(MedianPruner { startup_trials: 2, ..MedianPruner::default() }), ..RaceSetup::default() };
        assert_eq!(PanelState::of(&own_rule), None);
    }
    use crate::rng::{below, rng_for};

    #[test]
    fn the_default_race_is_a_short_link_that_reads_back_the_same() {
        let state = PanelState::default();
        let link = encode(&state);
        assert_eq!(link, "v1&m=grid,random,tpe,gp-ei&sp=seed-grid&b=100&n=2000&cv=h&s=1&p=4");
        assert_eq!(decode(&format!("#{link}")), Opened { state, classroom: Classroom::default(), problems: vec![] });
    }

    #[test]
    fn edits_travel_and_every_preset_stays_short() {
        for preset in presets::NAMES {
            let mut state = PanelState { preset: preset.to_string(), rows: preset_rows(preset), ..PanelState::default() };
            state.methods = methods::names().map(String::from).collect();
            state.validation = CrossValidation::KFold { k: 5 };
            state.median_pruning = true;
            state.rows[0].low = "1e-4".into();
            state.rows[0].grid = "0.0001, 0.001".into();
            state.rows[1].on = false;
            state.rows[1].fixed = "3".into();
            let link = encode(&state);
            assert!(link.len() < 500, "{} characters: {link}", link.len());
            assert!(link.chars().all(|c| bare(c) || "%:=&".contains(c)), "{link}");
            let opened = decode(&link);
            assert_eq!(opened.problems, vec![]);
            // The rows read back as they were typed.
            assert_eq!(opened.state.rows[1], state.rows[1]);
            assert_eq!(opened.state.rows[0].low, "1e-4");
            assert_eq!(opened.state.rows[0].grid, "0.0001, 0.001");
            assert_eq!((opened.state.methods.len(), opened.state.validation, opened.state.median_pruning), (10, CrossValidation::KFold { k: 5 }, true));
        }
    }

    #[test]
    fn a_mangled_link_opens_with_defaults_and_says_what_was_wrong() {
        let default = PanelState::default();
        let opened = decode("#v1&m=grid,annealing&b=-3&n=1234&cv=4&s=x&p=0&zz=1&r.nothing=1&r.epochs=1:2");
        assert_eq!(opened.state.methods, vec!["grid".to_string()]);
        assert_eq!(
            (opened.state.budget, opened.state.subset, opened.state.seed, opened.state.proposals),
            (default.budget, default.subset, default.seed, default.proposals)
        );
        assert_eq!(opened.state.validation, CrossValidation::Holdout);
        let kinds: Vec<String> = opened.problems.iter().map(ToString::to_string).collect();
        assert_eq!(opened.problems.len(), 9, "{kinds:#?}");
        assert!(matches!(decode("").problems[..], [LinkProblem::NoVersion]));
        assert!(matches!(decode("#b=3").problems[..], [LinkProblem::NoVersion]));
        assert_eq!(decode("#v9&b=7").problems, vec![LinkProblem::FutureVersion(9)]);
        assert_eq!(decode("#v9&b=7").state.budget, 7, "a newer link is read as far as it goes");
        // Cut anywhere, the default race's link still opens.
        let link = encode(&default);
        for end in 0..=link.len() {
            let opened = decode(&link[..end]);
            assert!(opened.state.budget >= 1 && !opened.state.methods.is_empty(), "{end}");
        }
        // Markup stays text: it is only ever a value the page shows as text.
        let opened = decode("#v1&r.learning_rate=1:%3Cscript%3E:0.1:1::");
        assert_eq!(opened.state.rows[0].low, "<script>");
    }

    #[test]
    fn arbitrary_text_never_panics() {
        let mut rng = rng_for(11, 0);
        let alphabet: Vec<char> = "v1&=:%,.-_rmspbncv0123456789aé€#\u{0}\u{10FFFF}".chars().collect();
        for _ in 0..5_000 {
            let len = below(&mut rng, 80);
            let text: String = (0..len).map(|_| alphabet[below(&mut rng, alphabet.len())]).collect();
            let opened = decode(&format!("v1&{text}"));
            assert!(!opened.state.methods.is_empty());
            let _ = decode(&text);
        }
    }

    #[test]
    fn a_teachers_flags_travel_with_the_experiment() {
        let classroom =
            Classroom { lock: vec![Control::Methods, Control::Space], hide: vec![View::Parallel, View::Single], lesson: Some("grid-vs-random".into()) };
        let link = encode_with(&PanelState::default(), &classroom);
        assert!(link.ends_with("&lock=methods,space&hide=parallel,single&l=grid-vs-random"), "{link}");
        let opened = decode(&link);
        assert_eq!((opened.classroom, opened.problems), (classroom, vec![]));
        let opened = decode("v1&lock=methods,everything&hide=maps,nothing&l=astrology");
        assert_eq!(opened.classroom.lock, vec![Control::Methods]);
        assert_eq!(opened.classroom.hide, vec![View::Maps]);
        assert_eq!((opened.classroom.lesson, opened.problems.len()), (None, 3));
    }
}
