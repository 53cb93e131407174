//! The watchdog: a worker that is training and says nothing for too long has hung (an endless
//! loop, a browser that stopped its thread) and is treated like one that crashed — replaced, the
//! race going on — except that its trial is not tried again: the same request would most likely
//! hang again, and a second wait would cost the class as long again.
//!
//! A training web worker speaks every quarter of a second between batches, and after every
//! validation pass. How long it may stay silent is scaled to what its trial does, at the speed its
//! own worker measured when its data arrived (`Calibration`): `factor` times one batch and the
//! largest validation pass of this network, and never less than `floor_ms`.
//!
//! A page that was not running (a laptop's lid closed, a hidden tab's timers held back) wakes
//! late; its workers were frozen with it. When the check comes more than `late_ms` after it was
//! due, the silence is not the worker's: the watch starts again.
//!
//! The command line's threads speak only once an epoch and cannot be stopped mid-batch, so the
//! native race runs without a watchdog (`SchedulerConfig::watchdog` is None there).

#![forbid(unsafe_code)]

use crate::data::validation::{CrossValidation, TrainingSet, TRAINING_FILE_IMAGES, TRAINING_SPLIT_IMAGES};
use crate::nn::bench::Calibration;
use crate::nn::TrainConfig;
use crate::protocol::TrainRequest;

/// The watchdog's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Watchdog {
    /// The shortest silence taken for a hang.
    pub floor_ms: f64,
    /// How many times one batch and one validation pass a worker may stay silent.
    pub factor: f64,
    /// The limit when the worker measured no speed.
    pub uncalibrated_ms: f64,
    /// A check this late means the page itself was not running.
    pub late_ms: f64,
}

impl Default for Watchdog {
    fn default() -> Self {
        Self { floor_ms: 20_000.0, factor: 10.0, uncalibrated_ms: 120_000.0, late_ms: 10_000.0 }
    }
}

impl Watchdog {
    /// How long a worker training `request` may go without a word, at the speed it measured.
    pub fn silence_limit_ms(&self, request: &TrainRequest, calibration: Option<Calibration>) -> f64 {
        let Some(speed) = calibration.filter(|c| c.train_images_per_second > 0.0 && c.score_images_per_second > 0.0) else {
            return self.uncalibrated_ms.max(self.floor_ms);
        };
        // The measured speed is the default network's; another network costs in proportion to
        // its multiply–adds.
        let reference = TrainConfig::default().architecture().forward_macs().max(1) as f64;
        let relative = request.config.architecture().forward_macs() as f64 / reference;
        let batch_ms = request.config.batch_size as f64 * relative / speed.train_images_per_second * 1000.0;
        let scoring_ms = largest_validation_pass(request.data) as f64 * relative / speed.score_images_per_second * 1000.0;
        (self.factor * (batch_ms + scoring_ms)).max(self.floor_ms)
    }
}

/// The most images one validation pass of a trial on `data` scores at once: the validation
/// split under hold-out, one fold under k-fold.
fn largest_validation_pass(data: TrainingSet) -> u32 {
    match data.validation {
        CrossValidation::Holdout => TRAINING_FILE_IMAGES - TRAINING_SPLIT_IMAGES,
        CrossValidation::KFold { k } => data.images.div_ceil(k.max(1)),
    }
}

/// A training slot's watch: when its worker last spoke, how long it may stay silent, and when
/// the scheduler looks next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Watch {
    pub heard_ms: f64,
    pub limit_ms: f64,
    pub check_at_ms: f64,
}

/// What a check of a watch finds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Verdict {
    /// Not due yet.
    NotDue,
    /// Heard from in time (or the page itself was asleep): look again at `check_at_ms`.
    Again { check_at_ms: f64 },
    /// Silent for `silent_ms`: hung.
    Hung { silent_ms: f64 },
}

impl Watch {
    pub fn new(now_ms: f64, limit_ms: f64) -> Self {
        Self { heard_ms: now_ms, limit_ms, check_at_ms: now_ms + limit_ms }
    }

    pub fn check(&mut self, now_ms: f64, late_ms: f64) -> Verdict {
        if now_ms < self.check_at_ms {
            return Verdict::NotDue;
        }
        if now_ms - self.check_at_ms > late_ms {
            *self = Watch::new(now_ms, self.limit_ms);
            return Verdict::Again { check_at_ms: self.check_at_ms };
        }
        let silent_ms = now_ms - self.heard_ms;
        if silent_ms >= self.limit_ms {
            return Verdict::Hung { silent_ms };
        }
        self.check_at_ms = self.heard_ms + self.limit_ms;
        Verdict::Again { check_at_ms: self.check_at_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(config: TrainConfig, validation: CrossValidation) -> TrainRequest {
        TrainRequest { config, data: TrainingSet { images: 2_000, validation }, seed: 1, stage: Default::default(), checkpoint: None }
    }

    #[test]
    fn the_limit_grows_with_the_network_and_the_validation_pass() {
        let dog = Watchdog::default();
        let slow = Some(Calibration { train_images_per_second: 100.0, score_images_per_second: 300.0 });
        let small = request(TrainConfig::default(), CrossValidation::Holdout);
        // 64 images at 100/s and 10,000 at 300/s: 34.0 s, times 10.
        assert!((dog.silence_limit_ms(&small, slow) - 10.0 * (640.0 + 33_333.3)).abs() < 1.0);
        let wide = request(TrainConfig { dense_units: 1024, conv_filters: vec![64, 128], ..TrainConfig::default() }, CrossValidation::Holdout);
        assert!(dog.silence_limit_ms(&wide, slow) > dog.silence_limit_ms(&small, slow));
        // A fold of 2,000 / 5 images is a shorter pass than the 10,000 validation images.
        let folds = request(TrainConfig::default(), CrossValidation::KFold { k: 5 });
        assert!(dog.silence_limit_ms(&folds, slow) < dog.silence_limit_ms(&small, slow));
        // A fast worker still gets the floor; one that measured nothing, the generous limit.
        let fast = Some(Calibration { train_images_per_second: 1e6, score_images_per_second: 1e6 });
        assert_eq!(dog.silence_limit_ms(&small, fast), dog.floor_ms);
        assert_eq!(dog.silence_limit_ms(&small, None), dog.uncalibrated_ms);
    }

    #[test]
    fn a_watch_waits_for_silence_and_forgives_a_page_that_slept() {
        let mut watch = Watch::new(1_000.0, 20_000.0);
        assert_eq!(watch.check(5_000.0, 10_000.0), Verdict::NotDue);
        // Heard at 15 s: at 21 s it is not yet silent for 20 s; look again at 35 s.
        watch.heard_ms = 15_000.0;
        assert_eq!(watch.check(21_000.0, 10_000.0), Verdict::Again { check_at_ms: 35_000.0 });
        assert_eq!(watch.check(35_000.0, 10_000.0), Verdict::Hung { silent_ms: 20_000.0 });
        // The check came 5 minutes late: the page slept, so the watch starts again.
        let mut watch = Watch::new(1_000.0, 20_000.0);
        assert_eq!(watch.check(321_000.0, 10_000.0), Verdict::Again { check_at_ms: 341_000.0 });
        assert_eq!(watch.heard_ms, 321_000.0);
    }
}
