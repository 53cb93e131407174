"""tunelab's tuning methods against Optuna's samplers, from outside, at the same budget and seeds.

`tunelab ask-tell` is driven over JSON lines, as any user's script would, on standard test
functions that tunelab's own tests do not use; Optuna's samplers run the same functions with the
same number of evaluations and the same seeds. Prints a Markdown table of median regret (the
best value found minus the known minimum; lower is better) per function and method.

Dev tooling, not a test and not part of `.ci/test` (Optuna's GP sampler needs PyTorch):

    python3 -m venv /tmp/optuna-venv
    /tmp/optuna-venv/bin/pip install optuna cmaes scipy torch
    cargo build --release --bin tunelab
    /tmp/optuna-venv/bin/python tests/bench/compare_optuna.py --seeds 10

The numbers it printed are in BENCHMARKS.md.

With `--pruners`, it compares early stopping instead, on synthetic learning curves (below) at an
equal number of steps: tunelab's random search with its median pruner and its Hyperband, through
`tunelab ask-tell` (intermediate values; `--max-resource`), against Optuna's `RandomSampler` with
its `MedianPruner` and its `HyperbandPruner`, and plain random search on both sides:

    /tmp/optuna-venv/bin/python tests/bench/compare_optuna.py --pruners --seeds 10
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


# --- Test functions (minimum 0 after the shift), with their boxes and budgets. ---

def rosenbrock(p):
    x, y = p["x0"], p["x1"]
    return 100 * (y - x * x) ** 2 + (1 - x) ** 2


def six_hump_camel(p):
    x, y = p["x0"], p["x1"]
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2 + 1.0316284535


def goldstein_price_log(p):
    x, y = p["x0"], p["x1"]
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return math.log(a * b) - math.log(3)


H3_A = np.array([[3, 10, 30], [0.1, 10, 35], [3, 10, 30], [0.1, 10, 35]])
H3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]])
H3_C = [1.0, 1.2, 3.0, 3.2]


def hartmann3(p):
    x = np.array([p["x0"], p["x1"], p["x2"]])
    return -sum(H3_C[i] * math.exp(-(H3_A[i] * (x - H3_P[i]) ** 2).sum()) for i in range(4)) + 3.86278214782076


def styblinski_tang4(p):
    x = np.array([p[f"x{i}"] for i in range(4)])
    return 0.5 * (x**4 - 16 * x**2 + 5 * x).sum() + 39.16616570377142 * 4


def levy4(p):
    x = np.array([p[f"x{i}"] for i in range(4)])
    w = 1 + (x - 1) / 4
    head = math.sin(math.pi * w[0]) ** 2
    body = (((w[:-1] - 1) ** 2) * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2)).sum()
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return head + body + tail


def ackley5(p):
    x = np.array([p[f"x{i}"] for i in range(5)])
    d = len(x)
    return -20 * math.exp(-0.2 * math.sqrt((x**2).sum() / d)) - math.exp(np.cos(2 * math.pi * x).sum() / d) + 20 + math.e


def mixed(p):
    """mixed-4: a hyperparameter-like space of a log-scale rate, an integer, a choice and a fraction."""
    return (math.log10(p["lr"]) + 2.5) ** 2 + (p["n"] - 7) ** 2 / 8 + {"a": 0.8, "b": 0.0, "c": 0.4}[p["kind"]] + 4 * (p["m"] - 0.3) ** 2


def box(n, low, high):
    return [{"name": f"x{i}", "type": "float", "low": low, "high": high} for i in range(n)]


PROBLEMS = {
    "rosenbrock-2": (box(2, -5, 10), rosenbrock, 60),
    "six-hump-camel-2": ([{"name": "x0", "type": "float", "low": -3, "high": 3}, {"name": "x1", "type": "float", "low": -2, "high": 2}], six_hump_camel, 50),
    "log-goldstein-price-2": (box(2, -2, 2), goldstein_price_log, 50),
    "hartmann-3": (box(3, 0, 1), hartmann3, 60),
    "styblinski-tang-4": (box(4, -5, 5), styblinski_tang4, 80),
    "levy-4": (box(4, -10, 10), levy4, 80),
    "ackley-5": (box(5, -32.768, 32.768), ackley5, 100),
    "mixed-4": (
        [
            {"name": "lr", "type": "float", "low": 1e-5, "high": 1, "log": True},
            {"name": "n", "type": "int", "low": 1, "high": 12},
            {"name": "kind", "type": "categorical", "choices": ["a", "b", "c"]},
            {"name": "m", "type": "float", "low": 0, "high": 1},
        ],
        mixed,
        60,
    ),
}


def run_tunelab(binary, space_file, f, budget, method, seed):
    """One study through `tunelab ask-tell`, one proposal answered at a time."""
    child = subprocess.Popen(
        [binary, "ask-tell", "--space", space_file, "--method", method, "--seed", str(seed), "--budget", str(budget)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
    )
    best, answered = math.inf, 0
    for line in child.stdout:
        message = json.loads(line)
        if "best" in message:
            break
        value = f(message["params"])
        best = min(best, value)
        answered += 1
        child.stdin.write(json.dumps({"trial": message["trial"], "value": value}) + "\n")
        child.stdin.flush()
    child.stdin.close()
    child.wait()
    assert answered == budget, f"{method}: {answered} proposals for a budget of {budget}"
    return best


def run_optuna(space, f, budget, sampler):
    import optuna

    study = optuna.create_study(sampler=sampler)

    def objective(trial):
        p = {}
        for q in space:
            if q["type"] == "float":
                p[q["name"]] = trial.suggest_float(q["name"], q["low"], q["high"], log=q.get("log", False))
            elif q["type"] == "int":
                p[q["name"]] = trial.suggest_int(q["name"], q["low"], q["high"])
            else:
                p[q["name"]] = trial.suggest_categorical(q["name"], q["choices"])
        return f(p)

    study.optimize(objective, n_trials=budget)
    return study.best_value


def optuna_samplers():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return {
        "Optuna random": lambda s: optuna.samplers.RandomSampler(seed=s),
        "Optuna TPE": lambda s: optuna.samplers.TPESampler(seed=s),
        "Optuna CMA-ES": lambda s: optuna.samplers.CmaEsSampler(seed=s, warn_independent_sampling=False),
        "Optuna GP": lambda s: optuna.samplers.GPSampler(seed=s),
    }


# --- Early stopping: synthetic learning curves. ---

CURVE_STEPS = 27
CURVE_SPACE = [{"name": "x0", "type": "float", "low": 0, "high": 1}, {"name": "x1", "type": "float", "low": 0, "high": 1}]


CURVES = "crossing"


def curve(p, step):
    """A validation loss after `step` steps (1 to 27): it falls from about 1 + x0 toward its floor
    (x0 − 0.3)² + (x1 − 0.7)². "crossing" curves fall faster for small x1 — so the configurations
    that end best (x1 near 0.7) learn slowly and look worse early, as a small learning rate does;
    "parallel" ones all fall at the same pace, so the early order is the final one."""
    floor = (p["x0"] - 0.3) ** 2 + (p["x1"] - 0.7) ** 2
    pace = 1 + 8 * p["x1"] if CURVES == "crossing" else 4.0
    return floor + (1 + p["x0"]) * math.exp(-step / pace)


def curve_optimum():
    grid = np.linspace(0, 1, 401)
    return min(curve({"x0": a, "x1": b}, CURVE_STEPS) for a in grid for b in grid)


def pruned_tunelab(binary, space_file, method, seed, steps_budget, pruner):
    """One tunelab study on the curves, through ask-tell, until `steps_budget` steps are spent;
    the best loss among the trials trained to the end."""
    args = [binary, "ask-tell", "--space", space_file, "--method", method, "--seed", str(seed)]
    if method in ("hyperband", "successive-halving"):
        args += ["--max-resource", str(CURVE_STEPS), "--budget", str(steps_budget)]
    if pruner:
        args += ["--pruner", "median"]
    child = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    say = lambda obj: (child.stdin.write(json.dumps(obj) + "\n"), child.stdin.flush())
    best, spent, reached = math.inf, 0, {}
    for line in child.stdout:
        message = json.loads(line)
        if "best" in message or spent >= steps_budget:
            break
        trial, p = message["trial"], message["params"]
        if "resource" in message:
            # Train on from where the trial stopped to the resource asked for.
            until = message["resource"]
            spent += until - reached.get(trial, 0)
            reached[trial] = until
            value = curve(p, until)
            if until == CURVE_STEPS:
                best = min(best, value)
            say({"trial": trial, "value": value})
            continue
        pruned = False
        for step in range(1, CURVE_STEPS + 1):
            spent += 1
            value = curve(p, step)
            say({"trial": trial, "step": step, "value": value})
            if json.loads(child.stdout.readline())["prune"]:
                pruned = True
                break
            if spent >= steps_budget and step < CURVE_STEPS:
                pruned = True
                break
        if not pruned:
            best = min(best, value)
            say({"trial": trial, "value": value})
        if spent >= steps_budget:
            break
    child.stdin.close()
    child.wait()
    return best, spent


def pruned_optuna(seed, steps_budget, pruner):
    import optuna

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed), pruner=pruner)
    spent = [0]
    best = [math.inf]

    def objective(trial):
        p = {q["name"]: trial.suggest_float(q["name"], q["low"], q["high"]) for q in CURVE_SPACE}
        for step in range(1, CURVE_STEPS + 1):
            spent[0] += 1
            value = curve(p, step)
            trial.report(value, step)
            if trial.should_prune() or (spent[0] >= steps_budget and step < CURVE_STEPS):
                raise optuna.TrialPruned()
        best[0] = min(best[0], value)
        return value

    def enough(study, _trial):
        if spent[0] >= steps_budget:
            study.stop()

    study.optimize(objective, callbacks=[enough])
    return best[0], spent[0]


def compare_pruners(args):
    global CURVES
    for CURVES in ("crossing", "parallel"):
        compare_pruners_on_curves(args)
        print()


def compare_pruners_on_curves(args):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    optimum = curve_optimum()
    steps_budget = 30 * CURVE_STEPS
    runs = {
        "tunelab random": lambda s, space: pruned_tunelab(args.binary, space, "random", s, steps_budget, False),
        "tunelab random + median pruner": lambda s, space: pruned_tunelab(args.binary, space, "random", s, steps_budget, True),
        "tunelab Hyperband": lambda s, space: pruned_tunelab(args.binary, space, "hyperband", s, steps_budget, False),
        "Optuna random": lambda s, space: pruned_optuna(s, steps_budget, optuna.pruners.NopPruner()),
        "Optuna random + MedianPruner": lambda s, space: pruned_optuna(s, steps_budget, optuna.pruners.MedianPruner()),
        "Optuna random + HyperbandPruner": lambda s, space: pruned_optuna(
            s, steps_budget, optuna.pruners.HyperbandPruner(min_resource=1, max_resource=CURVE_STEPS, reduction_factor=3)
        ),
    }
    print(f"{CURVES.capitalize()} synthetic learning curves, {steps_budget} steps each ({steps_budget // CURVE_STEPS} full trials' worth), seeds 0–{args.seeds - 1}:")
    print("regret of the best trial trained to the end (its final loss minus the best possible)\n")
    print("| method | median regret | mean regret | steps spent (median) |")
    print("| --- | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        space_file = os.path.join(tmp, "space.json")
        with open(space_file, "w") as out:
            json.dump({"params": CURVE_SPACE}, out)
        for name, run in runs.items():
            results = [run(s, space_file) for s in range(args.seeds)]
            regrets = [best - optimum for best, _ in results]
            print(f"| {name} | {statistics.median(regrets):.4f} | {statistics.mean(regrets):.4f} | {statistics.median(spent for _, spent in results):.0f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", "..", "target", "release", "tunelab"))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--problems", default=",".join(PROBLEMS), help="comma-separated names")
    parser.add_argument("--ours", default="random,tpe,gp-ei,cma-es,genetic")
    parser.add_argument("--theirs", default="Optuna random,Optuna TPE,Optuna CMA-ES,Optuna GP")
    parser.add_argument("--pruners", action="store_true", help="compare early stopping on synthetic learning curves instead")
    args = parser.parse_args()
    if args.pruners:
        return compare_pruners(args)
    ours = [m for m in args.ours.split(",") if m]
    samplers = optuna_samplers()
    theirs = [m for m in args.theirs.split(",") if m]
    columns = [f"tunelab {m}" for m in ours] + theirs
    print(f"Median regret over seeds 0–{args.seeds - 1} (lower is better):\n")
    print("| function (evaluations) | " + " | ".join(columns) + " |")
    print("| --- |" + " ---: |" * len(columns))
    seconds = {c: 0.0 for c in columns}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.problems.split(","):
            space, f, budget = PROBLEMS[name]
            space_file = os.path.join(tmp, "space.json")
            with open(space_file, "w") as out:
                json.dump({"params": space}, out)
            medians = {}
            for m in ours:
                start = time.time()
                medians[f"tunelab {m}"] = statistics.median(run_tunelab(args.binary, space_file, f, budget, m, s) for s in range(args.seeds))
                seconds[f"tunelab {m}"] += time.time() - start
            for m in theirs:
                start = time.time()
                medians[m] = statistics.median(run_optuna(space, f, budget, samplers[m](s)) for s in range(args.seeds))
                seconds[m] += time.time() - start
            best = min(medians.values())
            cells = [(f"**{medians[c]:.4g}**" if medians[c] <= best * 1.0000001 + 1e-12 else f"{medians[c]:.4g}") for c in columns]
            print(f"| {name} ({budget}) | " + " | ".join(cells) + " |", flush=True)
    print("| seconds, all runs | " + " | ".join(f"{seconds[c]:.0f}" for c in columns) + " |")


if __name__ == "__main__":
    sys.exit(main())
