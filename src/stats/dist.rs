//! Distribution helpers shared by the statistics modules: quantiles polished
//! to full double precision and exact discrete distributions for 2x2 tables.

use statrs::function::{beta::beta_reg, erf, gamma::gamma_ur, gamma::ln_gamma};

use super::StatsError;

/// The standard normal quantile at `p` (0 < p < 1).
pub(crate) fn normal_quantile(p: f64) -> f64 {
    -std::f64::consts::SQRT_2 * erf::erfc_inv(2.0 * p)
}

/// The two-sided critical value `z` with `P(|Z| <= z) = level`.
pub(crate) fn z_for_level(level: f64) -> f64 {
    // The lower tail keeps full relative precision for levels near one.
    -normal_quantile((1.0 - level) / 2.0)
}

/// The upper tail `P(X >= x)` of a chi-square with `df` degrees of freedom.
pub(crate) fn chi2_sf(x: f64, df: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if df == 1.0 {
        // erfc keeps relative precision far into the tail.
        return erf::erfc((x / 2.0).sqrt());
    }
    gamma_ur(df / 2.0, x / 2.0)
}

/// The `p` quantile of a Beta(`a`, `b`) distribution, polished by Newton
/// steps on the regularised incomplete beta function.
pub(crate) fn beta_quantile(p: f64, a: f64, b: f64) -> f64 {
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    // Work in the lower half, where the quantile keeps relative precision.
    if p > 0.5 {
        return 1.0 - beta_quantile_lower(1.0 - p, b, a);
    }
    beta_quantile_lower(p, a, b)
}

fn beta_quantile_lower(p: f64, a: f64, b: f64) -> f64 {
    let ln_beta = ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b);
    let mut x = statrs::function::beta::inv_beta_reg(a, b, p);
    if !(x > 0.0 && x < 1.0) {
        x = 0.5;
    }
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    for _ in 0..200 {
        let f = beta_reg(a, b, x) - p;
        if f == 0.0 {
            return x;
        }
        if f > 0.0 {
            hi = x;
        } else {
            lo = x;
        }
        let ln_pdf = (a - 1.0) * x.ln() + (b - 1.0) * (-x).ln_1p() - ln_beta;
        let mut next = x - f / ln_pdf.exp();
        if !(next > lo && next < hi && next.is_finite()) {
            // Newton left the bracket: bisect (geometrically near zero).
            next = if lo > 0.0 { (lo * hi).sqrt() } else { hi / 2.0 };
            if hi - lo <= 4.0 * f64::EPSILON * hi {
                return x;
            }
        }
        if (next - x).abs() <= 2.0 * f64::EPSILON * x {
            return next;
        }
        x = next;
    }
    x
}

/// The probabilities `P(X = k)` for `k = 0..=upto` (capped at `n`),
/// `X ~ Binomial(n, 1/2)`, by the ratio recurrence from `k = 0`: in plain
/// arithmetic while `2^-n` is a normal double, in log space beyond.
pub(crate) fn binom_half_pmf_upto(n: u64, upto: u64) -> Vec<f64> {
    let last = upto.min(n);
    let mut out = Vec::with_capacity(last as usize + 1);
    if n <= 1000 {
        let mut p = 0.5_f64.powi(n as i32);
        out.push(p);
        for k in 0..last {
            p *= (n - k) as f64 / (k + 1) as f64;
            out.push(p);
        }
    } else {
        let mut lp = -(n as f64) * std::f64::consts::LN_2;
        out.push(lp.exp());
        for k in 0..last {
            lp += ((n - k) as f64 / (k + 1) as f64).ln();
            out.push(lp.exp());
        }
    }
    out
}

/// The conditional distribution of the top-left cell of a 2x2 table given
/// its margins: Fisher's noncentral hypergeometric with odds ratio `psi`
/// (central when `psi = 1`).
///
/// Weights are built by the ratio recurrence in log space, so they stay
/// accurate for large tables without overflow.
#[derive(Debug, Clone)]
pub(crate) struct Hypergeometric {
    /// Smallest value of the support.
    pub lo: u64,
    /// Largest value of the support.
    pub hi: u64,
    /// `ln` of the central weights `C(n1, k) C(n2, m - k)` up to a constant,
    /// for `k = lo..=hi`.
    ln_w: Vec<f64>,
}

impl Hypergeometric {
    /// The distribution for row totals `n1`, `n2` and first column total `m`.
    pub(crate) fn new(n1: u64, n2: u64, m: u64) -> Self {
        let lo = m.saturating_sub(n2);
        let hi = n1.min(m);
        let mut ln_w = Vec::with_capacity((hi - lo + 1) as usize);
        let mut cur = 0.0_f64;
        ln_w.push(cur);
        for k in lo..hi {
            // w(k+1)/w(k) = (n1-k)(m-k) / ((k+1)(n2-m+k+1))
            let num = ((n1 - k) as f64) * ((m - k) as f64);
            let den = ((k + 1) as f64) * ((n2 + k + 1 - m) as f64);
            cur += (num / den).ln();
            ln_w.push(cur);
        }
        Hypergeometric { lo, hi, ln_w }
    }

    /// The probabilities for `k = lo..=hi` under odds ratio `exp(ln_psi)`.
    pub(crate) fn pmf(&self, ln_psi: f64) -> Vec<f64> {
        let shifted: Vec<f64> = self
            .ln_w
            .iter()
            .enumerate()
            .map(|(i, w)| w + i as f64 * ln_psi)
            .collect();
        let max = shifted.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut p: Vec<f64> = shifted.iter().map(|s| (s - max).exp()).collect();
        let total: f64 = p.iter().sum();
        for v in &mut p {
            *v /= total;
        }
        p
    }

    /// The probabilities under odds ratio `exp(ln_psi)` on the window of
    /// the support where they are representable (above `e^-750` of the
    /// mode), with the window's first index into the support.
    ///
    /// The log weights are concave in `k` (the distribution is log-concave),
    /// so the mode is found by bisection on their differences and the
    /// window grows outwards from it; outside it every probability rounds to
    /// zero, so sums over the window equal sums over the whole support while
    /// costing `O(sqrt(n))` rather than `O(n)` for large tables.
    fn window(&self, ln_psi: f64) -> (usize, Vec<f64>) {
        let w = &self.ln_w;
        let last = w.len() - 1;
        // first i with w[i+1] - w[i] + t < 0 is the mode
        let (mut lo, mut hi) = (0usize, last);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if w[mid + 1] - w[mid] + ln_psi < 0.0 {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let mode = lo;
        let at = |i: usize| w[i] + i as f64 * ln_psi;
        let top = at(mode);
        let (mut start, mut end) = (mode, mode);
        while start > 0 && at(start - 1) - top > -750.0 {
            start -= 1;
        }
        while end < last && at(end + 1) - top > -750.0 {
            end += 1;
        }
        let mut p: Vec<f64> = (start..=end).map(|i| (at(i) - top).exp()).collect();
        let total: f64 = p.iter().sum();
        for v in &mut p {
            *v /= total;
        }
        (start, p)
    }

    /// `P(X <= x)` and `P(X >= x)` under odds ratio `exp(ln_psi)`.
    pub(crate) fn tails(&self, x: u64, ln_psi: f64) -> (f64, f64) {
        let (start, p) = self.window(ln_psi);
        let i = (x - self.lo) as usize;
        let end = start + p.len() - 1;
        let (lower, upper) = if i < start {
            (0.0, 1.0)
        } else if i > end {
            (1.0, 0.0)
        } else {
            let j = i - start;
            (p[..=j].iter().sum(), p[j..].iter().sum())
        };
        (f64::min(lower, 1.0), f64::min(upper, 1.0))
    }

    /// The mean under odds ratio `exp(ln_psi)`.
    pub(crate) fn mean(&self, ln_psi: f64) -> f64 {
        let (start, p) = self.window(ln_psi);
        p.iter()
            .enumerate()
            .map(|(i, v)| (self.lo + (start + i) as u64) as f64 * v)
            .sum()
    }
}

/// Find the root of an increasing function `f` of `t` on `[lo, hi]`, where
/// `f(lo) < 0 < f(hi)`, by bisection to full double precision.
pub(crate) fn bisect_increasing(
    mut f: impl FnMut(f64) -> f64,
    mut lo: f64,
    mut hi: f64,
    what: &str,
) -> Result<f64, StatsError> {
    for _ in 0..400 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            return Ok(mid);
        }
        let v = f(mid);
        if v == 0.0 {
            return Ok(mid);
        }
        if v < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    if (hi - lo).abs() <= 1e-12 * hi.abs().max(1.0) {
        Ok(0.5 * (lo + hi))
    } else {
        Err(StatsError::NoConvergence(format!(
            "{what}: bisection left a wide bracket"
        )))
    }
}

/// `P(Z <= z)` for a standard normal `Z`.
pub(crate) fn normal_cdf(z: f64) -> f64 {
    0.5 * erf::erfc(-z / std::f64::consts::SQRT_2)
}

/// `P(|Z| >= |z|)` for a standard normal `Z`.
pub(crate) fn normal_two_sided_p(z: f64) -> f64 {
    erf::erfc(z.abs() / std::f64::consts::SQRT_2)
}
