//! Learning-rate decay: the rate used in each epoch (counted from 0).

#![forbid(unsafe_code)]

use super::config::LrDecay;

pub fn learning_rate_at(base: f32, decay: LrDecay, epoch: u32) -> f32 {
    match decay {
        LrDecay::None => base,
        LrDecay::Step { every_epochs, factor } => base * repeat_mul(factor, epoch / every_epochs.max(1)),
        LrDecay::Exponential { factor } => base * repeat_mul(factor, epoch),
    }
}

/// factor^n by repeated multiplication: the same bits natively and in wasm, unlike `powf`.
fn repeat_mul(factor: f32, n: u32) -> f32 {
    (0..n).fold(1.0, |acc, _| acc * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_and_exponential() {
        let step = LrDecay::Step { every_epochs: 3, factor: 0.5 };
        let rates: Vec<f32> = (0..7).map(|e| learning_rate_at(0.1, step, e)).collect();
        assert_eq!(rates, vec![0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]);
        assert!((learning_rate_at(1.0, LrDecay::Exponential { factor: 0.9 }, 2) - 0.81).abs() < 1e-6);
        assert_eq!(learning_rate_at(0.3, LrDecay::None, 99), 0.3);
    }
}
