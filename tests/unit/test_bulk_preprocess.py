"""CPM, log1p, the expression filter, the z-score and the sample QC on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from genoprep.bulk import preprocess, qc

COUNTS = np.array([[1.0, 3.0, 0.0], [2.0, 2.0, 6.0]])  # 2 samples x 3 genes; library sizes 4 and 10


def test_cpm_then_log1p_for_counts() -> None:
    log = preprocess.log_values(COUNTS, "counts", use_cpm=True)
    expected = np.log1p(np.array([[250_000.0, 750_000.0, 0.0], [200_000.0, 200_000.0, 600_000.0]]))
    np.testing.assert_allclose(log, expected, rtol=1e-15)
    np.testing.assert_array_equal(preprocess.library_sizes(COUNTS), [4.0, 10.0])


def test_counts_without_cpm_and_normalised_types_get_log1p_only() -> None:
    np.testing.assert_allclose(preprocess.log_values(COUNTS, "counts", use_cpm=False), np.log1p(COUNTS))
    for value_type in ("tpm", "fpkm", "rpkm"):
        np.testing.assert_allclose(preprocess.log_values(COUNTS, value_type, use_cpm=True), np.log1p(COUNTS))
    assert "no CPM" in preprocess.normalization_description("tpm", True)


def test_log_values_are_not_logged_again() -> None:
    values = np.array([[-1.0, 2.5]])
    out = preprocess.log_values(values, "log", use_cpm=True)
    np.testing.assert_array_equal(out, values)
    assert out is not values
    assert "no second log" in preprocess.normalization_description("log", True)


def test_filter_keeps_mean_log_strictly_above_the_threshold() -> None:
    e = math.e - 1.0
    log = np.log1p(np.array([[e, e, 10.0, 0.0], [e, e, 0.0, 5.0]]))  # gene means: 1, 1, ~1.2, ~0.9
    result = preprocess.expression_filter(log, 1.0, 0.0, 0.0)
    np.testing.assert_allclose(result.mean_log[:2], [1.0, 1.0])
    assert list(result.keep) == [False, False, True, False]
    assert list(preprocess.expression_filter(log, None, 0.0, 0.0).keep) == [True] * 4


def test_filter_exactly_at_min_mean_log_is_removed() -> None:
    # log values as given (value_type log): gene means exactly 1.0, the next double above it, 0.5 + 1.5 = 2 / 2
    above = np.nextafter(1.0, 2.0)
    log = np.array([[1.0, above, 0.5], [1.0, above, 1.5]])
    result = preprocess.expression_filter(log, 1.0, 0.0, 0.0)
    assert result.mean_log.tolist() == [1.0, above, 1.0]
    assert list(result.keep) == [False, True, False]  # documented as strictly greater than


def test_filter_fraction_expressed() -> None:
    log = np.array([[3.0, 3.0], [3.0, 0.0], [0.0, 0.0], [3.0, 0.5]])  # 4 samples x 2 genes
    result = preprocess.expression_filter(log, 1.0, 0.75, 0.0)
    np.testing.assert_allclose(result.fraction_expressed, [0.75, 0.5])
    assert list(result.keep) == [True, False]  # gene 2: mean 0.875 and 2 of 4 samples
    assert list(preprocess.expression_filter(log, None, 0.5, 0.4).keep) == [True, True]
    assert list(preprocess.expression_filter(log, None, 0.5, 0.5).keep) == [True, False]


def test_zscore_is_standard_scaler_ddof0_and_constant_genes_become_zero() -> None:
    log = np.array([[1.0, 5.0, 0.1], [3.0, 5.0, 0.1], [5.0, 5.0, 0.1]])
    z, mean, scale = preprocess.zscore(log)
    s = math.sqrt(8 / 3)
    np.testing.assert_allclose(z[:, 0], [-2 / s, 0.0, 2 / s])
    np.testing.assert_array_equal(z[:, 1:], 0.0)
    np.testing.assert_allclose(mean, [3.0, 5.0, 0.1])
    np.testing.assert_allclose(scale, [s, 1.0, 1.0])


def test_correlation_and_median_correlations() -> None:
    log = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [3.0, 2.0, 1.0]])
    corr = qc.correlation_matrix(log)
    np.testing.assert_allclose(corr, [[1, 1, -1], [1, 1, -1], [-1, -1, 1]], atol=1e-12)
    np.testing.assert_allclose(qc.median_correlations(corr), [0.0, 0.0, -1.0], atol=1e-12)
    flat = qc.correlation_matrix(np.array([[1.0, 1.0], [1.0, 2.0]]))
    assert np.isnan(flat[0, 1]) and np.isnan(flat[0, 0]) and flat[1, 1] == 1.0


def test_a_constant_sample_has_nan_correlations_and_is_not_flagged() -> None:
    # 7 x 2.3 has a float mean 4.4e-16 away from 2.3: plain centring left rounding noise, which
    # gave the constant sample correlation 1 with itself, ~0 with the others, and an outlier flag
    log = np.array([[2.3] * 7, [1, 2, 3, 4, 5, 6, 7.0], [2, 2, 3, 4, 5, 6, 8.0], [1, 3, 3, 4, 5, 7, 7.0]])
    assert (log[0] - log[0].mean() != 0).any()  # the rounding this test is about
    corr = qc.correlation_matrix(log)
    assert np.isnan(corr[0]).all() and np.isnan(corr[:, 0]).all()
    np.testing.assert_allclose(corr[1:, 1:], np.corrcoef(log[1:]), atol=1e-12)
    medians = qc.median_correlations(corr)
    assert np.isnan(medians[0])
    assert not qc.correlation_rule(medians, 3.0).flagged[0]


def test_outlier_rules() -> None:
    sizes = np.array([1e6, 1.1e6, 0.9e6, 1.05e6, 1e4])
    rule = qc.library_size_rule(sizes, 3.0, counts=True)
    assert rule.applied and list(rule.flagged) == [False, False, False, False, True]
    assert not qc.library_size_rule(sizes, 3.0, counts=False).flagged.any()
    assert not qc.library_size_rule(sizes, None, counts=True).applied
    medians = np.array([0.98, 0.97, 0.99, 0.98, 0.90, 0.995])
    rule = qc.correlation_rule(medians, 3.0)
    assert list(rule.flagged) == [False, False, False, False, True, False]  # one-sided: high is fine
    assert not qc.correlation_rule(np.array([0.9, 0.9, 0.9]), 3.0).flagged.any()  # MAD 0
    assert not qc.correlation_rule(np.array([0.9, 0.1]), 3.0).applied  # fewer than 3 samples


def test_scaled_mad() -> None:
    median, mad = qc.scaled_mad(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    assert median == 3.0 and mad == pytest.approx(1.4826)
