//! Reproducibility natively: the same configuration and seed give the same weights and results
//! bit for bit; and the golden numbers the browser test (`tests/wasm.rs`) checks too.

mod common;

use tunelab::nn::train::{train, TrainingData};
use tunelab::nn::{OptimizerKind, TrainConfig, TrainOutcome};

#[test]
fn same_config_and_seed_give_identical_runs_for_every_optimizer() {
    let train_set = common::synthetic_digits(200, 1);
    let validation = common::synthetic_digits(50, 2);
    let data = TrainingData::new(train_set.as_ref(), Some(validation.as_ref()));
    for optimizer in [OptimizerKind::SGD, OptimizerKind::MOMENTUM, OptimizerKind::RMSPROP, OptimizerKind::ADAM] {
        let config = TrainConfig { optimizer, learning_rate: 0.005, ..common::small_config() }.validate().unwrap();
        let (a, _) = train(&config, data, 3, &mut |_| true);
        let (b, _) = train(&config, data, 3, &mut |_| true);
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "{optimizer:?}");
        let (c, _) = train(&config, data, 4, &mut |_| true);
        assert_ne!(format!("{a:?}"), format!("{c:?}"), "another seed gives another run");
    }
}

#[test]
fn synthetic_digits_are_learnable() {
    let (loss, accuracy) = common::small_run();
    assert!(accuracy > 0.9, "accuracy {accuracy}, loss {loss}");
}

#[test]
fn golden_numbers_match_the_browser_test() {
    // Printed so that a deliberate change to initialisation or training can update both files.
    let bits = common::initial_parameter_sum_bits();
    let (loss, accuracy) = common::small_run();
    eprintln!("initial sum bits {bits:#x}, validation loss {loss}, accuracy {accuracy}");
    assert_eq!(bits, include!("golden/initial_sum_bits.txt"));
    let golden_loss: f32 = include!("golden/validation_loss.txt");
    assert!((loss - golden_loss).abs() < 1e-3, "validation loss {loss} vs golden {golden_loss}");
}

#[test]
fn a_diverging_run_ends_as_diverged_with_its_epoch() {
    let train_set = common::synthetic_digits(200, 1);
    // With lr·λ₂ = 100 the weight decay step w ← w·(1 − lr·λ₂) multiplies every weight by −99:
    // the weights explode until the loss is no longer a number.
    let config = TrainConfig { learning_rate: 10.0, optimizer: OptimizerKind::SGD, l2: 10.0, ..common::small_config() }.validate().unwrap();
    let data = TrainingData::new(train_set.as_ref(), None);
    let (outcome, _) = train(&config, data, 1, &mut |_| true);
    match outcome {
        TrainOutcome::Diverged { diverged, epochs } => {
            assert_eq!(diverged.epoch as usize, epochs.len() + 1);
            assert!(diverged.to_string().starts_with(&format!("training diverged in epoch {}", diverged.epoch)));
        }
        other => panic!("expected divergence, got {other:?}"),
    }
}

#[test]
fn training_on_subset_indices_equals_training_on_a_copy_of_the_subset() {
    let images = common::synthetic_digits(300, 1);
    let indices = tunelab::data::stratified_subset(&images.labels, 120, 5);
    let copy = images.as_ref().select(&indices);
    let config = common::small_config().validate().unwrap();
    let (by_index, _) = train(&config, TrainingData::subset(images.as_ref(), &indices, None), 3, &mut |_| true);
    let (by_copy, _) = train(&config, TrainingData::new(copy.as_ref(), None), 3, &mut |_| true);
    assert_eq!(by_index.epochs()[0].images_seen, 120);
    assert_eq!(format!("{by_index:?}"), format!("{by_copy:?}"));
}

#[test]
fn a_checkpointed_run_resumes_bit_for_bit_natively() {
    let (whole, resumed, size) = common::checkpoint_round_trip();
    assert_eq!(whole, resumed);
    assert!(size > 4 * 1000, "{size} bytes: the weights and Adam's two moments at least");
}
