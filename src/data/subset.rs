//! Seeded, stratified subsets of the training set, for fast trials.
//!
//! A subset keeps each digit's share of the full set (largest-remainder rounding), and which
//! images it holds depends only on the seed, so every method in a race — and every student who
//! opens the same link — trains on exactly the same images.

use super::mnist::CLASSES;
use crate::rng::{rng_for, shuffle, streams};

/// The subset sizes the app offers; the last is the whole 50,000-image training split.
pub const SUBSET_SIZES: [usize; 4] = [2_000, 5_000, 10_000, 50_000];

/// The indices of each digit's items, in order.
pub(crate) fn indices_by_class(labels: &[u8]) -> Vec<Vec<usize>> {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); CLASSES];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    by_class
}

/// Indices of a stratified subset of `size` items of `labels` (all of them if `size` ≥ len),
/// in a seeded random order.
pub fn stratified_subset(labels: &[u8], size: usize, seed: u64) -> Vec<usize> {
    let n = labels.len();
    let mut rng = rng_for(seed, streams::SUBSET);
    if size >= n {
        let mut all: Vec<usize> = (0..n).collect();
        shuffle(&mut rng, &mut all);
        return all;
    }
    let mut by_class = indices_by_class(labels);
    // Quotas by largest remainder: floor(size·share), then one more for the largest remainders.
    let mut quotas: Vec<usize> = by_class.iter().map(|c| c.len() * size / n).collect();
    let mut remainders: Vec<(usize, usize)> = by_class.iter().enumerate().map(|(k, c)| (c.len() * size % n, k)).collect();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let missing = size - quotas.iter().sum::<usize>();
    for &(_, k) in remainders.iter().take(missing) {
        quotas[k] += 1;
    }
    let mut chosen = Vec::with_capacity(size);
    for (class, members) in by_class.iter_mut().enumerate() {
        shuffle(&mut rng, members);
        chosen.extend_from_slice(&members[..quotas[class]]);
    }
    shuffle(&mut rng, &mut chosen);
    chosen
}

/// Held-out images for tuning a hyperparameter during training (the L2 strength's T2 batches):
/// a stratified sample of `count` of the items of `labels` that `training` does not use, never
/// the images a run is scored on. Empty when `training` uses them all.
pub fn held_out_for_tuning(labels: &[u8], training: &[usize], count: usize, seed: u64) -> Vec<usize> {
    let mut used = vec![false; labels.len()];
    for &i in training {
        used[i] = true;
    }
    let rest: Vec<usize> = (0..labels.len()).filter(|&i| !used[i]).collect();
    let rest_labels: Vec<u8> = rest.iter().map(|&i| labels[i]).collect();
    stratified_subset(&rest_labels, count, seed ^ 0x7475_6e65).into_iter().map(|p| rest[p]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_out_images_are_outside_the_training_subset_and_stratified() {
        let labels: Vec<u8> = (0..1_000).map(|i| (i % 10) as u8).collect();
        let training = stratified_subset(&labels, 600, 3);
        let held = held_out_for_tuning(&labels, &training, 100, 3);
        assert_eq!(held.len(), 100);
        assert!(held.iter().all(|i| !training.contains(i)));
        for class in 0..10u8 {
            assert_eq!(held.iter().filter(|&&i| labels[i] == class).count(), 10);
        }
        assert!(held_out_for_tuning(&labels, &(0..1_000).collect::<Vec<_>>(), 100, 3).is_empty());
    }

    fn labels() -> Vec<u8> {
        // Unequal classes: class k has 100 + 10k members.
        (0..10u8).flat_map(|k| std::iter::repeat_n(k, 100 + 10 * k as usize)).collect()
    }

    #[test]
    fn keeps_class_shares_and_size() {
        let labels = labels();
        let idx = stratified_subset(&labels, 290, 3);
        assert_eq!(idx.len(), 290);
        let mut counts = [0usize; 10];
        for &i in &idx {
            counts[labels[i] as usize] += 1;
        }
        for (k, &count) in counts.iter().enumerate() {
            let exact = (100.0 + 10.0 * k as f64) * 290.0 / labels.len() as f64;
            assert!((count as f64 - exact).abs() < 1.0, "class {k}: {count} vs {exact}");
        }
        let mut sorted = idx.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 290, "no index twice");
    }

    #[test]
    fn depends_only_on_the_seed() {
        let labels = labels();
        assert_eq!(stratified_subset(&labels, 100, 5), stratified_subset(&labels, 100, 5));
        assert_ne!(stratified_subset(&labels, 100, 5), stratified_subset(&labels, 100, 6));
        assert_eq!(stratified_subset(&labels, 10_000, 5).len(), labels.len());
    }
}
