//! A small, fully deterministic training run on synthetic digits, shared by the native test
//! (`tests/reproducibility.rs`) and the browser test (`tests/wasm.rs`), so that both check the
//! same golden numbers: the initial weights must be bit-identical everywhere, and the trained
//! model must agree within a small tolerance (native matrix products may use FMA; wasm does not).

use tunelab::data::mnist::{LabeledImages, PIXELS_PER_IMAGE};
use tunelab::nn::train::{train, TrainingData};
use tunelab::nn::{OptimizerKind, TrainConfig, TrainOutcome};
use tunelab::rng::{below, rng_for};

/// `n` 28×28 images: class k is a bright horizontal bar in band k, plus seeded noise.
pub fn synthetic_digits(n: usize, seed: u64) -> LabeledImages {
    let mut rng = rng_for(seed, 100);
    let mut pixels = vec![0u8; n * PIXELS_PER_IMAGE];
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = (i % 10) as u8;
        labels.push(class);
        let img = &mut pixels[i * PIXELS_PER_IMAGE..][..PIXELS_PER_IMAGE];
        for p in img.iter_mut() {
            *p = below(&mut rng, 60) as u8;
        }
        let row = 2 + class as usize * 2 + below(&mut rng, 2);
        for x in 4..24 {
            img[row * 28 + x] = 200 + below(&mut rng, 55) as u8;
        }
    }
    LabeledImages { pixels, labels }
}

pub fn small_config() -> TrainConfig {
    TrainConfig {
        learning_rate: 0.01,
        epochs: 2,
        batch_size: 16,
        conv_layers: 2,
        conv_filters: vec![4, 8],
        dense_units: 16,
        dropout: 0.1,
        optimizer: OptimizerKind::ADAM,
        ..Default::default()
    }
}

/// Sum of all initial parameters, exactly, as f64 bits (the initialisation is bit-identical).
pub fn initial_parameter_sum_bits() -> u64 {
    let config = small_config().validate().unwrap();
    let mut model = tunelab::nn::Model::new(&config, &mut rng_for(7, tunelab::rng::streams::INIT));
    let mut sum = 0.0f64;
    model.visit_params(&mut |p| sum += p.values.iter().map(|&v| v as f64).sum::<f64>());
    sum.to_bits()
}

/// Train the small config on synthetic data; returns the last epoch's validation loss and accuracy.
pub fn small_run() -> (f32, f32) {
    let train_set = synthetic_digits(300, 1);
    let validation = synthetic_digits(100, 2);
    let config = small_config().validate().unwrap();
    let data = TrainingData::new(train_set.as_ref(), Some(validation.as_ref()));
    let (outcome, _) = train(&config, data, 7, &mut |_| true);
    let TrainOutcome::Completed { epochs } = outcome else { panic!("{outcome:?}") };
    let last = epochs.last().unwrap();
    (last.validation_loss.unwrap(), last.validation_accuracy.unwrap())
}

/// Train the small config 2 epochs, checkpointing to bytes after the first and resuming from
/// them; the resumed run's last epoch must equal the uninterrupted run's bit for bit. Returns
/// (uninterrupted, resumed) validation loss bits and the checkpoint's size in bytes.
pub fn checkpoint_round_trip() -> (u32, u32, usize) {
    use tunelab::nn::train::Trainer;
    let train_set = synthetic_digits(300, 1);
    let validation = synthetic_digits(100, 2);
    let config = small_config().validate().unwrap();
    let data = TrainingData::new(train_set.as_ref(), Some(validation.as_ref()));
    let mut whole = Trainer::new(&config, 7);
    let last = (0..2).map(|_| whole.run_epoch(data).unwrap()).last().unwrap();
    let mut first = Trainer::new(&config, 7);
    first.run_epoch(data).unwrap();
    let bytes = first.checkpoint();
    let mut resumed = Trainer::resume(&bytes, &config).unwrap();
    let again = resumed.run_epoch(data).unwrap();
    (last.validation_loss.unwrap().to_bits(), again.validation_loss.unwrap().to_bits(), bytes.len())
}
