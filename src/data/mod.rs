//! Data: the validating IDX parser, MNIST's fixed split, seeded stratified subsets, and
//! stratified k-fold splits for cross-validation.

#![forbid(unsafe_code)]

pub mod folds;
pub mod idx;
pub mod mnist;
pub mod subset;

pub use folds::{stratified_folds, training_indices};
pub use idx::{IdxError, IdxImages, IdxLabels};
pub use mnist::{DataError, LabeledImages, Mnist, MnistFile};
pub use subset::{stratified_subset, SUBSET_SIZES};
