//! The seed's last step: retrain the best configuration on all 60,000 training images (train
//! and validation together) and measure it once on the 10,000 test images, which no trial ever
//! saw — the only fair estimate of how well the tuned network does on new digits.

use crate::data::mnist::ImagesRef;
use crate::nn::train::EVAL_BATCH;
use crate::nn::{train, EpochReport, TrainOutcome, TrainingData, ValidConfig};
use crate::rng::{rng_for, streams};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalEvaluation {
    pub test_accuracy: f32,
    pub test_loss: f32,
    pub train_images: usize,
    pub epochs: u32,
}

/// Retrain `config` on all of `train_file` (the training file's 60,000 images) with `seed`, then evaluate on `test`. Fails if training
/// diverges or `on_epoch` stops it.
pub fn retrain_and_test(
    config: &ValidConfig,
    train_file: ImagesRef<'_>,
    test: ImagesRef<'_>,
    seed: u64,
    on_epoch: &mut dyn FnMut(&EpochReport) -> bool,
) -> Result<FinalEvaluation, String> {
    let (outcome, mut trainer) = train(config, TrainingData::new(train_file, None), seed, on_epoch);
    match outcome {
        TrainOutcome::Completed { epochs } => {
            let (test_loss, test_accuracy) = trainer.model.evaluate(test, EVAL_BATCH, &mut rng_for(seed, streams::DROPOUT));
            Ok(FinalEvaluation { test_accuracy, test_loss, train_images: train_file.len(), epochs: epochs.len() as u32 })
        }
        TrainOutcome::Diverged { diverged, .. } => Err(format!("the retraining diverged: {diverged}")),
        TrainOutcome::Stopped { epochs } => Err(format!("the retraining was stopped after epoch {}", epochs.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::TrainConfig;

    #[test]
    fn retraining_on_the_training_file_is_measured_on_the_test_images() {
        // Two classes told apart by which half of the image is lit.
        let make = |n: usize| -> (Vec<u8>, Vec<u8>) {
            let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
            let pixels = labels.iter().flat_map(|&l| (0..784).map(move |p| if (p / 392) as u8 == l { 200 } else { 10 })).collect();
            (pixels, labels)
        };
        let (train_pixels, train_labels) = make(120);
        let (test_pixels, test_labels) = make(40);
        let config = TrainConfig { epochs: 2, batch_size: 16, conv_layers: 1, conv_filters: vec![2], dense_units: 0, ..Default::default() }.validate().unwrap();
        let mut epochs = 0;
        let result = retrain_and_test(
            &config,
            ImagesRef { pixels: &train_pixels, labels: &train_labels },
            ImagesRef { pixels: &test_pixels, labels: &test_labels },
            3,
            &mut |_| {
                epochs += 1;
                true
            },
        )
        .unwrap();
        assert_eq!((result.train_images, result.epochs, epochs), (120, 2, 2));
        assert!(result.test_accuracy > 0.9, "{result:?}");
        let stopped = retrain_and_test(
            &config,
            ImagesRef { pixels: &train_pixels, labels: &train_labels },
            ImagesRef { pixels: &test_pixels, labels: &test_labels },
            3,
            &mut |_| false,
        );
        assert_eq!(stopped.unwrap_err(), "the retraining was stopped after epoch 1");
    }
}
