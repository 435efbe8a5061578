"""Numba peer kernels for benchmarks/bench.py (benchmark code, not part of crossent).

Every kernel is ``@njit(parallel=True, fastmath=False)``: parallel over rows or
over fixed-size chunks with ``prange``, exact IEEE maths (so LLVM does not
reassociate sums and calls the scalar ``exp``/``log`` of libm), one pass per
quantity in the obvious way a Numba user would write it. Partial sums are
float64; the elementwise maths runs in the input dtype. Losses use PyTorch's
formulas with ``reduction="mean"``. They are compiled once per dtype and cached
in ``NUMBA_CACHE_DIR`` (bench.py points it outside the repository).

Also here: the two machine probes of bench.py (streaming-read bandwidth, exp
throughput).
"""

import math

import numpy as np
from numba import njit, prange

_NB = dict(parallel=True, fastmath=False, cache=True, nogil=True)

CHUNK = 1 << 16      # elements per chunk of the 1-D kernels
ROWBLOCK = 64        # rows per task of the row kernels (one partial sum each)
COLBLOCK = 256       # columns per task of the axis-0 kernel
PIXBLOCK = 512       # positions per task of the class-axis-1 (N, C, P) kernels


# ----------------------------------------------------------------------------- probes
@njit(parallel=True, cache=True, nogil=True)
def stream_sum_i64(a):
    """Sum of an int64 array: a pure streaming read (integer adds vectorise)."""
    s = 0
    for i in prange(a.size):
        s += a[i]
    return s


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def exp_inplace_repeat(buf, out, reps):
    """out = exp(buf) over an in-cache buffer, reps times, split across threads."""
    nt = out.shape[0]
    for t in prange(nt):
        for _ in range(reps):
            for i in range(buf.shape[1]):
                out[t, i] = math.exp(buf[t, i])
    return out[0, 0]


# ----------------------------------------------------------------------------- logsumexp
@njit(**_NB)
def logsumexp_1d(x):
    n = x.size
    nch = (n + CHUNK - 1) // CHUNK
    pm = np.empty(nch, np.float64)
    ps = np.empty(nch, np.float64)
    for c in prange(nch):
        a = c * CHUNK
        b = min(n, a + CHUNK)
        m = x[a]
        for i in range(a + 1, b):
            if x[i] > m:
                m = x[i]
        s = 0.0
        if m != -np.inf:
            for i in range(a, b):
                s += math.exp(x[i] - m)
        pm[c] = m
        ps[c] = s
    M = pm.max()
    if M == -np.inf or M == np.inf:
        return M
    S = 0.0
    for c in range(nch):
        S += ps[c] * math.exp(pm[c] - M)
    return math.log(S) + M


@njit(**_NB)
def logsumexp_rows(x):
    """logsumexp over the last axis of a 2-D C-contiguous array."""
    n, k = x.shape
    out = np.empty(n, x.dtype)
    for i in prange(n):
        m = x[i, 0]
        for j in range(1, k):
            if x[i, j] > m:
                m = x[i, j]
        s = 0.0
        for j in range(k):
            s += math.exp(x[i, j] - m)
        out[i] = math.log(s) + m
    return out


@njit(**_NB)
def logsumexp_cols(x):
    """logsumexp over axis 0 of a 2-D C-contiguous array (vectorised across columns)."""
    n, k = x.shape
    out = np.empty(k, x.dtype)
    nb = (k + COLBLOCK - 1) // COLBLOCK
    for b in prange(nb):
        j0 = b * COLBLOCK
        j1 = min(k, j0 + COLBLOCK)
        m = np.empty(j1 - j0, x.dtype)
        for j in range(j0, j1):
            m[j - j0] = x[0, j]
        for i in range(1, n):
            for j in range(j0, j1):
                if x[i, j] > m[j - j0]:
                    m[j - j0] = x[i, j]
        s = np.zeros(j1 - j0, np.float64)
        for i in range(n):
            for j in range(j0, j1):
                s[j - j0] += math.exp(x[i, j] - m[j - j0])
        for j in range(j0, j1):
            out[j] = math.log(s[j - j0]) + m[j - j0]
    return out


@njit(**_NB)
def log_softmax_rows(x):
    n, k = x.shape
    out = np.empty_like(x)
    for i in prange(n):
        m = x[i, 0]
        for j in range(1, k):
            if x[i, j] > m:
                m = x[i, j]
        s = 0.0
        for j in range(k):
            s += math.exp(x[i, j] - m)
        lse = math.log(s) + m
        for j in range(k):
            out[i, j] = x[i, j] - lse
    return out


# ----------------------------------------------------------------------------- cross-entropy
@njit(**_NB)
def cross_entropy_rows(x, t, want_grad):
    """Mean softmax cross-entropy of (N, C) logits and N int labels; grad if asked."""
    n, k = x.shape
    nb = (n + ROWBLOCK - 1) // ROWBLOCK
    part = np.zeros(nb, np.float64)
    g = np.empty_like(x) if want_grad else np.empty((0, 0), x.dtype)
    inv_n = 1.0 / n
    for b in prange(nb):
        acc = 0.0
        for i in range(b * ROWBLOCK, min(n, (b + 1) * ROWBLOCK)):
            m = x[i, 0]
            for j in range(1, k):
                if x[i, j] > m:
                    m = x[i, j]
            s = 0.0
            for j in range(k):
                s += math.exp(x[i, j] - m)
            lse = math.log(s) + m
            acc += lse - x[i, t[i]]
            if want_grad:
                for j in range(k):
                    g[i, j] = math.exp(x[i, j] - lse) * inv_n
                g[i, t[i]] -= inv_n
        part[b] = acc
    return part.sum() * inv_n, g


@njit(**_NB)
def cross_entropy_ncp(x, t, want_grad):
    """Mean cross-entropy of (N, C, P) logits (class axis 1) and (N, P) labels."""
    n, k, p = x.shape
    npb = (p + PIXBLOCK - 1) // PIXBLOCK
    ntask = n * npb
    part = np.zeros(ntask, np.float64)
    g = np.empty_like(x) if want_grad else np.empty((0, 0, 0), x.dtype)
    inv_n = 1.0 / (n * p)
    for task in prange(ntask):
        i = task // npb
        q0 = (task % npb) * PIXBLOCK
        q1 = min(p, q0 + PIXBLOCK)
        m = np.empty(q1 - q0, x.dtype)
        for q in range(q0, q1):
            m[q - q0] = x[i, 0, q]
        for c in range(1, k):
            for q in range(q0, q1):
                if x[i, c, q] > m[q - q0]:
                    m[q - q0] = x[i, c, q]
        s = np.zeros(q1 - q0, np.float64)
        for c in range(k):
            for q in range(q0, q1):
                s[q - q0] += math.exp(x[i, c, q] - m[q - q0])
        acc = 0.0
        for q in range(q0, q1):
            lse = math.log(s[q - q0]) + m[q - q0]
            s[q - q0] = lse
            acc += lse - x[i, t[i, q], q]
        if want_grad:
            for c in range(k):
                for q in range(q0, q1):
                    g[i, c, q] = math.exp(x[i, c, q] - s[q - q0]) * inv_n
            for q in range(q0, q1):
                g[i, t[i, q], q] -= inv_n
        part[task] = acc
    return part.sum() * inv_n, g


# ----------------------------------------------------------------------------- elementwise losses
@njit(**_NB)
def bce_with_logits_1d(x, y, want_grad):
    n = x.size
    nch = (n + CHUNK - 1) // CHUNK
    part = np.zeros(nch, np.float64)
    g = np.empty_like(x) if want_grad else np.empty(0, x.dtype)
    inv_n = 1.0 / n
    for c in prange(nch):
        acc = 0.0
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            xi = x[i]
            e = math.exp(-abs(xi))
            acc += max(xi, 0.0) - xi * y[i] + math.log1p(e)
            if want_grad:
                sig = 1.0 / (1.0 + e) if xi >= 0 else e / (1.0 + e)
                g[i] = (sig - y[i]) * inv_n
        part[c] = acc
    return part.sum() * inv_n, g


@njit(**_NB)
def gaussian_nll_1d(x, y, v, eps, want_grad):
    n = x.size
    nch = (n + CHUNK - 1) // CHUNK
    part = np.zeros(nch, np.float64)
    gi = np.empty_like(x) if want_grad else np.empty(0, x.dtype)
    gv = np.empty_like(x) if want_grad else np.empty(0, x.dtype)
    inv_n = 1.0 / n
    for c in prange(nch):
        acc = 0.0
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            vi = max(v[i], eps)
            d = x[i] - y[i]
            acc += 0.5 * (math.log(vi) + d * d / vi)
            if want_grad:
                gi[i] = d / vi * inv_n
                gv[i] = 0.5 * (1.0 / vi - d * d / (vi * vi)) * inv_n
        part[c] = acc
    return part.sum() * inv_n, gi, gv


@njit(**_NB)
def mse_1d(x, y, want_grad):
    n = x.size
    nch = (n + CHUNK - 1) // CHUNK
    part = np.zeros(nch, np.float64)
    g = np.empty_like(x) if want_grad else np.empty(0, x.dtype)
    inv_n = 1.0 / n
    for c in prange(nch):
        acc = 0.0
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            d = x[i] - y[i]
            acc += d * d
            if want_grad:
                g[i] = 2.0 * d * inv_n
        part[c] = acc
    return part.sum() * inv_n, g


@njit(**_NB)
def poisson_nll_1d(x, y, want_grad):
    """log_input=True, full=False: mean(exp(x) - y * x)."""
    n = x.size
    nch = (n + CHUNK - 1) // CHUNK
    part = np.zeros(nch, np.float64)
    g = np.empty_like(x) if want_grad else np.empty(0, x.dtype)
    inv_n = 1.0 / n
    for c in prange(nch):
        acc = 0.0
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            e = math.exp(x[i])
            acc += e - y[i] * x[i]
            if want_grad:
                g[i] = (e - y[i]) * inv_n
        part[c] = acc
    return part.sum() * inv_n, g
