"""Benchmark the built-in AutoML engine against LightGBM defaults, FLAML and AutoGluon on the shared datasets.

Every system gets the same fixed split (seed 0, 80/20, stratified for classes; adult_income uses
its own test.csv), the same time budget, the same primary metric (balanced accuracy for classes,
R² for numbers) and runs in its own process pinned to the same cores, so peak memory (ru_maxrss)
is the system's own. Results are printed and, with --write-docs, written to docs/benchmarks.md
under "## AutoML engine".

    python bench/automl.py --budget 60 --write-docs
    python bench/automl.py --budget 10 --datasets heart_disease,titanic --systems augurdb,lightgbm
    python bench/automl.py --datasets sms_spam --systems augurdb --text-encoder TfidfTextEncoder
    python bench/automl.py --systems augurdb --infer-limit 2e-6
    python bench/automl.py --systems augurdb,autogluon --autogluon-python .venv-autogluon/bin/python
    python bench/automl.py --check-values --budget 20
    python bench/automl.py --budget 30 --datasets heart_disease --split-seeds 0,1,2,3,4

For augurdb it also measures what its confidence states against the test split: the share of true
values inside [<target>_min, <target>_max] and the mean stated confidence (numbers), the expected
calibration error of the stated probability of the predicted class (classes), and each mixer's
held-out score. AutoGluon (`autogluon.tabular`, presets='medium_quality') does not install beside
this project's pins, so it runs from its own environment (`make bench-autogluon-env`).
--check-values trains through a real server instead and compares the predicted values, fetched
over the MySQL protocol, with the test split's labels as the CSV spells them.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

DATA = pathlib.Path(os.environ.get("AUGURDB_DATA", "/work/shared/data"))
ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## AutoML engine"

# name -> (training file, held-out file or None, target, task)
DATASETS = {
    "adult_income": ("adult_income/train.csv", "adult_income/test.csv", "income", "class"),
    "bank_marketing": ("bank_marketing/bank_marketing.csv", None, "y", "class"),
    "concrete_strength": ("concrete_strength/concrete_strength.csv", None, "concrete_strength", "number"),
    "heart_disease": ("heart_disease/heart_disease.csv", None, "target", "class"),
    "home_rentals": ("home_rentals/home_rentals.csv", None, "rental_price", "number"),
    "titanic": ("titanic/train.csv", None, "Survived", "class"),
    "sms_spam": ("sms_spam/sms_spam.csv", None, "label", "class"),
    "disaster_tweets": ("disaster_tweets/train.csv", None, "target", "class"),
    # Memory check at scale: 100k rows x 19 columns of real flight data.
    "nyc_flights_100k": ("nyc_flights_2013/flights.parquet", None, "arr_delay", "number"),
    # Series tables read as plain regression (random split): a store or bus route code with a date.
    "walmart_store_sales": ("walmart_store_sales/walmart_store_sales.csv", None, "Weekly_Sales", "number"),
    "chicago_cta_ridership": ("chicago_cta_ridership/cta_bus_ridership_2019_2020.csv", None, "RIDES", "number"),
}
SYSTEMS = ("augurdb", "lightgbm", "flaml", "autogluon")


def _read(relative: str) -> pd.DataFrame:
    path = DATA / relative
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def load_split(name: str, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, str, str]:
    """The train/test split ``seed`` of one dataset (rows with a missing target removed); a
    dataset with its own test file has that one split only."""
    from sklearn.model_selection import train_test_split

    train_file, test_file, target, task = DATASETS[name]
    df = _read(train_file)
    if name == "nyc_flights_100k":
        df = df.sample(125_000, random_state=0).reset_index(drop=True)
    df = df[df[target].notna()].reset_index(drop=True)
    if test_file:
        test = _read(test_file)
        return df, test[test[target].notna()].reset_index(drop=True), target, task
    stratify = df[target] if task == "class" else None
    train, test = train_test_split(df, test_size=0.2, random_state=seed, stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True), target, task


def score(task: str, truth: pd.Series, predicted) -> float:
    """Balanced accuracy (labels compared as text) or R²."""
    from sklearn.metrics import balanced_accuracy_score, r2_score

    if task == "class":
        return float(balanced_accuracy_score(truth.astype(str), pd.Series(predicted).astype(str)))
    return float(r2_score(truth.astype(float), np.asarray(predicted, dtype=float)))


def _baseline_frame(frame: pd.DataFrame, text_columns: list[str], hashers: dict) -> pd.DataFrame:
    """Inputs for the baselines: text as category (FLAML's view) or hashed words (LightGBM)."""
    out = frame.copy()
    for column in out.columns:
        if column in text_columns and hashers:
            words = hashers[column].transform(out[column].fillna("").astype(str)).toarray()
            hashed = pd.DataFrame(words, columns=[f"{column}_h{i}" for i in range(words.shape[1])], index=out.index)
            out = pd.concat([out.drop(columns=[column]), hashed], axis=1)
        elif pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].astype("int64") // 10**9  # seconds: the baselines take numbers
        elif not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].astype("category")
    return out


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
            and frame[c].dropna().astype(str).str.count(r"\S+").mean() >= 3]


def _text_encoders(train: pd.DataFrame, target: str, encoder: str | None) -> dict:
    """``encoder`` for every column the engine itself types as text (none: its defaults)."""
    from augurdb.automl import column_types as ct
    from augurdb.automl.type_inference import infer_types

    if not encoder:
        return {}
    stats = infer_types(train.drop(columns=[target]))
    return {"encoders": {name: encoder for name, s in stats.items() if s.dtype in ct.TEXT_TYPES}}


def run_augurdb(train, test, target, task, budget, text_encoder=None, infer_limit=None):
    """The engine under test (``text_encoder``: override the default encoder of text columns;
    ``infer_limit``: USING infer_limit, seconds a row)."""
    from augurdb.automl import learn

    options = _text_encoders(train, target, text_encoder)
    if infer_limit:
        options["infer_limit"] = infer_limit
    started = time.perf_counter()
    predictor = learn(train, target, time_budget=budget, seed=0, options=options)
    fit = time.perf_counter() - started
    started = time.perf_counter()
    out = predictor.predict(test.drop(columns=[target]), options={"explain": False})
    predict = time.perf_counter() - started
    return out[target], fit, predict, _trust(predictor, out, test[target], target, task)


def _trust(predictor, out: pd.DataFrame, truth: pd.Series, target: str, task: str) -> dict:
    """What the stated confidence is worth on the test split, and each mixer's held-out score."""
    from augurdb.automl.calibration import expected_calibration_error

    stated = out[f"{target}_confidence"].to_numpy(dtype=float)
    candidates = predictor.describe("model").to_dict("records")
    mixers = {row["name"]: row["performance"] for row in candidates}
    # The kept ensemble's held-out score, on the same rows as each mixer's (DESCRIBE's accuracies).
    kept = [row for row in candidates if row["selected"]]
    ensemble = {"ensemble": predictor.accuracy, "kept": [row["name"] for row in kept],
                "kept_us_per_row": sum(row["predict_seconds_per_row"] or 0.0 for row in kept) * 1e6}
    if task == "class":
        correct = out[target].astype(str).to_numpy() == truth.astype(str).to_numpy()
        return {"calibration_error": expected_calibration_error(stated, correct), "mixers": mixers, **ensemble}
    values = truth.astype(float)
    inside = (values >= out[f"{target}_min"]) & (values <= out[f"{target}_max"])
    return {"coverage": float(inside.mean()), "stated_confidence": float(stated.mean()), "mixers": mixers,
            **ensemble}


def run_lightgbm(train, test, target, task, budget):
    """LightGBM with default settings; text as a hashed bag of words, other strings as categories."""
    import lightgbm as lgb
    from sklearn.feature_extraction.text import HashingVectorizer

    x_train, x_test = train.drop(columns=[target]), test.drop(columns=[target])
    text = _text_columns(x_train)
    hashers = {c: HashingVectorizer(n_features=512, alternate_sign=False) for c in text}
    x_train, x_test = _baseline_frame(x_train, text, hashers), _baseline_frame(x_test, text, hashers)
    for column in x_train.columns:
        if isinstance(x_train[column].dtype, pd.CategoricalDtype):
            x_test[column] = pd.Categorical(x_test[column], categories=x_train[column].cat.categories)
    model = lgb.LGBMClassifier(verbose=-1, n_jobs=1) if task == "class" else lgb.LGBMRegressor(verbose=-1, n_jobs=1)
    y = train[target].astype(str) if task == "class" else train[target]
    started = time.perf_counter()
    model.fit(x_train, y)
    fit = time.perf_counter() - started
    started = time.perf_counter()
    predicted = model.predict(x_test)
    return predicted, fit, time.perf_counter() - started, {}


def _balanced_accuracy_metric(x_val, y_val, estimator, labels, x_train, y_train, *args, **kwargs):
    from sklearn.metrics import balanced_accuracy_score

    value = balanced_accuracy_score(y_val, estimator.predict(x_val))
    return 1 - value, {"balanced_accuracy": value}


def run_flaml(train, test, target, task, budget):
    """FLAML AutoML told the same metric and budget (text columns stay categories, its default)."""
    from flaml import AutoML

    x_train, x_test = train.drop(columns=[target]), test.drop(columns=[target])
    x_train, x_test = _baseline_frame(x_train, [], {}), _baseline_frame(x_test, [], {})
    automl = AutoML()
    y = train[target].astype(str) if task == "class" else train[target]
    metric = _balanced_accuracy_metric if task == "class" else "r2"
    started = time.perf_counter()
    automl.fit(x_train, y, task="classification" if task == "class" else "regression", time_budget=budget,
               metric=metric, n_jobs=1, seed=0, verbose=0)
    fit = time.perf_counter() - started
    started = time.perf_counter()
    predicted = automl.predict(x_test)
    return predicted, fit, time.perf_counter() - started, {}


def run_autogluon(train, test, target, task, budget):
    """AutoGluon-Tabular, presets='medium_quality', told the same metric and budget."""
    import tempfile

    from autogluon.tabular import TabularPredictor

    metric = "balanced_accuracy" if task == "class" else "r2"
    with tempfile.TemporaryDirectory() as path:
        predictor = TabularPredictor(label=target, eval_metric=metric, path=path, verbosity=0,
                                     problem_type=None if task == "class" else "regression")
        started = time.perf_counter()
        predictor.fit(train, time_limit=budget, presets="medium_quality", num_cpus=1)
        fit = time.perf_counter() - started
        started = time.perf_counter()
        predicted = predictor.predict(test.drop(columns=[target]))
        return predicted, fit, time.perf_counter() - started, {}


RUNNERS = {"augurdb": run_augurdb, "lightgbm": run_lightgbm, "flaml": run_flaml, "autogluon": run_autogluon}


def worker(system: str, name: str, budget: float, tuning: dict, seed: int) -> None:
    """Run one system on one dataset in this process; print one JSON line (``tuning``: augurdb's
    own options, run_augurdb's keyword arguments)."""
    train, test, target, task = load_split(name, seed)
    extra = {k: v for k, v in tuning.items() if v} if system == "augurdb" else {}
    predicted, fit, predict, trust = RUNNERS[system](train, test, target, task, budget, **extra)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"system": system, "dataset": name, "metric": score(task, test[target], predicted),
                      "fit_s": fit, "predict_s": predict, "peak_mb": peak_mb, "rows": len(train), "split_seed": seed, **trust}))


def run_isolated(system: str, name: str, budget: float, cores: set[int], tuning: dict,
                 python: str = sys.executable, seed: int = 0) -> dict:
    """One system on one dataset in a fresh process (of ``python``) pinned to ``cores``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": str(len(cores))}
    command = [python, __file__, "--worker", system, "--datasets", name, "--budget", str(budget),
               "--split-seeds", str(seed)]
    if tuning.get("text_encoder"):
        command += ["--text-encoder", tuning["text_encoder"]]
    if tuning.get("infer_limit"):
        command += ["--infer-limit", str(tuning["infer_limit"])]
    result = subprocess.run(command, capture_output=True, text=True, env=env,
                            preexec_fn=lambda: os.sched_setaffinity(0, cores), timeout=budget * 6 + 300)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode or not lines:
        return {"system": system, "dataset": name, "split_seed": seed,
                "error": (result.stderr or result.stdout).strip()[-300:]}
    return json.loads(lines[-1])


def table(results: list[dict], names: list[str], systems: list[str]) -> str:
    """Markdown table: metric / fit s / predict s / peak MB per system and dataset."""
    by_key = {(r["dataset"], r["system"]): r for r in results}
    header = "| dataset | metric | " + " | ".join(systems) + " |"
    lines = [header, "|" + "---|" * (len(systems) + 2)]
    for name in names:
        metric = "balanced acc." if DATASETS[name][3] == "class" else "R²"
        cells = []
        for system in systems:
            r = by_key.get((name, system), {})
            if "metric" in r:
                digits = 6 if r["metric"] > 0.999 else 4  # near-perfect R² needs more places to compare
                cells.append(f"{r['metric']:.{digits}f} ({r['fit_s']:.0f} s fit, {r['predict_s']:.2f} s predict, "
                             f"{r['peak_mb']:.0f} MB)")
            else:
                cells.append("error: " + r.get("error", "not run").splitlines()[-1][:80] if r else "not run")
        lines.append(f"| {name} | {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def trust_table(results: list[dict], names: list[str]) -> str:
    """augurdb's stated confidence against the test split, and each mixer's held-out score."""
    by_name = {r["dataset"]: r for r in results if r["system"] == "augurdb" and "metric" in r}
    if not by_name:
        return ""
    mixers = sorted({m for r in by_name.values() for m in r.get("mixers", {})},
                    key=lambda m: (m not in _BUILT_IN_ORDER, _BUILT_IN_ORDER.index(m) if m in _BUILT_IN_ORDER else 0, m))
    lines = ["| dataset | what the confidence states, on the test split | " + " | ".join(mixers) +
             " | kept ensemble |", "|" + "---|" * (len(mixers) + 3)]
    for name in names:
        r = by_name.get(name)
        if r is None:
            continue
        if "coverage" in r:
            trust = (f"{100 * r['coverage']:.1f}% of true values inside the bounds, stated "
                     f"{100 * r['stated_confidence']:.1f}%")
        else:
            trust = f"calibration error {r['calibration_error']:.3f}"
        scores = [f"{r['mixers'][m]:.4f}" if r.get("mixers", {}).get(m) is not None else "–" for m in mixers]
        kept = f"{r['ensemble']:.4f} ({' + '.join(r['kept'])})" if "ensemble" in r else "–"
        if "kept_us_per_row" in r:
            kept += f", {r['kept_us_per_row']:.1f} µs a row"
        lines.append(f"| {name} | {trust} | " + " | ".join(scores) + f" | {kept} |")
    return "\n".join(lines)


def ensemble_summary(results: list[dict]) -> str:
    """On how many datasets the kept ensemble scores at least the best single mixer (held-out)."""
    rows = [r for r in results if r["system"] == "augurdb" and "ensemble" in r]
    if not rows:
        return ""
    best = {r["dataset"]: max(v for v in r["mixers"].values() if v is not None) for r in rows}
    # Candidates' scores are rounded to 6 digits in DESCRIBE: an equal ensemble may show 5e-7 below.
    at_least = [r["dataset"] for r in rows if r["ensemble"] >= best[r["dataset"]] - 5e-7]
    below = ", ".join(f"{r['dataset']} ({r['ensemble']:.4f} against {best[r['dataset']]:.4f})"
                      for r in rows if r["dataset"] not in at_least)
    return (f"- kept ensemble at or above the best single mixer on held-out rows: {len(at_least)} of {len(rows)}"
            f" datasets{'; below: ' + below if below else ''} (the ensemble is chosen on those rows, so this"
            " favours it; the test-split scores above are the unbiased comparison with other systems)")


_BUILT_IN_ORDER = ["Linear", "LightGBM", "FullyConnectedNet", "EnsembleFullyConnectedNet", "EnsembleConvNet"]


def comparison(results: list[dict], names: list[str], systems: list[str]) -> str:
    """augurdb against each other system: datasets at or above it, and the largest shortfall."""
    by_key = {(r["dataset"], r["system"]): r.get("metric") for r in results}
    lines = []
    for other in systems:
        if other == "augurdb":
            continue
        pairs = [(by_key.get((n, "augurdb")), by_key.get((n, other))) for n in names]
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
        if not pairs:
            continue
        at_least = sum(a >= b for a, b in pairs)
        shortfall = max(0.0, max(b - a for a, b in pairs))
        lines.append(f"- against {other}: at or above on {at_least} of {len(pairs)} datasets "
                     f"({100 * at_least / len(pairs):.0f}%), largest shortfall {100 * shortfall:.2f} points")
    return "\n".join(lines)


def splits_summary(results: list[dict], names: list[str], systems: list[str]) -> str:
    """With several splits: each system's mean (least–greatest) per dataset, and augurdb against
    each other system on the means. A test split of a few dozen rows moves a score by points from
    one split to the next; the mean over splits is what a comparison can rest on."""
    seeds = sorted({r["split_seed"] for r in results if "split_seed" in r})
    if len(seeds) < 2:
        return ""
    scores: dict[tuple[str, str], list[float]] = {}
    for r in results:
        if "metric" in r:
            scores.setdefault((r["dataset"], r["system"]), []).append(r["metric"])
    lines = [f"Over splits {', '.join(map(str, seeds))} (mean, least–greatest, splits run):", "",
             "| dataset | " + " | ".join(systems) + " |", "|" + "---|" * (len(systems) + 1)]
    for name in names:
        cells = []
        for system in systems:
            values = scores.get((name, system), [])
            cells.append(f"{np.mean(values):.4f} ({min(values):.4f}–{max(values):.4f}, {len(values)})" if values
                         else "not run")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    means = [{"dataset": d, "system": s, "metric": float(np.mean(v))} for (d, s), v in scores.items()]
    return "\n".join(lines) + "\n\nOn the means:\n" + comparison(means, names, systems)


def write_docs(markdown: str, command: str, budget: float, cores: set[int]) -> None:
    """Replace (or add) the "## AutoML engine" section of docs/benchmarks.md, keeping the others."""
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    section = (
        f"{SECTION}\n\nMeasured {time.strftime('%Y-%m-%d')} on this machine kind (2 cores, no GPU), every system "
        f"in its own process pinned to core(s) {sorted(cores)}, {budget:g} s budget, fixed split (seed 0, "
        "80/20, stratified for classes; adult_income uses its own test.csv). Cells: primary metric (fit time, "
        "predict time for the whole test split, peak RSS of the process). Then augurdb's stated confidence "
        "against the test split (numbers: share of true values inside [<target>_min, <target>_max] against the "
        "mean of <target>_confidence; classes: expected calibration error of <target>_confidence, 10 bins) and "
        "each mixer's held-out score (R² or balanced accuracy on the validation rows, DESCRIBE's "
        "performance). Reproduce with:\n\n"
        f"    {command}\n\n{markdown}\n"
    )
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        following = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + (text[following + 1 :] if following != -1 else "")
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per system and dataset")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated subset")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset")
    parser.add_argument("--cores", default="0", help="cores every system is pinned to, e.g. 0 or 0,1")
    parser.add_argument("--text-encoder", help="augurdb: this encoder for every text column (default: its own choice)")
    parser.add_argument("--infer-limit", type=float,
                        help="augurdb: USING infer_limit, the kept mixers' predict seconds a row (default: its own)")
    parser.add_argument("--write-docs", action="store_true", help="write the table into docs/benchmarks.md")
    parser.add_argument("--autogluon-python", default=str(ROOT / ".venv-autogluon" / "bin" / "python"),
                        help="the interpreter of AutoGluon's own environment (make bench-autogluon-env)")
    parser.add_argument("--check-values", action="store_true",
                        help="train through a real server; compare predicted values with the labels as written")
    parser.add_argument("--split-seeds", default="0",
                        help="train/test splits to run, e.g. 0,1,2,3,4: the tables show split 0, a summary "
                             "the mean and range over all (a dataset with its own test file has one split)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    unknown = sorted(set(names) - set(DATASETS))
    if unknown:
        parser.error(f"unknown datasets {unknown}; known: {sorted(DATASETS)}")
    seeds = [int(s) for s in args.split_seeds.split(",")]
    tuning = {"text_encoder": args.text_encoder, "infer_limit": args.infer_limit}
    if args.worker:
        worker(args.worker, names[0], args.budget, tuning, seeds[0])
        return
    if args.check_values:
        from check_values import check_values

        print(check_values([n for n in names if DATASETS[n][3] == "class"], args.budget))
        return
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    cores = {int(c) for c in args.cores.split(",")}
    results = []
    for name in names:
        for seed in seeds if DATASETS[name][1] is None else seeds[:1]:
            for system in systems:
                python = args.autogluon_python if system == "autogluon" else sys.executable
                result = run_isolated(system, name, args.budget, cores, tuning, python, seed)
                results.append(result)
                print(json.dumps(result), flush=True)
    first = [r for r in results if r.get("split_seed", seeds[0]) == seeds[0]]
    markdown = "\n\n".join(part for part in (table(first, names, systems), comparison(first, names, systems),
                                               trust_table(first, names), ensemble_summary(first),
                                               splits_summary(results, names, systems)) if part)
    print(markdown)
    if args.write_docs:
        command = "python bench/automl.py " + " ".join(a for a in sys.argv[1:])
        write_docs(markdown, command, args.budget, cores)


if __name__ == "__main__":
    main()
