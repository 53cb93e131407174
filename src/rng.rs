//! Seeded, portable randomness.
//!
//! Every random choice in tunelab flows from an experiment's seed through an explicit RNG, so a
//! shared link replays the same trials on any machine. We use ChaCha8 (not `SmallRng`, whose
//! algorithm differs between 32-bit wasm and 64-bit native), and we only draw `u32`/`u64`/`f32`
//! values, whose streams are identical on every platform.

#![forbid(unsafe_code)]

use rand::{Rng, SeedableRng};
pub use rand_chacha::ChaCha8Rng as Rng64;

/// A generator for one purpose (`stream`) derived from a seed, so that e.g. initialisation and
/// shuffling draw from independent streams and adding a draw to one never shifts the other.
pub fn rng_for(seed: u64, stream: u64) -> Rng64 {
    let mut rng = Rng64::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Uniform integer in `0..n` (n ≥ 1), the same on 32- and 64-bit targets.
pub fn below(rng: &mut Rng64, n: usize) -> usize {
    debug_assert!(n >= 1);
    if n <= u32::MAX as usize {
        rng.random_range(0..n as u32) as usize
    } else {
        rng.random_range(0..n as u64) as usize
    }
}

/// Fisher–Yates shuffle with the portable `below`.
pub fn shuffle<T>(rng: &mut Rng64, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i + 1);
        items.swap(i, j);
    }
}

/// Uniform f32 in [0, 1).
pub fn unit_f32(rng: &mut Rng64) -> f32 {
    rng.random::<f32>()
}

/// Uniform f64 in [0, 1): the top 53 bits of one `u64` draw, the same on every platform.
pub fn unit_f64(rng: &mut Rng64) -> f64 {
    (rng.random::<u64>() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Stream identifiers: one per purpose, so streams never overlap.
pub mod streams {
    pub const INIT: u64 = 1;
    pub const SHUFFLE: u64 = 2;
    pub const DROPOUT: u64 = 3;
    pub const SUBSET: u64 = 4;
    /// A tuning method's proposals (one generator per study, drawn from in batch order: see
    /// `tuning::study`).
    pub const TUNING: u64 = 5;
    /// Cross-validation folds.
    pub const FOLDS: u64 = 6;
    /// The order of the held-out batches that tune a hyperparameter during training (T1–T2).
    pub const TUNING_BATCHES: u64 = 7;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_same_draws() {
        let a: Vec<usize> = (0..20)
            .map({
                let mut r = rng_for(7, 1);
                move |_| below(&mut r, 1000)
            })
            .collect();
        let b: Vec<usize> = (0..20)
            .map({
                let mut r = rng_for(7, 1);
                move |_| below(&mut r, 1000)
            })
            .collect();
        let c: Vec<usize> = (0..20)
            .map({
                let mut r = rng_for(7, 2);
                move |_| below(&mut r, 1000)
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut v: Vec<u32> = (0..100).collect();
        shuffle(&mut rng_for(1, 0), &mut v);
        let mut sorted = v.clone();
        sorted.sort();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_ne!(v, sorted);
    }
}
