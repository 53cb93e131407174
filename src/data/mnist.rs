//! MNIST as tunelab uses it: the training file's 60,000 images, split into 50,000 train and 10,000
//! validation images (the last sixth, fixed), plus the 10,000-image test set, which only the
//! final evaluation touches. (The seed document's "60k train / 10k validation / 10k test" adds
//! up to 80k; MNIST has 70k.)

use super::idx::{self, IdxError};

/// The four files MNIST comes in, named as they are distributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MnistFile {
    TrainImages,
    TrainLabels,
    TestImages,
    TestLabels,
}

impl MnistFile {
    pub const ALL: [MnistFile; 4] = [Self::TrainImages, Self::TrainLabels, Self::TestImages, Self::TestLabels];

    pub fn file_name(self) -> &'static str {
        match self {
            Self::TrainImages => "train-images-idx3-ubyte.gz",
            Self::TrainLabels => "train-labels-idx1-ubyte.gz",
            Self::TestImages => "t10k-images-idx3-ubyte.gz",
            Self::TestLabels => "t10k-labels-idx1-ubyte.gz",
        }
    }

    /// Size of the gzipped file as distributed, used when a server does not say how long it is.
    pub fn expected_gz_bytes(self) -> u64 {
        match self {
            Self::TrainImages => 9_630_634,
            Self::TrainLabels => 28_902,
            Self::TestImages => 1_602_073,
            Self::TestLabels => 4_540,
        }
    }
}

impl std::fmt::Display for MnistFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.file_name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("{file}: {source}")]
    File { file: MnistFile, source: IdxError },
    #[error("{file} could not be read: {reason}")]
    Unreadable { file: MnistFile, reason: String },
    #[error("{images} holds {image_count} images but {labels} holds {label_count} labels")]
    CountMismatch { images: MnistFile, image_count: usize, labels: MnistFile, label_count: usize },
    #[error("{file} holds {rows}×{cols} images; MNIST images are 28×28")]
    WrongImageSize { file: MnistFile, rows: usize, cols: usize },
    #[error("the training file holds {count} images; at least {minimum} are needed to split off a validation set")]
    TrainFileTooSmall { count: usize, minimum: usize },
}

pub const IMAGE_SIDE: usize = 28;
pub const PIXELS_PER_IMAGE: usize = IMAGE_SIDE * IMAGE_SIDE;
pub const CLASSES: usize = 10;

/// Images and their labels, owned. Pixels are kept as u8 (a quarter of f32's memory) and are
/// converted batch by batch during training.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabeledImages {
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
}

/// A borrowed run of images and labels: what training and evaluation read.
#[derive(Debug, Clone, Copy)]
pub struct ImagesRef<'a> {
    pub pixels: &'a [u8],
    pub labels: &'a [u8],
}

impl LabeledImages {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn as_ref(&self) -> ImagesRef<'_> {
        ImagesRef { pixels: &self.pixels, labels: &self.labels }
    }
    /// Build from raw parts, checking that the sizes agree and labels are digits.
    pub fn from_parts(pixels: Vec<u8>, labels: Vec<u8>) -> Result<Self, String> {
        if pixels.len() != labels.len() * PIXELS_PER_IMAGE {
            return Err(format!("{} pixel bytes do not make {} images of {} pixels", pixels.len(), labels.len(), PIXELS_PER_IMAGE));
        }
        if let Some(bad) = labels.iter().find(|&&l| l as usize >= CLASSES) {
            return Err(format!("label {bad} is not a digit 0–9"));
        }
        Ok(Self { pixels, labels })
    }
}

impl<'a> ImagesRef<'a> {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn image(&self, i: usize) -> &'a [u8] {
        &self.pixels[i * PIXELS_PER_IMAGE..(i + 1) * PIXELS_PER_IMAGE]
    }
    pub fn range(&self, start: usize, end: usize) -> ImagesRef<'a> {
        ImagesRef { pixels: &self.pixels[start * PIXELS_PER_IMAGE..end * PIXELS_PER_IMAGE], labels: &self.labels[start..end] }
    }
    /// Gather the images at `indices` into an owned set.
    pub fn select(&self, indices: &[usize]) -> LabeledImages {
        let mut pixels = Vec::with_capacity(indices.len() * PIXELS_PER_IMAGE);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
            labels.push(self.labels[i]);
        }
        LabeledImages { pixels, labels }
    }
    /// Split off the last sixth as the validation set: 50,000 / 10,000 for MNIST's 60,000.
    pub fn train_validation_split(&self) -> (ImagesRef<'a>, ImagesRef<'a>) {
        let n = self.len();
        let validation = n / 6;
        (self.range(0, n - validation), self.range(n - validation, n))
    }
}

/// MNIST, parsed and checked.
#[derive(Debug, Clone)]
pub struct Mnist {
    /// The training file's 60,000 images: train + validation.
    pub train_file: LabeledImages,
    /// The 10,000 test images, for the final evaluation only.
    pub test: LabeledImages,
}

impl Mnist {
    /// Parse the four files (each gzipped or not), checking each and their agreement.
    pub fn from_files(train_images: &[u8], train_labels: &[u8], test_images: &[u8], test_labels: &[u8]) -> Result<Self, DataError> {
        Ok(Self { train_file: Self::training_from_files(train_images, train_labels)?, test: Self::test_from_files(test_images, test_labels)? })
    }

    /// The training file's images and labels, checked: the first half of `from_files`, apart
    /// so that a page can show its progress between the halves.
    pub fn training_from_files(images: &[u8], labels: &[u8]) -> Result<LabeledImages, DataError> {
        let train_file = load_pair(images, MnistFile::TrainImages, labels, MnistFile::TrainLabels)?;
        if train_file.len() < 12 {
            return Err(DataError::TrainFileTooSmall { count: train_file.len(), minimum: 12 });
        }
        Ok(train_file)
    }

    /// The test file's images and labels, checked: the second half of `from_files`.
    pub fn test_from_files(images: &[u8], labels: &[u8]) -> Result<LabeledImages, DataError> {
        load_pair(images, MnistFile::TestImages, labels, MnistFile::TestLabels)
    }

    /// Read the four files from a folder (the command line's `--data`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_dir(dir: &std::path::Path) -> Result<Self, DataError> {
        let read = |file: MnistFile| {
            let path = dir.join(file.file_name());
            std::fs::read(&path).map_err(|e| DataError::Unreadable { file, reason: format!("{}: {e}", path.display()) })
        };
        Self::from_files(&read(MnistFile::TrainImages)?, &read(MnistFile::TrainLabels)?, &read(MnistFile::TestImages)?, &read(MnistFile::TestLabels)?)
    }

    pub fn train_and_validation(&self) -> (ImagesRef<'_>, ImagesRef<'_>) {
        self.train_file.as_ref().train_validation_split()
    }
}

fn load_pair(images: &[u8], images_file: MnistFile, labels: &[u8], labels_file: MnistFile) -> Result<LabeledImages, DataError> {
    let img = idx::parse_images(images).map_err(|source| DataError::File { file: images_file, source })?;
    let lab = idx::parse_labels(labels).map_err(|source| DataError::File { file: labels_file, source })?;
    if img.rows != IMAGE_SIDE || img.cols != IMAGE_SIDE {
        return Err(DataError::WrongImageSize { file: images_file, rows: img.rows, cols: img.cols });
    }
    if img.count != lab.labels.len() {
        return Err(DataError::CountMismatch { images: images_file, image_count: img.count, labels: labels_file, label_count: lab.labels.len() });
    }
    Ok(LabeledImages { pixels: img.pixels, labels: lab.labels })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::{encode_images, encode_labels};

    fn files(n_train: usize, n_test: usize) -> [Vec<u8>; 4] {
        let label = |i: usize| (i % 10) as u8;
        [
            encode_images(n_train, 28, 28, &vec![7; n_train * 784]),
            encode_labels(&(0..n_train).map(label).collect::<Vec<_>>()),
            encode_images(n_test, 28, 28, &vec![9; n_test * 784]),
            encode_labels(&(0..n_test).map(label).collect::<Vec<_>>()),
        ]
    }

    #[test]
    fn loads_and_splits_a_sixth_for_validation() {
        let [a, b, c, d] = files(60, 10);
        let m = Mnist::from_files(&a, &b, &c, &d).unwrap();
        let (train, val) = m.train_and_validation();
        assert_eq!((train.len(), val.len(), m.test.len()), (50, 10, 10));
        assert_eq!(val.labels[0], (50 % 10) as u8);
    }

    #[test]
    fn mismatched_counts_name_both_files() {
        let [a, _, c, d] = files(60, 10);
        let b = encode_labels(&[1; 59]);
        let err = Mnist::from_files(&a, &b, &c, &d).unwrap_err();
        assert_eq!(err.to_string(), "train-images-idx3-ubyte.gz holds 60 images but train-labels-idx1-ubyte.gz holds 59 labels");
    }

    #[test]
    fn a_bad_file_is_named_in_the_error() {
        let [a, b, c, _] = files(60, 10);
        let err = Mnist::from_files(&a, &b, &c, b"junk").unwrap_err();
        assert!(err.to_string().starts_with("t10k-labels-idx1-ubyte.gz: wrong magic number"), "{err}");
        let small = encode_images(60, 14, 14, &vec![0; 60 * 196]);
        let err = Mnist::from_files(&small, &b, &c, &b).unwrap_err();
        assert!(matches!(err, DataError::WrongImageSize { rows: 14, .. }));
    }
}
