"""genoprep.bulk: the facts the mutation run (``make mutants MODULES=bulk``) found untested.

Hand-computed cases: the MAD outlier rules at their exact thresholds, ...
"""

from __future__ import annotations

import numpy as np

from genoprep.bulk import qc


def test_outlier_rule_threshold_is_strict_and_one_sided_for_correlation() -> None:
    """median 0, |deviations| 0 0 1 1 1.4826 -> MAD = 1.4826 x 1; at 1 MAD the sample exactly
    1.4826 below is not flagged (strict >), one 1.5 below is; a sample as far above is never flagged."""
    at = qc.correlation_rule(np.array([0.0, 1.0, -1.0, -1.4826, 0.0]), 1.0)
    assert (at.median, at.mad) == (0.0, 1.4826)
    assert at.flagged.tolist() == [False] * 5
    assert at.applied and at.note == "flag when median - x > 1 x MAD"
    below = qc.correlation_rule(np.array([0.0, 1.0, -1.0, -1.5, 0.0]), 1.0)
    assert below.flagged.tolist() == [False, False, False, True, False]
    above = qc.correlation_rule(np.array([0.0, 1.0, -1.0, 1.5, 0.0]), 1.0)
    assert above.flagged.tolist() == [False] * 5


def test_library_size_rule_is_two_sided_on_log10_sizes() -> None:
    """log10 sizes 2 3 3.5 4 7: median 3.5, |dev| 1.5 .5 0 .5 3.5 -> MAD 1.4826 x 0.5 = 0.7413."""
    sizes = np.array([1e2, 1e3, 10**3.5, 1e4, 1e7])
    rule = qc.library_size_rule(sizes, 2.0, counts=True)
    assert rule.median == 3.5 and abs(rule.mad - 0.7413) < 1e-12
    assert rule.flagged.tolist() == [True, False, False, False, True]  # 1.5 > 1.4826, 3.5 > 1.4826
    assert rule.note == "flag when |x - median| > 2 x MAD"
    three = qc.library_size_rule(sizes, 3.0, counts=True)
    assert three.flagged.tolist() == [False, False, False, False, True]
    skipped = qc.library_size_rule(sizes, 2.0, counts=False)
    assert not skipped.applied and not skipped.flagged.any()
    assert skipped.note == "library sizes are only compared for counts tables"
