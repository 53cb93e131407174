//! The few statistical functions the model-based methods need, written out so that they give
//! the same numbers on every platform that has the same `exp`, `ln` and `cos`.

use crate::rng::{unit_f64, Rng64};

/// A standard normal draw (Box–Muller, from two portable uniform draws).
pub fn standard_normal(rng: &mut Rng64) -> f64 {
    let u1 = 1.0 - unit_f64(rng); // in (0, 1]
    let u2 = unit_f64(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// The complementary error function, to a relative 1.2e-7 everywhere, tails included
/// (Numerical Recipes' erfc by Chebyshev fit).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.26551223
        + t * (1.00002368
            + t * (0.37409196
                + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// The error function, to 1.2e-7.
pub fn erf(x: f64) -> f64 {
    1.0 - erfc(x)
}

/// The standard normal distribution function; accurate relative to its value in the lower tail.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The standard normal probability of `[a, b]`, computed in whichever tail keeps it accurate
/// (far from the mean both ends are tiny, and their difference must not round to 0).
pub fn normal_mass(a: f64, b: f64) -> f64 {
    if a >= 0.0 {
        normal_cdf(-a) - normal_cdf(-b)
    } else {
        normal_cdf(b) - normal_cdf(a)
    }
}

/// An index drawn with the given probabilities (summing to 1; rounding leftovers go to the
/// last), from one uniform draw.
pub fn draw_index(probabilities: &[f64], rng: &mut Rng64) -> usize {
    let mut u = unit_f64(rng);
    for (i, &p) in probabilities.iter().enumerate() {
        if u < p {
            return i;
        }
        u -= p;
    }
    probabilities.len() - 1
}

/// The standard normal density.
pub fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [(0.0, 0.0), (0.5, 0.520_499_877_8), (1.0, 0.842_700_792_9), (2.0, 0.995_322_265_0), (-1.0, -0.842_700_792_9)] {
            assert!((erf(x) - want).abs() < 2e-7, "erf({x}) = {}", erf(x));
        }
        assert!((normal_cdf(1.959_963_985) - 0.975).abs() < 1e-7);
    }

    #[test]
    fn normal_tail_masses_keep_their_precision() {
        // Φ(−10) = 7.6198530241605e−24; the mass of [8, 9] is Φ(−8) − Φ(−9) = 6.2210e−16 − 1.1286e−19.
        assert!((normal_cdf(-10.0) / 7.619_853_024_160_5e-24 - 1.0).abs() < 1e-6);
        let m = normal_mass(8.0, 9.0);
        assert!((m / (6.220_960_574_271_8e-16 - 1.128_588_405_953_8e-19) - 1.0).abs() < 1e-6, "{m}");
        assert_eq!(normal_mass(-1.0, 1.0), normal_mass(-1.0, 1.0));
        assert!((normal_mass(-1.0, 1.0) - 0.682_689_492_137_1).abs() < 2e-7);
    }
}
