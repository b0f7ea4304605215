"""Tests for explorer.lab.gallery: picks checked against brute force and torch softmax."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explorer.lab.evaluation import confusion_matrix
from explorer.lab.gallery import (
    agreement_matrix,
    confusion_cell,
    disagreements,
    filter_indices,
    most_confident_mistakes,
    most_uncertain,
)


@st.composite
def logits_and_labels(draw, max_n: int = 30):
    n = draw(st.integers(1, max_n))
    # Few distinct values make ties and exact argmax clashes likely.
    logits = draw(arrays(np.float64, (n, 10), elements=st.sampled_from(
        [-30.0, -3.0, -1.0, 0.0, 0.5, 1.0, 2.0, 7.0, 40.0]) | st.floats(-50, 50)))
    labels = draw(arrays(np.int64, (n,), elements=st.integers(0, 9)))
    return logits, labels


def _top_prob(logits, temperature=1.0):
    return torch.softmax(torch.tensor(logits) / temperature, dim=1).max(dim=1).values.numpy()


def test_hand_made_example():
    logits = np.zeros((4, 10))
    logits[0, 3] = 9.0  # says 3, is 3: right
    logits[1, 5] = 2.0  # says 5, is 1: mildly wrong
    logits[2, 8] = 6.0  # says 8, is 0: confidently wrong
    logits[3, [2, 4]] = 1.0  # torn between 2 and 4
    labels = np.array([3, 1, 0, 2])
    assert most_confident_mistakes(logits, labels, 5).tolist() == [2, 1]
    assert most_uncertain(logits, 1, by="margin").tolist() == [3]
    assert confusion_cell(logits, labels, true_class=0, predicted_class=8).tolist() == [2]
    assert filter_indices(logits, labels, true_class=3).tolist() == [0]
    assert filter_indices(logits, labels, predicted_class=5).tolist() == [1]


@settings(max_examples=60, deadline=None)
@given(data=logits_and_labels(), k=st.integers(0, 40),
       temperature=st.sampled_from([0.25, 1.0, 3.0]))
def test_most_confident_mistakes_are_mistakes_sorted_by_confidence(data, k, temperature):
    logits, labels = data
    picked = most_confident_mistakes(logits, labels, k, temperature)
    wrong = np.flatnonzero(logits.argmax(1) != labels)
    assert picked.dtype == np.int64 and len(picked) == min(k, len(wrong))
    assert (logits[picked].argmax(1) != labels[picked]).all()
    conf = _top_prob(logits, temperature)
    assert (np.diff(conf[picked]) <= 1e-12).all()
    left_out = np.setdiff1d(wrong, picked)
    if len(picked) and len(left_out):
        assert conf[left_out].max() <= conf[picked].min() + 1e-12


@settings(max_examples=60, deadline=None)
@given(data=logits_and_labels(), k=st.integers(0, 40))
def test_most_uncertain_sorted_by_entropy_or_margin(data, k):
    logits, _ = data
    p = torch.softmax(torch.tensor(logits), dim=1)
    entropy = -(p * torch.log2(p.clamp_min(1e-300))).sum(1).numpy()
    top2 = torch.topk(p, 2, dim=1).values.numpy()
    margin = top2[:, 0] - top2[:, 1]
    for by, key in (("entropy", -entropy), ("margin", margin)):
        picked = most_uncertain(logits, k, by=by)
        assert len(picked) == min(k, len(logits)) and len(set(picked)) == len(picked)
        assert (np.diff(key[picked]) >= -1e-9).all()
        left_out = np.setdiff1d(np.arange(len(logits)), picked)
        if len(picked) and len(left_out):
            assert key[left_out].min() >= key[picked].max() - 1e-9


@settings(max_examples=40, deadline=None)
@given(data=logits_and_labels())
def test_confusion_cells_partition_the_set_and_match_the_matrix(data):
    logits, labels = data
    counts = confusion_matrix(logits, labels)
    seen = []
    for true_class in range(10):
        for predicted in range(10):
            cell = confusion_cell(logits, labels, true_class, predicted)
            assert len(cell) == counts[true_class, predicted]
            assert (labels[cell] == true_class).all()
            assert (logits[cell].argmax(1) == predicted).all()
            seen += cell.tolist()
    assert sorted(seen) == list(range(len(labels)))
    assert filter_indices(logits, labels).tolist() == list(range(len(labels)))


@settings(max_examples=40, deadline=None)
@given(preds=arrays(np.int64, st.tuples(st.integers(1, 4), st.integers(0, 25)),
                    elements=st.integers(0, 2)))
def test_disagreements_and_agreement_match_brute_force(preds):
    m, n = preds.shape
    logits_by_model = {f"m{i}": np.eye(10)[preds[i]].reshape(n, 10) for i in range(m)}
    expected = [j for j in range(n) if len({int(preds[i, j]) for i in range(m)}) > 1]
    assert disagreements(logits_by_model).tolist() == expected
    names, agree = agreement_matrix(logits_by_model)
    assert names == list(logits_by_model) and agree.shape == (m, m)
    if n:
        for a in range(m):
            for b in range(m):
                assert agree[a, b] == pytest.approx(np.mean(preds[a] == preds[b]))
        assert np.allclose(np.diag(agree), 1.0) and np.allclose(agree, agree.T)


def test_bad_inputs_get_clear_errors():
    logits, labels = np.zeros((3, 10)), np.zeros(3, dtype=int)
    with pytest.raises(ValueError, match=r"shape \(N, 10\)"):
        most_uncertain(np.zeros((3, 9)), 1)
    with pytest.raises(ValueError, match="labels"):
        most_confident_mistakes(logits, labels[:2], 1)
    with pytest.raises(ValueError, match="'entropy' or 'margin'"):
        most_uncertain(logits, 1, by="vibes")
    with pytest.raises(ValueError, match="digit 0..9"):
        filter_indices(logits, labels, true_class=10)
    with pytest.raises(ValueError, match="k must be"):
        most_uncertain(logits, -1)
    with pytest.raises(ValueError, match="same images"):
        disagreements({"a": logits, "b": np.zeros((2, 10))})
    with pytest.raises(ValueError, match="empty"):
        agreement_matrix({})
