"""The methods that act inside training against plain random search, on MNIST, at equal training
images: the native `tunelab race` on the seed's ranges (continuous) on the 2,000-image subset,
hold-out, for several seeds. For each method, its best validation accuracy at 25, 50 and 100 % of
its budget (the race's own ranking rule: complete trials in proposal order, each charged what it
cost; a pruned trial's estimate part of the way does not count), and the trials it ran.

Dev tooling, not a test and not part of `.ci/test`:

    cargo build --release --bin tunelab
    python3 tests/bench/inside_training.py --seeds 3 --budget 100

Random search with the median pruner is the same race with `--pruner median`. Hypergradient
descent starts from random points as random search draws them (the same draws, the same seed),
so its rows against random search's are "hypergradient runs against fixed learning rates from
the same starting points". The numbers it printed are in BENCHMARKS.md.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(ROOT, "target", "release", "tunelab")


def race(methods, seed, budget, workers, pruner=False):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "race.json")
        args = [CLI, "race", "--data", os.path.join(ROOT, "public", "mnist"), "--methods", ",".join(methods), "--space", "seed",
                "--budget", str(budget), "--subset", "2000", "--cv", "holdout", "--seed", str(seed), "--workers", str(workers), "--out", out]
        if pruner:
            args += ["--pruner", "median"]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            return json.load(f)


def best_within(trials, budget, share):
    """The best complete trial's score among the trials that fit, in proposal order, within
    `share` of `budget` (chart::best_so_far::best_within)."""
    spent, best = 0, None
    for t in sorted(trials, key=lambda t: t["id"]):
        spent += t["cost"]
        if spent > budget * share:
            break
        if t["state"] == "complete" and t["score"] is not None:
            best = t["score"] if best is None else max(best, t["score"])
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    a = parser.parse_args()
    rows = {}
    seconds = {}
    checkpoint_bytes = 0
    # Hypergradient trial against random search's trial of the same id: the same starting point.
    pairs = []
    for seed in range(1, a.seeds + 1):
        for label, methods, pruner in [("plain", ["random", "hypergradient", "successive-halving", "hyperband", "pbt"], False), ("pruned", ["random"], True)]:
            started = time.time()
            record = race(methods, seed, a.budget, a.workers, pruner)
            seconds[(label, seed)] = time.time() - started
            checkpoint_bytes = max(checkpoint_bytes, record.get("largest_checkpoint_bytes", 0))
            by_method = {study["method"]: {t["id"]: t for t in study["trials"]} for study in record["studies"]}
            if not pruner:
                for i, fixed in by_method["random"].items():
                    tuned = by_method["hypergradient"].get(i)
                    if tuned and tuned["params"] == fixed["params"] and fixed["state"] == tuned["state"] == "complete":
                        pairs.append((tuned["score"] - fixed["score"], fixed["params"]))
            for study in record["studies"]:
                name = study["method"] + (" + median pruner" if pruner else "")
                at = [best_within(study["trials"], study["budget"], s) for s in (0.25, 0.5, 1.0)]
                pruned = sum(t["state"] == "pruned" for t in study["trials"])
                rows.setdefault(name, []).append((at, len(study["trials"]), pruned, study["spent"] / study["budget"]))
            print(f"seed {seed} {label}: {seconds[(label, seed)]:.0f} s", flush=True)

    def median(values):
        values = [v for v in values if v is not None]
        return f"{statistics.median(values) * 100:.2f} %" if values else "—"

    print(f"\n{a.seeds} seeds, budget {a.budget} epoch-equivalents of 2,000 images per method, the seed's ranges (continuous), hold-out\n")
    print("| method | best at 25 % | best at 50 % | best at 100 % | trials (pruned) | budget spent |")
    print("|---|---|---|---|---|---|")
    for name, runs in rows.items():
        cells = [median([r[0][k] for r in runs]) for k in range(3)]
        trials = statistics.median(r[1] for r in runs)
        pruned = statistics.median(r[2] for r in runs)
        spent = statistics.median(r[3] for r in runs)
        print(f"| {name} | {cells[0]} | {cells[1]} | {cells[2]} | {trials:.0f} ({pruned:.0f}) | {spent * 100:.0f} % |")
    print(f"\nThe largest checkpoint: {checkpoint_bytes:,} bytes")
    if pairs:
        gains = [g for g, _ in pairs]
        wins = sum(g > 0 for g in gains)
        print(f"\nHypergradient runs against fixed-rate runs from the same starting points: {len(pairs)} pairs, "
              f"tuned better in {wins}, median gain {statistics.median(gains) * 100:+.2f} points, mean {statistics.mean(gains) * 100:+.2f}")
        for g, params in sorted(pairs, key=lambda p: p[1]["learning_rate"]):
            print(f"- lr {params['learning_rate']:.4g}, l2 {params['l2']:.2g}, {params['epochs']} epochs, batch {params['batch_size']}: {g * 100:+.2f} points")
    print("\nPer seed (best at 100 %):")
    for name, runs in rows.items():
        print(f"- {name}: " + ", ".join("—" if r[0][2] is None else f"{r[0][2] * 100:.2f} %" for r in runs))


if __name__ == "__main__":
    main()
