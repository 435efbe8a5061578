"""Derive the polynomial coefficients of csrc's vectorisable exp.

exp(r) = 1 + r + r^2 * q(r) on |r| <= ln2/2 (after r = x - k ln2).  q is a
near-minimax (Chebyshev-node interpolant) fit of (exp(r) - 1 - r) / r^2 made in
60-digit arithmetic; its coefficients are printed as C hex-float-free decimal
literals with 17 significant digits.

The log1p kernel's P(z) (2 atanh(s) = 2 s + s z P(z), |s| <= 3 - 2 sqrt 2) is
fitted the same way by ``fit_log``.

Usage: python tools/exp_coefficients.py DEGREE_OF_Q [HALF_WIDTH]
       python tools/exp_coefficients.py log DEGREE_OF_P
"""
import sys

import mpmath as mp

mp.mp.dps = 60


def fit(degree, half_width):
    def g(r):  # (exp(r) - 1 - r) / r^2 by its series: no cancellation near 0
        return mp.nsum(lambda k: r**k / mp.factorial(k + 2), [0, mp.inf])

    n = degree + 1
    nodes = [half_width * mp.cos(mp.pi * (2 * i + 1) / (2 * n)) for i in range(n)]
    mat = mp.matrix([[x**j for j in range(n)] for x in nodes])
    rhs = mp.matrix([g(x) for x in nodes])
    coeffs = mp.lu_solve(mat, rhs)
    worst = mp.mpf(0)
    for i in range(2001):
        r = -half_width + 2 * half_width * i / 2000
        q = sum(coeffs[j] * r**j for j in range(n))
        approx = 1 + r + r * r * q
        worst = max(worst, abs(approx / mp.exp(r) - 1))
    return [float(c) for c in coeffs], worst


def fit_log(degree, smax):
    """P(z), z = s^2, with 2 atanh(s) = 2 s + s z P(z) on |s| <= smax."""

    def g(z):  # (2 atanh(s) - 2 s) / (s z) = sum 2 z^k / (2k + 3)
        return mp.nsum(lambda k: 2 * z**k / (2 * k + 3), [0, mp.inf])

    n = degree + 1
    zmax = smax**2
    nodes = [zmax / 2 * (1 + mp.cos(mp.pi * (2 * i + 1) / (2 * n))) for i in range(n)]
    mat = mp.matrix([[x**j for j in range(n)] for x in nodes])
    coeffs = mp.lu_solve(mat, mp.matrix([g(x) for x in nodes]))
    worst = max(
        abs(sum(coeffs[j] * (zmax * i / 2000) ** j for j in range(n)) / g(zmax * i / 2000) - 1)
        for i in range(2001)
    )
    return [float(c) for c in coeffs], worst


def main_log(degree):
    cs, err = fit_log(degree, (3 - 2 * mp.sqrt(2)) * mp.mpf("1.001"))
    for j, c in enumerate(cs):
        print(f"#define CX_LOG_P{j} {c!r}")
    print(f"/* max relative error of P: {mp.nstr(err, 3)} */")


if __name__ == "__main__" and sys.argv[1] == "log":
    main_log(int(sys.argv[2]))
elif __name__ == "__main__":
    deg = int(sys.argv[1])
    hw = mp.mpf(sys.argv[2]) if len(sys.argv) > 2 else mp.log(2) / 2 + mp.mpf("1e-3")
    cs, err = fit(deg, hw)
    for j, c in enumerate(cs):
        print(f"#define CX_EXP_Q{j} {c!r}")
    print(f"/* max relative error of the polynomial: {mp.nstr(err, 3)} */")
