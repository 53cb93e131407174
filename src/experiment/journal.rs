//! The journal: a race written down as it happens, so that a reload, a crash or a closed tab
//! loses at most the event being written. Its first entry is the race's setup; then one entry
//! each time a segment of a trial ends (a whole trial, or a stretch up to a Hyperband rung or a
//! PBT interval, its checkpoint beside it); and one if the race was cancelled. That is all a
//! race needs to be rebuilt: `restore` replays the entries through `replay`, so the studies
//! propose what they proposed, and the requests left over — the trials that were training when
//! the page went — train again from where their segment started, to the result the race would
//! have reached uninterrupted.
//!
//! On disk (the page keeps one entry per IndexedDB value; the entries laid end to end are the
//! journal) each entry is a frame:
//!
//! ```text
//! length u32 LE | CRC-32 of the body u32 LE | body: JSON length u32 LE, JSON, checkpoint bytes
//! ```
//!
//! Reading stops at the first frame that is cut short or whose checksum fails: a journal cut at
//! any byte gives back every entry before the cut, whole, and nothing else.

use super::live::{LiveExperiment, RaceState};
use super::race::RaceSetup;
use super::replay::{replay, Afterwards, ReplayError, Segment, Segments};
use crate::protocol::{TrainRequest, TrialEnd};
use crate::scheduler::{JobEnd, TrialRef};
use serde::{Deserialize, Serialize};

/// The journal's format version, in its first entry.
pub const JOURNAL_VERSION: u32 = 1;
/// Bytes before a frame's body: its length and checksum.
const FRAME_HEAD: usize = 8;
/// No entry is larger (a checkpoint of the largest network is a few megabytes).
const MAX_ENTRY_BYTES: usize = 256 << 20;

/// One entry of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum Entry {
    /// The race, before any trial: what it runs and on how many workers, and when it started
    /// (ms since 1970, UTC).
    Race { version: u32, setup: RaceSetup, workers: usize, started_unix_ms: f64 },
    /// A segment of a trial ended.
    Segment { trial: TrialRef, segment: Segment },
    /// The race was cancelled: the trials training then were interrupted, and it asks no more.
    Cancelled,
}

/// An entry as a frame; a paused segment's checkpoint goes beside its JSON.
pub fn encode(entry: &Entry) -> Vec<u8> {
    let checkpoint: &[u8] = match entry {
        Entry::Segment { segment: Segment { end: JobEnd::Finished(TrialEnd::Paused { checkpoint, .. }), .. }, .. } => checkpoint,
        _ => &[],
    };
    let json = serde_json::to_vec(entry).expect("journal entries serialize");
    let mut body = Vec::with_capacity(4 + json.len() + checkpoint.len());
    body.extend_from_slice(&(json.len() as u32).to_le_bytes());
    body.extend_from_slice(&json);
    body.extend_from_slice(checkpoint);
    let mut frame = Vec::with_capacity(FRAME_HEAD + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    frame.extend_from_slice(&body);
    frame
}

/// A journal as read: its whole entries, and what was left unread after them.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    pub entries: Vec<Entry>,
    /// Bytes after the last whole entry (a frame torn by the end of the journal, or damaged),
    /// with why they were not read.
    pub left: Option<(usize, Torn)>,
}

/// Why the rest of a journal was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Torn {
    /// The last frame is cut short.
    Cut,
    /// A frame's checksum or length is wrong.
    Damaged,
    /// A frame is whole but its entry is not one this version reads.
    Unreadable,
}

/// Read `bytes` up to the first frame that is not whole and sound.
pub fn read(bytes: &[u8]) -> Read {
    let mut entries = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let left = |why| Some((bytes.len() - at, why));
        let Some(head) = bytes.get(at..at + FRAME_HEAD) else { return Read { entries, left: left(Torn::Cut) } };
        let length = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if !(4..=MAX_ENTRY_BYTES).contains(&length) {
            return Read { entries, left: left(Torn::Damaged) };
        }
        let Some(body) = bytes.get(at + FRAME_HEAD..at + FRAME_HEAD + length) else { return Read { entries, left: left(Torn::Cut) } };
        if crc32fast::hash(body) != crc {
            return Read { entries, left: left(Torn::Damaged) };
        }
        match decode_body(body) {
            Some(entry) => entries.push(entry),
            None => return Read { entries, left: left(Torn::Unreadable) },
        }
        at += FRAME_HEAD + length;
    }
    Read { entries, left: None }
}

fn decode_body(body: &[u8]) -> Option<Entry> {
    let json_len = u32::from_le_bytes(body.get(..4)?.try_into().ok()?) as usize;
    let json = body.get(4..4 + json_len)?;
    let rest = &body[4 + json_len..];
    let mut entry: Entry = serde_json::from_slice(json).ok()?;
    match &mut entry {
        Entry::Segment { segment: Segment { end: JobEnd::Finished(TrialEnd::Paused { checkpoint, .. }), .. }, .. } => *checkpoint = rest.to_vec(),
        _ if !rest.is_empty() => return None,
        _ => {}
    }
    Some(entry)
}

/// The entry for the segment of `trial` that just ended with `end`, once `live` has been told.
/// Its times are written as wall-clock times (ms since 1970): `clock_zero_unix_ms` is when the
/// live experiment's clock read 0.
pub fn segment_entry(live: &LiveExperiment, trial: TrialRef, end: &JobEnd, clock_zero_unix_ms: f64) -> Option<Entry> {
    let run = live.run(trial)?;
    let finished_ms = run.finished_ms?;
    let epochs = run.epochs.iter().filter(|(_, e)| e.epoch > run.segment_from).cloned().collect();
    let started_ms = run.started_ms.unwrap_or(finished_ms);
    let segment = Segment { epochs, end: end.clone(), started_ms: started_ms + clock_zero_unix_ms, finished_ms: finished_ms + clock_zero_unix_ms };
    Some(Entry::Segment { trial, segment })
}

/// A race as the list of past experiments shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The journal's name in the page's storage.
    pub id: String,
    /// When the race started (ms since 1970, UTC).
    pub started_unix_ms: f64,
    pub methods: Vec<String>,
    pub budget_epochs: u32,
    pub images: u32,
    /// Trials finished, of the trials asked so far.
    pub finished: usize,
    pub trials: usize,
    pub standing: Standing,
}

/// Whether a race has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// It has trials left: it can be continued.
    Unfinished,
    Done,
    Cancelled,
}

impl Summary {
    /// The summary of the race in `live` (None without a race).
    pub fn of(id: &str, started_unix_ms: f64, live: &LiveExperiment) -> Option<Self> {
        let race = live.race()?;
        let standing = match live.race_state()? {
            RaceState::Done => Standing::Done,
            RaceState::Cancelled => Standing::Cancelled,
            RaceState::Running | RaceState::Paused => Standing::Unfinished,
        };
        let runs: Vec<_> = live.runs().filter(|r| race.studies.contains(&r.trial.study)).collect();
        Some(Self {
            id: id.to_string(),
            started_unix_ms,
            methods: race.setup.methods.clone(),
            budget_epochs: race.setup.budget_epochs,
            images: race.setup.data.images,
            finished: runs.iter().filter(|r| r.state.is_finished()).count(),
            trials: runs.len(),
            standing,
        })
    }
}

/// A race rebuilt from its journal.
pub struct Restored {
    pub setup: RaceSetup,
    pub workers: usize,
    pub started_unix_ms: f64,
    pub live: LiveExperiment,
    /// What is left to train (the trials training when the journal ended first), unless it was
    /// cancelled or is done.
    pub pending: Vec<(TrialRef, TrainRequest)>,
    pub cancelled: bool,
    /// Segments told.
    pub segments: usize,
    /// What was left unread at the journal's end.
    pub left: Option<(usize, Torn)>,
}

/// Why a journal cannot be restored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RestoreError {
    #[error("the journal does not begin with its race")]
    NoRace,
    #[error("the journal is version {0}; this page reads version {JOURNAL_VERSION}")]
    Version(u32),
    #[error("the journal's race cannot be rebuilt: {0}")]
    Replay(#[from] ReplayError),
}

/// Rebuild the race `bytes` wrote down: every finished segment told, the race cancelled if it
/// was, and the requests left for the workers. The trials' times are put on a clock that reads 0
/// at `clock_zero_unix_ms` (the restoring page's).
pub fn restore(bytes: &[u8], clock_zero_unix_ms: f64) -> Result<Restored, RestoreError> {
    let Read { entries, left } = read(bytes);
    let mut entries = entries.into_iter();
    let Some(Entry::Race { version, setup, workers, started_unix_ms }) = entries.next() else { return Err(RestoreError::NoRace) };
    if version != JOURNAL_VERSION {
        return Err(RestoreError::Version(version));
    }
    let mut segments = Segments::new();
    let mut told = 0;
    let mut cancelled = false;
    for entry in entries {
        match entry {
            Entry::Segment { trial, mut segment } => {
                segment.started_ms -= clock_zero_unix_ms;
                segment.finished_ms -= clock_zero_unix_ms;
                segments.entry(trial).or_default().push_back(segment);
                told += 1;
            }
            Entry::Cancelled => cancelled = true,
            // A second race in one journal is not one this page writes: the rest is ignored.
            Entry::Race { .. } => break,
        }
    }
    let afterwards = if cancelled { Afterwards::Stop } else { Afterwards::GoOn };
    let mut replayed = replay(setup.clone(), segments, afterwards)?;
    let mut pending = replayed.pending;
    if cancelled {
        replayed.live.cancel_race();
        pending.clear();
    }
    Ok(Restored { setup, workers, started_unix_ms, live: replayed.live, pending, cancelled, segments: told, left })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::record::RaceRecord;
    use crate::experiment::small_race;
    use crate::experiment::threads::{run_live, RaceRun};
    use crate::scheduler::Event;
    use std::sync::Arc;

    /// A small race on two threads, its journal written as the page writes it, and its record.
    fn journaled_race(methods: &[&str]) -> (Vec<Vec<u8>>, RaceRecord, RaceSetup) {
        let (setup, data) = small_race(methods, crate::data::CrossValidation::Holdout, false);
        let mut frames = vec![encode(&Entry::Race { version: JOURNAL_VERSION, setup: setup.clone(), workers: 2, started_unix_ms: 0.0 })];
        let mut live = LiveExperiment::default();
        live.add_race(setup.clone()).unwrap();
        let run = run_live(live, Vec::new(), Arc::clone(&data), 2, &mut |live, event| {
            if let Event::Ended { trial, end } = event {
                frames.push(encode(&segment_entry(live, *trial, end, 0.0).unwrap()));
            }
        });
        let RaceRun { live, no_workers } = run;
        assert!(no_workers.is_none());
        (frames, RaceRecord::of(&live, 2).unwrap(), setup)
    }

    /// The record's trials without their times (which differ from run to run).
    fn timeless(record: &RaceRecord) -> String {
        let mut value = serde_json::to_value(record).unwrap();
        for study in value["studies"].as_array_mut().unwrap() {
            for trial in study["trials"].as_array_mut().unwrap() {
                let trial = trial.as_object_mut().unwrap();
                trial.remove("seconds");
                trial.remove("started");
            }
        }
        value["workers"] = 0.into();
        value.to_string()
    }

    #[test]
    fn a_race_cut_anywhere_resumes_to_the_uninterrupted_result() {
        // Hyperband pauses trials at its rungs, with checkpoints; TPE and random do not.
        let (frames, whole, setup) = journaled_race(&["hyperband", "tpe", "random"]);
        assert!(frames.len() > 6, "{}", frames.len());
        let (_, data) = small_race(&["random"], crate::data::CrossValidation::Holdout, false);
        for cut in [1, 2, frames.len() / 2, frames.len() - 1, frames.len()] {
            let journal: Vec<u8> = frames[..cut].concat();
            let restored = restore(&journal, 0.0).unwrap();
            assert_eq!((restored.segments, restored.left, restored.cancelled), (cut - 1, None, false));
            assert_eq!(restored.setup, setup);
            // The trials it had not heard the end of train again, and the race ends as it did.
            let run = run_live(restored.live, restored.pending, Arc::clone(&data), 3, &mut |_, _| {});
            assert_eq!(timeless(&RaceRecord::of(&run.live, 2).unwrap()), timeless(&whole), "cut after {cut} entries");
        }
    }

    #[test]
    fn truncation_at_every_byte_loses_at_most_the_torn_last_entry() {
        let (frames, _, _) = journaled_race(&["hyperband", "random"]);
        let journal: Vec<u8> = frames.concat();
        let ends: Vec<usize> = frames
            .iter()
            .scan(0, |at, f| {
                *at += f.len();
                Some(*at)
            })
            .collect();
        for cut in 0..=journal.len() {
            let read = read(&journal[..cut]);
            let whole = ends.iter().filter(|&&end| end <= cut).count();
            assert_eq!(read.entries.len(), whole, "cut at byte {cut}");
            let torn = cut - ends.get(whole.wrapping_sub(1)).copied().unwrap_or(0);
            assert_eq!(read.left.map(|(n, _)| n), (torn > 0).then_some(torn), "cut at byte {cut}");
            // Rebuilding replays every method, so it is checked around each frame's end and
            // at every 97th byte; reading is checked at every byte.
            if ends.iter().any(|&end| cut.abs_diff(end) <= 2) || cut % 97 == 0 {
                match restore(&journal[..cut], 0.0) {
                    Ok(restored) => assert_eq!(restored.segments, whole - 1),
                    Err(e) => assert_eq!((e, whole), (RestoreError::NoRace, 0)),
                }
            }
        }
    }

    #[test]
    fn damaged_or_arbitrary_bytes_never_panic_and_keep_what_came_before() {
        use crate::rng::{below, rng_for};
        use rand::RngCore;
        let (frames, _, _) = journaled_race(&["random"]);
        let journal: Vec<u8> = frames.concat();
        // A flipped byte in the third entry: the first two are kept, the rest is damaged.
        let mut damaged = journal.clone();
        let third = frames[0].len() + frames[1].len();
        damaged[third + 12] ^= 0x20;
        let read_back = read(&damaged);
        assert_eq!(read_back.entries.len(), 2);
        assert_eq!(read_back.left, Some((journal.len() - third, Torn::Damaged)));
        let mut rng = rng_for(16, 0);
        for _ in 0..2_000 {
            let mut bytes = journal.clone();
            for _ in 0..1 + below(&mut rng, 4) {
                let at = below(&mut rng, bytes.len());
                bytes[at] = rng.next_u32() as u8;
            }
            let _ = restore(&bytes, 0.0);
            let mut noise = vec![0u8; below(&mut rng, 200)];
            rng.fill_bytes(&mut noise);
            let _ = restore(&noise, 0.0);
        }
    }

    #[test]
    fn a_cancelled_race_restores_cancelled_with_nothing_left_to_train() {
        let (frames, _, _) = journaled_race(&["random", "tpe"]);
        let mut journal: Vec<u8> = frames[..3].concat();
        journal.extend(encode(&Entry::Cancelled));
        let restored = restore(&journal, 0.0).unwrap();
        assert!(restored.cancelled && restored.pending.is_empty());
        assert_eq!(restored.live.race_state(), Some(crate::experiment::live::RaceState::Cancelled));
        // A journal of another version is refused, not misread.
        let (setup, _) = small_race(&["random"], crate::data::CrossValidation::Holdout, false);
        let future = encode(&Entry::Race { version: 9, setup, workers: 1, started_unix_ms: 0.0 });
        assert_eq!(restore(&future, 0.0).err(), Some(RestoreError::Version(9)));
    }
}
