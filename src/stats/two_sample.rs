//! Two independent proportions `x1 / n1` against `x2 / n2`.
