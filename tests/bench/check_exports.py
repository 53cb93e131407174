"""Open tunelab's exports with the tools they are for, and check they say what the race record says.

Dev tooling, not part of the test command (it needs pandas and optuna):

    python3 -m venv /tmp/optuna-venv && /tmp/optuna-venv/bin/pip install optuna pandas
    tunelab race --methods grid,tpe,random --budget 30 --subset 1000 --cv 3 \
        --out r.json --csv r.csv --optuna r.log
    /tmp/optuna-venv/bin/python tests/bench/check_exports.py r.json r.csv r.log

The page's Export links write the same three files (`tunelab-race.json`, `tunelab-trials.csv`,
`tunelab-optuna.log`); the end-to-end test keeps the ones it downloads with
`TUNELAB_EXPORTS=DIR node --test exports.test.mjs` (in tests/e2e).
"""

import json
import math
import sys

import optuna
import pandas as pd
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend


def main(record_path, csv_path, journal_path):
    record = json.load(open(record_path))
    trials = [(s["method"], t) for s in record["studies"] for t in s["trials"]]
    space = [p["name"] for p in record["setup"]["space"]["params"]]

    # pandas reads the CSV unchanged: a row per trial, cv_results_ columns, numbers as numbers.
    df = pd.read_csv(csv_path)
    assert len(df) == len(trials), (len(df), len(trials))
    for column in ["mean_test_score", "std_test_score", "rank_test_score", "mean_fit_time", "split0_test_score"]:
        assert column in df.columns, column
    assert df["rank_test_score"].dtype.kind == "i", df["rank_test_score"].dtype
    for (method, t), (_, row) in zip(trials, df.iterrows()):
        assert row["method"] == method and row["trial"] == t["id"] and row["state"] == t["state"]
        for name in space:
            assert row[f"param_{name}"] == t["params"][name], (name, row[f"param_{name}"], t["params"][name])
        if t["state"] == "complete":
            assert row["mean_test_score"] == t["score"], (row["mean_test_score"], t["score"])
        else:
            assert math.isnan(row["mean_test_score"])
    best = df.loc[df["rank_test_score"] == 1, "mean_test_score"].max()
    assert best == df["mean_test_score"].max()
    print(f"pandas {pd.__version__}: {len(df)} rows, {len(df.columns)} columns; best mean_test_score {best:.4f}")

    # Optuna opens each method as a study, with params, distributions, values, states and
    # intermediate values.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = JournalStorage(JournalFileBackend(journal_path))
    names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    assert names == [s["method"] for s in record["studies"]], names
    states = {"complete": "COMPLETE", "pruned": "PRUNED", "failed": "FAIL", "diverged": "FAIL", "interrupted": "FAIL",
              "running": "RUNNING", "paused": "RUNNING", "waiting": "WAITING"}
    for s in record["studies"]:
        study = optuna.load_study(study_name=s["method"], storage=storage)
        assert study.direction == optuna.study.StudyDirection.MAXIMIZE
        assert len(study.trials) == len(s["trials"])
        for frozen, t in zip(study.trials, s["trials"]):
            assert frozen.state.name == states[t["state"]], (frozen.state, t["state"])
            assert frozen.params == t["params"], (frozen.params, t["params"])
            assert set(frozen.distributions) == set(space)
            if t["state"] == "complete":
                assert frozen.value == t["score"]
            epochs = {e["epoch"] for e in t["epochs"] if e.get("validation_accuracy") is not None}
            assert set(frozen.intermediate_values) == epochs, (frozen.intermediate_values, epochs)
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if complete:
            print(f"optuna {optuna.__version__}: {s['method']}: {len(study.trials)} trials, best value {study.best_value:.4f}, "
                  f"params {study.best_params}")
        study.trials_dataframe()  # what optuna-dashboard and notebooks read
    print("ok")


if __name__ == "__main__":
    main(*sys.argv[1:4])
