//! One trial's training, as a worker runs it — a web worker on the page, a thread natively — in
//! slices, so that the worker can look at its messages (a stop) between them.
//!
//! A request fixes everything the trial does: the configuration, the images (the training set
//! drawn with the request's seed: the same subset and folds for every trial of an experiment)
//! and the training seed. Under k-fold the trial trains once per fold, each run from the same
//! seed, and its score is the mean of the folds' last-epoch validation accuracies. Slicing
//! changes nothing in the result, so the same request gives the same scores on any worker.
//!
//! Under hold-out, the epochs before the last are validated on a fixed stratified sample of
//! `PROGRESS_VALIDATION` images of the validation split (the curve a trial draws as it trains),
//! the last on all of it (the score). On a small training subset, validating every epoch on all
//! 10,000 images would cost more than the training itself; evaluating changes nothing in
//! training (it draws no random number), so the score is the same either way.
//!
//! A request may also say where the trial starts and stops (`protocol::Stage`): resume a
//! checkpoint, pause after a number of epochs (the trial ends `Paused`, with its checkpoint), or
//! stop itself at the first epoch whose validation accuracy falls below the median pruner's
//! threshold (`Pruned`). A trial that tunes its L2 strength by its hypergradient takes its
//! held-out batches from 1,000 images of the training split outside the subset
//! (`held_out_for_tuning`), never from the validation split its score comes from.

use crate::data::mnist::ImagesRef;
use crate::data::subset::{held_out_for_tuning, stratified_subset};
use crate::data::validation::{CrossValidation, Drawn, TrainingSet, TRAINING_FILE_IMAGES, TRAINING_SPLIT_IMAGES};
use crate::nn::train::{Slice, Trainer, TrainingData};
use crate::nn::EpochReport;
use crate::protocol::{Path, Paths, Stage, TrainRequest, TrialEnd};
use crate::tuning::median_pruner::worse_than;
use crate::tuning::study::Direction;

/// Images of the training split outside the subset whose loss tunes the L2 strength.
pub const TUNING_IMAGES: usize = 1_000;

/// The most points a hypergradient's path keeps (every k-th step's value).
const PATH_POINTS: usize = 256;

/// Images of the validation split that validate a hold-out trial's epochs before its last.
pub const PROGRESS_VALIDATION: usize = 2_000;

/// Images a trial of `epochs` epochs on `data` scores (validation's forward passes) over all
/// its runs: under hold-out, the progress sample after each epoch but the last and the whole
/// validation split after the last; under k-fold, each run's held-out fold after every epoch.
pub fn images_scored(data: TrainingSet, epochs: u32) -> u64 {
    let epochs = epochs as u64;
    match data.validation {
        CrossValidation::Holdout if epochs == 0 => 0,
        CrossValidation::Holdout => {
            let split = (TRAINING_FILE_IMAGES - TRAINING_SPLIT_IMAGES) as u64;
            (epochs - 1) * (PROGRESS_VALIDATION as u64).min(split) + split
        }
        CrossValidation::KFold { .. } => epochs * data.images as u64,
    }
}

/// A trial in progress.
pub struct TrialJob {
    trainer: Trainer,
    drawn: Drawn,
    /// Under hold-out, the sample of the validation split the epochs before the last use.
    progress_validation: Vec<usize>,
    seed: u64,
    /// The run (fold) under way, from 0, and its training images.
    run: usize,
    train_on: Vec<usize>,
    /// Each finished run's last validation accuracy and loss.
    scores: Vec<(f32, f32)>,
    stage: Stage,
    /// The held-out images that tune L2 (empty unless the configuration tunes it).
    tuning: Vec<usize>,
    /// Validation accuracies reported in this request, over all runs (for the pruner).
    reported: Vec<f64>,
    /// Training images trained in this request.
    images: u64,
}

/// What one slice of a job did.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The epoch goes on: `batches_done` of its `batches` in epoch `epoch` (1-based) of run
    /// `fold` (0 under hold-out).
    Training { fold: u32, epoch: u32, batches_done: u32, batches: u32 },
    /// An epoch ended; `end` is set when it was the trial's last.
    Epoch { fold: u32, report: EpochReport, end: Option<TrialEnd> },
    /// Training diverged: the trial ends.
    Diverged(TrialEnd),
}

impl TrialJob {
    /// Check the request and draw its images from `train_file` (the training file: the training
    /// split, then the validation split). A request that cannot run is refused as the trial's end.
    pub fn start(request: &TrainRequest, train_file: ImagesRef<'_>) -> Result<Self, TrialEnd> {
        let config = request.config.validate().map_err(|e| TrialEnd::Rejected { reason: format!("invalid configuration: {e}") })?;
        let data = request.data.check().map_err(|e| TrialEnd::Rejected { reason: e.to_string() })?;
        if train_file.is_empty() {
            return Err(TrialEnd::Rejected { reason: "no training data has been loaded in this worker".into() });
        }
        let (train_split, validation) = train_file.train_validation_split();
        let seed = request.seed as u64;
        let drawn = data.draw(train_file.labels, train_split.len(), seed);
        let (train_on, held_out) = drawn.run(0);
        let stage = request.stage.clone();
        if (stage.resume || stage.until.is_some()) && drawn.runs() > 1 {
            return Err(TrialEnd::Rejected { reason: "a trial trained in segments (paused and resumed) needs hold-out validation, not k-fold".into() });
        }
        let trainer = match (stage.resume, &request.checkpoint) {
            (false, _) => Trainer::new(&config, seed),
            (true, Some(bytes)) => Trainer::resume(bytes, &config).map_err(|e| TrialEnd::Rejected { reason: format!("cannot resume the trial: {e}") })?,
            (true, None) => return Err(TrialEnd::Rejected { reason: "the request resumes a checkpoint, but none came with it".into() }),
        };
        if let Some(until) = stage.until.filter(|&until| until <= trainer.epochs_done()) {
            return Err(TrialEnd::Rejected { reason: format!("asked to pause at epoch {until}, but it has trained {} already", trainer.epochs_done()) });
        }
        let tuning = match config.l2_hypergradient {
            Some(_) => {
                let subset: Vec<usize> = train_on.iter().chain(held_out.unwrap_or_default()).copied().collect();
                held_out_for_tuning(train_split.labels, &subset, TUNING_IMAGES, seed)
            }
            None => Vec::new(),
        };
        let progress_validation = stratified_subset(validation.labels, PROGRESS_VALIDATION, seed);
        Ok(Self { trainer, drawn, progress_validation, seed, run: 0, train_on, scores: Vec::new(), stage, tuning, reported: Vec::new(), images: 0 })
    }

    /// Epochs finished in the run under way.
    pub fn epochs_done(&self) -> u32 {
        self.trainer.epochs_done()
    }

    /// Train until `keep_going` says stop (checked between batches) or an epoch ends.
    pub fn step(&mut self, train_file: ImagesRef<'_>, keep_going: &mut dyn FnMut() -> bool) -> Step {
        let fold = self.run as u32;
        let (_, held_out) = self.drawn.run(self.run);
        let last_epoch = self.trainer.epochs_done() + 1 == self.trainer.config.epochs;
        let (train_split, _) = train_file.train_validation_split();
        let data = match held_out {
            None => {
                let (train_split, validation) = train_file.train_validation_split();
                let sample = (!last_epoch).then_some(self.progress_validation.as_slice());
                TrainingData { validation_subset: sample, ..TrainingData::subset(train_split, &self.train_on, Some(validation)) }
            }
            Some(held_out) => TrainingData::fold(train_file, &self.train_on, held_out),
        };
        let data = if self.tuning.is_empty() { data } else { data.tuning_on(train_split, Some(&self.tuning)) };
        match self.trainer.train_slice(data, keep_going) {
            Ok(Slice::Training { batches_done, batches }) => {
                Step::Training { fold, epoch: self.trainer.epochs_done() + 1, batches_done: batches_done as u32, batches: batches as u32 }
            }
            Ok(Slice::EpochDone(report)) => {
                self.images += self.train_on.len() as u64;
                let accuracy = report.validation_accuracy.unwrap_or(f32::NAN);
                self.reported.push(accuracy as f64);
                let trial_over = self.trainer.epochs_done() >= self.trainer.config.epochs && self.run + 1 == self.drawn.runs();
                let threshold = self.stage.stop_below.get(self.reported.len() - 1).copied().flatten();
                if !trial_over && worse_than(threshold, &self.reported, Direction::Maximize) {
                    let end = TrialEnd::Pruned { epochs_done: self.trainer.epochs_done(), validation_accuracy: accuracy, images: self.images };
                    return Step::Epoch { fold, report, end: Some(end) };
                }
                if self.stage.until == Some(self.trainer.epochs_done()) && !trial_over {
                    let end =
                        TrialEnd::Paused { epochs_done: self.trainer.epochs_done(), validation_accuracy: accuracy, checkpoint: self.trainer.checkpoint() };
                    return Step::Epoch { fold, report, end: Some(end) };
                }
                if self.trainer.epochs_done() < self.trainer.config.epochs {
                    return Step::Epoch { fold, report, end: None };
                }
                self.scores.push((report.validation_accuracy.unwrap_or(f32::NAN), report.validation_loss.unwrap_or(f32::NAN)));
                if self.run + 1 < self.drawn.runs() {
                    // The next fold trains from the same seed as the first.
                    self.run += 1;
                    self.train_on = self.drawn.run(self.run).0;
                    self.trainer = Trainer::new(&self.trainer.config, self.seed);
                    return Step::Epoch { fold, report, end: None };
                }
                Step::Epoch { fold, report, end: Some(self.end()) }
            }
            Err(diverged) => Step::Diverged(TrialEnd::Diverged { diverged, fold: self.drawn_fold() }),
        }
    }

    /// The fold a k-fold trial is in (1-based), for the divergence message; None under hold-out.
    fn drawn_fold(&self) -> Option<(u32, u32)> {
        matches!(self.drawn, Drawn::KFold { .. }).then(|| (self.run as u32 + 1, self.drawn.runs() as u32))
    }

    fn end(&self) -> TrialEnd {
        let n = self.scores.len() as f64;
        let mean = |f: fn(&(f32, f32)) -> f32| (self.scores.iter().map(|s| f(s) as f64).sum::<f64>() / n) as f32;
        let fold_scores = match self.drawn {
            Drawn::Holdout { .. } => Vec::new(),
            Drawn::KFold { .. } => self.scores.iter().map(|s| s.0).collect(),
        };
        let path = |trajectory: &[f32], every: u32, clamped: u32| {
            let stride = trajectory.len().div_ceil(PATH_POINTS).max(1);
            Path { every: every * stride as u32, values: trajectory.iter().copied().step_by(stride).collect(), clamped }
        };
        let lr = self.trainer.adapted_lr().map(|a| path(&a.trajectory, 1, a.clamped));
        let every = self.trainer.config.l2_hypergradient.map_or(1, |h| h.every);
        let l2 = self.trainer.tuned_l2().map(|t| path(&t.trajectory, every, t.clamped));
        let paths = (lr.is_some() || l2.is_some()).then_some(Paths { learning_rate: lr, l2 });
        TrialEnd::Completed { validation_accuracy: mean(|s| s.0), validation_loss: mean(|s| s.1), fold_scores, paths }
    }

    /// Run the trial to its end in this thread; `on_step` sees every step and returns false to
    /// stop (the end is then `Stopped`). A stop is checked between batches.
    pub fn run_to_end(mut self, train_file: ImagesRef<'_>, on_step: &mut dyn FnMut(&Step) -> bool, stop: &dyn Fn() -> bool) -> TrialEnd {
        loop {
            let step = self.step(train_file, &mut || !stop());
            let go_on = on_step(&step);
            match step {
                Step::Epoch { end: Some(end), .. } | Step::Diverged(end) => return end,
                _ if !go_on || stop() => return TrialEnd::Stopped { epochs_done: self.epochs_done() },
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::synthetic_digits;
    use crate::nn::{train, TrainConfig, TrainOutcome};

    fn config() -> TrainConfig {
        TrainConfig { epochs: 2, batch_size: 16, conv_layers: 1, conv_filters: vec![4], dense_units: 0, learning_rate: 0.05, ..Default::default() }
    }

    fn run(request: &TrainRequest, file: ImagesRef<'_>) -> (Vec<(u32, u32)>, TrialEnd) {
        let mut epochs = Vec::new();
        let job = TrialJob::start(request, file).unwrap();
        let end = job.run_to_end(
            file,
            &mut |step| {
                if let Step::Epoch { fold, report, .. } = step {
                    epochs.push((*fold, report.epoch));
                }
                true
            },
            &|| false,
        );
        (epochs, end)
    }

    #[test]
    fn a_trial_scores_the_progress_sample_then_the_whole_split_or_its_folds() {
        let holdout = TrainingSet { images: 2_000, validation: CrossValidation::Holdout };
        assert_eq!(images_scored(holdout, 10), 9 * 2_000 + 10_000);
        assert_eq!(images_scored(holdout, 1), 10_000);
        let folds = TrainingSet { images: 2_000, validation: CrossValidation::KFold { k: 5 } };
        assert_eq!(images_scored(folds, 3), 3 * 2_000, "every image is held out once per epoch over the five runs");
    }

    #[test]
    fn a_holdout_job_trains_as_train_does() {
        let (pixels, labels) = synthetic_digits(600);
        let file = ImagesRef { pixels: &pixels, labels: &labels };
        let request = TrainRequest {
            config: config(),
            data: TrainingSet { images: 200, validation: CrossValidation::Holdout },
            seed: 3,
            stage: Default::default(),
            checkpoint: None,
        };
        let (epochs, end) = run(&request, file);
        assert_eq!(epochs, vec![(0, 1), (0, 2)]);
        // The same score as one call of `train` on the same subset and seed, which validates
        // every epoch on the whole validation split.
        let (train_split, validation) = file.train_validation_split();
        let Drawn::Holdout { subset } = request.data.draw(&labels, train_split.len(), 3) else { unreachable!() };
        let (outcome, _) = train(&config().validate().unwrap(), TrainingData::subset(train_split, &subset, Some(validation)), 3, &mut |_| true);
        let TrainOutcome::Completed { epochs } = outcome else { panic!() };
        let last = epochs.last().unwrap();
        assert_eq!(
            end,
            TrialEnd::Completed {
                validation_accuracy: last.validation_accuracy.unwrap(),
                validation_loss: last.validation_loss.unwrap(),
                fold_scores: vec![],
                paths: None
            }
        );
    }

    #[test]
    fn a_k_fold_job_trains_every_fold_and_scores_their_mean() {
        let (pixels, labels) = synthetic_digits(600);
        let file = ImagesRef { pixels: &pixels, labels: &labels };
        let request = TrainRequest {
            config: config(),
            data: TrainingSet { images: 300, validation: CrossValidation::KFold { k: 3 } },
            seed: 2,
            stage: Default::default(),
            checkpoint: None,
        };
        let (epochs, end) = run(&request, file);
        assert_eq!(epochs, vec![(0, 1), (0, 2), (1, 1), (1, 2), (2, 1), (2, 2)], "every epoch of every fold");
        let TrialEnd::Completed { validation_accuracy, fold_scores, .. } = end.clone() else { panic!("{end:?}") };
        assert_eq!(fold_scores.len(), 3);
        assert!(fold_scores.iter().all(|&s| s > 0.8), "{fold_scores:?}");
        let mean = (fold_scores.iter().map(|&s| s as f64).sum::<f64>() / 3.0) as f32;
        assert_eq!(validation_accuracy, mean);
        assert_eq!(run(&request, file).1, end, "the same request gives the same scores");
    }

    #[test]
    fn a_trial_paused_and_resumed_ends_as_the_one_that_was_not_and_a_threshold_stops_it() {
        let (pixels, labels) = synthetic_digits(600);
        let file = ImagesRef { pixels: &pixels, labels: &labels };
        let whole = TrainRequest {
            config: config(),
            data: TrainingSet { images: 200, validation: CrossValidation::Holdout },
            seed: 3,
            stage: Stage::default(),
            checkpoint: None,
        };
        let (_, end) = run(&whole, file);
        let first = TrainRequest { stage: Stage { until: Some(1), ..Stage::default() }, ..whole.clone() };
        let (epochs, paused) = run(&first, file);
        assert_eq!(epochs, vec![(0, 1)]);
        let TrialEnd::Paused { epochs_done: 1, checkpoint, .. } = paused else { panic!("{paused:?}") };
        let rest = TrainRequest { stage: Stage { resume: true, ..Stage::default() }, checkpoint: Some(checkpoint.into()), ..whole.clone() };
        let (epochs, resumed) = run(&rest, file);
        assert_eq!(epochs, vec![(0, 2)], "it goes on at epoch 2");
        assert_eq!(resumed, end, "bit for bit");
        // Resuming without the checkpoint, or pausing where it stands already, is refused.
        let orphan = TrainRequest { checkpoint: None, ..rest.clone() };
        assert!(matches!(TrialJob::start(&orphan, file), Err(TrialEnd::Rejected { reason }) if reason.contains("none came with it")));
        let behind = TrainRequest { stage: Stage { until: Some(1), resume: true, ..Stage::default() }, ..rest };
        assert!(matches!(TrialJob::start(&behind, file), Err(TrialEnd::Rejected { reason }) if reason.contains("pause at epoch 1")));
        // A threshold it cannot reach stops it after the first epoch, which is all it paid for.
        let doomed = TrainRequest { stage: Stage { stop_below: vec![Some(1.01)], ..Stage::default() }, ..whole };
        let (epochs, pruned) = run(&doomed, file);
        assert_eq!(epochs.len(), 1);
        assert!(matches!(pruned, TrialEnd::Pruned { epochs_done: 1, images: 200, .. }), "{pruned:?}");
    }

    #[test]
    fn a_stop_ends_the_job_and_bad_requests_are_refused() {
        let (pixels, labels) = synthetic_digits(300);
        let file = ImagesRef { pixels: &pixels, labels: &labels };
        let request = TrainRequest {
            config: config(),
            data: TrainingSet { images: 100, validation: CrossValidation::Holdout },
            seed: 1,
            stage: Default::default(),
            checkpoint: None,
        };
        let end = TrialJob::start(&request, file).unwrap().run_to_end(file, &mut |_| false, &|| false);
        assert!(matches!(end, TrialEnd::Stopped { .. }), "{end:?}");
        let bad = TrainRequest { config: TrainConfig { learning_rate: -1.0, ..config() }, ..request.clone() };
        assert!(matches!(TrialJob::start(&bad, file), Err(TrialEnd::Rejected { reason }) if reason.starts_with("invalid configuration: learning rate")));
        let bad = TrainRequest { data: TrainingSet { images: 2, validation: CrossValidation::KFold { k: 3 } }, ..request };
        assert!(matches!(TrialJob::start(&bad, file), Err(TrialEnd::Rejected { reason }) if reason.contains("one per fold")));
    }
}
