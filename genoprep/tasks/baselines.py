"""Quick baselines that show a bundle is learnable and catch leakage (``baseline.json``).

Every baseline is trained on ``train`` and scored on ``test``, twice: with the real training
labels and with the training labels **shuffled** (a seeded permutation among the train rows;
the mean over ``N_SHUFFLES`` permutations is reported beside each one). A model trained on
shuffled labels cannot learn anything true about the test set, so

* the real score should clear the shuffled one (``learnable``; a warning when it does not,
  since some tasks are hard, not broken), and
* a shuffled score above chance by more than ``params.tasks.leakage_margin`` is a
  **leakage alarm**: labels are reaching the features, or the test rows repeat train rows
  in a way that carries the label. :func:`check_alarm` then raises one line and the rule fails.

Classification (``cell_type_annotation``, ``sequence_classification``, ``variant_effect``):
scikit-learn ``LogisticRegression`` (lbfgs, ``class_weight="balanced"``, ``max_iter`` 2000) after a ``StandardScaler``
fitted on train (without centring for sparse input); scores are accuracy, balanced
accuracy and macro F1; chance is the balanced accuracy of a constant prediction,
``1 / n_classes`` (classes present in test); the majority-class rate (accuracy of always
predicting the most frequent train class) is written beside every score.

Expression prediction (``gene_expression_prediction``): the hidden entries of each test cell
are predicted by the train **mean profile** (the mean of each gene over train cells) and by
**k-NN** (cosine distance on the masked inputs, ``k`` nearest train cells, mean of their full
profiles); scores are the mean squared error and Pearson's r over the hidden entries. The
shuffled control pairs each train input with another train cell's profile; chance is the
mean-profile predictor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp

from genoprep.errors import InputError

N_SHUFFLES = 3
KNN_K = 15

T = TypeVar("T")


def _classifier(sparse_input: bool, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        StandardScaler(with_mean=not sparse_input),
        LogisticRegression(max_iter=2000, class_weight="balanced", random_state=seed),
    )


def _scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }


def _one_blas_thread(function: Callable[..., T]) -> Callable[..., T]:
    """Run ``function`` with one BLAS thread: no oversubscription, same bytes on any machine."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return function(*args, **kwargs)

    return wrapper


@_one_blas_thread
def classification_baseline(
    x_train: Any, y_train: np.ndarray, x_test: Any, y_test: np.ndarray, *, seed: int, margin: float, features: str
) -> dict[str, Any]:
    """Logistic regression on real and on shuffled train labels; see the module docstring."""
    y_train = np.asarray(y_train)
    y_test = np.asarray(y_test)
    if np.unique(y_train).size < 2:
        raise InputError("train split", f"{np.unique(y_train).size} class(es) in train: nothing to classify")
    if y_test.size == 0:
        raise InputError("test split", "no test rows: cannot score a baseline")
    sparse_input = sp.issparse(x_train)
    x_train = x_train.astype(np.float64) if sparse_input else np.asarray(x_train, dtype=np.float64)
    x_test = x_test.astype(np.float64) if sp.issparse(x_test) else np.asarray(x_test, dtype=np.float64)
    model = _classifier(sparse_input, seed).fit(x_train, y_train)
    real = _scores(y_test, model.predict(x_test))
    rng = np.random.default_rng(seed)
    shuffled_runs = []
    for _ in range(N_SHUFFLES):
        permuted = rng.permutation(y_train)
        shuffled_model = _classifier(sparse_input, seed).fit(x_train, permuted)
        shuffled_runs.append(_scores(y_test, shuffled_model.predict(x_test)))
    shuffled = {k: float(np.mean([r[k] for r in shuffled_runs])) for k in real}
    values, counts = np.unique(y_train, return_counts=True)
    majority = values[np.argmax(counts)]
    majority_rate = float(np.mean(y_test == majority))
    chance = 1.0 / np.unique(y_test).size
    return {
        "model": "StandardScaler + LogisticRegression(lbfgs, class_weight=balanced, max_iter=2000)",
        "features": features,
        "n_train": int(y_train.size),
        "n_test": int(y_test.size),
        "n_classes": int(values.size),
        "metric": "balanced_accuracy",
        "real": real,
        "shuffled_labels": shuffled,
        "shuffled_runs": shuffled_runs,
        "majority_class_rate": majority_rate,
        "chance_balanced_accuracy": chance,
        "learnable": real["balanced_accuracy"] > shuffled["balanced_accuracy"],
        "leakage_alarm": shuffled["balanced_accuracy"] > chance + margin,
        "leakage_margin": margin,
    }


def _hidden_entries(mask: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    coo = sp.coo_matrix(mask)
    return coo.row, coo.col


def _score_hidden(
    target: sp.csr_matrix, predicted_rows: np.ndarray, rows: np.ndarray, cols: np.ndarray, row_of: np.ndarray
) -> dict[str, float]:
    truth = np.asarray(target[rows, cols]).ravel().astype(np.float64)
    guess = predicted_rows[row_of, cols]
    mse = float(np.mean((truth - guess) ** 2)) if truth.size else float("nan")
    if truth.size > 1 and truth.std() > 0 and guess.std() > 0:
        r = float(np.corrcoef(truth, guess)[0, 1])
    else:
        r = float("nan")
    return {"mse": mse, "pearson_r": r}


@_one_blas_thread
def expression_baseline(
    train_input: sp.csr_matrix,
    train_target: sp.csr_matrix,
    test_input: sp.csr_matrix,
    test_target: sp.csr_matrix,
    test_mask: sp.csr_matrix,
    *,
    seed: int,
    margin: float,
    k: int = KNN_K,
) -> dict[str, Any]:
    """Mean-profile and k-NN predictions of the hidden test entries, real and with shuffled train profiles."""
    from sklearn.neighbors import NearestNeighbors

    rows, cols = _hidden_entries(test_mask)
    if rows.size == 0:
        raise InputError("test split", "no hidden entries in test: nothing to score")
    mean_profile = np.asarray(train_target.mean(axis=0)).ravel()
    mean_scores = _score_hidden(
        test_target, np.broadcast_to(mean_profile, (1, mean_profile.size)), rows, cols, np.zeros_like(rows)
    )
    k = min(k, train_input.shape[0])
    index = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(train_input)
    neighbours = index.kneighbors(test_input, return_distance=False)
    dense_target = train_target.toarray() if sp.issparse(train_target) else np.asarray(train_target)

    def knn_scores(profiles: np.ndarray) -> dict[str, float]:
        unique_rows, row_of = np.unique(rows, return_inverse=True)
        predicted = profiles[neighbours[unique_rows]].mean(axis=1)
        return _score_hidden(test_target, predicted, rows, cols, row_of)

    real = knn_scores(dense_target)
    rng = np.random.default_rng(seed)
    runs = [knn_scores(dense_target[rng.permutation(dense_target.shape[0])]) for _ in range(N_SHUFFLES)]
    shuffled = {key: float(np.mean([r[key] for r in runs])) for key in real}
    return {
        "model": f"k-NN (k={k}, cosine on the masked input) vs the train mean profile",
        "n_train": int(train_input.shape[0]),
        "n_test": int(test_input.shape[0]),
        "n_hidden": int(rows.size),
        "metric": "pearson_r",
        "mean_profile": mean_scores,
        "real": real,
        "shuffled_labels": shuffled,
        "shuffled_runs": runs,
        "learnable": real["pearson_r"] > shuffled["pearson_r"],
        "leakage_alarm": shuffled["pearson_r"] > mean_scores["pearson_r"] + margin,
        "leakage_margin": margin,
    }


def check_alarm(result: dict[str, Any], source: str) -> None:
    """One line when the shuffled-label baseline is too good (the rule then fails)."""
    if result["leakage_alarm"]:
        metric = result["metric"]
        chance = result.get("chance_balanced_accuracy", result.get("mean_profile", {}).get(metric))
        raise InputError(
            source,
            f"leakage alarm: the baseline trained on shuffled labels scores {metric} "
            f"{result['shuffled_labels'][metric]:.3f}, above chance {chance:.3f} by more than "
            f"params.tasks.leakage_margin {result['leakage_margin']:g}",
            record="baseline",
        )
