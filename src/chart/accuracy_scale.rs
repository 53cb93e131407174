//! The accuracy colour scale every race view shares: reversed viridis (good trials dark, bad
//! ones pale, monotonic in lightness so it survives greyscale and colour-vision deficiency),
//! mapped on log error rate so that the 97–99.5 % band where MNIST results crowd gets most of
//! the ramp. One fixed domain for every method and view, never rescaled while a race runs: a
//! colour means the same accuracy everywhere. The best-so-far chart's y axis uses the same map.

/// Viridis at t = 0, 0.125, …, 1, reversed: index 0 is the worst accuracy, 8 the best.
pub const STOPS: [&str; 9] = ["#FDE725", "#ADDC30", "#5EC962", "#28AE80", "#21918C", "#2C728E", "#3B528B", "#472D7B", "#440154"];

/// A domain of accuracies, mapped on log error rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccuracyScale {
    /// Accuracies at or below this get the palest colour.
    pub low: f64,
    /// Accuracies at or above this get the darkest.
    pub high: f64,
}

impl Default for AccuracyScale {
    /// The domain for MNIST's small CNNs on a subset: 90 % to 99.5 %.
    fn default() -> Self {
        Self { low: 0.90, high: 0.995 }
    }
}

impl AccuracyScale {
    /// Where `accuracy` sits on the ramp, in [0, 1]: log(e_low / e) / log(e_low / e_high) with e the
    /// error rate, clamped to the domain.
    pub fn t(&self, accuracy: f64) -> f64 {
        let (e_low, e_high) = (1.0 - self.low, 1.0 - self.high);
        let e = (1.0 - accuracy).clamp(e_high, e_low);
        ((e_low / e).ln() / (e_low / e_high).ln()).clamp(0.0, 1.0)
    }

    /// The colour of `accuracy`, interpolated between the stops, as `#rrggbb`.
    pub fn colour(&self, accuracy: f64) -> String {
        ramp(self.t(accuracy))
    }

    /// The legend's labelled accuracies, inside the domain, with their places on the ramp.
    pub fn ticks(&self) -> Vec<(f64, String)> {
        [0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999]
            .into_iter()
            .filter(|&a| a >= self.low - 1e-12 && a <= self.high + 1e-12)
            .map(|a| (self.t(a), percent_label(a)))
            .collect()
    }
}

/// 0.995 → "99.5%", 0.9 → "90%".
pub fn percent_label(accuracy: f64) -> String {
    let p = accuracy * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

/// The ramp's colour at `t` in [0, 1] (0 palest, 1 darkest), interpolated between the stops,
/// as `#rrggbb`.
pub fn ramp(t: f64) -> String {
    let x = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (rgb(STOPS[i]), rgb(STOPS[i + 1]));
    let mix = |k: usize| (a[k] as f64 + (b[k] as f64 - a[k] as f64) * f).round() as u8;
    format!("#{:02x}{:02x}{:02x}", mix(0), mix(1), mix(2))
}

fn rgb(hex: &str) -> [u8; 3] {
    let v = u32::from_str_radix(&hex[1..], 16).expect("a colour stop is #rrggbb");
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_error_spreads_the_band_where_mnist_results_crowd() {
        let scale = AccuracyScale::default();
        assert_eq!(scale.t(0.90), 0.0);
        assert_eq!(scale.t(0.995), 1.0);
        assert_eq!(scale.t(0.5), 0.0, "below the domain clamps to the palest");
        // The table of RACE-SCREEN.md §3.2: 95 % → 0.23, 98 % → 0.54, 99 % → 0.77.
        for (accuracy, t) in [(0.95, 0.23), (0.97, 0.40), (0.98, 0.54), (0.99, 0.77)] {
            assert!((scale.t(accuracy) - t).abs() < 0.005, "{accuracy}: {}", scale.t(accuracy));
        }
        assert_eq!(scale.colour(0.5), "#fde725");
        assert_eq!(scale.colour(1.0), "#440154");
        // Better is darker all the way.
        let lightness = |c: &str| rgb(&c.to_uppercase()).iter().map(|&v| v as u32).sum::<u32>();
        let colours: Vec<String> = (0..=20).map(|k| scale.colour(0.90 + 0.095 * k as f64 / 20.0)).collect();
        assert!(colours.windows(2).all(|w| lightness(&w[0]) >= lightness(&w[1])), "{colours:?}");
        let labels: Vec<String> = scale.ticks().into_iter().map(|(_, l)| l).collect();
        assert_eq!(labels, vec!["90%", "95%", "97%", "98%", "99%", "99.5%"]);
    }
}
