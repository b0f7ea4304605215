import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explorer.maths import confidence as C

TEMPS = [0.05, 0.3, 1.0, 2.5, 20.0]
finite_logits = arrays(np.float64, 10, elements=st.floats(-1e4, 1e4, allow_nan=False))


def ref(z, t):
    return torch.tensor(z, dtype=torch.float64) / t


@pytest.mark.parametrize("t", TEMPS)
@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4])
def test_against_torch(t, scale):
    z = np.random.default_rng(0).normal(size=(7, 10)) * scale  # (N, 10)
    torch.testing.assert_close(torch.from_numpy(C.softmax(z, t)), torch.softmax(ref(z, t), -1))
    torch.testing.assert_close(torch.from_numpy(C.log_softmax(z, t)),
                               torch.log_softmax(ref(z, t), -1))
    torch.testing.assert_close(torch.from_numpy(C.sigmoid(z, t)), torch.sigmoid(ref(z, t)))
    torch.testing.assert_close(torch.from_numpy(C.logsumexp(z, t)),
                               torch.logsumexp(ref(z, t), -1))
    logp = torch.log_softmax(ref(z, t), -1)
    ent = -(logp.exp() * logp).sum(-1) / np.log(2)
    torch.testing.assert_close(torch.from_numpy(C.entropy_bits(z, t)), ent.clamp(min=0))
    top2 = torch.softmax(ref(z, t), -1).topk(2).values
    torch.testing.assert_close(torch.from_numpy(C.margin(z, t)), top2[:, 0] - top2[:, 1])
    torch.testing.assert_close(torch.from_numpy(C.energy(z, t)),
                               -t * torch.logsumexp(ref(z, t), -1))


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, (3, 10), elements=st.floats(-1e6, 1e6)),
       st.floats(1e-4, 1e4))
def test_finite_everywhere_for_any_logits_and_temperature(z, t):
    for f in (C.softmax, C.log_softmax, C.sigmoid, C.entropy_bits, C.margin, C.energy,
              C.one_minus_top):
        assert np.isfinite(f(z, t)).all(), f.__name__
    p = C.softmax(z, t)
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-9)
    assert (C.entropy_bits(z, t) <= np.log2(10) + 1e-9).all()


def test_softmax_never_reaches_exactly_one_in_log_space():
    z = np.array([40.0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    assert C.log_softmax(z)[0] < 0  # the probability is below 1 ...
    assert 0 < C.one_minus_top(z) < 1e-15  # ... by an amount float64 1 − p would round away
    assert (C.softmax(z)[1:] > 0).all()


def test_sigmoids_do_not_sum_to_one_but_softmax_does():
    z = np.array([3.0, 2.5, -1, 0, 0, 0, 0, 0, 0, 0])
    assert abs(C.softmax(z).sum() - 1) < 1e-12
    assert abs(C.sigmoid(z).sum() - 1) > 0.5


def test_temperature_never_changes_argmax():
    z = np.random.default_rng(1).normal(size=(100, 10)) * 5
    for t in TEMPS:
        assert (C.softmax(z, t).argmax(-1) == z.argmax(-1)).all()


def test_summary_and_verdicts():
    confident = C.summarize(np.array([0, 0, 12.0, 0, 0, 0, 0, 0, 0, 0]))
    assert confident.prediction == 2 and confident.verdict == "confident"
    flat = C.summarize(np.zeros(10))
    assert flat.verdict == "probably not a digit" and abs(flat.entropy_bits - np.log2(10)) < 1e-9
    split = C.summarize(np.array([2.0, 1.0] + [-5.0] * 8))
    assert split.verdict == "uncertain" and 0.4 < split.margin < 0.5
    # Heating flattens the figures but the verdict reads T = 1.
    hot = C.summarize(np.array([2.0, 1.0] + [-5.0] * 8), temperature=20.0)
    assert hot.verdict == "uncertain" and hot.top1 < split.top1


def test_a_blob_is_never_a_confident_digit():
    z = np.array([0, 0, 12.0, 0, 0, 0, 0, 0, 0, 0])
    assert C.summarize(z, blob=True).verdict == "probably not a digit"
    assert C.summarize(z, blob=True).prediction == 2  # the argmax is still reported


def test_energy_cut_decides_not_a_digit_when_given():
    z = np.array([6.0, 1.0] + [0.0] * 8)  # top-1 ≈ 0.98, energy ≈ −6.0
    plain = C.summarize(z)
    assert plain.verdict == "confident"
    strict = C.summarize(z, thresholds=C.Thresholds(max_energy=-6.5))
    assert strict.verdict == "probably not a digit" and strict.prediction == 0
    assert C.summarize(z, thresholds=C.Thresholds(max_energy=-5.0)).verdict == "confident"
    # Temperature does not move the verdict: it reads T = 1 energy.
    assert C.summarize(z, 20.0, thresholds=C.Thresholds(max_energy=-5.0)).verdict == "confident"


def test_the_slider_range_lies_inside_the_clip_range():
    assert C.T_CLIP_MIN < C.T_SLIDER_MIN < 1.0 < C.T_SLIDER_MAX < C.T_CLIP_MAX
    assert C.N_TEMPERATURES % 2 == 1  # T = 1 sits in the middle of the grid


@settings(max_examples=60, deadline=None)
@given(finite_logits, arrays(np.float64, st.integers(1, 8),
                             elements=st.floats(1e-4, 1e4, allow_nan=False)))
def test_sweep_equals_the_scalar_functions_at_every_t(logits, temperatures):
    # Vectorised over T, including temperatures outside confidence's clip range.
    sweep = C.temperature_sweep(logits, temperatures)
    for row, t in enumerate(temperatures):
        np.testing.assert_array_equal(sweep.probs[row], C.softmax(logits, t))
        assert sweep.entropy_bits[row] == C.entropy_bits(logits, t)
        assert sweep.margin[row] == C.margin(logits, t)
        assert sweep.argmax[row] == np.argmax(C.log_softmax(logits, t))


def test_temperature_grid_is_log_spaced_and_holds_one():
    grid = C.temperature_grid()
    assert grid[0] == pytest.approx(0.05) and grid[-1] == pytest.approx(20.0)
    assert 1.0 in grid
    ratios = grid[1:] / grid[:-1]
    np.testing.assert_allclose(ratios, ratios[0])


@settings(max_examples=60, deadline=None)
@given(finite_logits)
def test_argmax_never_depends_on_temperature(logits):
    top2 = np.sort(logits)[-2:]
    # Gaps below float resolution of logsumexp are true numerical ties, not a property.
    assume(top2[1] - top2[0] >= 1e-3)
    sweep = C.temperature_sweep(logits)
    assert sweep.argmax_constant
    assert sweep.argmax[0] == np.argmax(logits)
