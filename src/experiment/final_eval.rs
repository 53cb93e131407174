//! The seed's last step: retrain the best configuration on all 60,000 training images (train
//! and validation together) and measure it once on the 10,000 test images, which no trial ever
//! saw — the only fair estimate of how well the tuned network does on new digits.
//!
//! A `FinalJob` runs in slices, as a trial's job does, so a web worker stays responsive while
//! it trains; the network it trained stays in it afterwards to classify digits a student draws.
//! Besides the accuracy, the test gives what a student looks at next: the confusion matrix (which
//! digits are taken for which) and every misclassified test image with the network's confidence.

use crate::data::drawn_digit;
use crate::data::mnist::{ImagesRef, CLASSES, PIXELS_PER_IMAGE};
use crate::data::subset::stratified_subset;
use crate::data::validation::TRAINING_FILE_IMAGES;
use crate::experiment::live::Candidate;
use crate::nn::layer::Pass;
use crate::nn::loss::{argmax, softmax, softmax_cross_entropy};
use crate::nn::train::{Slice, Trainer, EVAL_BATCH};
use crate::nn::{EpochReport, TrainingData, ValidConfig};
use crate::protocol::{Misclassified, ReadFailure, Reading, RetrainFailure, RetrainProgress, RetrainRequest, TestReport};
use crate::rng::{rng_for, streams, Rng64};
use crate::scheduler::{Fault, TrialRef};

/// What one slice of a final job did.
#[derive(Debug, Clone, PartialEq)]
pub enum FinalStep {
    /// Epoch `epoch` (1-based) goes on: `batches_done` of its `batches`.
    Training {
        epoch: u32,
        batches_done: u32,
        batches: u32,
    },
    Epoch(EpochReport),
    /// `done` of the `of` test images classified.
    Testing {
        done: u32,
        of: u32,
    },
    Tested(TestReport),
    /// Training diverged or the network gives no finite loss: nothing to test.
    Failed(RetrainFailure),
}

/// A retraining and its test, in progress; then the trained network, kept for drawings.
pub struct FinalJob {
    trainer: Trainer,
    /// The images it trains on (None: the whole training file).
    subset: Option<Vec<usize>>,
    train_images: u32,
    testing: Testing,
    /// Forward passes without dropout draw nothing from it; a layer's interface asks for one.
    rng: Rng64,
}

#[derive(Default)]
struct Testing {
    next: usize,
    loss_sum: f64,
    confusion: Vec<u32>,
    misclassified: Vec<Misclassified>,
    report: Option<TestReport>,
}

impl FinalJob {
    /// Check the request against `train_file` (the training file's images).
    pub fn start(request: &RetrainRequest, train_file: ImagesRef<'_>) -> Result<Self, RetrainFailure> {
        let config: ValidConfig = request.config.validate().map_err(|e| RetrainFailure::Invalid { why: e.to_string() })?;
        if train_file.is_empty() {
            return Err(RetrainFailure::NoTrainingImages);
        }
        let images = request.images as usize;
        if images == 0 || images > TRAINING_FILE_IMAGES as usize {
            return Err(RetrainFailure::Images { images: request.images });
        }
        let seed = request.seed as u64;
        let subset = (images < train_file.len()).then(|| stratified_subset(train_file.labels, images, seed));
        let testing = Testing { confusion: vec![0; CLASSES * CLASSES], ..Testing::default() };
        let train_images = images.min(train_file.len()) as u32;
        Ok(Self { trainer: Trainer::new(&config, seed), subset, train_images, testing, rng: rng_for(seed, streams::DROPOUT) })
    }

    pub fn epochs(&self) -> u32 {
        self.trainer.config.epochs
    }

    /// The test's result, once it is done.
    pub fn report(&self) -> Option<&TestReport> {
        self.testing.report.as_ref()
    }

    /// Train (then test) until `keep_going` says stop (checked between batches) or an epoch ends.
    pub fn step(&mut self, train_file: ImagesRef<'_>, test: ImagesRef<'_>, keep_going: &mut dyn FnMut() -> bool) -> FinalStep {
        if let Some(report) = &self.testing.report {
            return FinalStep::Tested(report.clone());
        }
        if self.trainer.epochs_done() < self.epochs() {
            let data = match &self.subset {
                Some(subset) => TrainingData::subset(train_file, subset, None),
                None => TrainingData::new(train_file, None),
            };
            return match self.trainer.train_slice(data, keep_going) {
                Ok(Slice::Training { batches_done, batches }) => {
                    FinalStep::Training { epoch: self.trainer.epochs_done() + 1, batches_done: batches_done as u32, batches: batches as u32 }
                }
                Ok(Slice::EpochDone(report)) => FinalStep::Epoch(report),
                Err(diverged) => FinalStep::Failed(RetrainFailure::Diverged { diverged }),
            };
        }
        self.test(test, keep_going)
    }

    fn test(&mut self, test: ImagesRef<'_>, keep_going: &mut dyn FnMut() -> bool) -> FinalStep {
        if test.is_empty() {
            return FinalStep::Failed(RetrainFailure::NoTestImages);
        }
        let t = &mut self.testing;
        let model = &mut self.trainer.model;
        let mut probabilities = [0.0f32; CLASSES];
        while t.next < test.len() {
            let (start, end) = (t.next, (t.next + EVAL_BATCH).min(test.len()));
            let chunk: Vec<usize> = (start..end).collect();
            model.load_batch(test, &chunk);
            let logits = model.forward(chunk.len(), &mut Pass { training: false, rng: &mut self.rng });
            let labels = &test.labels[start..end];
            let (loss, _) = softmax_cross_entropy(logits, labels, CLASSES, None);
            if !loss.is_finite() {
                return FinalStep::Failed(RetrainFailure::NoTestLoss { loss: loss.to_string() });
            }
            t.loss_sum += loss as f64 * chunk.len() as f64;
            for (row, (&truth, index)) in logits.chunks_exact(CLASSES).zip(labels.iter().zip(start..)) {
                softmax(row, &mut probabilities);
                let predicted = argmax(&probabilities);
                t.confusion[truth as usize * CLASSES + predicted] += 1;
                if predicted != truth as usize {
                    t.misclassified.push(Misclassified { index: index as u32, truth, predicted: predicted as u8, confidence: probabilities[predicted] });
                }
            }
            t.next = end;
            if t.next < test.len() && !keep_going() {
                return FinalStep::Testing { done: t.next as u32, of: test.len() as u32 };
            }
        }
        let n = test.len();
        let correct: u32 = (0..CLASSES).map(|k| t.confusion[k * CLASSES + k]).sum();
        let report = TestReport {
            test_accuracy: correct as f32 / n as f32,
            test_loss: (t.loss_sum / n as f64) as f32,
            train_images: self.train_images,
            epochs: self.trainer.epochs_done(),
            confusion: std::mem::take(&mut t.confusion),
            misclassified: std::mem::take(&mut t.misclassified),
        };
        t.report = Some(report.clone());
        FinalStep::Tested(report)
    }

    /// The ten digits' probabilities for one 28 × 28 image (a prepared drawing).
    pub fn classify(&mut self, image: &[u8]) -> Result<Vec<f32>, String> {
        if image.len() != PIXELS_PER_IMAGE {
            return Err(format!("an image has {PIXELS_PER_IMAGE} pixels, not {}", image.len()));
        }
        let model = &mut self.trainer.model;
        model.load_batch(ImagesRef { pixels: image, labels: &[0] }, &[0]);
        let logits = model.forward(1, &mut Pass { training: false, rng: &mut self.rng });
        let mut probabilities = vec![0.0; CLASSES];
        softmax(logits, &mut probabilities);
        Ok(probabilities)
    }
}

/// Prepare a `width` × `height` canvas of ink as MNIST's digits were, and classify it.
pub fn read_drawing(job: &mut FinalJob, ink: &[u8], width: usize, height: usize) -> Result<Reading, ReadFailure> {
    let prepared = drawn_digit::prepare(ink, width, height).map_err(|e| match e {
        drawn_digit::DrawingError::Blank => ReadFailure::Blank,
        drawn_digit::DrawingError::TooSmall(_) => ReadFailure::TooSmall,
        other => ReadFailure::Other(other.to_string()),
    })?;
    let probabilities = job.classify(&prepared).map_err(ReadFailure::Other)?;
    Ok(Reading { prepared, probabilities })
}

/// The page's retrainings, in the order asked for: one runs at a time in the final worker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Retrainings {
    pub list: Vec<Retraining>,
    next_id: u32,
}

/// One method's best trial retrained and tested, and where that stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Retraining {
    /// The model's id in the final worker.
    pub id: u32,
    pub method: &'static str,
    pub trial: TrialRef,
    /// Its validation accuracy in the race.
    pub validation: f64,
    pub request: RetrainRequest,
    pub state: RetrainState,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RetrainState {
    Queued,
    /// Sent to the worker; where it stands once the worker has said.
    Running(Option<RetrainProgress>),
    Tested(TestReport),
    Failed(RetrainFailure),
    /// The final worker was lost before it answered.
    Lost(Fault),
}

impl Retrainings {
    /// Queue each candidate's retraining on `images` of the training file; returns their ids.
    /// A candidate already queued, running or tested on as many images is not queued again.
    pub fn enqueue(&mut self, candidates: &[Candidate], images: u32) -> Vec<u32> {
        let mut ids = Vec::new();
        for c in candidates {
            let known = self
                .list
                .iter()
                .find(|r| r.trial == c.trial && r.request.images == images && !matches!(r.state, RetrainState::Failed(_) | RetrainState::Lost(_)));
            if let Some(r) = known {
                ids.push(r.id);
                continue;
            }
            let id = self.next_id;
            self.next_id += 1;
            let request = RetrainRequest { config: c.config.clone(), images, seed: c.seed };
            self.list.push(Retraining { id, method: c.method, trial: c.trial, validation: c.score, request, state: RetrainState::Queued });
            ids.push(id);
        }
        ids
    }

    /// The next retraining to send, if none is running; it is marked running.
    pub fn start_next(&mut self) -> Option<(u32, RetrainRequest)> {
        if self.list.iter().any(|r| matches!(r.state, RetrainState::Running(_))) {
            return None;
        }
        let next = self.list.iter_mut().find(|r| r.state == RetrainState::Queued)?;
        next.state = RetrainState::Running(None);
        Some((next.id, next.request.clone()))
    }

    pub fn get(&self, id: u32) -> Option<&Retraining> {
        self.list.iter().find(|r| r.id == id)
    }

    /// Progress from the worker (ignored unless `id` is running).
    pub fn on_progress(&mut self, id: u32, progress: RetrainProgress) {
        if let Some(r) = self.list.iter_mut().find(|r| r.id == id && matches!(r.state, RetrainState::Running(_))) {
            r.state = RetrainState::Running(Some(progress));
        }
    }

    /// The worker's result for `id`.
    pub fn on_result(&mut self, id: u32, result: Result<TestReport, RetrainFailure>) {
        if let Some(r) = self.list.iter_mut().find(|r| r.id == id && matches!(r.state, RetrainState::Running(_))) {
            r.state = match result {
                Ok(report) => RetrainState::Tested(report),
                Err(why) => RetrainState::Failed(why),
            };
        }
    }

    /// The final worker was lost: what it was running and what waited fail with `reason`, and the
    /// networks it kept are gone (their results stay, but drawings need a new retraining).
    pub fn on_worker_lost(&mut self, fault: &Fault) {
        for r in &mut self.list {
            if matches!(r.state, RetrainState::Queued | RetrainState::Running(_)) {
                r.state = RetrainState::Lost(fault.clone());
            }
        }
    }

    pub fn busy(&self) -> bool {
        self.list.iter().any(|r| matches!(r.state, RetrainState::Queued | RetrainState::Running(_)))
    }
}

/// Retrain and test in one go (the command line), calling `on_epoch` after each epoch; it
/// returns `false` to stop.
pub fn retrain_and_test(
    request: &RetrainRequest,
    train_file: ImagesRef<'_>,
    test: ImagesRef<'_>,
    on_epoch: &mut dyn FnMut(&EpochReport) -> bool,
) -> Result<(TestReport, FinalJob), RetrainFailure> {
    let mut job = FinalJob::start(request, train_file)?;
    loop {
        match job.step(train_file, test, &mut || true) {
            FinalStep::Epoch(report) => {
                if !on_epoch(&report) {
                    return Err(RetrainFailure::Stopped { epoch: report.epoch });
                }
            }
            FinalStep::Tested(report) => return Ok((report, job)),
            FinalStep::Failed(why) => return Err(why),
            FinalStep::Training { .. } | FinalStep::Testing { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::TrainConfig;

    /// Two classes told apart by which half of the image is lit.
    fn halves(n: usize) -> (Vec<u8>, Vec<u8>) {
        let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
        let pixels = labels.iter().flat_map(|&l| (0..784).map(move |p| if (p / 392) as u8 == l { 200 } else { 10 })).collect();
        (pixels, labels)
    }

    fn request(epochs: u32, images: u32) -> RetrainRequest {
        let config = TrainConfig { epochs, batch_size: 16, conv_layers: 1, conv_filters: vec![2], dense_units: 0, ..Default::default() };
        RetrainRequest { config, images, seed: 3 }
    }

    #[test]
    fn retraining_on_the_training_file_is_measured_on_the_test_images() {
        let (train_pixels, train_labels) = halves(120);
        let (test_pixels, test_labels) = halves(40);
        let (train, test) = (ImagesRef { pixels: &train_pixels, labels: &train_labels }, ImagesRef { pixels: &test_pixels, labels: &test_labels });
        let mut epochs = 0;
        let (report, mut job) = retrain_and_test(&request(2, 120), train, test, &mut |_| {
            epochs += 1;
            true
        })
        .unwrap();
        assert_eq!((report.train_images, report.epochs, epochs, report.images_tested()), (120, 2, 2, 40));
        assert!(report.test_accuracy > 0.9, "{report:?}");
        // The matrix, the accuracy and the gallery tell the same story.
        let wrong = report.misclassified.len() as u32;
        assert_eq!(report.count(0, 0) + report.count(1, 1), 40 - wrong);
        assert!(report.misclassified.iter().all(|m| m.truth != m.predicted && test_labels[m.index as usize] == m.truth && m.confidence >= 0.5));
        // The kept network reads an image lit in its top half as a 0.
        let top: Vec<u8> = (0..784).map(|p| if p < 392 { 200 } else { 10 }).collect();
        let p = job.classify(&top).unwrap();
        assert!(p[0] > 0.5 && (p.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{p:?}");
        assert!(job.classify(&top[..100]).is_err());
        let stopped = retrain_and_test(&request(2, 120), train, test, &mut |_| false);
        assert_eq!(stopped.err().unwrap(), RetrainFailure::Stopped { epoch: 1 });
    }

    #[test]
    fn slices_of_any_length_give_the_same_report() {
        let (train_pixels, train_labels) = halves(200);
        let (test_pixels, test_labels) = halves(150);
        let (train, test) = (ImagesRef { pixels: &train_pixels, labels: &train_labels }, ImagesRef { pixels: &test_pixels, labels: &test_labels });
        // A stratified half of the training images.
        let (whole, _) = retrain_and_test(&request(1, 100), train, test, &mut |_| true).unwrap();
        assert_eq!(whole.train_images, 100);
        let mut job = FinalJob::start(&request(1, 100), train).unwrap();
        let mut testing_slices = 0;
        let report = loop {
            let mut left = 2;
            match job.step(train, test, &mut || {
                left -= 1;
                left > 0
            }) {
                FinalStep::Tested(report) => break report,
                FinalStep::Testing { done, of } => {
                    assert!(done < of && of == 150);
                    testing_slices += 1;
                }
                FinalStep::Failed(why) => panic!("{why}"),
                _ => {}
            }
        };
        assert_eq!(report, whole);
        assert!(testing_slices > 0);
    }

    #[test]
    fn retrainings_run_one_at_a_time_in_the_order_asked() {
        let candidate =
            |trial: usize, score: f64| Candidate { trial: TrialRef { study: trial, trial }, method: "grid", score, config: TrainConfig::default(), seed: 4 };
        let mut list = Retrainings::default();
        assert_eq!(list.enqueue(&[candidate(0, 0.9), candidate(1, 0.8)], 10_000), vec![0, 1]);
        assert_eq!(list.enqueue(&[candidate(0, 0.9)], 10_000), vec![0], "already queued");
        let (id, request) = list.start_next().unwrap();
        assert_eq!((id, request.images, request.seed), (0, 10_000, 4));
        assert_eq!(list.start_next(), None, "one at a time");
        list.on_progress(1, RetrainProgress::Testing { done: 1, of: 2 });
        assert_eq!(list.get(1).unwrap().state, RetrainState::Queued, "progress for a retraining not running is stale");
        let diverged = RetrainFailure::Diverged { diverged: crate::nn::train::Diverged { epoch: 1, batch: 3, loss: "NaN".into() } };
        list.on_result(0, Err(diverged.clone()));
        assert_eq!(list.get(0).unwrap().state, RetrainState::Failed(diverged));
        assert_eq!(list.start_next().unwrap().0, 1);
        list.on_worker_lost(&Fault::Error(Some("it crashed".into())));
        assert!(matches!(&list.get(1).unwrap().state, RetrainState::Lost(why) if why.to_string().contains("it crashed")));
        assert!(!list.busy());
        assert_eq!(list.enqueue(&[candidate(0, 0.9)], 10_000), vec![2], "a failed one may be asked again");
    }

    #[test]
    fn bad_requests_are_refused_with_a_sentence() {
        let (pixels, labels) = halves(20);
        let train = ImagesRef { pixels: &pixels, labels: &labels };
        assert!(FinalJob::start(&request(1, 0), train).err().unwrap().to_string().contains("1 to 60000"));
        let mut bad = request(1, 20);
        bad.config.learning_rate = -1.0;
        assert!(FinalJob::start(&bad, train).err().unwrap().to_string().starts_with("invalid configuration"));
    }

    #[test]
    fn a_diverging_retraining_fails_with_a_sentence() {
        let (pixels, labels) = halves(64);
        let images = ImagesRef { pixels: &pixels, labels: &labels };
        let mut huge = request(3, 64);
        huge.config.learning_rate = 10.0;
        let failed = retrain_and_test(&huge, images, images, &mut |_| true).err().unwrap();
        assert!(matches!(failed, RetrainFailure::Diverged { .. } | RetrainFailure::NoTestLoss { .. }), "{failed}");
    }
}
