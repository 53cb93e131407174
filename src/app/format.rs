//! Number formatting for the page.

use tunelab::text::{Key, Lang};

/// Bytes as megabytes with one decimal.
pub fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// A rate such as a learning rate, to four significant digits without float noise:
/// 0.0099999998f32 → "0.01", 0.00025 → "0.00025".
pub fn rate(v: f32) -> String {
    let v = v as f64;
    if v == 0.0 || !v.is_finite() {
        return v.to_string();
    }
    let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// One line about what a trial trains, in `lang`.
pub fn config_summary(lang: Lang, c: &tunelab::nn::TrainConfig, data: &tunelab::data::TrainingSet, seed: u32) -> String {
    let validation = match data.validation {
        tunelab::data::CrossValidation::Holdout => lang.text(Key::HoldoutShort).to_string(),
        tunelab::data::CrossValidation::KFold { k } => lang.fill(Key::KFoldShort, &[("k", &k.to_string())]),
    };
    lang.fill(
        Key::ConfigSummary,
        &[
            ("images", &lang.thousands(data.images as u64)),
            ("validation", &validation),
            ("seed", &seed.to_string()),
            ("learning_rate", &lang.localise(&rate(c.learning_rate))),
            ("epochs", &c.epochs.to_string()),
            ("batch", &c.batch_size.to_string()),
            ("layers", &c.conv_layers.to_string()),
            ("l2", &lang.localise(&rate(c.l2))),
            ("optimizer", c.optimizer.name()),
        ],
    )
}

/// Seconds as "1:05" (or "1:02:05").
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}
