"""Moments of lag features without the full Gram product: the recent window is Toeplitz.

Every feature column is the same series shifted, so for two lags in a run of
consecutive lags (the recent window) the product <c_j, c_j+d> changes from j
to j+1 only by one term entering at the head of the window and one leaving at
its tail. The run's block of the Gram matrix is then its first row plus
cumulative head/tail corrections, O(w^2) work instead of O(w^2 N). Only the
run's cross terms with the other lags (seasonal lags, the target) and those
lags' own block go through matrix products: with a 64-value window and 14
seasonal lags, about a fifth of the multiply-adds of the plain product. The
result equals the plain product up to rounding (the tests hold it to that).
"""

from __future__ import annotations

import numpy as np

from sdn_shadow.forecast.ridge import Moments


def longest_run(lags: np.ndarray) -> slice:
    """The longest stretch of consecutive integers in sorted `lags`, as a slice."""
    breaks = np.flatnonzero(np.diff(lags) != 1) + 1
    edges = np.concatenate([[0], breaks, [lags.size]])
    i = int(np.argmax(np.diff(edges)))
    return slice(int(edges[i]), int(edges[i + 1]))


def lag_moments(z: np.ndarray, lags: np.ndarray, windows: np.ndarray, first_target: int,
                prefix: np.ndarray | None = None) -> Moments:
    """Moments of `windows` (S, F, N) = `lag_windows(z, lags, first_target, N)`.

    `lags` must be sorted (0 first for the target). `z` should be roughly
    centred (the caller subtracts each series' mean): the scatter is formed
    from raw sums, and a small mean keeps that subtraction exact to many
    digits. `prefix` is `cumulative(z)` if the caller has it.
    """
    n_series, n_cols, n_rows = windows.shape
    run = longest_run(lags)
    m = run.stop - run.start
    rest = np.r_[0:run.start, run.stop:n_cols]
    o = rest.size

    block = windows[:, run, :]
    probe = windows[:, np.r_[rest, run.start], :]  # the other lags, then the run's first
    cross = block @ probe.transpose(0, 2, 1)  # (S, m, o+1); last column: f(0, d)
    permuted = np.empty((n_series, n_cols, n_cols))  # order: run, then rest
    permuted[:, :m, :m] = _toeplitz_block(z, cross[:, :, o], first_target - int(lags[run.start]),
                                          n_rows, m)
    permuted[:, :m, m:] = cross[:, :, :o]
    permuted[:, m:, :m] = cross[:, :, :o].transpose(0, 2, 1)
    others = probe[:, :o, :]
    np.matmul(others, others.transpose(0, 2, 1), out=permuted[:, m:, m:])
    position = np.empty(n_cols, dtype=np.intp)
    position[np.r_[run.start:run.stop, rest]] = np.arange(n_cols)
    flat = (position[:, None] * n_cols + position[None, :]).ravel()
    gram = np.take(permuted.reshape(n_series, -1), flat, axis=1).reshape(permuted.shape)

    if prefix is None:
        prefix = cumulative(z)
    starts = first_target - lags
    mean = (prefix[:, starts + n_rows] - prefix[:, starts]) / n_rows
    gram -= n_rows * mean[:, :, None] * mean[:, None, :]
    return Moments(np.full(n_series, float(n_rows)), mean, gram)


def cumulative(z: np.ndarray) -> np.ndarray:
    """Prefix sums with a leading zero: window sums are differences of two entries."""
    prefix = np.zeros((z.shape[0], z.shape[1] + 1))
    np.cumsum(z, axis=1, out=prefix[:, 1:])
    return prefix


def _toeplitz_block(z: np.ndarray, first: np.ndarray, a: int, n_rows: int, m: int) -> np.ndarray:
    """Gram block of columns c_j[n] = z[a + n - j] (j < m) from its first row f(0, d).

    f(j, d) = <c_j, c_j+d> = f(0, d) + sum_{i<j} (h_i h_i+d - t_i t_i+d), with
    head h_i = z[a-1-i] and tail t_i = z[a+N-1-i].
    """
    n_series = z.shape[0]
    if m == 1:
        return first[:, :, None]
    k = np.arange(m - 1)
    pad = np.zeros((n_series, m))
    head = np.concatenate([z[:, a - 1 - k], pad], axis=1)  # zeros past i+d > m-2: unused
    tail = np.concatenate([z[:, a + n_rows - 1 - k], pad], axis=1)
    shifted = np.lib.stride_tricks.sliding_window_view
    # f[s, d, j] = f(0, d) + sum_{i<j} term(i, d): column 0 holds no term, column i+1 term i
    f = np.empty((n_series, m, m))
    f[:, :, 0] = 0.0
    np.multiply(head[:, None, : m - 1], shifted(head, m - 1, axis=1)[:, :m, :], out=f[:, :, 1:])
    f[:, :, 1:] -= tail[:, None, : m - 1] * shifted(tail, m - 1, axis=1)[:, :m, :]
    np.cumsum(f, axis=2, out=f)
    f += first[:, :, None]
    j, col = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    flat = (np.abs(col - j) * m + np.minimum(j, col)).ravel()
    return np.take(f.reshape(n_series, m * m), flat, axis=1).reshape(n_series, m, m)
