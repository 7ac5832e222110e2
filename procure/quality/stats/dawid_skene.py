"""Dawid-Skene: each annotator's confusion matrix and each item's true label, estimated from the
labels alone by expectation-maximisation (Dawid & Skene 1979, "Maximum likelihood estimation of
observer error-rates using the EM algorithm", Applied Statistics 28(1)).

Model: item ``i`` has a true class ``k`` with prior ``p_k``; annotator ``j`` labels a class-``k``
item ``l`` with probability ``pi[j, k, l]``. EM alternates

- M-step: ``p_k = (sum_i T_ik + e) / (N + K e)``;
  ``pi[j, k, l] = (sum_{(i,j,l)} T_ik + e) / (sum_{(i,j,.)} T_ik + K e)``;
- E-step: ``T_ik proportional to p_k prod_{(i,j,l)} pi[j, k, l]``,

starting from each item's label shares (a soft majority vote). The small pseudo-count ``e``
keeps the probabilities of classes and (class, label) pairs nobody chose above zero. Each step is a handful of
``bincount``s over the observations, so it runs in seconds on millions of labels; the pages run
it only on request.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

SMOOTHING = 0.01
# EM stops when no item's posterior moves by more than TOLERANCE in a step; slow sets (ordinary
# ones take 100-200 steps) stop at MAX_ITERATIONS and say that they did not converge.
TOLERANCE = 1e-6
MAX_ITERATIONS = 1000


@dataclass(frozen=True)
class DawidSkene:
    priors: NDArray[np.float64]  # (K,)
    confusion: NDArray[np.float64]  # (J, K, K): annotator, true class, given label
    posteriors: NDArray[np.float64]  # (N, K)
    iterations: int
    converged: bool

    @property
    def labels(self) -> NDArray[np.int64]:
        """Each item's most probable class (ties to the lower code)."""
        best: NDArray[np.int64] = np.argmax(self.posteriors, axis=1)
        return best

    @property
    def annotator_accuracy(self) -> NDArray[np.float64]:
        """Each annotator's estimated accuracy: ``sum_k p_k pi[j, k, k]``."""
        accuracy: NDArray[np.float64] = np.einsum("k,jkk->j", self.priors, self.confusion)
        return accuracy


def dawid_skene(
    items: NDArray[np.int64],
    annotators: NDArray[np.int64],
    labels: NDArray[np.int64],
    k: int,
    *,
    max_iterations: int = MAX_ITERATIONS,
    tolerance: float = TOLERANCE,
) -> DawidSkene:
    """Fit the model to observations (``items[n]``, ``annotators[n]``, ``labels[n]``), codes from 0.

    >>> items = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    >>> annotators = np.array([0, 1, 2] * 3)
    >>> labels = np.array([0, 0, 1, 1, 1, 1, 0, 0, 0])
    >>> dawid_skene(items, annotators, labels, 2).labels.tolist()
    [0, 1, 0]
    """
    if max_iterations < 1 or len(items) == 0:
        raise ValueError("Dawid-Skene needs at least one observation and one iteration")
    n_items, n_annotators = int(items.max()) + 1, int(annotators.max()) + 1
    cells = annotators * k + labels  # (annotator, given label) per observation
    posteriors: NDArray[np.float64] = np.stack(
        [np.bincount(items, weights=labels == c, minlength=n_items) for c in range(k)], axis=1
    ).astype(np.float64)
    posteriors /= posteriors.sum(axis=1, keepdims=True)
    converged, iterations = False, 0
    while not converged and iterations < max_iterations:
        iterations += 1
        priors = (posteriors.sum(axis=0) + SMOOTHING) / (n_items + k * SMOOTHING)
        counts = (
            np.stack(
                [
                    np.bincount(
                        cells, weights=posteriors[items, c], minlength=n_annotators * k
                    ).reshape(n_annotators, k)
                    for c in range(k)
                ],
                axis=1,
            )
            + SMOOTHING
        )  # (J, K true, K given)
        confusion = counts / counts.sum(axis=2, keepdims=True)
        log_confusion = np.log(confusion)
        log_posteriors = np.log(priors)[None, :] + np.stack(
            [
                np.bincount(items, weights=log_confusion[annotators, c, labels], minlength=n_items)
                for c in range(k)
            ],
            axis=1,
        )
        log_posteriors -= log_posteriors.max(axis=1, keepdims=True)
        updated = np.exp(log_posteriors)
        updated /= updated.sum(axis=1, keepdims=True)
        converged = float(np.abs(updated - posteriors).max()) < tolerance
        posteriors = updated
    return DawidSkene(posteriors.mean(axis=0), confusion, posteriors, iterations, converged)
