"""The distribution functions the statistics use, without importing ``scipy.stats``.

Why: ``import scipy.stats`` costs about 0.9 s and 100 MB on a quiet 2-core machine, and every
run paid it for its summary table and report; ``scipy.special`` costs a fraction of that. The
``scipy.stats`` methods used here are thin layers over ``scipy.special`` ufuncs (``norm.ppf`` is
``ndtri``, ``t.ppf`` is ``stdtrit``; ``beta.ppf`` and ``binom.cdf`` are boost's beta quantile
and binomial CDF) plus boundary rules (q = 0 or 1, invalid parameters, infinite x). The
functions below call the same ufuncs under the same rules, so their values are bit-identical to
``scipy.stats``' (``tests/stats/test_stats_distributions.py`` compares them over grids of
inputs, edge cases included). ``scipy.special`` is imported on first use, so loading a run's
samples (which imports :mod:`harness.stats`) imports no scipy at all.

Rarely used tests that need more (the exact McNemar power's binomial quantiles) import
``scipy.stats`` themselves, where they are called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


def _special() -> Any:
    import scipy.special

    return scipy.special


def _boost(name: str, distribution: str) -> Callable[..., Any]:
    """One of boost's distribution ufuncs that ``scipy.stats`` calls (``_beta_ppf``,
    ``_binom_cdf``). They are private to scipy; the public near-twins differ: ``bdtr`` is
    Cephes' binomial CDF (other last digits) and ``betaincinv`` gives NaN where boost's root
    finder gives up, where ``beta.ppf`` keeps its last iterate. A scipy that moved them falls
    back to ``scipy.stats`` itself, slower to import but the same values."""
    _special()
    import scipy.special._ufuncs as ufuncs

    found = getattr(ufuncs, name, None)
    if found is not None:
        return found  # type: ignore[no-any-return]
    from scipy import stats

    return getattr(stats, distribution)._ppf if name.endswith("ppf") \
        else getattr(stats, distribution)._cdf  # type: ignore[no-any-return]


def _out(values: Array) -> Any:
    """A numpy scalar for scalar input, as scipy.stats returns, else the array."""
    return values[()] if values.ndim == 0 else values


def _floats(*values: ArrayLike) -> list[Array]:
    return list(np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in values)))


def _quantile(q: ArrayLike, params: tuple[ArrayLike, ...], valid: Callable[..., Array],
              lower: float, upper: float, core: Callable[..., Array]) -> Any:
    """A continuous distribution's ``ppf`` under ``rv_continuous.ppf``'s rules: the support's
    ends at q = 0 and 1, NaN for q outside [0, 1] or invalid parameters, ``core`` inside."""
    qq, *shape = _floats(q, *params)
    ok = valid(*shape)
    out = np.full(qq.shape, np.nan)
    out[ok & (qq == 0)] = lower
    out[ok & (qq == 1)] = upper
    inside = ok & (qq > 0) & (qq < 1)
    if inside.any():
        out[inside] = core(qq[inside], *(s[inside] for s in shape))
    return _out(out)


def _tail(x: ArrayLike, params: tuple[ArrayLike, ...], valid: Callable[..., Array],
          one_at: Callable[[Array], Array], core: Callable[..., Array]) -> Any:
    """A continuous ``cdf``/``sf`` on the whole real line under ``rv_continuous``'s rules: NaN
    for NaN x or invalid parameters, 1 at the infinite end ``one_at`` names, 0 at the other."""
    xx, *shape = _floats(x, *params)
    ok = valid(*shape)
    out = np.zeros(xx.shape)
    out[~ok | np.isnan(xx)] = np.nan
    out[ok & one_at(xx)] = 1.0
    inside = ok & np.isfinite(xx)
    if inside.any():
        out[inside] = core(xx[inside], *(s[inside] for s in shape))
    return _out(out)


def _any(*shape: Array) -> Array:
    return np.ones(shape[0].shape if shape else (), dtype=bool)


def _positive_df(df: Array) -> Array:
    return df > 0


def _is_pos_inf(x: Array) -> Array:
    return x == np.inf


def _is_neg_inf(x: Array) -> Array:
    return x == -np.inf


def norm_ppf(q: ArrayLike) -> Any:
    """``scipy.stats.norm.ppf(q)``."""
    return _quantile(q, (), _any, -np.inf, np.inf, lambda p: _special().ndtri(p))


def norm_cdf(x: ArrayLike) -> Any:
    """``scipy.stats.norm.cdf(x)``."""
    return _tail(x, (), _any, _is_pos_inf, lambda v: _special().ndtr(v))


def norm_sf(x: ArrayLike) -> Any:
    """``scipy.stats.norm.sf(x)``."""
    return _tail(x, (), _any, _is_neg_inf, lambda v: _special().ndtr(-v))


def t_ppf(q: ArrayLike, df: ArrayLike) -> Any:
    """``scipy.stats.t.ppf(q, df)``."""
    return _quantile(q, (df,), _positive_df, -np.inf, np.inf,
                     lambda p, d: _special().stdtrit(d, p))


def t_cdf(x: ArrayLike, df: ArrayLike) -> Any:
    """``scipy.stats.t.cdf(x, df)``."""
    return _tail(x, (df,), _positive_df, _is_pos_inf, lambda v, d: _special().stdtr(d, v))


def t_sf(x: ArrayLike, df: ArrayLike) -> Any:
    """``scipy.stats.t.sf(x, df)``."""
    return _tail(x, (df,), _positive_df, _is_neg_inf, lambda v, d: _special().stdtr(d, -v))


def beta_ppf(q: ArrayLike, a: ArrayLike, b: ArrayLike) -> Any:
    """``scipy.stats.beta.ppf(q, a, b)``."""
    return _quantile(q, (a, b), lambda aa, bb: (aa > 0) & (bb > 0), 0.0, 1.0,
                     lambda p, aa, bb: _boost("_beta_ppf", "beta")(p, aa, bb))


def binom_cdf(k: ArrayLike, n: ArrayLike, p: ArrayLike) -> Any:
    """``scipy.stats.binom.cdf(k, n, p)`` under ``rv_discrete.cdf``'s rules: 1 from k = n on,
    0 below 0, NaN for NaN k or invalid n, p (n a whole number >= 0, p in [0, 1])."""
    kk, nn, pp = _floats(k, n, p)
    ok = (nn >= 0) & (nn == np.round(nn)) & (pp >= 0) & (pp <= 1)
    out = np.zeros(kk.shape)
    out[kk >= nn] = 1.0
    out[~ok | np.isnan(kk)] = np.nan
    inside = ok & (kk >= 0) & (kk < nn) & np.isfinite(kk)
    if inside.any():
        cdf = _boost("_binom_cdf", "binom")
        out[inside] = np.clip(cdf(np.floor(kk[inside]), nn[inside], pp[inside]), 0, 1)
    return _out(out)


def gammaln(x: ArrayLike) -> Any:
    """``scipy.special.gammaln(x)``, imported on first use."""
    return _special().gammaln(x)


def rankdata(values: ArrayLike) -> Array:
    """``scipy.stats.rankdata(values)`` of a 1-d array without NaN: ranks from 1, ties get the
    average of the ranks they span."""
    a = np.ravel(np.asarray(values))
    if a.size == 0:
        return np.empty(0)
    order = np.argsort(a, kind="mergesort")
    inverse = np.empty(order.size, dtype=np.intp)
    inverse[order] = np.arange(order.size, dtype=np.intp)
    ordered = a[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    dense = np.cumsum(starts)[inverse]
    bounds = np.r_[np.nonzero(starts)[0], len(starts)]
    return 0.5 * (bounds[dense] + bounds[dense - 1] + 1)
