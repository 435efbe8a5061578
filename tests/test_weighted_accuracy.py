"""Accuracy of weighted logsumexp (b=) on long rows, against mpmath."""
import mpmath
import numpy as np
import pytest

import crossent
from _helpers import MP_DPS, dd_from_mp, ulp_errors

BOUND = 2.0  # ulps, API.md


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_weighted_long_row_within_bound(dtype, sign):
    """A row of 4 million entries stays within 2 ulp: its blocks are combined
    pairwise, not in a left fold (a fold of 2048 blocks lost 9 ulp in float64).
    The row is K copies of a short one, so the exact value is log(K) plus the
    short row's exact value."""
    rng = np.random.default_rng(11)
    k, short = 1024, 4096
    row = rng.standard_normal(short).astype(dtype)
    w = (sign * rng.uniform(0.5, 2.0, short)).astype(dtype)
    with mpmath.workdps(MP_DPS):
        total = mpmath.fsum(mpmath.mpf(float(wi)) * mpmath.exp(mpmath.mpf(float(xi)))
                            for xi, wi in zip(row.tolist(), w.tolist()))
        exact = mpmath.log(k) + mpmath.log(abs(total))
    got, got_sign = crossent.logsumexp(np.tile(row, k), b=np.tile(w, k), return_sign=True)
    assert float(got_sign) == sign
    err = ulp_errors(np.asarray(got, dtype=dtype), dd_from_mp([exact]), dtype)
    assert err.max() <= BOUND, f"{err.max():.2f} ulp"
