#!/usr/bin/env python3
"""Reference values for src/stats/agreement.rs, computed with statsmodels.

Run once and commit the output:

    python3 -m venv .venv && .venv/bin/pip install statsmodels numpy
    .venv/bin/python scripts/agreement_reference.py > tests/data/agreement_reference.json

Cohen's kappa: statsmodels.stats.inter_rater.cohens_kappa (unweighted), whose
standard errors follow Fleiss, Cohen and Everitt (1969); the interval is
kappa +/- z(0.975) * std_kappa. Fleiss' kappa: fleiss_kappa(method="fleiss").
"""
import json

import numpy as np
import statsmodels
from statsmodels.stats.inter_rater import cohens_kappa, fleiss_kappa

COHEN_TABLES = {
    "binary_hand": [[20, 5], [10, 15]],
    "binary_skewed": [[370, 4], [41, 35]],
    "three_way": [[759, 5, 16], [24, 20, 36], [69, 159, 262]],
    "three_way_small": [[10, 2, 1], [3, 4, 2], [0, 1, 7]],
    "four_way": [[22, 3, 2, 1], [4, 18, 3, 0], [1, 2, 25, 4], [0, 1, 3, 11]],
}

FLEISS_TABLES = {
    "wikipedia_fleiss_1971": [
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ],
    "three_raters_three_classes": [
        [3, 0, 0], [2, 1, 0], [0, 3, 0], [1, 1, 1], [0, 0, 3], [0, 2, 1], [3, 0, 0],
    ],
}


def main():
    out = {"statsmodels": statsmodels.__version__, "level": 0.95, "cohen": {}, "fleiss": {}}
    for name, table in COHEN_TABLES.items():
        r = cohens_kappa(np.asarray(table, float))
        out["cohen"][name] = {
            "table": table,
            "kappa": float(r["kappa"]),
            "std_kappa": float(r["std_kappa"]),
            "std_kappa0": float(r["std_kappa0"]),
            "kappa_low": float(r["kappa_low"]),
            "kappa_upp": float(r["kappa_upp"]),
            "pvalue_two_sided": float(r["pvalue_two_sided"]),
        }
    for name, table in FLEISS_TABLES.items():
        out["fleiss"][name] = {
            "table": table,
            "kappa": float(fleiss_kappa(np.asarray(table), method="fleiss")),
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
