//! A live experiment: studies whose trials train on the scheduler's workers, and what the page
//! shows of each trial while it runs.
//!
//! The studies decide (what to try, in which state a trial is); the scheduler only runs what
//! they hand out, and its events are told back to them here. So the page has one trial model,
//! the study's: a trial is Waiting, Running, Complete, Pruned, Failed (with its reason),
//! Diverged (a result the methods learn from) or Interrupted, and a finished trial never
//! changes. A single configuration is a study of one trial over a space that searches nothing.
//! Beside each trial the page keeps what the study does not need: every epoch's report, the
//! worker and attempt, the crashes it survived, and when it ran.

use super::presets::apply;
use crate::nn::{EpochReport, TrainConfig};
use crate::protocol::{TrainRequest, TrialEnd};
use crate::scheduler::{Event, JobEnd, TrialRef};
use crate::tuning::fixed::ChosenPoints;
use crate::tuning::space::SearchSpace;
use crate::tuning::study::{Direction, Outcome, Study, StudyConfig, TrialState};

/// One trial as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveTrial {
    pub trial: TrialRef,
    /// The configuration it trains (the study's values on the study's base).
    pub config: TrainConfig,
    pub subset_size: u32,
    pub seed: u32,
    /// The study's state of the trial.
    pub state: TrialState,
    /// Validation accuracy, once complete.
    pub score: Option<f64>,
    pub epochs: Vec<EpochReport>,
    /// While an epoch trains: its number (1-based), and its batches done of all.
    pub epoch_progress: Option<(u32, u32, u32)>,
    /// The attempt running or last run (a crash retries a trial once).
    pub attempt: u32,
    /// Why earlier attempts ended (their workers crashed).
    pub crashes: Vec<String>,
    pub worker: Option<usize>,
    /// Page clock (ms), when training started and ended.
    pub started_ms: Option<f64>,
    pub finished_ms: Option<f64>,
}

impl LiveTrial {
    /// Seconds spent training so far (or in all, once finished).
    pub fn seconds(&self, now_ms: f64) -> Option<f64> {
        self.started_ms.map(|s| (self.finished_ms.unwrap_or(now_ms) - s) / 1000.0)
    }

    /// Whether the trial is waiting for a worker or training.
    pub fn is_active(&self) -> bool {
        !self.state.is_finished()
    }
}

struct LiveStudy {
    study: Study,
    base: TrainConfig,
    subset_size: u32,
    seed: u32,
    /// By trial id.
    runs: Vec<LiveTrial>,
}

/// The studies of an experiment, in the order they were added.
#[derive(Default)]
pub struct LiveExperiment {
    studies: Vec<LiveStudy>,
}

impl LiveExperiment {
    /// Add a study of one trial that trains `config` on a stratified subset of `subset_size`
    /// training images with `seed`. Refuses an invalid configuration with the reason.
    pub fn add_single(&mut self, config: TrainConfig, subset_size: u32, seed: u32) -> Result<usize, String> {
        let valid = config.validate().map_err(|e| e.to_string())?;
        let cost = valid.epochs as u64 * subset_size as u64;
        let study_config = StudyConfig { seed: seed as u64, direction: Direction::Maximize, budget: cost, batch_size: 1 };
        let study = Study::new(SearchSpace::nothing(), Box::new(ChosenPoints::single()), study_config, Box::new(move |_| cost));
        self.studies.push(LiveStudy { study, base: config, subset_size, seed, runs: Vec::new() });
        Ok(self.studies.len() - 1)
    }

    /// Every trial the studies can hand out now, as requests for the workers; their runs are
    /// recorded as Running (the study's state once asked), to be started by the scheduler.
    pub fn next_requests(&mut self) -> Vec<(TrialRef, TrainRequest)> {
        let mut out = Vec::new();
        for (index, live) in self.studies.iter_mut().enumerate() {
            for (id, values) in live.study.ask_all() {
                let trial = TrialRef { study: index, trial: id };
                let config = match apply(live.study.space(), &values, &live.base) {
                    Ok(config) => TrainConfig::clone(&config),
                    Err(e) => {
                        live.study.tell(id, Outcome::Failed(e.to_string())).expect("a trial just asked is running");
                        live.runs.push(live_trial(trial, live.base.clone(), live.subset_size, live.seed, &live.study));
                        continue;
                    }
                };
                live.runs.push(live_trial(trial, config.clone(), live.subset_size, live.seed, &live.study));
                out.push((trial, TrainRequest { config, subset_size: live.subset_size, seed: live.seed }));
            }
        }
        out
    }

    /// Tell the studies what the scheduler reported. Returns whether a trial changed.
    pub fn on_event(&mut self, event: &Event, now_ms: f64) -> bool {
        match event {
            Event::Started { trial, attempt, slot } => self.with_run(*trial, |run, _| {
                run.attempt = *attempt;
                run.worker = Some(*slot);
                run.started_ms = Some(now_ms);
            }),
            Event::Progress { trial, epoch, batches_done, batches } => {
                self.with_run(*trial, |run, _| run.epoch_progress = Some((*epoch, *batches_done, *batches)))
            }
            Event::Epoch { trial, report } => self.with_run(*trial, |run, _| {
                run.epochs.push(report.clone());
                run.epoch_progress = None;
            }),
            // The next attempt trains from the start: the lost attempt's epochs go.
            Event::Retrying { trial, attempt, reason } => self.with_run(*trial, |run, _| {
                run.crashes.push(format!("attempt {} lost its worker: {reason}", attempt - 1));
                run.attempt = *attempt;
                run.worker = None;
                run.epochs.clear();
                run.epoch_progress = None;
            }),
            Event::Ended { trial, end } => self.with_run(*trial, |run, study| {
                let outcome = match end {
                    JobEnd::Finished(TrialEnd::Completed { validation_accuracy, .. }) => Outcome::Complete(*validation_accuracy as f64),
                    JobEnd::Finished(TrialEnd::Diverged { diverged }) => Outcome::Diverged(diverged.to_string()),
                    JobEnd::Finished(TrialEnd::Rejected { reason }) => Outcome::Failed(reason.clone()),
                    JobEnd::Finished(TrialEnd::Stopped { .. }) | JobEnd::Cancelled => Outcome::Interrupted,
                    JobEnd::Failed(reason) => Outcome::Failed(reason.clone()),
                };
                // The study hears the finishing attempt's epochs at its end, so an attempt lost
                // to a crash leaves nothing behind. A trial the study already settled (it cannot
                // be told twice) stays as it is.
                for accuracy in run.epochs.iter().filter_map(|e| e.validation_accuracy) {
                    let _ = study.report(trial.trial, accuracy as f64);
                }
                let _ = study.tell(trial.trial, outcome);
                run.finished_ms = Some(now_ms);
                run.worker = None;
                run.epoch_progress = None;
            }),
            Event::Workers | Event::Notice(_) => false,
        }
    }

    /// Every trial of every study, in study then trial order.
    pub fn runs(&self) -> impl Iterator<Item = &LiveTrial> {
        self.studies.iter().flat_map(|s| s.runs.iter())
    }

    pub fn run(&self, trial: TrialRef) -> Option<&LiveTrial> {
        self.studies.get(trial.study)?.runs.get(trial.trial)
    }

    /// Budget each study has reserved or spent, for the scheduler's dispatch.
    pub fn spent(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.studies.iter().enumerate().map(|(i, s)| (i, s.study.spent()))
    }

    /// Apply `f` to a trial's run and its study, then copy the study's state into the run.
    fn with_run(&mut self, trial: TrialRef, f: impl FnOnce(&mut LiveTrial, &mut Study)) -> bool {
        let Some(live) = self.studies.get_mut(trial.study) else { return false };
        let Some(run) = live.runs.get_mut(trial.trial) else { return false };
        f(run, &mut live.study);
        let t = &live.study.trials()[trial.trial];
        run.state = t.state.clone();
        run.score = t.score;
        true
    }
}

/// A trial just handed out by its study, before any worker has it.
fn live_trial(trial: TrialRef, config: TrainConfig, subset_size: u32, seed: u32, study: &Study) -> LiveTrial {
    let t = &study.trials()[trial.trial];
    LiveTrial {
        trial,
        config,
        subset_size,
        seed,
        state: t.state.clone(),
        score: t.score,
        epochs: Vec::new(),
        epoch_progress: None,
        attempt: 1,
        crashes: Vec::new(),
        worker: None,
        started_ms: None,
        finished_ms: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::train::Diverged;

    fn report(epoch: u32, accuracy: f32) -> EpochReport {
        EpochReport {
            epoch,
            learning_rate: 0.01,
            train_loss: 0.5,
            train_accuracy: 0.8,
            validation_loss: Some(0.4),
            validation_accuracy: Some(accuracy),
            images_seen: 2_000 * epoch as u64,
        }
    }

    fn single(epochs: u32) -> (LiveExperiment, TrialRef) {
        let mut lab = LiveExperiment::default();
        let config = TrainConfig { epochs, ..TrainConfig::default() };
        let study = lab.add_single(config.clone(), 2_000, 7).unwrap();
        let requests = lab.next_requests();
        assert_eq!(requests.len(), 1, "a single configuration is a study of one trial");
        assert_eq!(requests[0].1, TrainRequest { config, subset_size: 2_000, seed: 7 });
        assert!(lab.next_requests().is_empty(), "and only one");
        (lab, TrialRef { study, trial: 0 })
    }

    #[test]
    fn a_single_configuration_runs_as_a_study_of_one_trial() {
        let (mut lab, trial) = single(2);
        assert_eq!(lab.run(trial).unwrap().state, TrialState::Running);
        lab.on_event(&Event::Started { trial, attempt: 1, slot: 1 }, 10.0);
        lab.on_event(&Event::Progress { trial, epoch: 1, batches_done: 10, batches: 32 }, 15.0);
        assert_eq!(lab.run(trial).unwrap().epoch_progress, Some((1, 10, 32)));
        lab.on_event(&Event::Epoch { trial, report: report(1, 0.8) }, 20.0);
        assert_eq!(lab.run(trial).unwrap().epoch_progress, None);
        lab.on_event(&Event::Epoch { trial, report: report(2, 0.9) }, 30.0);
        lab.on_event(&Event::Ended { trial, end: JobEnd::Finished(TrialEnd::Completed { validation_accuracy: 0.9, validation_loss: 0.3 }) }, 40.0);
        let run = lab.run(trial).unwrap();
        assert_eq!(run.state, TrialState::Complete);
        assert_eq!(run.score, Some(0.9f32 as f64));
        assert_eq!(run.epochs.len(), 2);
        assert_eq!(run.seconds(1e9), Some(0.03));
        assert_eq!(lab.spent().collect::<Vec<_>>(), vec![(0, 2 * 2_000)]);
    }

    #[test]
    fn each_end_becomes_the_study_state_it_means() {
        let diverged = Diverged { epoch: 2, batch: 17, loss: "NaN".into() };
        let cases = [
            (JobEnd::Cancelled, TrialState::Interrupted),
            (JobEnd::Finished(TrialEnd::Stopped { epochs_done: 1 }), TrialState::Interrupted),
            (JobEnd::Failed("the worker panicked: boom".into()), TrialState::Failed("the worker panicked: boom".into())),
            (JobEnd::Finished(TrialEnd::Rejected { reason: "invalid".into() }), TrialState::Failed("invalid".into())),
            (JobEnd::Finished(TrialEnd::Diverged { diverged: diverged.clone() }), TrialState::Diverged(diverged.to_string())),
        ];
        for (end, state) in cases {
            let (mut lab, trial) = single(3);
            assert!(lab.on_event(&Event::Ended { trial, end }, 1.0));
            assert_eq!(lab.run(trial).unwrap().state, state);
            // A finished trial never changes, whatever arrives late.
            lab.on_event(&Event::Ended { trial, end: JobEnd::Finished(TrialEnd::Completed { validation_accuracy: 0.99, validation_loss: 0.0 }) }, 2.0);
            assert_eq!(lab.run(trial).unwrap().state, state);
            assert_eq!(lab.run(trial).unwrap().score, None);
        }
    }

    #[test]
    fn a_crash_and_retry_are_recorded_on_the_trial_and_only_the_last_attempt_counts() {
        let (mut lab, trial) = single(2);
        lab.on_event(&Event::Started { trial, attempt: 1, slot: 0 }, 0.0);
        lab.on_event(&Event::Epoch { trial, report: report(1, 0.5) }, 1.0);
        lab.on_event(&Event::Retrying { trial, attempt: 2, reason: "the worker panicked: boom".into() }, 1.0);
        let run = lab.run(trial).unwrap();
        assert_eq!((run.attempt, run.state.clone()), (2, TrialState::Running));
        assert_eq!(run.crashes, vec!["attempt 1 lost its worker: the worker panicked: boom".to_string()]);
        assert!(run.epochs.is_empty(), "the lost attempt's epochs go");
        lab.on_event(&Event::Started { trial, attempt: 2, slot: 0 }, 2.0);
        lab.on_event(&Event::Epoch { trial, report: report(1, 0.8) }, 3.0);
        lab.on_event(&Event::Epoch { trial, report: report(2, 0.9) }, 4.0);
        lab.on_event(&Event::Ended { trial, end: JobEnd::Finished(TrialEnd::Completed { validation_accuracy: 0.9, validation_loss: 0.3 }) }, 5.0);
        let study = &lab.studies[0].study;
        assert_eq!(study.trials()[0].progress, vec![0.8f32 as f64, 0.9f32 as f64]);
        assert_eq!(lab.run(trial).unwrap().epochs.len(), 2);
    }

    #[test]
    fn an_invalid_configuration_is_refused_before_any_study_exists() {
        let mut lab = LiveExperiment::default();
        let err = lab.add_single(TrainConfig { learning_rate: 0.0, ..TrainConfig::default() }, 2_000, 1).unwrap_err();
        assert!(err.contains("learning rate"), "{err}");
        assert_eq!(lab.runs().count(), 0);
    }
}
