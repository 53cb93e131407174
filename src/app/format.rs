//! Number formatting for the page.

/// 50000 → "50,000".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Bytes as megabytes with one decimal.
pub fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// 0.9734 → "97.34%".
pub fn percent(v: f32) -> String {
    format!("{:.2}%", v * 100.0)
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

/// One line about what a trial trains.
pub fn config_summary(c: &tunelab::nn::TrainConfig, data: &tunelab::data::TrainingSet, seed: u32) -> String {
    format!(
        "{} images ({}), seed {seed} · learning rate {}, {} epochs, batch {}, {} conv layers, L2 {}, {}",
        thousands(data.images as u64),
        data.validation.label(),
        rate(c.learning_rate),
        c.epochs,
        c.batch_size,
        c.conv_layers,
        rate(c.l2),
        c.optimizer.name()
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
