"""Dawid-Skene against known truth on simulated annotators, and against a direct, loop-by-loop
implementation of the 1979 EM equations on small data."""

from __future__ import annotations

import numpy as np
import pytest

from procure.quality.stats.dawid_skene import SMOOTHING, dawid_skene


def _simulate(seed: int, items: int = 2000, k: int = 3) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    truth = rng.choice(k, items, p=[0.5, 0.3, 0.2])
    accuracy = np.array([0.95, 0.85, 0.7, 0.55, 0.4])  # the last two are poor
    rows = []
    for j, a in enumerate(accuracy):
        seen = rng.random(items) < 0.8
        label = np.where(rng.random(items) < a, truth, rng.integers(0, k, items))
        rows.append(np.stack([np.flatnonzero(seen), np.full(seen.sum(), j), label[seen]]))
    items_, annotators, labels = np.concatenate(rows, axis=1)
    return items_, annotators, labels, truth, accuracy


def test_recovers_annotator_quality_and_beats_majority_vote() -> None:
    items, annotators, labels, truth, accuracy = _simulate(1)
    fit = dawid_skene(items, annotators, labels, 3)
    assert fit.converged
    # an annotator with accuracy a is right with probability a + (1 - a) / 3 (random guesses can be right)
    expected = accuracy + (1 - accuracy) / 3
    assert fit.annotator_accuracy == pytest.approx(expected, abs=0.04)
    assert fit.priors == pytest.approx([0.5, 0.3, 0.2], abs=0.03)
    votes = np.zeros((len(truth), 3))
    np.add.at(votes, (items, labels), 1)
    rated = votes.sum(axis=1) > 0
    majority = (votes.argmax(axis=1) == truth)[rated].mean()
    assert (fit.labels == truth)[rated].mean() > majority + 0.02


def _direct(
    items: np.ndarray, annotators: np.ndarray, labels: np.ndarray, k: int, iterations: int
) -> np.ndarray:
    """The EM of Dawid & Skene (1979), equations (2.3)-(2.5), with explicit loops."""
    n, m = items.max() + 1, annotators.max() + 1
    t = np.zeros((n, k))
    for i, given in zip(items, labels, strict=True):
        t[i, given] += 1
    t /= t.sum(axis=1, keepdims=True)
    for _ in range(iterations):
        p = (t.sum(axis=0) + SMOOTHING) / (n + k * SMOOTHING)
        pi = np.full((m, k, k), SMOOTHING)
        for i, j, given in zip(items, annotators, labels, strict=True):
            for c in range(k):
                pi[j, c, given] += t[i, c]
        pi /= pi.sum(axis=2, keepdims=True)
        new = np.tile(p, (n, 1))
        for i, j, given in zip(items, annotators, labels, strict=True):
            for c in range(k):
                new[i, c] *= pi[j, c, given]
        t = new / new.sum(axis=1, keepdims=True)
    return t


def test_matches_the_equations_step_for_step() -> None:
    items, annotators, labels, _, _ = _simulate(2, items=60)
    for iterations in (1, 3, 10):
        fit = dawid_skene(items, annotators, labels, 3, max_iterations=iterations, tolerance=0)
        assert fit.posteriors == pytest.approx(
            _direct(items, annotators, labels, 3, iterations), abs=1e-9
        )


def _binary_labels(
    accuracy: list[float], seed: int, n: int = 1500
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n)
    items = np.repeat(np.arange(n), len(accuracy))
    annotators = np.tile(np.arange(len(accuracy)), n)
    right = rng.random(len(items)) < np.array(accuracy)[annotators]
    return items, annotators, np.where(right, truth[items], 1 - truth[items])


def test_em_runs_to_its_tolerance_and_says_when_it_did_not_get_there() -> None:
    from procure.quality.stats.dawid_skene import MAX_ITERATIONS, TOLERANCE

    # An ordinary set needs more than the 100 steps EM was once capped at.
    slow = dawid_skene(*_binary_labels([0.75, 0.7, 0.65], seed=1), 2)
    assert slow.converged and 100 < slow.iterations < MAX_ITERATIONS
    capped = dawid_skene(*_binary_labels([0.75, 0.7, 0.65], seed=1), 2, max_iterations=100)
    assert not capped.converged and np.abs(capped.posteriors - slow.posteriors).max() > TOLERANCE
    # Weak annotators: the posteriors never settle, and the fit says so instead of passing off
    # its last step as a result.
    weak = dawid_skene(*_binary_labels([0.7, 0.65, 0.6], seed=0), 2)
    assert (weak.converged, weak.iterations) == (False, MAX_ITERATIONS)
