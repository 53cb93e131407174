//! A race rebuilt from how its trials' segments ended, without training anything: the studies
//! are made again from the setup and asked as the live race asked them, and each request with a
//! recorded end is told that end instead of going to a worker. Because a method proposes only
//! from the results of its finished rounds, in trial order, the rebuilt studies propose the
//! same trials and hold the same state as the race did — so a record can be opened with every
//! view working, and a race interrupted by a reload can go on to the result it would have
//! reached (the requests left over are what it still has to train).
//!
//! A segment is one request's worth of training: a whole trial, or one stretch between a
//! Hyperband rung or a PBT interval and the next.

use super::live::LiveExperiment;
use super::race::{FieldError, RaceSetup};
use crate::nn::EpochReport;
use crate::protocol::TrainRequest;
use crate::scheduler::{Event, JobEnd, TrialRef};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// How one request ended, with what it reported on the way. (A paused end's checkpoint is not
/// in its serialized form: it travels beside it, as on the wire.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Every epoch it reported, with its fold (0 under hold-out).
    pub epochs: Vec<(u32, EpochReport)>,
    pub end: JobEnd,
    /// Clock (ms) when it started and ended, as the trial's times.
    pub started_ms: f64,
    pub finished_ms: f64,
}

/// Each trial's segments, in the order they ran (none, for a trial that was asked but had not
/// finished a segment).
pub type Segments = BTreeMap<TrialRef, VecDeque<Segment>>;

/// What to do with a study whose recorded segments are all told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Afterwards {
    /// Let it ask on: its requests are left for the workers (a race that goes on).
    GoOn,
    /// Stop it once every trial listed for it has been asked (a record opened to be looked at:
    /// it asks nothing it did not ask then).
    Stop,
}

/// A rebuilt race, and the requests it has left for the workers.
pub struct Replayed {
    pub live: LiveExperiment,
    pub studies: Vec<usize>,
    pub pending: Vec<(TrialRef, TrainRequest)>,
}

/// Why a race cannot be rebuilt.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplayError {
    #[error("the setup cannot run: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Setup(Vec<FieldError>),
    /// Segments recorded for a trial the methods never asked for (study, trial id).
    #[error("trial {} of study {} was never proposed by its method from this setup", .0.trial, .0.study)]
    NeverAsked(TrialRef),
}

/// Rebuild `setup`'s race, telling each request the next of its trial's `segments`.
pub fn replay(setup: RaceSetup, mut segments: Segments, afterwards: Afterwards) -> Result<Replayed, ReplayError> {
    let mut live = LiveExperiment::default();
    let studies = live.add_race(setup).map_err(ReplayError::Setup)?;
    let mut pending = Vec::new();
    loop {
        if afterwards == Afterwards::Stop {
            for &study in &studies {
                // A trial listed with no segments left still has to be asked (it was running).
                if segments.iter().filter(|(t, _)| t.study == study).all(|(t, s)| s.is_empty() && live.run(*t).is_some()) {
                    live.stop_study(study);
                }
            }
        }
        let mut told = false;
        for (trial, request) in live.next_requests() {
            match segments.get_mut(&trial).and_then(VecDeque::pop_front) {
                Some(segment) => {
                    tell(&mut live, trial, segment);
                    told = true;
                }
                None => pending.push((trial, request)),
            }
        }
        if !told {
            break;
        }
    }
    if let Some((&trial, _)) = segments.iter().find(|(_, s)| !s.is_empty()) {
        return Err(ReplayError::NeverAsked(trial));
    }
    Ok(Replayed { live, studies, pending })
}

/// Tell `live` a segment as the scheduler would have: started, its epochs, its end.
fn tell(live: &mut LiveExperiment, trial: TrialRef, segment: Segment) {
    live.on_event(&Event::Started { trial, attempt: 1, slot: 0 }, segment.started_ms);
    for (fold, report) in segment.epochs {
        live.on_event(&Event::Epoch { trial, fold, report }, segment.started_ms);
    }
    live.on_event(&Event::Ended { trial, end: segment.end }, segment.finished_ms);
}
