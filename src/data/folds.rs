//! Stratified k-fold splits for cross-validation: each digit's images are shuffled (by the
//! study's seed) and dealt round-robin into k folds, so every fold keeps the digits' shares and
//! the folds' sizes differ by at most one. The same seed gives the same folds,
//! so every method in a study is scored on the same ones.

use super::mnist::CLASSES;
use super::subset::indices_by_class;
use crate::rng::{rng_for, shuffle, streams};

/// The `k` folds of `labels`' indices (each sorted), for `k` ≥ 2 and at most the item count.
pub fn stratified_folds(labels: &[u8], k: usize, seed: u64) -> Vec<Vec<usize>> {
    assert!(k >= 2 && k <= labels.len(), "k-fold needs 2 ≤ k ≤ {} items; got k = {k}", labels.len());
    let mut rng = rng_for(seed, streams::FOLDS);
    let mut by_class = indices_by_class(labels);
    let mut folds = vec![Vec::with_capacity(labels.len() / k + CLASSES); k];
    // Continue the deal where the previous class stopped, so fold sizes stay within one.
    let mut next = 0;
    for members in &mut by_class {
        shuffle(&mut rng, members);
        for &i in members.iter() {
            folds[next].push(i);
            next = (next + 1) % k;
        }
    }
    for fold in &mut folds {
        fold.sort_unstable();
    }
    folds
}

/// The training indices of fold `held_out`: every index of the other folds, sorted.
pub fn training_indices(folds: &[Vec<usize>], held_out: usize) -> Vec<usize> {
    let mut train: Vec<usize> = folds.iter().enumerate().filter(|&(f, _)| f != held_out).flat_map(|(_, fold)| fold.iter().copied()).collect();
    train.sort_unstable();
    train
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<u8> {
        // Unequal classes: class c has 50 + 13c members, interleaved.
        let mut labels: Vec<u8> = (0..10u8).flat_map(|c| std::iter::repeat_n(c, 50 + 13 * c as usize)).collect();
        shuffle(&mut rng_for(1, 0), &mut labels);
        labels
    }

    #[test]
    fn folds_partition_the_items_and_keep_each_class_share() {
        let labels = labels();
        for k in [3, 5, 10] {
            let folds = stratified_folds(&labels, k, 7);
            assert_eq!(folds.len(), k);
            let mut all: Vec<usize> = folds.concat();
            all.sort_unstable();
            assert_eq!(all, (0..labels.len()).collect::<Vec<_>>(), "every item in exactly one fold");
            let sizes: Vec<usize> = folds.iter().map(Vec::len).collect();
            assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "k = {k}: sizes {sizes:?}");
            for c in 0..10u8 {
                let total = labels.iter().filter(|&&l| l == c).count();
                for fold in &folds {
                    let n = fold.iter().filter(|&&i| labels[i] == c).count();
                    assert!(n * k >= total - k && n * k <= total + k, "k = {k}, class {c}: {n} of {total}");
                }
            }
            let train = training_indices(&folds, 1);
            assert_eq!(train.len() + folds[1].len(), labels.len());
            assert!(train.iter().all(|i| folds[1].binary_search(i).is_err()));
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_folds() {
        let labels = labels();
        assert_eq!(stratified_folds(&labels, 5, 3), stratified_folds(&labels, 5, 3));
        assert_ne!(stratified_folds(&labels, 5, 3), stratified_folds(&labels, 5, 4));
    }
}
