"""Student's t quantile in pure Python, so the worker image needs neither scipy nor numpy.

For 2,000 degrees of freedom and more, Fisher's expansion of the quantile in powers of 1/nu
around the normal quantile (Abramowitz and Stegun 26.7.5, to the 1/nu^4 term) is exact to
rounding for the confidences in use; the normal quantile is the standard library's
(``statistics.NormalDist``, Wichura's AS241, ~1e-16).

Below that, the two-sided tail of Student's t is a regularized incomplete beta function:
``P(|T| > t) = I_x(nu/2, 1/2)`` with ``x = nu / (nu + t^2)``, and the quantile is found by
Newton's method on ``ln P(|T| > t)`` as a function of ``ln t``. That function is decreasing
and concave (its slope goes from 0 to -nu), so the iteration converges from any start and
never overshoots after its first step; its slope is cheap (``-2 x^a sqrt(1-x) / B(a, 1/2)``
over the tail, with the kernel the incomplete beta function needs anyway). The incomplete beta
function is evaluated with its continued fraction (modified Lentz), on the side of the
symmetry ``I_x(a, b) = 1 - I_{1-x}(b, a)`` where it converges; ``x`` and ``1 - x`` are both
formed without cancellation, and ``ln B(a, 1/2)`` comes from Stirling's series of
``ln Gamma(a + 1/2) - ln Gamma(a)`` for large ``a`` (``math.lgamma`` alone loses about
``eps * lgamma(a)`` there).

Agreement with scipy's ``stdtrit`` and with 40-digit arithmetic: about 1e-15 relative from 1
to 10^7 degrees of freedom at 0.9 to 0.999 (``tests/unit/test_student_t.py``).
"""

from __future__ import annotations

import math
from functools import lru_cache

_EPS = 2.0**-52
_TINY = 1e-300
#: Below this ``a``, ``math.lgamma`` differences are exact enough (|lgamma| < 40 there).
_STIRLING_FROM = 16.0
#: Stirling's series of ln Gamma(z): B_2k / (2k (2k - 1) z^(2k - 1)), k = 1..6.
_STIRLING_TERMS = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360)
_MAX_CF_TERMS = 1_000_000
_MAX_NEWTON_STEPS = 100
#: From here on Fisher's expansion alone is exact to rounding for the usual confidences; the
#: continued fraction's Lentz recurrence loses digits for large nu (1e-13 at 10^4).
_EXPANSION_FROM = 2000.0
_STEP_DONE = 1e-12
_MAX_LOG_STEP = 8.0


@lru_cache(maxsize=256)
def two_sided_quantile(confidence: float, degrees_of_freedom: int) -> float:
    """``t`` with ``P(|T| <= t) = confidence`` for Student's t with the given freedom."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    if degrees_of_freedom < 1:
        raise ValueError(f"degrees of freedom must be at least 1, not {degrees_of_freedom}")
    nu = float(degrees_of_freedom)
    alpha = 1.0 - confidence  # exact for confidence >= 0.5 (Sterbenz)
    t, last_term = _fisher_expansion(alpha, nu)
    # The expansion's error is about its last term times z^2/nu: with nu >= 2000 and the last
    # term below 1e-11 t, the error is below 1e-14 t (0.9 to 0.9999 confidence).
    if nu >= _EXPANSION_FROM and last_term <= 1e-11 * t:
        return t
    if not (math.isfinite(t) and t > 0.0):
        t = 1.0  # far from the normal the series can be anything; any start converges
    log_alpha = math.log(alpha)
    for _ in range(_MAX_NEWTON_STEPS):
        log_tail, slope = _log_two_sided_tail(t, nu)
        step = (log_tail - log_alpha) / -slope
        # From far left of the root the tangent is nearly flat: cap the jump (e^8 ~ 3,000x).
        step = min(step, _MAX_LOG_STEP)
        t *= math.exp(step)
        # Convergence is quadratic: after a step this small the error is far below the
        # rounding noise of the tail (~1e-15 relative), which a smaller bound would chase.
        if abs(step) <= _STEP_DONE:
            return t
    raise ArithmeticError(f"t quantile did not converge for {confidence}, {degrees_of_freedom}")


def _fisher_expansion(alpha: float, nu: float) -> tuple[float, float]:
    """Fisher's expansion of the t quantile in 1/nu around the normal quantile ``z``, to the
    1/nu^4 term (Abramowitz and Stegun 26.7.5), and the absolute size of that last term."""
    from statistics import NormalDist

    z = -NormalDist().inv_cdf(alpha / 2.0)  # the small tail itself: no rounding of 1 - alpha/2
    z2 = z * z
    g1 = z * (z2 + 1.0) / 4.0
    g2 = z * ((5.0 * z2 + 16.0) * z2 + 3.0) / 96.0
    g3 = z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / 384.0
    g4 = z * ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) / 92160.0
    t = z + (g1 + (g2 + (g3 + g4 / nu) / nu) / nu) / nu
    return t, abs(g4) / nu**4


def _log_two_sided_tail(t: float, nu: float) -> tuple[float, float]:
    """``ln P(|T| > t)`` and its slope in ``ln t``, in logarithms so no tail underflows.

    With ``a = nu/2``, ``y = 1 - x`` and the kernel ``k = x^a sqrt(y) / B(a, 1/2)``, the tail
    is ``k/a * cf(x; a, 1/2)`` or ``1 - 2k * cf(y; 1/2, a)``, and the slope ``-2k / tail``.
    """
    a = nu / 2.0
    t2 = t * t
    x = nu / (nu + t2)
    y = t2 / (nu + t2)
    log_x = math.log1p(-y) if y < 0.5 else math.log(x)
    log_y = math.log1p(-x) if x < 0.5 else math.log(y)
    log_kernel = a * log_x + 0.5 * log_y - _log_beta_half(a)
    if x < (a + 1.0) / (a + 2.5):
        fraction = _beta_continued_fraction(a, 0.5, x, y)
        return log_kernel - math.log(a) + math.log(fraction), -nu / fraction
    kernel = math.exp(log_kernel)
    tail = 1.0 - 2.0 * kernel * _beta_continued_fraction(0.5, a, y, x)
    return math.log(tail), -2.0 * kernel / tail


def _log_beta_half(a: float) -> float:
    """``ln B(a, 1/2) = ln Gamma(1/2) - (ln Gamma(a + 1/2) - ln Gamma(a))``."""
    log_sqrt_pi = 0.5 * math.log(math.pi)
    if a < _STIRLING_FROM:
        return log_sqrt_pi - (math.lgamma(a + 0.5) - math.lgamma(a))
    # ln Gamma(z) = (z - 1/2) ln z - z + ln(2 pi)/2 + S(z); in the difference the large terms
    # reduce to ln(a)/2 + a ln(1 + 1/(2a)) - 1/2.
    ratio = 0.5 * math.log(a) + (a * math.log1p(0.5 / a) - 0.5)
    ratio += _stirling_sum(a + 0.5) - _stirling_sum(a)
    return log_sqrt_pi - ratio


def _stirling_sum(z: float) -> float:
    inverse_square = 1.0 / (z * z)
    total = 0.0
    for coefficient in reversed(_STIRLING_TERMS):
        total = total * inverse_square + coefficient
    return total / z


def _beta_continued_fraction(a: float, b: float, x: float, y: float) -> float:
    """The continued fraction of ``I_x(a, b) = x^a y^b / (a B(a, b)) * cf`` (modified Lentz).

    ``y`` is ``1 - x``, passed in so that no precision is lost forming it.
    """
    c = 1.0
    # 1 - (a + b) x / (a + 1), written without cancellation when x is near 1
    d = 1.0 - (a + b) * x / (a + 1.0) if x < 0.5 else (1.0 - b + (a + b) * y) / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, _MAX_CF_TERMS):
        two_m = 2.0 * m
        # even step: m (b - m) x / ((a + 2m - 1)(a + 2m))
        numerator = m * (b - m) * x / ((a + two_m - 1.0) * (a + two_m))
        d = 1.0 + numerator * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + numerator / c
        c = c if abs(c) > _TINY else _TINY
        result *= d * c
        # odd step: -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
        numerator = -(a + m) * (a + b + m) * x / ((a + two_m) * (a + two_m + 1.0))
        d = 1.0 + numerator * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + numerator / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        result *= delta
        if abs(delta - 1.0) <= _EPS:
            return result
    raise ArithmeticError(f"incomplete beta continued fraction did not converge: {a}, {b}, {x}")
