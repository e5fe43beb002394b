#!/usr/bin/env python3
"""Reference values for the `refusal_bias::stats` numerics.

Run from the crate root with a Python that has scipy, statsmodels and mpmath:

    python3 -m venv .venv && .venv/bin/pip install scipy statsmodels mpmath
    .venv/bin/python scripts/stats_reference.py

It writes tests/data/stats_reference.json, which tests/stats_reference.rs reads.
Each case says where its numbers come from in a "source" field. Where scipy and
statsmodels have no implementation the value is computed here from the
textbook formula (noted "formula: ...") or by exact enumeration with mpmath.
A case whose function must refuse the input carries "error": "<kind>" instead
of numbers.
"""

import json
import math
import os
import sys

import mpmath
import numpy as np
import scipy
import statsmodels
from scipy import stats
from scipy.stats.contingency import odds_ratio
from statsmodels.stats.contingency_tables import Table2x2, mcnemar
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
)

mpmath.mp.dps = 50

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "stats_reference.json")


def f(v):
    """A float for JSON (numpy scalars are not serialisable)."""
    return float(v)


# --------------------------------------------------------------------------
# One proportion
# --------------------------------------------------------------------------
PROPORTION_GRID = [
    (0, 1), (1, 1), (0, 5), (5, 5), (1, 5), (0, 20), (20, 20), (1, 20), (3, 10),
    (19, 20), (7, 13), (50, 100), (1, 1000), (999, 1000), (0, 100000),
    (12345, 100000), (100000, 100000), (2, 3),
]
SM_METHOD = {"wilson": "wilson", "clopper_pearson": "beta",
             "agresti_coull": "agresti_coull", "jeffreys": "jeffreys"}


def proportion_cases():
    out = []
    for x, n in PROPORTION_GRID:
        for level in (0.95, 0.9, 0.99):
            for name, sm in SM_METHOD.items():
                lo, up = proportion_confint(x, n, alpha=1 - level, method=sm)
                lo, up = f(lo), f(up)
                source = f"statsmodels proportion_confint(method={sm!r})"
                if name == "jeffreys":
                    # Brown, Cai and DasGupta (2001) boundary fix, which the
                    # crate applies and statsmodels does not.
                    if x == 0:
                        lo = 0.0
                    if x == n:
                        up = 1.0
                    source += " with the brown-cai-dasgupta boundary fix"
                if name == "clopper_pearson":
                    # statsmodels returns nan-replaced bounds at 0 and n
                    if x == 0:
                        lo = 0.0
                    if x == n:
                        up = 1.0
                out.append(dict(method=name, x=x, n=n, level=level,
                                estimate=x / n, lower=lo, upper=up, source=source))
    # n = 0 is an error for every method
    for name in SM_METHOD:
        out.append(dict(method=name, x=0, n=0, level=0.95, error="empty",
                        source="by definition"))
    return out


# --------------------------------------------------------------------------
# Two independent proportions
# --------------------------------------------------------------------------
TWO_GRID = [
    (0, 10, 3, 10), (3, 10, 0, 10), (0, 10, 0, 10), (10, 10, 3, 10),
    (10, 10, 10, 10), (1, 1, 0, 1), (30, 100, 11, 100), (5, 20, 12, 25),
    (1, 3, 2, 3), (500, 1000, 480, 1000), (12345, 50000, 4567, 50000),
    (0, 5, 5, 5), (2, 7, 7, 7), (3, 4, 1, 4), (1, 200, 9, 150), (40, 41, 2, 3),
]
CORRECTIONS = ["none", "haldane_anscombe", "haldane_anscombe_if_zero"]


def shifted(cells, correction):
    if correction == "haldane_anscombe" or (
            correction == "haldane_anscombe_if_zero" and 0 in cells):
        return [c + 0.5 for c in cells]
    return [float(c) for c in cells]


def two_sample_cases():
    rr, rd, woolf, exact, chi, fisher = [], [], [], [], [], []
    for x1, n1, x2, n2 in TWO_GRID:
        cells = [x1, n1 - x1, x2, n2 - x2]
        tab = dict(a=cells[0], b=cells[1], c=cells[2], d=cells[3])
        for level in (0.95, 0.9):
            # rate ratio and woolf odds ratio (statsmodels Table2x2)
            for corr in CORRECTIONS:
                a, b, c, d = shifted(cells, corr)
                t = Table2x2(np.array([[a, b], [c, d]]), shift_zeros=False)
                case = dict(x1=x1, n1=n1, x2=x2, n2=n2, level=level, correction=corr,
                            source="statsmodels Table2x2.riskratio / riskratio_confint")
                if a == 0 or c == 0:
                    case["error"] = "undefined"
                else:
                    lo, up = t.riskratio_confint(alpha=1 - level, method="normal")
                    case.update(estimate=f(t.riskratio), lower=f(lo), upper=f(up))
                rr.append(case)
                case = dict(level=level, correction=corr, **tab,
                            source="statsmodels Table2x2.oddsratio / oddsratio_confint")
                if 0 in (a, b, c, d):
                    case["error"] = "undefined"
                else:
                    lo, up = t.oddsratio_confint(alpha=1 - level, method="normal")
                    case.update(estimate=f(t.oddsratio), lower=f(lo), upper=f(up))
                woolf.append(case)
            lo, up = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb",
                                                compare="diff", alpha=1 - level)
            rd.append(dict(x1=x1, n1=n1, x2=x2, n2=n2, level=level,
                           estimate=x1 / n1 - x2 / n2, lower=f(lo), upper=f(up),
                           source="statsmodels confint_proportions_2indep(method='newcomb')"))
            # conditional exact odds ratio (scipy)
            case = dict(level=level, **tab,
                        source="scipy.stats.contingency.odds_ratio(kind='conditional')")
            m = x1 + x2
            lo_s, hi_s = max(0, m - n2), min(n1, m)
            if lo_s == hi_s or x1 == hi_s:
                case["error"] = "undefined"
            else:
                res = odds_ratio([[cells[0], cells[1]], [cells[2], cells[3]]],
                                 kind="conditional")
                ci = res.confidence_interval(confidence_level=level)
                case.update(estimate=f(res.statistic), lower=f(ci.low), upper=f(ci.high))
            exact.append(case)
        for yates in (False, True):
            case = dict(yates=yates, **tab,
                        source="scipy.stats.chi2_contingency(correction=yates)")
            if 0 in (n1, n2, x1 + x2, n1 + n2 - x1 - x2):
                case["error"] = "undefined"
            else:
                r = stats.chi2_contingency([[cells[0], cells[1]], [cells[2], cells[3]]],
                                           correction=yates)
                case.update(statistic=f(r.statistic), p_value=f(r.pvalue), df=1.0)
            chi.append(case)
        for alt in ("two-sided", "less", "greater"):
            r = stats.fisher_exact([[cells[0], cells[1]], [cells[2], cells[3]]],
                                   alternative=alt)
            fisher.append(dict(alternative=alt.replace("-", "_"), p_value=f(r.pvalue), **tab,
                               source="scipy.stats.fisher_exact"))
    return dict(rate_ratio=rr, risk_difference=rd, odds_ratio_woolf=woolf,
                odds_ratio_exact=exact, chi_square=chi, fisher_exact=fisher)


# --------------------------------------------------------------------------
# Paired proportions
# --------------------------------------------------------------------------
PAIRED_GRID = [
    (5, 12, 2, 81), (3, 1, 4, 2), (3, 0, 0, 2), (0, 1, 0, 0), (10, 0, 5, 10),
    (0, 0, 3, 7), (20, 7, 7, 20), (0, 3, 0, 0), (50, 30, 12, 408),
    (1000, 260, 180, 8560), (2, 1, 1, 0), (0, 25, 0, 25),
    # examples of Fagerland, Lydersen and Laake (2017), chapter 8
    (1, 1, 7, 12), (59, 6, 16, 80),
]


def wilson(x, n, z):
    lo, up = proportion_confint(x, n, alpha=2 * stats.norm.sf(z), method="wilson")
    return (0.0 if x == 0 else f(lo)), (1.0 if x == n else f(up))


def paired_cases():
    mc, ratio, diff, bonett = [], [], [], []
    mp = mpmath.mpf
    for a, b, c, d in PAIRED_GRID:
        t = dict(a=a, b=b, c=c, d=d)
        tab = np.array([[a, b], [c, d]])
        k, m = min(b, c), b + c
        exact_p = f(mcnemar(tab, exact=True).pvalue)
        # mid-p: formula (Fagerland et al. 2013) with scipy's binomial
        midp = min(1.0, f(2 * stats.binom.cdf(k, m, 0.5) - stats.binom.pmf(k, m, 0.5)))
        case = dict(exact_p=exact_p, midp_p=midp, exact_statistic=float(k), **t,
                    source="statsmodels mcnemar(exact=True); mid-p by formula with scipy.stats.binom")
        if m == 0:
            case["asymptotic_error"] = "undefined"
        else:
            r = mcnemar(tab, exact=False, correction=False)
            case.update(asym_statistic=f(r.statistic), asym_p=f(r.pvalue))
            if b == c:
                # max(|b - c| - 1, 0): statsmodels/R would give 1/(b+c)
                case.update(asym_cc_statistic=0.0, asym_cc_p=1.0)
            else:
                r = mcnemar(tab, exact=False, correction=True)
                case.update(asym_cc_statistic=f(r.statistic), asym_cc_p=f(r.pvalue))
        mc.append(case)
        n = a + b + c + d
        for level in (0.95, 0.9):
            z = f(stats.norm.ppf(1 - (1 - level) / 2))
            for corr in CORRECTIONS:
                aa, bb, cc, dd = shifted([a, b, c, d], corr)
                case = dict(level=level, correction=corr, **t,
                            source="formula: wald log interval, var = (b+c)/((a+b)(a+c)), mpmath")
                if aa + bb == 0 or aa + cc == 0:
                    case["error"] = "undefined"
                else:
                    A, B, C = mpmath.mpf(aa), mpmath.mpf(bb), mpmath.mpf(cc)
                    lr = mpmath.log((A + B) / (A + C))
                    se = mpmath.sqrt((B + C) / ((A + B) * (A + C)))
                    case.update(estimate=f(mpmath.exp(lr)), lower=f(mpmath.exp(lr - z * se)),
                                upper=f(mpmath.exp(lr + z * se)))
                ratio.append(case)
            # Bonett and Price (2006), as set out in Fagerland, Lydersen and
            # Laake (2017), chapter 8: by formula in mpmath
            case = dict(level=level, **t,
                        source="formula: bonett-price 2006 hybrid wilson score, mpmath")
            if a + c == 0:
                case["error"] = "undefined"
            else:
                s1, s2, ns = mp(a + b), mp(a + c), mp(a + b + c)
                A = mpmath.sqrt((mp(b + c) + 2) / ((s1 + 1) * (s2 + 1)))
                B = mpmath.sqrt((1 - (s1 + 1) / (ns + 2)) / (s1 + 1))
                C = mpmath.sqrt((1 - (s2 + 1) / (ns + 2)) / (s2 + 1))
                zz = A / (B + C) * mp(z)

                def wil(x):
                    root = zz * mpmath.sqrt(zz ** 2 + 4 * x * (1 - x / ns))
                    return ((2 * x + zz ** 2 - root) / (2 * (ns + zz ** 2)),
                            (2 * x + zz ** 2 + root) / (2 * (ns + zz ** 2)))
                l1_, u1_ = wil(s1)
                l2_, u2_ = wil(s2)
                case.update(estimate=f(s1 / s2), lower=f(l1_ / u2_), upper=f(u1_ / l2_))
            bonett.append(case)
            x1, x2 = a + b, a + c
            p1, p2 = x1 / n, x2 / n
            l1, u1 = wilson(x1, n, z)
            l2, u2 = wilson(x2, n, z)
            margins = [a + b, c + d, a + c, b + d]
            cross = a * d - b * c
            # Newcombe's corrected correlation numerator
            num = cross - n / 2 if cross > n / 2 else (cross if cross < 0 else 0.0)
            phi = 0.0 if 0 in margins else num / math.sqrt(math.prod(margins))
            dl1, du2, du1, dl2 = p1 - l1, u2 - p2, u1 - p1, p2 - l2
            lo = p1 - p2 - math.sqrt(max(0.0, dl1**2 - 2 * phi * dl1 * du2 + du2**2))
            up = p1 - p2 + math.sqrt(max(0.0, du1**2 - 2 * phi * du1 * dl2 + dl2**2))
            diff.append(dict(level=level, estimate=p1 - p2, lower=max(-1.0, lo),
                             upper=min(1.0, up), **t,
                             source="formula: newcombe 1998 method 10 with statsmodels wilson bounds"))
    return dict(mcnemar=mc, paired_ratio=ratio, paired_difference=diff,
                paired_ratio_bonett_price=bonett)


# --------------------------------------------------------------------------
# Stratified tables
# --------------------------------------------------------------------------
STRATA_GRID = [
    [(10, 5, 3, 12), (8, 7, 4, 11), (6, 9, 2, 13)],
    [(0, 5, 3, 12), (8, 0, 4, 11), (6, 9, 0, 13)],
    [(3, 2, 1, 4), (0, 0, 0, 0), (1, 0, 0, 0), (5, 5, 2, 8)],
    [(300, 700, 120, 880), (250, 750, 100, 900), (410, 590, 200, 800), (50, 950, 10, 990)],
    [(20, 5, 5, 20), (5, 20, 20, 5)],
    [(7, 3, 2, 8)],
    [(0, 10, 0, 10), (5, 5, 2, 8), (4, 6, 1, 9)],
    [(0, 10, 0, 10), (0, 5, 0, 5)],
    [(2, 0, 0, 3), (1, 0, 0, 1)],
    [(1, 1, 1, 1), (2, 3, 3, 2), (0, 1, 1, 0)],
]


def stratified_cases():
    from statsmodels.stats.contingency_tables import StratifiedTable
    out = dict(cmh=[], mh_odds_ratio=[], mh_rate_ratio=[], breslow_day=[])
    for strata in STRATA_GRID:
        s = [dict(a=a, b=b, c=c, d=d) for a, b, c, d in strata]
        # strata with fewer than two observations carry no information and
        # make statsmodels divide by zero: the crate skips them, so do we
        kept = [t for t in strata if sum(t) >= 2]
        arr = np.array([[[a, b], [c, d]] for a, b, c, d in kept], dtype=float)
        arr = np.transpose(arr, (1, 2, 0))
        st = StratifiedTable(arr)
        var = sum((a + b) * (c + d) * (a + c) * (b + d) / (sum(t) ** 2 * (sum(t) - 1))
                  for t in kept for a, b, c, d in [t])
        for cc in (False, True):
            case = dict(strata=s, continuity=cc,
                        source="statsmodels StratifiedTable.test_null_odds")
            if var == 0:
                case["error"] = "undefined"
            else:
                dev = sum(a - (a + b) * (a + c) / (a + b + c + d) for a, b, c, d in kept)
                if cc and abs(dev) < 0.5:
                    # the crate caps the correction (as R does); statsmodels does not
                    stat = 0.0
                    case["source"] = "formula: capped continuity correction"
                else:
                    stat = f(st.test_null_odds(correction=cc).statistic)
                case.update(statistic=stat, p_value=f(stats.chi2.sf(stat, 1)))
            out["cmh"].append(case)
        R = sum(a * d / sum(t) for t in kept for a, b, c, d in [t])
        S = sum(b * c / sum(t) for t in kept for a, b, c, d in [t])
        for level in (0.95, 0.9):
            case = dict(strata=s, level=level,
                        source="statsmodels StratifiedTable.oddsratio_pooled_confint (rgb)")
            if R == 0 or S == 0:
                case["error"] = "undefined"
            else:
                lo, up = st.oddsratio_pooled_confint(alpha=1 - level, method="normal")
                case.update(estimate=f(st.oddsratio_pooled), lower=f(lo), upper=f(up))
            out["mh_odds_ratio"].append(case)
            # Greenland-Robins variance: not in statsmodels, so mpmath by formula;
            # the point estimate is checked against statsmodels' riskratio_pooled
            mp = mpmath.mpf
            Rr = sum(mp(a) * (c + d) / sum(t) for t in kept for a, b, c, d in [t])
            Sr = sum(mp(c) * (a + b) / sum(t) for t in kept for a, b, c, d in [t])
            case = dict(strata=s, level=level,
                        source="formula: greenland-robins 1985 variance, mpmath")
            if Rr == 0 or Sr == 0:
                case["error"] = "undefined"
            else:
                V = sum((mp(a + b) * (c + d) * (a + c) - mp(a) * c * sum(t)) / mp(sum(t)) ** 2
                        for t in kept for a, b, c, d in [t])
                lr = mpmath.log(Rr / Sr)
                se = mpmath.sqrt(V / (Rr * Sr))
                z = mpmath.mpf(f(stats.norm.ppf(1 - (1 - level) / 2)))
                est = f(mpmath.exp(lr))
                assert abs(est - st.riskratio_pooled) <= 1e-12 * est
                case.update(estimate=est, lower=f(mpmath.exp(lr - z * se)),
                            upper=f(mpmath.exp(lr + z * se)))
            out["mh_rate_ratio"].append(case)
        usable = [t for t in strata if min(t[0] + t[1], t[2] + t[3], t[0] + t[2], t[1] + t[3]) > 0]
        for tarone in (False, True):
            case = dict(strata=s, tarone=tarone,
                        source="formula: breslow-day with tarone, mpmath quadratic root; "
                               "statistic cross-checked with statsmodels test_equal_odds")
            if R == 0 or S == 0 or len(usable) < 2:
                case["error"] = "undefined"
            else:
                r = mpmath.mpf(R) / mpmath.mpf(S)
                r = mpmath.fsum(mpmath.mpf(a) * d / sum(t) for t in kept for a, b, c, d in [t]) / \
                    mpmath.fsum(mpmath.mpf(b) * c / sum(t) for t in kept for a, b, c, d in [t])
                stat, dev, vs = mpmath.mpf(0), mpmath.mpf(0), mpmath.mpf(0)
                for a, b, c, d in usable:
                    n1, n2, m1 = mp(a + b), mp(c + d), mp(a + c)
                    A, B, C = 1 - r, n2 - m1 + r * (n1 + m1), -r * n1 * m1
                    lo_s, hi_s = max(0, m1 - n2), min(n1, m1)
                    if A == 0:
                        roots = [-C / B]
                    else:
                        D = mpmath.sqrt(B * B - 4 * A * C)
                        roots = [(-B + D) / (2 * A), (-B - D) / (2 * A)]
                    e = [x for x in roots if lo_s <= x <= hi_s][0]
                    v = 1 / (1 / e + 1 / (n1 - e) + 1 / (m1 - e) + 1 / (n2 - m1 + e))
                    stat += (a - e) ** 2 / v
                    dev += a - e
                    vs += v
                if tarone:
                    stat -= dev ** 2 / vs
                df = len(usable) - 1
                if len(usable) == len(strata) and r != 1:
                    sm = st.test_equal_odds(adjust=tarone).statistic
                    assert abs(sm - f(stat)) <= 1e-6 * max(1.0, abs(sm)), (sm, stat)
                case.update(statistic=f(stat), df=float(df),
                            p_value=f(stats.chi2.sf(f(stat), df)))
            out["breslow_day"].append(case)
    return out


# --------------------------------------------------------------------------
# Multiple comparisons
# --------------------------------------------------------------------------
P_GRID = [
    [0.01, 0.04, 0.03],
    [0.001, 0.2, 0.03, 0.04, 0.5, 0.0005, 0.9, 0.04],
    [0.5],
    [0.0, 1.0, 0.5, 0.5],
    [0.02, 0.02, 0.02, 0.02],
    [1e-12, 3e-8, 0.049, 0.051, 0.3, 0.7, 0.8, 0.99, 0.0001, 0.012],
    [],
]


def multiple_cases():
    from statsmodels.stats.multitest import multipletests
    out = []
    for p in P_GRID:
        case = dict(p=p, source="statsmodels multipletests (bonferroni, holm, fdr_bh)")
        for name, sm in (("bonferroni", "bonferroni"), ("holm", "holm"),
                         ("benjamini_hochberg", "fdr_bh")):
            case[name] = [f(v) for v in multipletests(p, method=sm)[1]] if p else []
        out.append(case)
    return dict(multiple=out)


# --------------------------------------------------------------------------
# Bootstrap interval arithmetic
# --------------------------------------------------------------------------
def bootstrap_cases():
    """Percentile and BCa intervals from fixed replicates.

    The resampling itself uses the crate's own ChaCha streams, which numpy
    cannot reproduce, so it is tested for determinism and against its known
    large-sample behaviour instead. What is checked here is the arithmetic
    from replicates to interval: scipy's own `_bca_interval` (the function
    behind `scipy.stats.bootstrap(method="BCa")`) on data whose statistic is
    the mean, so the jackknife values are the leave-one-out means.
    """
    from scipy.stats._resampling import _bca_interval
    out = []
    rs = np.random.RandomState(20261204)
    for n, b, skew in ((25, 999, 2.0), (8, 200, 0.5), (40, 2000, 5.0)):
        data = np.round(rs.gamma(skew, 1.0, size=n), 6)
        reps = np.round(data.mean() + rs.gamma(skew, 1.0, size=b) - skew, 6)
        # force a few ties with the estimate
        reps[:3] = data.mean()
        for level in (0.95, 0.9):
            alpha = (1 - level) / 2
            a1, a2, a_hat = _bca_interval((data,), lambda x, axis: np.mean(x, axis=axis), -1,
                                          alpha, reps,
                                          None, np)
            out.append(dict(
                data=[f(v) for v in data], replicates=[f(v) for v in reps], level=level,
                estimate=f(data.mean()),
                percentile_lower=f(np.percentile(reps, 100 * alpha)),
                percentile_upper=f(np.percentile(reps, 100 * (1 - alpha))),
                bca_lower=f(np.percentile(reps, 100 * float(a1))),
                bca_upper=f(np.percentile(reps, 100 * float(a2))),
                acceleration=f(a_hat),
                source="numpy percentile (linear); scipy.stats._resampling._bca_interval",
            ))
    return dict(bootstrap=out)


# --------------------------------------------------------------------------
# Logistic regression
# --------------------------------------------------------------------------
def regression_cases():
    import statsmodels.api as sm
    out = []
    rs = np.random.RandomState(7)

    def case(name, names, X, events, trials, groups, expect_error=None):
        c = dict(name=name, names=names, x=[f(v) for v in np.asarray(X).ravel()],
                 events=[int(v) for v in events], trials=[int(v) for v in trials],
                 groups=None if groups is None else [int(g) for g in groups],
                 level=0.95,
                 source="statsmodels GLM(Binomial) fit(tol=1e-14); cov_type='cluster' "
                        "(use_correction=True) for the robust errors")
        if expect_error:
            c["error"] = expect_error
            out.append(c)
            return
        endog = np.column_stack([events, np.asarray(trials) - np.asarray(events)])
        model = sm.GLM(endog, np.asarray(X, dtype=float), family=sm.families.Binomial())
        r = model.fit(tol=1e-14, maxiter=200)
        c.update(params=[f(v) for v in r.params], bse=[f(v) for v in r.bse],
                 deviance=f(r.deviance), null_deviance=f(r.null_deviance), llf=f(r.llf))
        ci = r.conf_int(alpha=0.05)
        c["lower"] = [f(v) for v in ci[:, 0]]
        c["upper"] = [f(v) for v in ci[:, 1]]
        c["pvalues"] = [f(v) for v in r.pvalues]
        if groups is not None:
            rc = model.fit(tol=1e-14, maxiter=200, cov_type="cluster",
                           cov_kwds=dict(groups=np.asarray(groups)))
            c["robust_bse"] = [f(v) for v in rc.bse]
            c["robust_pvalues"] = [f(v) for v in rc.pvalues]
        out.append(c)

    # individual records: wording x authorisation with a continuous covariate,
    # 60 task groups with a shared random effect (so clustering matters)
    n = 600
    g = np.repeat(np.arange(60), 10)
    u = rs.normal(0, 0.8, 60)[g]
    sens = rs.randint(0, 2, n)
    auth = rs.randint(0, 2, n)
    cont = rs.normal(0, 1, n)
    eta = -1.2 + 1.0 * sens - 0.5 * auth + 0.4 * sens * auth + 0.3 * cont + u
    y = (rs.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int)
    X = np.column_stack([np.ones(n), sens, auth, sens * auth, cont])
    case("records", ["intercept", "sensitive", "authorized", "sensitive:authorized", "x"],
         X, y, np.ones(n, dtype=int), g)
    # the same design aggregated by task group and cell: binomial rows
    keys = {}
    for i in range(n):
        k = (g[i], sens[i], auth[i])
        e, t = keys.get(k, (0, 0))
        keys[k] = (e + y[i], t + 1)
    ks = sorted(keys)
    Xa = np.array([[1, s_, a_, s_ * a_] for _, s_, a_ in ks], dtype=float)
    case("aggregated", ["intercept", "sensitive", "authorized", "sensitive:authorized"], Xa,
         [keys[k][0] for k in ks], [keys[k][1] for k in ks], [k[0] for k in ks])
    # tiny: the documented example (saturated, so statsmodels warns about
    # "perfect prediction": the fitted rates equal the observed ones)
    case("two_rows", ["intercept", "sensitive"], [[1, 0], [1, 1]], [3, 9], [20, 20], None)
    # rare events, large counts
    case("rare", ["intercept", "sensitive"], [[1, 0], [1, 1], [1, 0], [1, 1]],
         [2, 11, 1, 9], [5000, 5000, 4000, 4000], [1, 1, 2, 2])
    # complete separation: statsmodels warns and returns huge estimates
    case("separation", ["intercept", "x"], [[1, -2], [1, -1], [1, 1], [1, 2]],
         [0, 0, 1, 1], [1, 1, 1, 1], None, expect_error="undefined")
    # quasi-complete separation: one cell with no events
    case("quasi_separation", ["intercept", "sensitive"], [[1, 0], [1, 1]],
         [0, 7], [30, 30], None, expect_error="undefined")
    # rank deficient: a duplicated column
    case("rank_deficient", ["intercept", "a", "a_again"], [[1, 0, 0], [1, 1, 1], [1, 0, 0]],
         [1, 2, 3], [4, 4, 4], None, expect_error="undefined")
    return dict(regression=out)


# --------------------------------------------------------------------------
# Power for the paired design
# --------------------------------------------------------------------------
def power_cases():
    """Connor (1987) by formula in mpmath (no scipy/statsmodels version);
    the exact power by enumeration with scipy's binomial and binomtest."""
    out = []
    mp = mpmath.mpf
    alts = [("ratio", 0.10, 2.0, 0.14), ("ratio", 0.2, 1.5, 0.3), ("ratio", 0.05, 3.0, 0.12),
            ("direct", 0.2, 0.05, None)]
    for kind, u, v, w in alts:
        if kind == "ratio":
            first = v * u
            delta = first - u
            p10, p01 = (w + delta) / 2, (w - delta) / 2
        else:
            p10, p01 = u, v
        psi, delta = mp(p10) + mp(p01), mp(p10) - mp(p01)
        for alpha in (0.05, 0.01):
            za = -mpmath.sqrt(2) * mpmath.erfinv(mp(alpha) - 1)  # upper alpha/2 point
            for power in (0.8, 0.9):
                zb = mpmath.sqrt(2) * mpmath.erfinv(2 * mp(power) - 1)
                n = (za * mpmath.sqrt(psi) + zb * mpmath.sqrt(psi - delta ** 2)) ** 2 / delta ** 2
                pairs = int(mpmath.ceil(n))
                pw = mpmath.ncdf((mpmath.sqrt(pairs) * abs(delta) - za * mpmath.sqrt(psi))
                                 / mpmath.sqrt(psi - delta ** 2))
                case = dict(kind=kind, u=u, v=v, w=w, alpha=alpha, power=power,
                            p10=f(p10), p01=f(p01), unrounded=f(n), pairs=pairs,
                            achieved=f(pw), source="formula: connor 1987, mpmath")
                exact_n = [m for m in (30, pairs) if m <= 250]
                case["exact"] = []
                for nn in exact_n:
                    tot = 0.0
                    q = p10 / (p10 + p01)
                    for m in range(1, nn + 1):
                        wm = stats.binom.pmf(m, nn, p10 + p01)
                        rej = sum(stats.binom.pmf(b, m, q) for b in range(m + 1)
                                  if stats.binomtest(b, m, 0.5).pvalue <= alpha)
                        tot += wm * rej
                    case["exact"].append(dict(pairs=nn, power=f(tot)))
                out.append(case)
    return dict(power=out)


def main():
    data = dict(
        generator=dict(python=sys.version.split()[0], scipy=scipy.__version__,
                       statsmodels=statsmodels.__version__, mpmath=mpmath.__version__,
                       numpy=np.__version__),
        proportion=proportion_cases(),
    )
    data.update(two_sample_cases())
    data.update(paired_cases())
    data.update(stratified_cases())
    data.update(multiple_cases())
    data.update(bootstrap_cases())
    data.update(regression_cases())
    data.update(power_cases())
    with open(OUT, "w") as fh:
        json.dump(data, fh, indent=1, sort_keys=True, allow_nan=False)
        fh.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
