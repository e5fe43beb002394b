#!/usr/bin/env python3
"""Reference values for tests/analysis_*.rs, computed independently of the crate.

Run from the crate root with a Python that has scipy and statsmodels:

    .venv/bin/python scripts/analysis_reference.py

It prints the values the analysis tests paste in as constants; each test says
which block of this output its numbers come from.
"""

import math

from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

Z = stats.norm.ppf(0.975)


def wilson(x, n):
    lo, hi = proportion_confint(x, n, alpha=0.05, method="wilson")
    return x / n, lo, hi


def katz(x1, n1, x2, n2):
    rr = (x1 / n1) / (x2 / n2)
    se = math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    return rr, rr * math.exp(-Z * se), rr * math.exp(Z * se)


def bonett_price(a, b, c):
    """Bonett & Price (2006) hybrid Wilson interval, written from the paper."""
    x1, x2, ns = a + b, a + c, a + b + c
    A = math.sqrt((b + c + 2) / ((x1 + 1) * (x2 + 1)))
    B = math.sqrt((1 - (x1 + 1) / (ns + 2)) / (x1 + 1))
    C = math.sqrt((1 - (x2 + 1) / (ns + 2)) / (x2 + 1))
    z = A / (B + C) * Z
    l1, u1 = proportion_confint(x1, ns, alpha=2 * stats.norm.sf(z), method="wilson")
    l2, u2 = proportion_confint(x2, ns, alpha=2 * stats.norm.sf(z), method="wilson")
    return x1 / x2, l1 / u2, u1 / l2


def two_groups(label, x1, n1, x2, n2):
    print(f"== {label}: {x1}/{n1} vs {x2}/{n2}")
    print("rate ratio katz", katz(x1, n1, x2, n2))
    d = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    print("risk difference newcombe", x1 / n1 - x2 / n2, d)
    table = [[x1, n1 - x1], [x2, n2 - x2]]
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    print("pearson chi-square", chi2, p)
    print("fisher two-sided", stats.fisher_exact(table).pvalue)


def paired(label, a, b, c, d):
    print(f"== {label}: paired a={a} b={b} c={c} d={d}")
    print("mcnemar exact", mcnemar([[a, b], [c, d]], exact=True).pvalue)
    if a + c > 0:
        print("paired ratio bonett-price", bonett_price(a, b, c))
    else:
        print("paired ratio undefined (no event under the second condition)")


# tests/analysis_effects.rs, wording_effect_one_model
two_groups("wording one model", 17, 41, 8, 42)
paired("wording one model", 6, 10, 2, 22)
print("wilson sensitive", wilson(17, 41), "neutral", wilson(8, 42))
# tests/analysis_effects.rs, authorization_effect_holds_wording_fixed
two_groups("authorization", 6, 30, 15, 30)
paired("authorization", 4, 2, 11, 13)
# tests/analysis_rates.rs
print("== rates")
for x, n in [(3, 10), (0, 7), (7, 7), (12, 50)]:
    print(f"wilson {x}/{n}", wilson(x, n))

# tests/analysis_compare.rs, category_effects_adjusts_mcnemar
print("== categories")
paired("category a", 6, 10, 2, 22)
paired("category b", 0, 5, 0, 10)
paired("category c", 0, 1, 1, 5)
fam = [0.03857421875, 0.0625, 1.0]
print("holm", multipletests(fam, method="holm")[1])
print("bh", multipletests(fam, method="fdr_bh")[1])
# tests/analysis_compare.rs, model_comparison_pairs_prompts
print("== models")
paired("m1 vs m2", 3, 5, 2, 9)
paired("m1 vs m3", 8, 0, 0, 12)
paired("m2 vs m3", 3, 2, 5, 9)
fam = [mcnemar([[3, 5], [2, 9]], exact=True).pvalue, 1.0, mcnemar([[3, 2], [5, 9]], exact=True).pvalue]
print("holm", multipletests(fam, method="holm")[1])

# tests/analysis_model.rs, stratified_effect_by_category
print("== stratified")
import numpy as np
from statsmodels.stats.contingency_tables import StratifiedTable

strata = [(10, 5, 3, 12), (8, 7, 4, 11), (2, 8, 1, 9)]
st = StratifiedTable(np.array([[[a, b], [c, d]] for a, b, c, d in strata]).transpose(1, 2, 0).astype(float))
print("cmh", st.test_null_odds(correction=False).statistic, st.test_null_odds(correction=False).pvalue)
print("cmh corrected", st.test_null_odds(correction=True).pvalue)
print("mh odds ratio", st.oddsratio_pooled, st.oddsratio_pooled_confint())
print("breslow-day tarone", st.test_equal_odds(adjust=True).statistic, st.test_equal_odds(adjust=True).pvalue)
R = sum(a * (c + d) / (a + b + c + d) for a, b, c, d in strata)
S = sum(c * (a + b) / (a + b + c + d) for a, b, c, d in strata)
V = sum(((a + b) * (c + d) * (a + c) - a * c * (a + b + c + d)) / (a + b + c + d) ** 2
        for a, b, c, d in strata) / (R * S)
rr = R / S
print("mh rate ratio greenland-robins", rr, rr * math.exp(-Z * math.sqrt(V)), rr * math.exp(Z * math.sqrt(V)))

# tests/analysis_model.rs, regression_matches_statsmodels and interaction_*
print("== regression")
import statsmodels.api as sm

FRAMINGS = [(1, 0), (0, 0), (1, 1), (0, 1)]  # (sensitive, stated)
THRESHOLD = [6, 3, 4, 2]
rows, ys, gs = [], [], []
for mi, m in enumerate(["m1", "m2"]):
    for ci, c in enumerate(["log_analysis", "system_hardening"]):
        for i in range(10):
            for fi, (s, a) in enumerate(FRAMINGS):
                h = (i * 7 + fi * 3 + mi * 5 + ci * 11) % 10
                ys.append(1 if h < THRESHOLD[fi] + mi - ci else 0)
                rows.append((s, a, ci, mi))
                gs.append(ci * 100 + i)
y = np.array(ys, dtype=float)
for inter in (False, True):
    X = [[1, s, a] + ([s * a] if inter else []) + [ci, mi] for s, a, ci, mi in rows]
    X = np.array(X, dtype=float)
    fit = sm.GLM(y, X, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": np.array(gs)}, tol=1e-14)
    plain = sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-14)
    print("interaction" if inter else "main effects")
    print("  params", list(fit.params))
    print("  robust se", list(fit.bse))
    print("  robust p", list(fit.pvalues))
    print("  model se", list(plain.bse))
    print("  deviance", plain.deviance)
cells = {}
for (s, a, _, _), yy in zip(rows, ys):
    cells.setdefault((s, a), []).append(yy)
for k in sorted(cells):
    x, n = sum(cells[k]), len(cells[k])
    print("cell sensitive=%d stated=%d" % k, x, n, wilson(x, n))
strata = [(sum(cells[(1, a)]), 40 - sum(cells[(1, a)]), sum(cells[(0, a)]), 40 - sum(cells[(0, a)]))
          for a in (1, 0)]
st = StratifiedTable(np.array([[[a, b], [c, d]] for a, b, c, d in strata]).transpose(1, 2, 0).astype(float))
print("interaction breslow-day tarone", strata, st.test_equal_odds(adjust=True).pvalue)
