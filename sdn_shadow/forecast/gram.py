"""Ridge systems of lag features without the full Gram product: the recent window is Toeplitz.

Every feature column is the same series shifted, so for two lags in a run of
consecutive lags (the recent window) the product <c_j, c_j+d> changes from j
to j+1 only by one term entering at the head of the window and one leaving at
its tail. The run's block of the Gram matrix is then its first row plus
cumulative head/tail corrections, O(w^2) work instead of O(w^2 N). Only the
run's cross terms with the other lags (seasonal lags, the target) and those
lags' own block go through matrix products: with a 64-value window and 14
seasonal lags, about a fifth of the multiply-adds of the plain product. The
result equals the plain product up to rounding (the tests hold it to that).

The conformal fit needs two systems per series, on the older rows and on all
rows. Both windows start at the same row, so they share the head terms, and
the matrix products are taken once over the older rows and once over the
calibration rows and added: the work is that of one Gram, not two.

The rest is about memory and the interpreter, which cost more here than the
arithmetic (measured on 10,000 series of 1008 points, 2 threads):

- the systems are raw normal equations with an explicit intercept unknown
  (`ridge.solve_normal`), each formed in place, upper triangle only, in the
  matrix LAPACK factorises: no centring pass, no copy, no reordering;
- the columns come in `gram_order`, so that one product gives every row but
  the run's, and the run's rows are the Toeplitz block alone;
- the lag windows (8 bytes x lags x rows per series, ~400 KB here) are
  copied out of a strided view of the series `WINDOW_BLOCK` series at a
  time, into one buffer reused for every block: the product reads them
  while they are still in cache, and no block allocates (fresh multi-MB
  arrays made the threads contend in the allocator and the page tables);
- everything else goes over the whole chunk at once, so that each numpy
  call (which holds the GIL while it sets up) does enough work for the
  threads to overlap.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided
from numpy.typing import NDArray

from sdn_shadow.forecast.conformal import held_out_errors as conformal_errors
from sdn_shadow.forecast.ridge import NormalEquations

#: Series per block of lag windows: 8 x ~400 KB stays in cache (and 4 or 16 measured slower).
WINDOW_BLOCK = 8


def longest_run(lags: NDArray[np.intp]) -> slice:
    """The longest stretch of consecutive integers in sorted `lags`, as a slice."""
    breaks = np.flatnonzero(np.diff(lags) != 1) + 1
    edges = np.concatenate([[0], breaks, [lags.size]])
    i = int(np.argmax(np.diff(edges)))
    return slice(int(edges[i]), int(edges[i + 1]))


def gram_order(lags: NDArray[np.intp]) -> NDArray[np.intp]:
    """Column order for sorted `lags` (0 first, the target): target, other lags, the run's tail.

    The run is the longest run of consecutive feature lags. Its first lag
    stays among the others (in sorted order); the rest of the run goes last.
    """
    return _plan(lags).order.copy()


def split_normal_equations(z: NDArray[np.float64], lags: NDArray[np.intp], first_target: int,
                           n_rows: int, split: int) -> NormalEquations:
    """Raw normal equations of rows [0, split) and of all n_rows rows, for every series of z.

    Row i of a series has target y = z[first_target + i] and features
    x = z[first_target + i - lag] for the lags after the first (0) of sorted
    `lags`; 1 <= split <= n_rows. The S older systems come first, then the
    S complete ones; the coefficients come in `gram_order` and the intercept
    is the unknown just before the run's tail. `z` should be roughly centred
    (the caller subtracts each series' mean): raw sums lose digits to a
    large mean.

    The lag windows are copied out of a strided view of z a block of series
    at a time into one buffer, with a row of ones after the other lags (set
    once), so that one product per block gives, for every unknown but the
    run's tail, its whole row of the matrix (the ones' row: the column sums
    and the count) and, from the target's row, the right-hand side. It is
    written where the solver reads it: per system, the right-hand side and
    then the matrix rows, in one (P+2, P+1) block.
    """
    n_series = z.shape[0]
    if not 1 <= split <= n_rows:
        raise ValueError(f"split must be in [1, {n_rows}] (got {split})")
    plan = _plan(lags)
    n_cols = lags.size  # target and features
    size = n_cols  # unknowns: features and the intercept
    n_head = plan.n_head  # target, other lags, run's first; then ones; then the run's tail
    starts = first_target - plan.ordered
    view = _all_windows(z, first_target, n_rows, starts)
    tail = _tail_slice(starts, n_head)
    n_block = min(WINDOW_BLOCK, n_series)
    windows = np.empty((n_block, n_cols + 1, n_rows))
    windows[:, n_head] = 1.0
    older, cal = windows[:, :, :split], windows[:, :, split:]
    products = np.empty((n_block, n_head + 1, size))
    # per window and series: row 0 the right-hand side, rows 1.. the matrix
    system = np.empty((2, n_series, size + 1, size))
    for lo in range(0, n_series, n_block):
        block = slice(lo, lo + n_block)
        n = min(n_block, n_series - lo)
        windows[:n, :n_head] = view[block][:, starts[:n_head]]
        windows[:n, n_head + 1 :] = view[block, tail][:, ::-1]
        np.matmul(older[:n, : n_head + 1], older[:n, 1:].transpose(0, 2, 1),
                  out=system[0, block, : n_head + 1])
        np.matmul(cal[:n, : n_head + 1], cal[:n, 1:].transpose(0, 2, 1), out=products[:n])
        np.add(system[0, block, : n_head + 1], products[:n], out=system[1, block, : n_head + 1])
    gram = system[:, :, 1:]
    if n_cols > n_head:  # the run's rows, from the row of its first lag
        first = plan.run_start - 1  # unknowns: the features but the target, so one less
        _toeplitz_rows(z, gram, gram[:, :, first, np.r_[first, n_head:size]], n_head,
                       first_target - int(lags[plan.run_start]), (split, n_rows))
    return NormalEquations(gram.reshape(2 * n_series, size, size),
                           system[:, :, 0].reshape(2 * n_series, size), n_head - 1)


def held_out_errors(z: NDArray[np.float64], lags: NDArray[np.intp], first_target: int, n_rows: int,
                    split: int, coef: NDArray[np.float64], intercept: NDArray[np.float64],
                    signed: bool = False) -> NDArray[np.float64]:
    """Absolute errors (S, n_rows - split) of fits (S, P) in gram order, (S,) on rows split...

    With `signed`, actual minus forecast instead.

    The windows of those rows (`conformal.held_out_errors`) are made a block
    of series at a time, in one buffer, and used at once: kept for a whole
    chunk, they would be out of cache by the time the fits exist.
    """
    plan = _plan(lags)
    n_series, n_cal = z.shape[0], n_rows - split
    starts = first_target + split - plan.ordered
    view = _all_windows(z, first_target + split, n_cal, starts)
    tail = _tail_slice(starts, plan.n_head)
    n_block = min(WINDOW_BLOCK, n_series)
    windows = np.empty((n_block, lags.size, n_cal))
    errors = np.empty((n_series, n_cal))
    for lo in range(0, n_series, n_block):
        block = slice(lo, lo + n_block)
        part = windows[: min(n_block, n_series - lo)]
        part[:, : plan.n_head] = view[block][:, starts[: plan.n_head]]
        part[:, plan.n_head :] = view[block, tail][:, ::-1]
        errors[block] = conformal_errors(part, coef[block], intercept[block], signed)
    return errors


@dataclass(frozen=True)
class _Plan:
    """Where everything goes for one set of lags (see `gram_order`)."""

    order: NDArray[np.intp]  # gram order, as indices of the sorted lags
    ordered: NDArray[np.intp]  # the lags in gram order
    n_head: int  # columns before the run's tail: target, other lags, run's first
    run_start: int  # column of the run's first lag (in both orders)


def _plan(lags: NDArray[np.intp]) -> _Plan:
    """The `_Plan` of sorted `lags` (0 first), computed once per set of lags."""
    return _plan_of(np.asarray(lags, dtype=np.intp).tobytes())


@functools.lru_cache(maxsize=64)
def _plan_of(key: bytes) -> _Plan:
    """`_plan` for lags given as the bytes of an intp array (hashable, for the cache)."""
    lags = np.frombuffer(key, dtype=np.intp)
    run = longest_run(lags[1:])  # among the features: the target is not a feature
    start, stop = run.start + 1, run.stop + 1
    order = np.r_[0 : start + 1, stop : lags.size, start + 1 : stop]
    n_head = lags.size - (stop - start - 1)
    ordered = lags[order]
    order.flags.writeable = ordered.flags.writeable = False  # shared by every caller
    return _Plan(order, ordered, n_head, start)


def _all_windows(z: NDArray[np.float64], first_target: int, n_rows: int, starts: NDArray[np.intp]
                 ) -> NDArray[np.float64]:
    """Every window of n_rows points of every series, as a read-only view (S, T-N+1, N)."""
    if starts.min() < 0 or first_target + n_rows > z.shape[-1]:
        raise ValueError("windows reach outside the series")
    return as_strided(z, shape=(z.shape[0], z.shape[1] - n_rows + 1, n_rows),
                      strides=(z.strides[0], z.strides[1], z.strides[1]), writeable=False)


def _tail_slice(starts: NDArray[np.intp], n_head: int) -> slice:
    """The run's tail starts at consecutive positions: one slice of the view, to reverse."""
    return slice(starts[-1], starts[n_head] + 1) if starts.size > n_head else slice(0, 0)


def _toeplitz_rows(z: NDArray[np.float64], gram: NDArray[np.float64],
                   first: NDArray[np.float64], tail: int, a: int,
                   lengths: tuple[int, ...]) -> None:
    """Upper triangle of the Gram rows of the run's tail, from the run's first row `first`.

    Columns c_j[n] = z[a + n - j], j < m, are the run's lags over a window of
    N rows; gram[w] (S, K, K) holds the systems for window length
    N = lengths[w], the run's tail at the last unknowns, from `tail` on, and
    first[w] (S, m) is f(0, d) = <c_0, c_d>. Then
    f(j, d) = <c_j, c_j+d> = f(0, d) + sum_{i<j} (h_i h_i+d - t_i t_i+d), head
    h_i = z[a-1-i] (the same for all windows) and tail t_i = z[a+N-1-i].

    Row j = i+1 is row i plus the i-th terms, so the rows are formed one after
    the other, each written straight into the matrices through a strided
    view (entry (c_j, c_j+d) is a step of K+1 per j and 1 per d), and only
    for d <= m-1-j: the triangle, nothing below it. A row's terms for every
    window come from one complex product: with e = h + i*t,
    Re(e_i e_i+d) = h_i h_i+d - t_i t_i+d. Everything in flight is a few
    rows of all the series: it stays in the core's cache, where a whole
    rectangle of terms at once would not (that costs more here, and shares
    worse between threads, than the numpy call per row).
    """
    n_windows, n_series, _, size = gram.shape
    m = first.shape[-1]
    k = np.arange(m - 1)
    ends = np.empty((n_windows, n_series, m - 1), dtype=complex)
    ends.real = z[:, a - 1 - k]  # the head, shared
    for w, n_rows in enumerate(lengths):
        ends.imag[w] = z[:, a + n_rows - 1 - k]
    item = gram.itemsize
    rows = as_strided(gram[:, :, tail, tail:], shape=(n_windows, n_series, m - 1, m - 1),
                      strides=(*gram.strides[:2], (size + 1) * item, item), writeable=True)
    terms = np.empty((n_windows, n_series, m - 1), dtype=complex)
    previous = first[:, :, : m - 1]
    for i in range(m - 1):
        width = m - 1 - i
        product = terms[:, :, :width]
        np.multiply(ends[:, :, i : i + 1], ends[:, :, i : i + width], out=product)
        row = rows[:, :, i, :width]
        np.add(previous[:, :, :width], product.real, out=row)
        previous = row
