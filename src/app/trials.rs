//! The page's record of trials: what was asked, where it runs, each epoch as it arrives, and how
//! it ended. Updated only from pool events.

use tunelab::nn::EpochReport;
use tunelab::protocol::{TrainRequest, TrialEnd, TrialKey};

#[derive(Debug, Clone, PartialEq)]
pub enum TrialState {
    Queued,
    Running { worker: usize },
    Completed { validation_accuracy: f32 },
    Diverged(String),
    Failed(String),
    Cancelled,
}

impl TrialState {
    pub fn is_finished(&self) -> bool {
        !matches!(self, Self::Queued | Self::Running { .. })
    }
    /// One word for styling and tests.
    pub fn tag(&self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running { .. } => "running",
            Self::Completed { .. } => "completed",
            Self::Diverged(_) => "diverged",
            Self::Failed(_) => "failed",
            Self::Cancelled => "cancelled",
        }
    }
    pub fn describe(&self) -> String {
        match self {
            Self::Queued => "waiting for a free worker".into(),
            Self::Running { worker } => format!("training in worker {}", worker + 1),
            Self::Completed { validation_accuracy } => format!("done: validation accuracy {}", super::format::percent(*validation_accuracy)),
            Self::Diverged(why) => format!("diverged — {why}"),
            Self::Failed(why) => format!("failed — {why}"),
            Self::Cancelled => "cancelled".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrialRecord {
    pub key: TrialKey,
    pub request: TrainRequest,
    pub state: TrialState,
    pub epochs: Vec<EpochReport>,
    /// Milliseconds since the page loaded, when training started and ended.
    pub started_ms: Option<f64>,
    pub finished_ms: Option<f64>,
}

impl TrialRecord {
    pub fn new(key: TrialKey, request: TrainRequest) -> Self {
        Self { key, request, state: TrialState::Queued, epochs: Vec::new(), started_ms: None, finished_ms: None }
    }

    pub fn finish(&mut self, end: TrialEnd, now_ms: f64) {
        self.state = match end {
            TrialEnd::Completed { validation_accuracy, .. } => TrialState::Completed { validation_accuracy },
            TrialEnd::Diverged { diverged } => TrialState::Diverged(diverged.to_string()),
            TrialEnd::Rejected { reason } => TrialState::Failed(reason),
        };
        self.finished_ms = Some(now_ms);
    }

    /// Seconds spent training so far (or in all, once finished).
    pub fn seconds(&self, now_ms: f64) -> Option<f64> {
        self.started_ms.map(|s| (self.finished_ms.unwrap_or(now_ms) - s) / 1000.0)
    }
}
