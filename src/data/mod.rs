//! Data: the validating IDX parser, MNIST's fixed split, seeded stratified subsets,
//! stratified k-fold splits, and what a trial trains and is scored on (hold-out or k-fold).

#![forbid(unsafe_code)]

pub mod drawn_digit;
pub mod folds;
pub mod idx;
pub mod mnist;
pub mod subset;
pub mod validation;

pub use folds::{stratified_folds, training_indices};
pub use idx::{IdxError, IdxImages, IdxLabels};
pub use mnist::{DataError, LabeledImages, Mnist, MnistFile};
pub use subset::{stratified_subset, SUBSET_SIZES};
pub use validation::{CrossValidation, SetError, TrainingSet};
