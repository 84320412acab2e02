"""Label comparison: contingency, Hungarian alignment, agreement, ARI/NMI, ground truth."""

import numpy as np
import pytest

from sectionist.analysis.modeling.compare import align_labels, compare_labelings, contingency, truth_scores
from sectionist.analysis.errors import ParameterError


def test_permuted_labelling_agrees_completely():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, size=500)
    perm = np.array([3, 0, 4, 1, 2])
    b = perm[a]
    comp = compare_labelings(a, b)
    assert comp.agreement == 1.0
    assert comp.ari == pytest.approx(1.0) and comp.nmi == pytest.approx(1.0)
    assert all(comp.agree)
    np.testing.assert_array_equal(comp.b_aligned, a)
    assert comp.mapping == {int(perm[i]): i for i in range(5)}


def test_partial_agreement_and_contingency():
    a = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    b = np.array([1, 1, 1, 0, 0, 0, 0, 0])  # b's 1 ≈ a's 0; one section of a's 0 went to b's 0
    rows, cols, counts = contingency(a, b)
    assert rows == [0, 1] and cols == [0, 1]
    np.testing.assert_array_equal(counts, [[1, 3], [4, 0]])
    comp = compare_labelings(a, b)
    assert comp.mapping == {1: 0, 0: 1}
    assert comp.agreement == pytest.approx(7 / 8)
    np.testing.assert_array_equal(comp.agree, [True, True, True, False, True, True, True, True])


def test_more_clusters_in_b_get_new_numbers():
    a = np.array([0, 0, 1, 1, 1, 1])
    b = np.array([5, 5, 6, 6, 7, 7])
    mapping = align_labels(a, b)
    assert mapping[5] == 0 and mapping[6] == 1 and mapping[7] == 2
    assert sorted(mapping.values()) == [0, 1, 2]
    comp = compare_labelings(a, b)
    assert comp.agreement == pytest.approx(4 / 6)


def test_truth_scores_ignore_unknown_truth():
    labels = np.array([0, 0, 1, 1, 2, 2])
    truth = ["verse", "verse", "chorus", "chorus", None, np.nan]
    ts = truth_scores(labels, truth)
    assert ts["n"] == 4 and ts["ari"] == pytest.approx(1.0) and ts["agreement"] == 1.0
    assert truth_scores(labels, [None] * 6)["n"] == 0


def test_bad_input():
    with pytest.raises(ParameterError, match="differ in length"):
        compare_labelings([0, 1], [0, 1, 1])
    with pytest.raises(ParameterError, match="no common sections"):
        compare_labelings([], [])


def test_unmatched_clusters_keep_labels_that_collide_with_no_a_label():
    # B splits A's cluster 1 (and has noise): B's 7 has no A partner and gets a new label
    a = np.array([-1, 0, 0, 1, 1, 1, 1])
    b = np.array([-1, 5, 5, 6, 6, 7, 7])
    comp = compare_labelings(a, b)
    assert comp.unmatched == [7]
    assert comp.mapping[7] not in comp.rows and comp.mapping[7] == 2
    assert set(comp.mapping.values()) - {comp.mapping[7]} <= set(comp.rows)
    assert not comp.agree[b == 7].any()
    np.testing.assert_array_equal(comp.b_aligned, [-1, 0, 0, 1, 1, 2, 2])
    # strings: "<label>*"
    s = compare_labelings(np.array(["x", "x", "y"]), np.array(["p", "q", "r"]))
    assert len(s.unmatched) == 1 and s.mapping[s.unmatched[0]] == f"{s.unmatched[0]}*"


def test_scores_can_be_skipped():
    comp = compare_labelings([0, 0, 1], [1, 1, 0], scores=False)
    assert comp.agreement == 1.0 and np.isnan(comp.ari) and np.isnan(comp.nmi)
