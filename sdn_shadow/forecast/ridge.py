"""Batched ridge regression: one call solves many independent problems.

Each problem s has a target (row 0 of its windows) and features (rows 1..).
Two ways in, with the same minimiser:

- centred moments (`Moments`: weight total, column means, centred scatter),
  from a direct product of the data (`direct_moments`) or two parts merged
  (`combine`, for the fit on the training part plus the calibration part),
  solved by `solve`;
- raw normal equations with an explicit, unpenalised intercept unknown
  (`NormalEquations`), solved by `solve_normal`: what
  `gram.split_normal_equations` forms in place from the lag structure, so
  that no pass over the matrices is needed between the products and the
  factorisation.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.linalg.lapack import dposv


@dataclass(frozen=True)
class Moments:
    """Weight totals (S,), column means (S, F) and centred scatter (S, F, F); column 0 is y."""

    count: NDArray[np.float64]
    mean: NDArray[np.float64]
    scatter: NDArray[np.float64]


def direct_moments(windows: NDArray[np.float64], weights: NDArray[np.float64] | None = None
                   ) -> Moments:
    """Moments of feature-major data `windows` (S, F, N), with optional row weights (S, N).

    The data are centred before the product, which keeps the scatter accurate
    when the means are large against the spread.
    """
    n_rows = windows.shape[-1]
    if weights is None:
        count = np.full(windows.shape[0], float(n_rows))
        mean = windows.mean(axis=-1)
        centred = windows - mean[..., None]
        scatter = centred @ centred.transpose(0, 2, 1)
    else:
        count = weights.sum(axis=-1)
        mean = np.einsum("sfn,sn->sf", windows, weights) / count[:, None]
        centred = windows - mean[..., None]
        scatter = (centred * weights[:, None, :]) @ centred.transpose(0, 2, 1)
    return Moments(count, mean, scatter)


def combine(a: Moments, b: Moments) -> Moments:
    """Moments of the union of two disjoint row sets (the parallel-axis rule)."""
    count = a.count + b.count
    delta = b.mean - a.mean
    share = (b.count / count)[:, None]
    mean = a.mean + delta * share
    cross = (a.count * b.count / count)[:, None, None] * delta[:, :, None] * delta[:, None, :]
    return Moments(count, mean, a.scatter + b.scatter + cross)


def stack(a: Moments, b: Moments) -> Moments:
    """The problems of `a` then those of `b`, to solve in one call."""
    return Moments(np.concatenate([a.count, b.count]), np.concatenate([a.mean, b.mean]),
                   np.concatenate([a.scatter, b.scatter]))


def solve(moments: Moments, alpha: float, prior: NDArray[np.float64] | None = None
          ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Ridge coefficients (S, P) and intercepts (S,) of y on the features.

    Minimises sum w (y - c - x.b)^2 + alpha * |b - prior|^2 with c free (not
    penalised); `prior` (P,) or (S, P) defaults to zero, plain ridge. A prior
    is the hook for series with little history: their coefficients stay near
    a profile's until their own data outweigh it.
    """
    sxx = moments.scatter[:, 1:, 1:]
    sxy = moments.scatter[:, 1:, 0]
    n_features = sxx.shape[-1]
    lhs = sxx + alpha * np.eye(n_features)
    rhs = sxy if prior is None else sxy + alpha * np.broadcast_to(prior, sxy.shape)
    # float64 in, float64 out (numpy's stubs only promise some float): no copy is made
    coef = np.linalg.solve(lhs, rhs[..., None])[..., 0].astype(np.float64, copy=False)
    intercept: NDArray[np.float64] = (moments.mean[:, 0]
                                      - np.einsum("sp,sp->s", moments.mean[:, 1:], coef))
    return coef, intercept


@dataclass(frozen=True)
class NormalEquations:
    """Raw ridge normal equations of S problems, penalty not included, as `solve_normal` takes them.

    `gram` (S, K, K): the upper triangle (column >= row) of sum v v^T over
    the rows, v holding each unknown's regressor (a feature, or 1 for the
    intercept); each matrix C-contiguous, and what is below the diagonal is
    never read. `cross` (S, K): sum v y, each row contiguous. `intercept`:
    which unknown is the intercept; the others are the coefficients, in
    order.
    """

    gram: NDArray[np.float64]
    cross: NDArray[np.float64]
    intercept: int


def solve_normal(equations: NormalEquations, alpha: float,
                 prior: NDArray[np.float64] | None = None
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Ridge coefficients (S, P), intercepts (S,) and failures (S,) from raw normal equations.

    The minimiser of `solve` (the intercept is not penalised; `prior` (P,) or
    (S, P) is what the coefficients shrink towards): the intercept's
    equation does the centring, inside the factorisation rather than as a
    pass over every matrix. Raw sums are only accurate when the means are
    small against the spread, so the producer centres its data roughly
    first. The arrays of `equations` are work space. failed[s] marks a
    system that was not positive definite in floating point: its result is
    meaningless and the caller must redo it (`solve` on centred moments
    uses LU, which does not need positive definiteness).
    """
    gram, cross, at = equations.gram, equations.cross, equations.intercept
    coefs = np.r_[0:at, at + 1 : cross.shape[1]]  # the unknowns that are coefficients
    gram[:, coefs, coefs] += alpha
    if prior is not None:
        cross[:, coefs] += alpha * np.broadcast_to(prior, (cross.shape[0], coefs.size))
    x, failed = spd_solve(gram, cross)
    return x[:, coefs], x[:, at].copy(), failed


def spd_solve(lhs: NDArray[np.float64], rhs: NDArray[np.float64]
              ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Solve lhs[s] x = rhs[s] by Cholesky (LAPACK dposv) in place; also which ones failed.

    Reads only the upper triangle (column >= row) of each lhs[s] (S, P, P):
    C order is Fortran order transposed, so that is the lower triangle LAPACK
    is told to use, and each matrix is factored where it lies (rows may be
    padded: lda is the row stride). Both arrays are overwritten (lhs with
    the factor, rhs with x, which is returned); each rhs[s] must be
    contiguous. failed[s]: not positive definite in floating point, rhs[s]
    meaningless.

    Why not scipy.linalg.lapack.dposv in a loop: its f2py wrapper keeps the
    GIL for the whole factorisation (~20 us here), so a thread solving its
    chunk stalls every other thread's next numpy call, and threads do not
    add up. The same LAPACK routine, taken from scipy's public table of raw
    function pointers for Cython (`scipy.linalg.cython_lapack`, as numba
    binds it) and called through ctypes, runs without the GIL. The f2py
    loop remains the fallback should that table not be reachable.
    """
    n_systems, n, _ = lhs.shape
    failed = np.zeros(n_systems, dtype=bool)
    if n_systems == 0:
        return rhs, failed
    item = lhs.itemsize
    lapack = _DPOSV
    usable = (lapack is not None and lhs.dtype == rhs.dtype == np.float64
              and lhs.strides[2] == item and lhs.strides[1] % item == 0
              and lhs.strides[1] >= n * item and rhs.strides[1] == item)
    if not usable or lapack is None:  # (usable implies a function)
        for s, (matrix, vector) in enumerate(zip(lhs.transpose(0, 2, 1), rhs, strict=True)):
            _, x, info = dposv(matrix, vector, lower=1, overwrite_a=1, overwrite_b=1)
            failed[s] = info != 0
            if x is not vector:  # a copy was needed: put the result back
                vector[...] = x
        return rhs, failed
    uplo, order, one, lead, info = (ctypes.c_char(b"L"), ctypes.c_int(n), ctypes.c_int(1),
                                    ctypes.c_int(lhs.strides[1] // item), ctypes.c_int(0))
    args = [ctypes.addressof(v) for v in (uplo, order, one, lead, order, info)]
    p_uplo, p_n, p_one, p_lda, p_ldb, p_info = args
    a0, a_step = lhs.ctypes.data, lhs.strides[0]
    b0, b_step = rhs.ctypes.data, rhs.strides[0]
    for s in range(n_systems):
        lapack(p_uplo, p_n, p_one, a0 + s * a_step, p_lda, b0 + s * b_step, p_ldb, p_info)
        if info.value != 0:
            failed[s] = True
    return rhs, failed


def _lapack_dposv() -> Callable[..., None] | None:
    """LAPACK's dposv(uplo, n, nrhs, a, lda, b, ldb, info) as a ctypes function, or None."""
    try:
        from scipy.linalg import cython_lapack

        capsule = cython_lapack.__pyx_capi__["dposv"]
        name = ctypes.PYFUNCTYPE(ctypes.c_char_p, ctypes.py_object)(
            ("PyCapsule_GetName", ctypes.pythonapi))(capsule)
        address = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
            ("PyCapsule_GetPointer", ctypes.pythonapi))(capsule, name)
    except (ImportError, AttributeError, KeyError, ValueError, TypeError):
        return None
    # the C signature, with the type names cython gives them: char*, then int/double pointers
    if not address or name is None or not name.startswith(b"void (char *, int *, int *, "):
        return None
    return ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * 8)(address)  # CFUNCTYPE: GIL released


_DPOSV = _lapack_dposv()
