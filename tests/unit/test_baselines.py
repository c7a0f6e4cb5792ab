"""Baselines on synthetic data with a known answer: learnable, shuffled near chance, the alarm line."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from genoprep.errors import InputError
from genoprep.tasks.baselines import check_alarm, classification_baseline, expression_baseline


def blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])
    centres = np.array([[3.0, 0, 0, 0], [0, 3.0, 0, 0], [0, 0, 3.0, 0]])
    return centres[y] + rng.normal(size=(n, 4)), y


def test_separable_classes_are_learned_and_shuffled_labels_are_not() -> None:
    x_train, y_train = blobs(600, 0)
    x_test, y_test = blobs(300, 1)
    result = classification_baseline(x_train, y_train, x_test, y_test, seed=0, margin=0.1, features="blobs")
    assert result["real"]["balanced_accuracy"] > 0.9
    assert abs(result["shuffled_labels"]["balanced_accuracy"] - 1 / 3) < 0.1
    assert result["majority_class_rate"] == pytest.approx(np.mean(y_test == 0))
    assert result["learnable"] and not result["leakage_alarm"]
    again = classification_baseline(x_train, y_train, x_test, y_test, seed=0, margin=0.1, features="blobs")
    assert again == result


def test_sparse_features_work_too() -> None:
    x_train, y_train = blobs(400, 2)
    x_test, y_test = blobs(200, 3)
    result = classification_baseline(
        sp.csr_matrix(np.abs(x_train)),
        y_train,
        sp.csr_matrix(np.abs(x_test)),
        y_test,
        seed=1,
        margin=0.1,
        features="sparse",
    )
    assert result["real"]["balanced_accuracy"] > 0.8


def test_alarm_is_one_line() -> None:
    result = {
        "metric": "balanced_accuracy",
        "leakage_alarm": True,
        "chance_balanced_accuracy": 0.5,
        "shuffled_labels": {"balanced_accuracy": 0.71},
        "leakage_margin": 0.1,
    }
    with pytest.raises(InputError) as err:
        check_alarm(result, "tasks/x/baseline.json")
    assert str(err.value) == (
        "tasks/x/baseline.json: baseline: leakage alarm: the baseline trained on shuffled labels "
        "scores balanced_accuracy 0.710, above chance 0.500 by more than "
        "params.tasks.leakage_margin 0.1"
    )
    check_alarm({**result, "leakage_alarm": False}, "x")


def test_single_class_train_is_refused() -> None:
    with pytest.raises(InputError, match="1 class"):
        classification_baseline(
            np.ones((4, 2)), np.zeros(4), np.ones((2, 2)), np.zeros(2), seed=0, margin=0.1, features="x"
        )


def test_expression_knn_beats_the_mean_profile_on_structured_cells() -> None:
    rng = np.random.default_rng(0)
    programs = rng.gamma(1.0, 2.0, size=(4, 40))
    kind = rng.integers(0, 4, size=500)
    profiles = np.log1p(rng.poisson(programs[kind]))
    mask = (rng.random(profiles.shape) < 0.2) & (profiles > 0)
    masked = np.where(mask, 0, profiles)
    train, test = slice(0, 400), slice(400, 500)
    result = expression_baseline(
        sp.csr_matrix(masked[train]),
        sp.csr_matrix(profiles[train]),
        sp.csr_matrix(masked[test]),
        sp.csr_matrix(profiles[test]),
        sp.csr_matrix(mask[test].astype(np.int8)),
        seed=0,
        margin=0.1,
    )
    # the mean-profile score, computed here independently
    truth = profiles[test][mask[test]]
    guess = np.broadcast_to(profiles[train].mean(axis=0), profiles[test].shape)[mask[test]]
    assert result["mean_profile"]["mse"] == pytest.approx(np.mean((truth - guess) ** 2))
    assert result["real"]["pearson_r"] > result["mean_profile"]["pearson_r"] + 0.1
    assert result["learnable"] and not result["leakage_alarm"]
    assert abs(result["shuffled_labels"]["pearson_r"] - result["mean_profile"]["pearson_r"]) < 0.1
