"""Bradley-Terry strengths from pairwise preferences, fitted by Hunter's (2004) MM algorithm.

Under the model variant i beats j with probability ``p_i / (p_i + p_j)``. A tie counts as half
a win to each side. ``wins[..., i, j]`` is how often i beat j; the fit is vectorised over any
leading axes, so a whole bootstrap of win matrices is one call.

A variant that won (or lost) every comparison has no finite maximum-likelihood strength; a
``prior`` of that many virtual wins each way between every pair that was compared keeps the
strengths finite and pulls them a little towards each other (the report uses 0.5: one virtual
tie per pair). Strengths are reported as logs, centred on 0 (only differences mean anything:
``exp(s_i - s_j)`` is the odds that i beats j).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from harness.stats.errors import StatsError


def fit(wins: ArrayLike, *, prior: float = 0.5, max_iter: int = 2000,
        tol: float = 1e-10) -> NDArray[np.float64]:
    """Log-strengths (..., V), centred on 0; NaN for a variant never compared."""
    w = np.array(wins, dtype=float)
    if w.ndim < 2 or w.shape[-1] != w.shape[-2]:
        raise StatsError("Bradley-Terry needs a square matrix of wins between variants")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise StatsError("win counts must be finite and non-negative")
    v = w.shape[-1]
    eye = np.eye(v, dtype=bool)
    w = np.where(eye, 0.0, w)
    games = w + np.swapaxes(w, -1, -2)
    w = w + np.where(games > 0, prior, 0.0)
    games = w + np.swapaxes(w, -1, -2)
    won = w.sum(axis=-1)
    seen = games.sum(axis=-1) > 0
    p = np.where(seen, 1.0, np.nan)
    for _ in range(max_iter):
        with np.errstate(invalid="ignore", divide="ignore"):
            denom = np.nansum(np.where(games > 0, games / (p[..., :, None] + p[..., None, :]),
                                       0.0), axis=-1)
            new = np.where(seen, won / denom, np.nan)
        # a variant that never won is pinned near zero strength, not exactly: keep logs finite
        new = np.where(seen, np.maximum(new, 1e-300), np.nan)
        new = new / np.exp(np.nanmean(np.log(new), axis=-1, keepdims=True))
        change = np.nanmax(np.abs(np.log(new) - np.log(p)))
        p = new
        if change < tol:
            break
    log_p = np.log(p)
    return log_p - np.nanmean(log_p, axis=-1, keepdims=True)


def win_probability(strengths: ArrayLike) -> NDArray[np.float64]:
    """P(i beats j) for every pair, from log-strengths."""
    s = np.asarray(strengths, dtype=float)
    return 1.0 / (1.0 + np.exp(s[..., None, :] - s[..., :, None]))
