//! Power and sample size for the paired design: each task group is seen
//! under both wordings and the comparison is McNemar's test.
//!
//! Only the discordant pairs matter, so an alternative is described by the
//! two discordant probabilities; [`DiscordantProportions::from_ratio`] builds
//! them from a baseline rate, the ratio to detect and the share of
//! discordant pairs.
//!
//! ```
//! use refusal_bias::stats::power::{DiscordantProportions, mcnemar_sample_size};
//!
//! // baseline refusal 10 %, detect a 2x ratio, 14 % of tasks discordant
//! let alt = DiscordantProportions::from_ratio(0.10, 2.0, 0.14).unwrap();
//! let size = mcnemar_sample_size(&alt, 0.05, 0.8).unwrap();
//! assert!(size.pairs > 50 && size.pairs < 200);
//! ```

use serde::{Deserialize, Serialize};

use super::StatsError;
use super::dist::{normal_cdf, normal_quantile, z_for_level};

/// The probabilities of the two kinds of discordant pair under the
/// alternative: `p10` (event under the first condition only) and `p01`
/// (under the second only).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DiscordantProportions {
    /// Probability of a yes/no pair.
    pub p10: f64,
    /// Probability of a no/yes pair.
    pub p01: f64,
}

impl DiscordantProportions {
    /// The alternative where the second condition has event rate
    /// `baseline`, the first `ratio * baseline`, and a share `discordance`
    /// of pairs disagree: `p10 - p01 = (ratio - 1) * baseline` and
    /// `p10 + p01 = discordance`.
    ///
    /// # Errors
    ///
    /// [`StatsError::Invalid`] when these do not make a valid paired table
    /// (for example a discordance smaller than the difference of the rates,
    /// or a first rate above one).
    pub fn from_ratio(baseline: f64, ratio: f64, discordance: f64) -> Result<Self, StatsError> {
        let first = ratio * baseline;
        let delta = first - baseline;
        let p10 = (discordance + delta) / 2.0;
        let p01 = (discordance - delta) / 2.0;
        let p11 = first - p10;
        let p00 = 1.0 - p11 - p10 - p01;
        let ok = [baseline, ratio, discordance, first, p10, p01, p11, p00]
            .iter()
            .all(|v| v.is_finite() && *v >= -1e-15)
            && first <= 1.0;
        if !ok {
            return Err(StatsError::Invalid(format!(
                "no paired table has baseline {baseline}, ratio {ratio} and discordance \
                 {discordance}"
            )));
        }
        Ok(DiscordantProportions {
            p10: p10.max(0.0),
            p01: p01.max(0.0),
        })
    }

    fn check(&self) -> Result<(f64, f64), StatsError> {
        let (psi, delta) = (self.p10 + self.p01, self.p10 - self.p01);
        if !(self.p10 >= 0.0 && self.p01 >= 0.0 && psi <= 1.0) || delta == 0.0 {
            return Err(StatsError::Invalid(format!(
                "discordant probabilities {} and {} must be non-negative, sum to at most 1 \
                 and differ",
                self.p10, self.p01
            )));
        }
        Ok((psi, delta))
    }
}

/// A required number of pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleSize {
    /// Pairs (task groups) needed, rounded up.
    pub pairs: u64,
    /// The unrounded value of the formula.
    pub unrounded: f64,
    /// The power at `pairs` by the same approximation.
    pub power: f64,
    /// The method, named.
    pub method: String,
}

fn check_probability(v: f64, what: &str) -> Result<(), StatsError> {
    if v.is_finite() && v > 0.0 && v < 1.0 {
        Ok(())
    } else {
        Err(StatsError::Invalid(format!(
            "{what} {v} is not strictly between 0 and 1"
        )))
    }
}

/// The approximate power of the two-sided McNemar test with `pairs` pairs at
/// level `alpha`, by Connor's (1987) normal approximation:
/// `Phi((sqrt(n) |d| - z sqrt(psi)) / sqrt(psi - d^2))` with
/// `d = p10 - p01`, `psi = p10 + p01`, `z` the two-sided critical value.
///
/// # Errors
///
/// [`StatsError::Invalid`] for a bad `alpha` or alternative;
/// [`StatsError::Empty`] for zero pairs.
pub fn mcnemar_power(
    alternative: &DiscordantProportions,
    pairs: u64,
    alpha: f64,
) -> Result<f64, StatsError> {
    check_probability(alpha, "alpha")?;
    let (psi, delta) = alternative.check()?;
    if pairs == 0 {
        return Err(StatsError::Empty("power with zero pairs".into()));
    }
    let z = z_for_level(1.0 - alpha);
    let n = pairs as f64;
    Ok(normal_cdf(
        (n.sqrt() * delta.abs() - z * psi.sqrt()) / (psi - delta * delta).sqrt(),
    ))
}

/// The number of pairs for the two-sided McNemar test at level `alpha` to
/// reach `power`, by Connor's (1987) formula
/// `n = (z_a sqrt(psi) + z_b sqrt(psi - d^2))^2 / d^2`, rounded up.
///
/// # Errors
///
/// [`StatsError::Invalid`] for `alpha` or `power` outside (0, 1) or a bad
/// alternative.
pub fn mcnemar_sample_size(
    alternative: &DiscordantProportions,
    alpha: f64,
    power: f64,
) -> Result<SampleSize, StatsError> {
    check_probability(alpha, "alpha")?;
    check_probability(power, "power")?;
    let (psi, delta) = alternative.check()?;
    let za = z_for_level(1.0 - alpha);
    let zb = normal_quantile(power);
    let root = za * psi.sqrt() + zb * (psi - delta * delta).sqrt();
    let unrounded = root * root / (delta * delta);
    let pairs = (unrounded - 1e-9 * unrounded).ceil().max(1.0) as u64;
    Ok(SampleSize {
        pairs,
        unrounded,
        power: mcnemar_power(alternative, pairs, alpha)?,
        method: "connor 1987 normal approximation for mcnemar's test".into(),
    })
}

/// The exact power of the two-sided exact (binomial) McNemar test with
/// `pairs` pairs at level `alpha`: the number of discordant pairs `m` is
/// Binomial(n, psi), the yes/no count given `m` is Binomial(m, p10/psi), and
/// the power sums the probability of every outcome whose exact p-value is at
/// most `alpha`. Costs `O(n^2)`; meant for checking the approximation at
/// the sizes it proposes.
///
/// # Errors
///
/// As [`mcnemar_power`].
pub fn mcnemar_power_exact(
    alternative: &DiscordantProportions,
    pairs: u64,
    alpha: f64,
) -> Result<f64, StatsError> {
    check_probability(alpha, "alpha")?;
    let (psi, _) = alternative.check()?;
    if pairs == 0 {
        return Err(StatsError::Empty("power with zero pairs".into()));
    }
    let q = alternative.p10 / psi;
    let outer = binomial_pmf(pairs, psi);
    let mut power = 0.0;
    for (m, w) in outer.iter().enumerate() {
        if *w == 0.0 || m == 0 {
            continue;
        }
        let m = m as u64;
        // the exact test rejects for b <= k or b >= m - k, for the largest k
        // with 2 P(B <= k | 1/2) <= alpha
        let null = binomial_pmf(m, 0.5);
        let mut tail = 0.0;
        let mut k: i64 = -1;
        for (i, p) in null.iter().enumerate() {
            if 2.0 * (tail + p) > alpha * (1.0 + 1e-12) || 2 * i as u64 > m {
                break;
            }
            tail += p;
            k = i as i64;
        }
        if k < 0 {
            continue;
        }
        let alt = binomial_pmf(m, q);
        let k = k as usize;
        let reject: f64 =
            alt[..=k].iter().sum::<f64>() + alt[(m as usize - k)..].iter().sum::<f64>();
        power += w * reject;
    }
    Ok(power.min(1.0))
}

/// `P(X = k)` for `k = 0..=n`, `X ~ Binomial(n, p)`, in log space.
fn binomial_pmf(n: u64, p: f64) -> Vec<f64> {
    use statrs::function::gamma::ln_gamma;
    let (lp, lq) = (p.ln(), (-p).ln_1p());
    let ln_n = ln_gamma(n as f64 + 1.0);
    (0..=n)
        .map(|k| {
            let (kf, rest) = (k as f64, (n - k) as f64);
            let mut v = ln_n - ln_gamma(kf + 1.0) - ln_gamma(rest + 1.0);
            if k > 0 {
                v += kf * lp;
            }
            if k < n {
                v += rest * lq;
            }
            v.exp()
        })
        .collect()
}
