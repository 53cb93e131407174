//! Data: the validating IDX parser, MNIST's fixed split, and seeded stratified subsets.

pub mod idx;
pub mod mnist;
pub mod subset;

pub use idx::{IdxError, IdxImages, IdxLabels};
pub use mnist::{DataError, LabeledImages, Mnist, MnistFile};
pub use subset::{stratified_subset, SUBSET_SIZES};
