//! The cluster bootstrap: resample whole clusters (task groups) with
//! replacement, recompute a statistic on each resample, and read intervals
//! off the replicates.
//!
//! Resampling clusters rather than records keeps the dependence inside a
//! task group (its variants share a task) in every resample. Resample `i`
//! draws from its own ChaCha8 stream, seeded with the configured seed and
//! stream number `i`, so the replicates, and every number derived from them,
//! are identical for any number of threads.
//!
//! ```
//! use refusal_bias::stats::bootstrap::{BootstrapConfig, cluster_bootstrap};
//!
//! // One (refusals, prompts) pair per task group.
//! let groups: Vec<(u32, u32)> = (0..40).map(|i| (i % 3, 4)).collect();
//! let rate = |sample: &[&(u32, u32)]| {
//!     let (r, n) = sample.iter().fold((0, 0), |(r, n), g| (r + g.0, n + g.1));
//!     f64::from(r) / f64::from(n)
//! };
//! let config = BootstrapConfig { resamples: 500, seed: 7, ..BootstrapConfig::default() };
//! let result = cluster_bootstrap(&groups, rate, &config).unwrap();
//! assert!(result.percentile.lower <= result.estimate);
//! assert!(result.estimate <= result.percentile.upper);
//! ```

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::dist::{normal_cdf, normal_quantile};
use super::{Interval, StatsError, check_level};

/// How to run a cluster bootstrap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapConfig {
    /// Number of resamples (at least 1; 2,000 or more for BCa).
    pub resamples: usize,
    /// Confidence level of the intervals.
    pub level: f64,
    /// Seed of the random streams.
    pub seed: u64,
    /// Worker threads (at least 1). The result does not depend on it.
    pub threads: usize,
    /// Also compute the BCa interval, which costs one extra evaluation of
    /// the statistic per cluster (the jackknife).
    pub bca: bool,
}

impl Default for BootstrapConfig {
    /// 2,000 resamples, 95 %, seed 0, one thread, with BCa.
    fn default() -> Self {
        BootstrapConfig {
            resamples: 2000,
            level: 0.95,
            seed: 0,
            threads: 1,
            bca: true,
        }
    }
}

/// A BCa interval with the two constants it was built from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BcaInterval {
    /// The interval.
    pub interval: Interval,
    /// The bias correction `z0`: the normal quantile of the share of
    /// replicates below the estimate.
    pub bias_correction: f64,
    /// The acceleration `a` from the jackknife skewness.
    pub acceleration: f64,
}

/// The outcome of a cluster bootstrap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapResult {
    /// The statistic on the original clusters.
    pub estimate: f64,
    /// The standard deviation of the finite replicates.
    pub standard_error: f64,
    /// The percentile interval.
    pub percentile: Interval,
    /// The bias-corrected and accelerated interval, when asked for and
    /// defined (`None` when the jackknife gave a non-finite value or every
    /// replicate fell on one side of the estimate).
    pub bca: Option<BcaInterval>,
    /// Resamples drawn.
    pub resamples: usize,
    /// Resamples whose statistic was not finite (for example a ratio with a
    /// zero denominator); they are left out of the intervals, so a large
    /// count here means the intervals describe a conditional distribution.
    pub non_finite: usize,
    /// Clusters in the data.
    pub clusters: usize,
    /// The seed used.
    pub seed: u64,
}

/// The `q` quantile of ascending `sorted` by linear interpolation between
/// order statistics (type 7, numpy's default).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

fn sorted_finite(replicates: &[f64]) -> Result<Vec<f64>, StatsError> {
    let mut v: Vec<f64> = replicates
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    if v.is_empty() {
        return Err(StatsError::Empty("no finite bootstrap replicate".into()));
    }
    v.sort_by(f64::total_cmp);
    Ok(v)
}

/// The equal-tailed percentile interval of the finite `replicates`
/// (quantiles `(1 - level)/2` and `(1 + level)/2`, type 7).
///
/// # Errors
///
/// [`StatsError::Empty`] without a finite replicate; [`StatsError::Invalid`]
/// for a bad level.
pub fn percentile_interval(replicates: &[f64], level: f64) -> Result<Interval, StatsError> {
    check_level(level)?;
    let v = sorted_finite(replicates)?;
    let alpha = 1.0 - level;
    Ok(Interval {
        lower: quantile_sorted(&v, alpha / 2.0),
        upper: quantile_sorted(&v, 1.0 - alpha / 2.0),
        level,
    })
}

/// The BCa interval (Efron 1987) from bootstrap `replicates`, the
/// `estimate` on the full data and the leave-one-cluster-out `jackknife`
/// values, computed as scipy's `bootstrap(method="BCa")` does: `z0` from the
/// share of replicates below the estimate (ties count half), `a` from the jackknife
/// skewness (0 when all jackknife values are equal), then type-7 quantiles at
/// the adjusted levels.
///
/// # Errors
///
/// [`StatsError::Empty`] without a finite replicate or with an empty
/// jackknife; [`StatsError::Invalid`] for a bad level or a non-finite
/// estimate or jackknife value; [`StatsError::Undefined`] when all
/// replicates lie on one side of the estimate (`z0` infinite).
pub fn bca_interval(
    replicates: &[f64],
    estimate: f64,
    jackknife: &[f64],
    level: f64,
) -> Result<BcaInterval, StatsError> {
    check_level(level)?;
    let v = sorted_finite(replicates)?;
    if jackknife.is_empty() {
        return Err(StatsError::Empty("bca needs jackknife values".into()));
    }
    if !estimate.is_finite() || jackknife.iter().any(|x| !x.is_finite()) {
        return Err(StatsError::Invalid(
            "bca with a non-finite estimate or jackknife value".into(),
        ));
    }
    // Ties count half, as in scipy.
    let below = v.iter().filter(|&&x| x < estimate).count();
    let at_or_below = v.iter().filter(|&&x| x <= estimate).count();
    let share = (below + at_or_below) as f64 / (2 * v.len()) as f64;
    if share <= 0.0 || share >= 1.0 {
        return Err(StatsError::Undefined(
            "bca bias correction is infinite: every replicate is on one side of the estimate"
                .into(),
        ));
    }
    let z0 = normal_quantile(share);
    let mean = jackknife.iter().sum::<f64>() / jackknife.len() as f64;
    let (mut s2, mut s3) = (0.0, 0.0);
    for x in jackknife {
        let d = mean - x;
        s2 += d * d;
        s3 += d * d * d;
    }
    let a = if s2 == 0.0 {
        0.0
    } else {
        s3 / (6.0 * s2.powf(1.5))
    };
    let alpha = 1.0 - level;
    let adjust = |q: f64| {
        let z = normal_quantile(q);
        normal_cdf(z0 + (z0 + z) / (1.0 - a * (z0 + z)))
    };
    Ok(BcaInterval {
        interval: Interval {
            lower: quantile_sorted(&v, adjust(alpha / 2.0)),
            upper: quantile_sorted(&v, adjust(1.0 - alpha / 2.0)),
            level,
        },
        bias_correction: z0,
        acceleration: a,
    })
}

/// The replicates of `statistic` over `config.resamples` cluster
/// resamples, in resample order, independent of `config.threads`.
///
/// # Errors
///
/// [`StatsError::Empty`] without clusters; [`StatsError::Invalid`] for zero
/// resamples or threads.
pub fn replicates<C, F>(
    clusters: &[C],
    statistic: &F,
    config: &BootstrapConfig,
) -> Result<Vec<f64>, StatsError>
where
    C: Sync,
    F: Fn(&[&C]) -> f64 + Sync,
{
    if clusters.is_empty() {
        return Err(StatsError::Empty("bootstrap without clusters".into()));
    }
    if config.resamples == 0 || config.threads == 0 {
        return Err(StatsError::Invalid(format!(
            "bootstrap needs at least one resample and one thread, got {} and {}",
            config.resamples, config.threads
        )));
    }
    let k = clusters.len();
    let mut out = vec![0.0; config.resamples];
    let chunk = config.resamples.div_ceil(config.threads);
    let run = |start: usize, slots: &mut [f64]| {
        let mut sample: Vec<&C> = Vec::with_capacity(k);
        for (offset, slot) in slots.iter_mut().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
            rng.set_stream((start + offset) as u64);
            sample.clear();
            sample.extend((0..k).map(|_| &clusters[rng.random_range(0..k)]));
            *slot = statistic(&sample);
        }
    };
    if config.threads == 1 {
        run(0, &mut out);
    } else {
        std::thread::scope(|scope| {
            for (i, slots) in out.chunks_mut(chunk).enumerate() {
                let run = &run;
                scope.spawn(move || run(i * chunk, slots));
            }
        });
    }
    Ok(out)
}

/// Bootstrap `statistic` by resampling whole `clusters` with replacement:
/// the estimate on the data, the bootstrap standard error, the percentile
/// interval and, if `config.bca`, the BCa interval with a leave-one-cluster-
/// out jackknife.
///
/// `statistic` receives the clusters of one resample (a cluster drawn twice
/// appears twice) and should be cheap: it runs `resamples` times, plus once
/// per cluster for BCa. Summarise records into per-cluster counts first.
///
/// # Errors
///
/// Those of [`replicates`]; [`StatsError::Undefined`] when the statistic is
/// not finite on the data; [`StatsError::Empty`] when no replicate is
/// finite.
pub fn cluster_bootstrap<C, F>(
    clusters: &[C],
    statistic: F,
    config: &BootstrapConfig,
) -> Result<BootstrapResult, StatsError>
where
    C: Sync,
    F: Fn(&[&C]) -> f64 + Sync,
{
    check_level(config.level)?;
    let reps = replicates(clusters, &statistic, config)?;
    let all: Vec<&C> = clusters.iter().collect();
    let estimate = statistic(&all);
    if !estimate.is_finite() {
        return Err(StatsError::Undefined(format!(
            "the statistic is {estimate} on the data"
        )));
    }
    let finite: Vec<f64> = reps.iter().copied().filter(|x| x.is_finite()).collect();
    let non_finite = reps.len() - finite.len();
    if non_finite > 0 {
        tracing::debug!(
            non_finite,
            resamples = reps.len(),
            "non-finite bootstrap replicates"
        );
    }
    let percentile = percentile_interval(&finite, config.level)?;
    let mean = finite.iter().sum::<f64>() / finite.len() as f64;
    let var =
        finite.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (finite.len().max(2) - 1) as f64;
    let bca = if config.bca && clusters.len() > 1 {
        let mut jackknife = Vec::with_capacity(clusters.len());
        let mut without: Vec<&C> = Vec::with_capacity(clusters.len() - 1);
        for i in 0..clusters.len() {
            without.clear();
            without.extend(
                all.iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, c)| *c),
            );
            jackknife.push(statistic(&without));
        }
        bca_interval(&finite, estimate, &jackknife, config.level).ok()
    } else {
        None
    };
    Ok(BootstrapResult {
        estimate,
        standard_error: var.sqrt(),
        percentile,
        bca,
        resamples: config.resamples,
        non_finite,
        clusters: clusters.len(),
        seed: config.seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean(sample: &[&f64]) -> f64 {
        sample.iter().copied().sum::<f64>() / sample.len() as f64
    }

    #[test]
    fn same_seed_same_result_for_any_thread_count() {
        let data: Vec<f64> = (0..57).map(|i| f64::from(i * i % 11)).collect();
        let base = BootstrapConfig {
            resamples: 301,
            seed: 99,
            ..BootstrapConfig::default()
        };
        let one = cluster_bootstrap(&data, mean, &base).unwrap();
        for threads in [2, 3, 8, 400] {
            let config = BootstrapConfig {
                threads,
                ..base.clone()
            };
            assert_eq!(cluster_bootstrap(&data, mean, &config).unwrap(), one);
        }
        let other = BootstrapConfig { seed: 100, ..base };
        assert_ne!(cluster_bootstrap(&data, mean, &other).unwrap(), one);
    }

    #[test]
    fn each_resample_has_its_own_stream() {
        // Resample i depends only on (seed, i): asking for more resamples
        // extends the sequence without changing its start.
        let data: Vec<f64> = (0..23).map(f64::from).collect();
        let short = BootstrapConfig {
            resamples: 5,
            seed: 3,
            ..BootstrapConfig::default()
        };
        let long = BootstrapConfig {
            resamples: 12,
            threads: 3,
            ..short.clone()
        };
        let a = replicates(&data, &mean, &short).unwrap();
        let b = replicates(&data, &mean, &long).unwrap();
        assert_eq!(a[..], b[..5]);
        // and the resamples differ from one another
        assert!(b.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn standard_error_of_a_mean() {
        // The bootstrap distribution of a mean of K clusters has standard
        // deviation sqrt(sum (x - mean)^2 / K) / sqrt(K) (the plug-in
        // variance). With 4,000 resamples the Monte Carlo error of the
        // estimated SE is about 1/sqrt(2 * 4000) = 1.1 %, so 6 % is over
        // five of its standard deviations.
        let data: Vec<f64> = (0..30).map(|i| f64::from((i * 7) % 13)).collect();
        let k = data.len() as f64;
        let m = data.iter().sum::<f64>() / k;
        let plug_in = (data.iter().map(|x| (x - m).powi(2)).sum::<f64>() / k).sqrt();
        let expected = plug_in / k.sqrt();
        let config = BootstrapConfig {
            resamples: 4000,
            seed: 1,
            threads: 2,
            ..BootstrapConfig::default()
        };
        let r = cluster_bootstrap(&data, mean, &config).unwrap();
        assert!((r.standard_error / expected - 1.0).abs() < 0.06, "{r:?}");
        assert_eq!(r.estimate, m);
        let bca = r.bca.unwrap().interval;
        assert!(bca.lower < m && m < bca.upper);
    }

    #[test]
    fn constant_clusters_give_a_point() {
        let data = vec![2.5; 10];
        let r = cluster_bootstrap(&data, mean, &BootstrapConfig::default()).unwrap();
        assert_eq!((r.percentile.lower, r.percentile.upper), (2.5, 2.5));
        assert_eq!(r.standard_error, 0.0);
        // all replicates tie with the estimate: z0 = 0 and a = 0
        let bca = r.bca.unwrap();
        assert_eq!((bca.interval.lower, bca.interval.upper), (2.5, 2.5));
        assert_eq!((bca.bias_correction, bca.acceleration), (0.0, 0.0));
    }

    #[test]
    fn empty_input_is_an_error() {
        let data: Vec<f64> = Vec::new();
        let r = cluster_bootstrap(&data, mean, &BootstrapConfig::default());
        assert!(matches!(r, Err(StatsError::Empty(_))));
    }
}
