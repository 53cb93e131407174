//! `tunelab`, the command line: the same core as the browser app, run natively.
//!
//! `tunelab train` trains one configuration on the MNIST IDX files and prints per-epoch progress
//! and the final validation and test accuracy; `bench` measures the engine; `tune` runs a study
//! on MNIST; `ask-tell` tunes any objective over JSON lines.

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    /// A line on standard output; once that is closed (`tunelab bench | head`), stop quietly,
    /// as Unix tools do, instead of panicking on the broken pipe.
    macro_rules! say {
        ($($arg:tt)*) => {{
            use std::io::Write as _;
            if writeln!(std::io::stdout(), $($arg)*).is_err() {
                std::process::exit(0);
            }
        }};
    }

    use clap::{Args, Parser, Subcommand};
    use std::path::PathBuf;
    use std::time::Instant;
    use tunelab::data::subset::held_out_for_tuning;
    use tunelab::data::{stratified_subset, Mnist};
    use tunelab::nn::config::{L2Hypergradient, LrHypergradient};
    use tunelab::nn::train::{train, TrainingData, EVAL_BATCH};
    use tunelab::nn::{LrDecay, OptimizerKind, TrainConfig, TrainOutcome};
    use tunelab::rng::{rng_for, streams};

    #[derive(Parser)]
    #[command(name = "tunelab", version, about = "Hyperparameter tuning lab: small CNNs on MNIST")]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Train one configuration and report validation and test accuracy.
        Train(TrainArgs),
        /// Measure training and inference throughput of the reference networks on one thread.
        Bench(BenchArgs),
        /// Tune your own objective over JSON lines: prints {"trial": ID, "params": {...}} for each
        /// proposal and reads {"trial": ID, "value": X} or {"trial": ID, "state": "failed"} back;
        /// the end of input prints a summary of the best trial.
        AskTell(AskTellArgs),
        /// Race tuning methods on MNIST on every core: each searches the same space on the same
        /// budget, images and seed; prints a line per finished trial and the ranking at equal compute.
        Race(RaceArgs),
    }

    #[derive(Args)]
    struct RaceArgs {
        /// Folder holding the MNIST IDX files.
        #[arg(long, default_value = "public/mnist")]
        data: PathBuf,
        /// The methods to race, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "grid,random,tpe,gp-ei", help = format!("The methods to race, comma-separated: {}", tunelab::tuning::methods::names_listed()))]
        methods: Vec<String>,
        /// The space: seed-grid (the seed's 243 points), seed (its ranges, continuous), wide, or a JSON file.
        #[arg(long, default_value = "seed-grid")]
        space: String,
        /// Budget per method, in epoch-equivalents of the training subset.
        #[arg(long, default_value_t = 100)]
        budget: u32,
        /// Training images per trial (a stratified subset): 2000, 5000, 10000 or 50000, or any count.
        #[arg(long, default_value_t = 2_000)]
        subset: u32,
        /// holdout, or k for stratified k-fold (3, 5 or 10).
        #[arg(long, default_value = "holdout")]
        cv: String,
        /// The experiment's seed (subset, folds, training, and every method's choices).
        #[arg(long, default_value_t = 1)]
        seed: u32,
        /// Trials each method proposes at a time.
        #[arg(long, default_value_t = 4)]
        proposals: usize,
        /// Worker threads (default: one per core); no result depends on it.
        #[arg(long)]
        workers: Option<usize>,
        /// Write every trial to this file as JSON (format `tunelab-race`, see the README).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write every trial to this file as CSV with scikit-learn's `cv_results_` columns.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Write every method's study to this file in Optuna's journal format (open it with
        /// `optuna.load_study(storage=JournalStorage(JournalFileBackend(FILE)), study_name=METHOD)`).
        #[arg(long)]
        optuna: Option<PathBuf>,
        /// Retrain the winner on all 60,000 training images and test it once on the 10,000 test images.
        #[arg(long = "final")]
        final_test: bool,
        /// Stop poor trials early by the median-stopping rule (the methods that propose points;
        /// Hyperband and PBT have their own rule): a trial stops at the first epoch its best
        /// validation accuracy is below the median of earlier rounds' complete trials there.
        #[arg(long, value_parser = ["median"])]
        pruner: Option<String>,
        /// With --pruner median: no pruning until this many trials have completed.
        #[arg(long, default_value_t = 5)]
        startup_trials: usize,
        /// With --pruner median: no pruning before this many epochs.
        #[arg(long, default_value_t = 0)]
        warmup_epochs: u32,
    }

    #[derive(Args)]
    struct AskTellArgs {
        /// The search space, a JSON file: {"params": [{"name": "x", "type": "float", "low": -5,
        /// "high": 10}, ...]} (see the README).
        #[arg(long)]
        space: PathBuf,
        #[arg(long, help = format!("The tuning method: {}", tunelab::tuning::methods::names_listed()))]
        method: String,
        /// Seed of every random choice the method makes.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Most evaluations to propose (unlimited when left out; grid search stops by itself).
        #[arg(long)]
        budget: Option<u64>,
        /// Proposals kept outstanding at a time.
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Look for the smallest value (the default).
        #[arg(long, conflicts_with = "maximize")]
        minimize: bool,
        /// Look for the largest value.
        #[arg(long)]
        maximize: bool,
        /// Answer intermediate values ({"trial": ID, "step": K, "value": X}) by the median-stopping
        /// rule (as Optuna's MedianPruner, comparing with the earlier rounds' complete trials);
        /// without it every answer is "prune": false.
        #[arg(long, value_parser = ["median"])]
        pruner: Option<String>,
        /// With --pruner median: no pruning until this many trials have completed.
        #[arg(long, default_value_t = 5)]
        startup_trials: usize,
        /// With --pruner median: no pruning at steps below this.
        #[arg(long, default_value_t = 0)]
        warmup_steps: u32,
        /// For the methods that act inside training (successive-halving, hyperband, pbt): the
        /// resource (epochs, steps) a trial trains to its end; proposals then carry "resource"
        /// and the budget counts its units.
        #[arg(long)]
        max_resource: Option<u32>,
        /// The least resource a trial trains before it may be stopped.
        #[arg(long, default_value_t = 1)]
        min_resource: u32,
    }

    #[derive(Args)]
    struct BenchArgs {
        /// Folder holding the MNIST IDX files.
        #[arg(long, default_value = "public/mnist")]
        data: PathBuf,
        /// Only the networks whose name contains this (lenet5, tfjs-example, default-2conv, ...).
        #[arg(long)]
        net: Option<String>,
        /// Training batch size.
        #[arg(long, default_value_t = 64)]
        batch: usize,
        /// Timed runs per figure (after one warm-up run); the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Images per timed run.
        #[arg(long, default_value_t = 4096)]
        images: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    }

    #[derive(Args)]
    struct TrainArgs {
        /// Folder holding the four MNIST IDX files (gzipped or not).
        #[arg(long, default_value = "public/mnist")]
        data: PathBuf,
        /// A JSON file with the configuration (any field left out takes its default);
        /// flags given as well override it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Learning rate.
        #[arg(long)]
        lr: Option<f32>,
        /// Learning-rate decay: `none`, `step:EVERY:FACTOR` or `exp:FACTOR`.
        #[arg(long)]
        decay: Option<String>,
        #[arg(long)]
        epochs: Option<u32>,
        #[arg(long)]
        batch: Option<u32>,
        /// Number of conv layers, 1 to 4.
        #[arg(long)]
        conv_layers: Option<u32>,
        /// Filters per conv layer, comma-separated (e.g. 16,32,32).
        #[arg(long, value_delimiter = ',')]
        filters: Option<Vec<u32>>,
        /// Width of the hidden dense layer (0 for none).
        #[arg(long)]
        dense: Option<u32>,
        #[arg(long)]
        dropout: Option<f32>,
        #[arg(long)]
        l2: Option<f32>,
        #[arg(long)]
        l1: Option<f32>,
        /// sgd, momentum, rmsprop or adam.
        #[arg(long)]
        optimizer: Option<String>,
        /// Momentum for the momentum optimizer.
        #[arg(long)]
        momentum: Option<f32>,
        /// Adapt the learning rate by hypergradient descent with this step β (Baydin et al.
        /// 2018; --lr is where it starts).
        #[arg(long, value_name = "STEP")]
        lr_hypergradient: Option<f32>,
        /// Adapt the L2 strength by its hypergradient on held-out batches (T1–T2, Luketina et
        /// al. 2016), moving log λ by about this much per hyper step (0.02 is a good start;
        /// --l2 is where it starts); the held-out images are 1,000 of the training split that
        /// the subset leaves out.
        #[arg(long, value_name = "STEP")]
        l2_hypergradient: Option<f32>,
        /// Train on a seeded stratified subset of this many training images (default: all 50,000).
        #[arg(long)]
        subset: Option<usize>,
        /// Train on all 60,000 training images (train + validation), as the final evaluation does;
        /// no validation figures are reported then.
        #[arg(long, conflicts_with = "subset")]
        full: bool,
        #[arg(long, default_value_t = 1)]
        seed: u32,
        /// Print JSON lines instead of text.
        #[arg(long)]
        json: bool,
    }

    fn parse_decay(s: &str) -> Result<LrDecay, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let num = |t: &str| t.parse::<f32>().map_err(|_| format!("`{t}` in --decay {s} is not a number"));
        match parts.as_slice() {
            ["none"] => Ok(LrDecay::None),
            ["step", every, factor] => Ok(LrDecay::Step {
                every_epochs: every.parse().map_err(|_| format!("`{every}` in --decay {s} is not a whole number of epochs"))?,
                factor: num(factor)?,
            }),
            ["exp", factor] => Ok(LrDecay::Exponential { factor: num(factor)? }),
            _ => Err(format!("--decay {s}: expected none, step:EVERY:FACTOR or exp:FACTOR")),
        }
    }

    fn build_config(a: &TrainArgs) -> Result<TrainConfig, String> {
        let mut c = match &a.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => TrainConfig::default(),
        };
        if let Some(v) = a.lr {
            c.learning_rate = v;
        }
        if let Some(v) = &a.decay {
            c.lr_decay = parse_decay(v)?;
        }
        if let Some(v) = a.epochs {
            c.epochs = v;
        }
        if let Some(v) = a.batch {
            c.batch_size = v;
        }
        if let Some(v) = a.conv_layers {
            c.conv_layers = v;
        }
        if let Some(v) = &a.filters {
            c.conv_filters = v.clone();
        }
        if let Some(v) = a.dense {
            c.dense_units = v;
        }
        if let Some(v) = a.dropout {
            c.dropout = v;
        }
        if let Some(v) = a.l2 {
            c.l2 = v;
        }
        if let Some(v) = a.l1 {
            c.l1 = v;
        }
        if let Some(name) = &a.optimizer {
            c.optimizer = OptimizerKind::from_name(name).ok_or_else(|| format!("--optimizer {name}: expected sgd, momentum, rmsprop or adam"))?;
        }
        if let Some(m) = a.momentum {
            match &mut c.optimizer {
                OptimizerKind::Momentum { momentum } => *momentum = m,
                other => return Err(format!("--momentum applies to the momentum optimizer, not {}", other.name())),
            }
        }
        if let Some(step) = a.lr_hypergradient {
            c.lr_hypergradient = Some(LrHypergradient { step, ..LrHypergradient::for_optimizer(c.optimizer) });
        }
        if let Some(step) = a.l2_hypergradient {
            c.l2_hypergradient = Some(L2Hypergradient { step, ..Default::default() });
        }
        Ok(c)
    }

    /// Held-out training images whose batches tune L2 under `--l2-hypergradient`.
    const TUNING_IMAGES: usize = 1_000;

    fn pct(v: Option<f32>) -> String {
        v.map_or("—".into(), |v| format!("{:.2}%", v * 100.0))
    }

    fn run_train(a: TrainArgs) -> Result<(), String> {
        let config = build_config(&a)?.validate().map_err(|e| format!("invalid configuration: {e}"))?;
        let started = Instant::now();
        let mnist = Mnist::from_dir(&a.data).map_err(|e| format!("cannot load MNIST from {}: {e}", a.data.display()))?;
        let (train_split, validation) = mnist.train_and_validation();
        let (subset, tuning);
        let data = if a.full {
            TrainingData::new(mnist.train_file.as_ref(), None)
        } else {
            let size = a.subset.unwrap_or(train_split.len());
            if size == 0 {
                return Err("--subset must be at least 1".into());
            }
            subset = stratified_subset(train_split.labels, size, a.seed as u64);
            tuning = held_out_for_tuning(train_split.labels, &subset, TUNING_IMAGES, a.seed as u64);
            TrainingData::subset(train_split, &subset, Some(validation)).tuning_on(train_split, Some(&tuning))
        };
        if config.l2_hypergradient.is_some() && data.tuning_subset.is_none_or(<[usize]>::is_empty) {
            return Err("--l2-hypergradient tunes L2 on held-out training images: train on a --subset smaller than the 50,000 of the training split".into());
        }
        let describe = tunelab::nn::Model::new(&config, &mut rng_for(a.seed as u64, streams::INIT)).describe();
        if a.json {
            say!("{}", serde_json::json!({"event": "start", "config": &*config, "seed": a.seed, "train_images": data.train_len(), "model": describe}));
        } else {
            say!("model: {describe}");
            say!("training on {} images, seed {}; config {}", data.train_len(), a.seed, serde_json::to_string(&*config).unwrap_or_default());
        }
        let mut last = Instant::now();
        let json = a.json;
        let (outcome, mut trainer) = train(&config, data, a.seed as u64, &mut |r| {
            let secs = last.elapsed().as_secs_f64();
            last = Instant::now();
            if json {
                say!("{}", serde_json::json!({"event": "epoch", "report": r, "seconds": secs}));
            } else {
                say!(
                    "epoch {:>3}  lr {:<8} train loss {:.4}  train acc {}  val loss {}  val acc {}  ({:.1}s, {:.0} images/s)",
                    r.epoch,
                    r.learning_rate,
                    r.train_loss,
                    pct(Some(r.train_accuracy)),
                    r.validation_loss.map_or("—".into(), |l| format!("{l:.4}")),
                    pct(r.validation_accuracy),
                    secs,
                    data.train_len() as f64 / secs
                );
            }
            true
        });
        if let TrainOutcome::Diverged { diverged, .. } = &outcome {
            if json {
                say!("{}", serde_json::json!({"event": "diverged", "diverged": diverged}));
            } else {
                say!("{diverged}");
            }
            return Err("the trial diverged; try a smaller learning rate".into());
        }
        let adapted = trainer.adapted_lr().map(|a| (config.learning_rate, a.alpha, a.trajectory.len(), a.clamped));
        let tuned = trainer.tuned_l2().map(|t| (config.l2, t.l2, t.trajectory.len(), t.clamped));
        if !json {
            if let Some((from, to, steps, clamped)) = adapted {
                say!("learning rate moved by its hypergradient from {from} to {to} over {steps} steps ({clamped} clamped)");
            }
            if let Some((from, to, steps, clamped)) = tuned {
                say!("L2 moved by its hypergradient from {from} to {to} over {steps} hyper steps ({clamped} clamped)");
            }
        }
        let (test_loss, test_accuracy) = trainer.model.evaluate(mnist.test.as_ref(), EVAL_BATCH, &mut rng_for(0, 0));
        let total = started.elapsed().as_secs_f64();
        if json {
            say!(
                "{}",
                serde_json::json!({
                    "event": "done", "validation_accuracy": outcome.final_validation_accuracy(), "test_accuracy": test_accuracy, "test_loss": test_loss, "seconds": total,
                    "learning_rate_path": trainer.adapted_lr().map(|a| &a.trajectory), "l2_path": trainer.tuned_l2().map(|t| &t.trajectory)
                })
            );
        } else {
            say!("final validation accuracy {}", pct(outcome.final_validation_accuracy()));
            say!("test accuracy {}  (test loss {test_loss:.4}); {total:.1}s in all", pct(Some(test_accuracy)));
        }
        Ok(())
    }

    fn run_bench(a: BenchArgs) -> Result<(), String> {
        use tunelab::nn::bench::{run_benchmark, BenchSpec};
        let mnist = Mnist::from_dir(&a.data).map_err(|e| format!("cannot load MNIST from {}: {e}", a.data.display()))?;
        let (train_split, _) = mnist.train_and_validation();
        let started = Instant::now();
        let clock = move || started.elapsed().as_secs_f64() * 1000.0;
        let spec = BenchSpec { filter: a.net.unwrap_or_default(), batch: a.batch as u32, runs: a.runs as u32, images_per_run: a.images as u32 };
        let report = run_benchmark(&spec, train_split, &clock);
        if a.json {
            say!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
            return Ok(());
        }
        for n in &report.networks {
            say!(
                "{:<14} train {:>8.0} images/s ({:>5.1} GFLOP/s)   inference {:>8.0} images/s ({:>5.1} GFLOP/s)",
                n.name,
                n.train.images_per_second,
                n.train.gflops(),
                n.inference.images_per_second,
                n.inference.gflops()
            );
        }
        say!("f32 matrix product 512×512×512: {:.1} GFLOP/s (one thread)", report.matmul_512_gflops);
        say!("engine's kernel, 32×144 by 144×1815: {:.1} GFLOP/s (one thread)", report.kernel_gflops);
        Ok(())
    }

    fn run_race(a: RaceArgs) -> Result<(), String> {
        use std::sync::Arc;
        use tunelab::chart::best_so_far::best_within;
        use tunelab::data::{CrossValidation, TrainingSet};
        use tunelab::experiment::{final_eval::retrain_and_test, live::finished_trials, presets, race::RaceSetup, record::RaceRecord, threads};
        use tunelab::scheduler::Event;
        use tunelab::tuning::space::SearchSpace;
        let space = match a.space.as_str() {
            "seed-grid" => presets::seed_grid(),
            "seed" => presets::seed_continuous(),
            "wide" => presets::wide(),
            file => {
                let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
                SearchSpace::from_json(&text).map_err(|e| format!("{file}: {e}"))?
            }
        };
        let validation = match a.cv.as_str() {
            "holdout" => CrossValidation::Holdout,
            k => CrossValidation::KFold { k: k.parse().map_err(|_| format!("--cv takes holdout, 3, 5 or 10; got {k}"))? },
        };
        let setup = RaceSetup {
            methods: a.methods.iter().map(|m| m.trim().to_string()).collect(),
            space,
            budget_epochs: a.budget,
            data: TrainingSet { images: a.subset, validation },
            seed: a.seed,
            proposals: a.proposals,
            base: TrainConfig::default(),
            pruner: a.pruner.as_ref().map(|_| tunelab::tuning::median_pruner::MedianPruner {
                startup_trials: a.startup_trials,
                warmup_epochs: a.warmup_epochs,
                min_trials: 1,
            }),
        };
        if let Err(problems) = setup.check() {
            let flag = |p: &tunelab::experiment::race::FieldError| format!("{:?}", p.field).to_lowercase();
            return Err(problems.iter().map(|p| format!("--{}: {}", flag(p), p)).collect::<Vec<_>>().join("; "));
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = a.workers.unwrap_or(cores);
        if workers == 0 || workers > cores + 4 {
            return Err(format!("--workers: from 1 to {} on this machine ({cores} cores + 4)", cores + 4));
        }
        let mnist = Mnist::from_dir(&a.data).map_err(|e| format!("cannot load MNIST from {}: {e}", a.data.display()))?;
        let names: Vec<String> = setup.space.params().iter().map(|p| p.name.clone()).collect();
        let budget = setup.budget_images();
        say!(
            "racing {} on {} ({}), {} epoch-equivalents each = {budget} training images, seed {}, {} proposals per round, {workers} workers",
            setup.methods.join(", "),
            a.space,
            validation.label(),
            a.budget,
            a.seed,
            a.proposals
        );
        let started = Instant::now();
        let data = Arc::new(mnist.train_file.clone());
        let on_event = &mut |live: &tunelab::experiment::live::LiveExperiment, event: &Event| {
            if let Event::Ended { trial, .. } = event {
                let Some(run) = live.run(*trial) else { return };
                let values: Vec<String> = names.iter().zip(&run.values).map(|(n, v)| format!("{n}={v}")).collect();
                let mut score = run.score.map_or("—".into(), |s| format!("{:.2}%", s * 100.0));
                if let Some(folds) = &run.folds {
                    score += &format!(" ±{:.2}", folds.spread() * 100.0);
                }
                let spent = live.study_summary(trial.study).map_or(0, |s| s.spent);
                say!(
                    "{:<8} trial {:>3}  {:<11} {score:>14}  {}  [{:.0}% of budget, {:.0}s]",
                    run.method,
                    run.trial.trial,
                    run.state.name(),
                    values.join(" "),
                    spent as f64 * 100.0 / budget as f64,
                    started.elapsed().as_secs_f64()
                );
                if let tunelab::tuning::study::TrialState::Failed(why) | tunelab::tuning::study::TrialState::Diverged(why) = &run.state {
                    say!("         {why}");
                }
            }
        };
        // The race's clock starts at 0 here: the record dates its trials from this moment.
        let clock_zero_unix_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        let run = threads::run_race(setup.clone(), data, workers, on_event)
            .map_err(|problems| problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))?;
        let error = run.no_workers.map(|why| format!("the race stopped: no worker is left ({why})"));
        let live = run.live;
        let seconds = started.elapsed().as_secs_f64();
        let race = live.race().expect("a race ran");
        say!("");
        say!("ranking (best validation accuracy at 25%, 50% and 100% of each method's budget), {seconds:.0}s in all:");
        // The method column as wide as its longest name ("successive-halving").
        let width = race.setup.methods.iter().map(String::len).max().unwrap_or(0).max("method".len());
        say!("{:<width$} {:>7} {:>9} {:>9} {:>9}", "method", "trials", "25%", "50%", "100%");
        let mut winner: Option<(f64, tunelab::scheduler::TrialRef)> = None;
        for summary in race.studies.iter().filter_map(|&s| live.study_summary(s)) {
            let finished = finished_trials(live.runs(), summary.study, 0.0);
            let at = |share| best_within(&finished, budget, share).map_or("—".to_string(), |b| format!("{:.2}%", b * 100.0));
            let trials = live.runs().filter(|r| r.trial.study == summary.study).count();
            say!("{:<width$} {:>7} {:>9} {:>9} {:>9}", summary.method, trials, at(0.25), at(0.5), at(1.0));
            if let Some((trial, score)) = summary.best {
                if winner.is_none_or(|(best, _)| score > best) {
                    winner = Some((score, tunelab::scheduler::TrialRef { study: summary.study, trial }));
                }
            }
        }
        let record = RaceRecord::of_dated(&live, workers, clock_zero_unix_ms).expect("a race ran");
        type Write = fn(&RaceRecord) -> String;
        let files: [(&Option<PathBuf>, Write); 3] =
            [(&a.out, RaceRecord::to_json), (&a.csv, tunelab::share::cv_results::to_csv), (&a.optuna, tunelab::share::optuna_journal::to_journal)];
        for (path, write) in files {
            if let Some(path) = path {
                std::fs::write(path, write(&record)).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                say!("every trial written to {}", path.display());
            }
        }
        if a.final_test {
            match winner.and_then(|(_, t)| live.run(t)) {
                Some(best) => {
                    let request = tunelab::protocol::RetrainRequest { config: best.config.clone(), images: mnist.train_file.len() as u32, seed: a.seed };
                    match retrain_and_test(&request, mnist.train_file.as_ref(), mnist.test.as_ref(), &mut |_| true) {
                        Ok((f, _)) => {
                            say!(
                                "the winner ({} trial {}) retrained on {} images for {} epochs: test accuracy {:.2}% ({} of {} test images wrong)",
                                best.method,
                                best.trial.trial,
                                f.train_images,
                                f.epochs,
                                f.test_accuracy * 100.0,
                                f.misclassified.len(),
                                f.images_tested()
                            );
                            say!("confusion matrix (rows: true digit, columns: predicted):");
                            say!("     {}", (0..10).map(|k| format!("{k:>5}")).collect::<String>());
                            for truth in 0..10 {
                                say!("  {truth}  {}", (0..10).map(|p| format!("{:>5}", f.count(truth, p))).collect::<String>());
                            }
                        }
                        Err(e) => say!("final evaluation failed: {e}"),
                    }
                }
                None => say!("no trial completed: nothing to retrain"),
            }
        }
        error.map_or(Ok(()), Err)
    }

    fn run_ask_tell(a: AskTellArgs) -> Result<(), String> {
        use std::io::BufRead;
        use tunelab::tuning::{ask_tell::Session, space::SearchSpace, study::Direction};
        let text = std::fs::read_to_string(&a.space).map_err(|e| format!("cannot read {}: {e}", a.space.display()))?;
        let space = SearchSpace::from_json(&text).map_err(|e| format!("{}: {e}", a.space.display()))?;
        let direction = if a.maximize { Direction::Maximize } else { Direction::Minimize };
        let resource = a.max_resource.map(|max| (a.min_resource, max));
        let mut session = Session::with_resource(space, &a.method, a.seed, a.budget.unwrap_or(u64::MAX), direction, a.batch, resource)?;
        if a.pruner.is_some() {
            let pruner = tunelab::tuning::median_pruner::MedianPruner { startup_trials: a.startup_trials, warmup_epochs: a.warmup_steps, min_trials: 1 };
            session = session.with_pruner(pruner);
        }
        // Each line goes out as it is written (standard output is line-buffered); a closed
        // standard output (`| head`) ends the session quietly (`say!`).
        let print = |lines: Vec<String>| lines.iter().for_each(|l| say!("{l}"));
        print(session.proposals());
        // Stop reading as soon as the last answer is in: a driver may wait for the summary
        // before closing its end.
        if !session.is_done() {
            for line in std::io::stdin().lock().lines() {
                let line = line.map_err(|e| format!("cannot read standard input: {e}"))?;
                match session.handle(&line) {
                    Ok(Some(answer)) => say!("{answer}"),
                    Ok(None) => {}
                    Err(message) => eprintln!("tunelab ask-tell: {message}"),
                }
                print(session.proposals());
                if session.is_done() {
                    break;
                }
            }
        }
        print(vec![session.summary()]);
        Ok(())
    }

    pub fn main() -> std::process::ExitCode {
        let cli = Cli::parse();
        let result = match cli.command {
            Command::Train(a) => run_train(a),
            Command::Bench(a) => run_bench(a),
            Command::AskTell(a) => run_ask_tell(a),
            Command::Race(a) => run_race(a),
        };
        match result {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("tunelab: {message}");
                std::process::ExitCode::FAILURE
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
