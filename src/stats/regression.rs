//! Logistic regression fitted by iteratively reweighted least squares
//! (Newton-Raphson on the binomial log-likelihood with the logit link).
//!
//! Rows are binomial: `events` out of `trials` with one covariate row each,
//! so records that share covariates and a cluster can be aggregated first
//! (the coefficients and their model-based standard errors do not change;
//! the deviance and the cluster-robust small-sample factor do, as they
//! count rows).
//!
//! ```
//! use refusal_bias::stats::regression::{Design, LogisticOptions, logistic};
//!
//! // intercept + one binary covariate, aggregated: 3/20 and 9/20 events
//! let design = Design::new(vec!["intercept".into(), "sensitive".into()],
//!                          vec![1.0, 0.0, 1.0, 1.0]).unwrap();
//! let fit = logistic(&design, &[3, 9], &[20, 20], None, &LogisticOptions::default()).unwrap();
//! let or = fit.model.coefficients[1].odds_ratio;
//! assert!((or - (9.0 / 11.0) / (3.0 / 17.0)).abs() < 1e-9);
//! ```

use serde::{Deserialize, Serialize};
use statrs::function::gamma::ln_gamma;

use super::dist::{normal_two_sided_p, z_for_level};
use super::{Interval, StatsError, check_level};

/// A design matrix: named columns, values stored row by row. Include an
/// intercept column of ones yourself if the model should have one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Design {
    names: Vec<String>,
    values: Vec<f64>,
}

impl Design {
    /// A design with the column `names` and the row-major `values`.
    ///
    /// # Errors
    ///
    /// [`StatsError::Invalid`] without columns, when `values` is not a whole
    /// number of rows, or holds a non-finite value.
    pub fn new(names: Vec<String>, values: Vec<f64>) -> Result<Self, StatsError> {
        if names.is_empty() {
            return Err(StatsError::Invalid("design without columns".into()));
        }
        if !values.len().is_multiple_of(names.len()) {
            return Err(StatsError::Invalid(format!(
                "{} values do not fill rows of {} columns",
                values.len(),
                names.len()
            )));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(StatsError::Invalid(format!(
                "non-finite value in row {}, column `{}`",
                i / names.len(),
                names[i % names.len()]
            )));
        }
        Ok(Design { names, values })
    }

    /// The column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The number of columns.
    pub fn columns(&self) -> usize {
        self.names.len()
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.values.len() / self.names.len()
    }

    fn row(&self, i: usize) -> &[f64] {
        let p = self.columns();
        &self.values[i * p..(i + 1) * p]
    }
}

/// Settings of a logistic fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticOptions {
    /// Confidence level of the Wald intervals.
    pub level: f64,
    /// Iteration limit.
    pub max_iterations: usize,
    /// Convergence when the largest coefficient step is below
    /// `tolerance * (1 + |coefficient|)`, or below `1e-8` times that scale
    /// and no longer halving (the round-off floor of large designs).
    pub tolerance: f64,
}

impl Default for LogisticOptions {
    /// 95 % intervals, 100 iterations, tolerance 1e-12.
    fn default() -> Self {
        LogisticOptions {
            level: 0.95,
            max_iterations: 100,
            tolerance: 1e-12,
        }
    }
}

/// Wald inference for one coefficient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coefficient {
    /// The column name.
    pub name: String,
    /// The coefficient (a log odds ratio, or the log odds for an intercept).
    pub estimate: f64,
    /// Its standard error.
    pub standard_error: f64,
    /// The Wald statistic `estimate / standard_error`.
    pub z: f64,
    /// The two-sided Wald p-value (normal reference).
    pub p_value: f64,
    /// The Wald interval of the coefficient.
    pub interval: Interval,
    /// `exp(estimate)`.
    pub odds_ratio: f64,
    /// The Wald interval exponentiated.
    pub odds_ratio_interval: Interval,
}

/// The coefficients under one covariance estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inference {
    /// The covariance estimate, named.
    pub covariance: String,
    /// One entry per design column, in order.
    pub coefficients: Vec<Coefficient>,
    /// The covariance matrix, row-major.
    pub covariance_matrix: Vec<f64>,
}

/// A fitted logistic regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticFit {
    /// Inference from the inverse Fisher information.
    pub model: Inference,
    /// Cluster-robust inference, when groups were given.
    pub cluster_robust: Option<Inference>,
    /// The residual deviance (against the saturated model of the rows as
    /// given).
    pub deviance: f64,
    /// The deviance of the constant-probability model with the same rows.
    pub null_deviance: f64,
    /// The binomial log-likelihood, including the binomial coefficients.
    pub log_likelihood: f64,
    /// IRLS iterations used.
    pub iterations: usize,
    /// Whether the convergence criterion was met (always true in an `Ok`
    /// result; kept so a serialised fit says so).
    pub converged: bool,
    /// Rows in the design.
    pub rows: usize,
    /// Total trials.
    pub n: u64,
    /// Clusters, when groups were given.
    pub clusters: Option<usize>,
}

fn logistic_fn(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

/// In-place Cholesky factor (lower) of the symmetric `p x p` matrix `a`.
fn cholesky(a: &mut [f64], p: usize) -> Result<(), StatsError> {
    for j in 0..p {
        let mut d = a[j * p + j];
        for k in 0..j {
            d -= a[j * p + k] * a[j * p + k];
        }
        if d.is_nan() || d <= 1e-12 * a[j * p + j].abs().max(f64::MIN_POSITIVE) {
            return Err(StatsError::Undefined(format!(
                "design matrix is not of full rank (column {j} is a combination of earlier ones)"
            )));
        }
        let d = d.sqrt();
        a[j * p + j] = d;
        for i in j + 1..p {
            let mut s = a[i * p + j];
            for k in 0..j {
                s -= a[i * p + k] * a[j * p + k];
            }
            a[i * p + j] = s / d;
        }
    }
    Ok(())
}

/// Solve `L L^T x = b` with the factor from [`cholesky`].
fn cholesky_solve(l: &[f64], p: usize, b: &mut [f64]) {
    for i in 0..p {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * p + k] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
    for i in (0..p).rev() {
        let mut s = b[i];
        for k in i + 1..p {
            s -= l[k * p + i] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
}

fn inverse(l: &[f64], p: usize) -> Vec<f64> {
    let mut inv = vec![0.0; p * p];
    for j in 0..p {
        let mut e = vec![0.0; p];
        e[j] = 1.0;
        cholesky_solve(l, p, &mut e);
        for i in 0..p {
            inv[i * p + j] = e[i];
        }
    }
    inv
}

/// `X^T W X` and `X^T W z` for the current coefficients, with the fitted
/// probabilities.
fn weighted_system(
    design: &Design,
    events: &[u64],
    trials: &[u64],
    beta: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let p = design.columns();
    let mut xtwx = vec![0.0; p * p];
    let mut xtwz = vec![0.0; p];
    let mut mu = Vec::with_capacity(design.rows());
    for i in 0..design.rows() {
        let x = design.row(i);
        let eta: f64 = x.iter().zip(beta).map(|(a, b)| a * b).sum();
        let m = logistic_fn(eta);
        mu.push(m);
        let n = trials[i] as f64;
        let w = n * m * (1.0 - m);
        if w == 0.0 {
            continue;
        }
        let z = eta + (events[i] as f64 - n * m) / w;
        for a in 0..p {
            let wxa = w * x[a];
            xtwz[a] += wxa * z;
            for b in 0..=a {
                xtwx[a * p + b] += wxa * x[b];
            }
        }
    }
    for a in 0..p {
        for b in 0..a {
            xtwx[b * p + a] = xtwx[a * p + b];
        }
    }
    (xtwx, xtwz, mu)
}

fn binomial_deviance_term(y: f64, n: f64, mu: f64) -> f64 {
    let mut d = 0.0;
    if y > 0.0 {
        d += y * (y / (n * mu)).ln();
    }
    if y < n {
        d += (n - y) * ((n - y) / (n * (1.0 - mu))).ln();
    }
    2.0 * d
}

fn inference(
    names: &[String],
    beta: &[f64],
    cov: Vec<f64>,
    level: f64,
    covariance: &str,
) -> Inference {
    let p = beta.len();
    let z = z_for_level(level);
    let coefficients = (0..p)
        .map(|j| {
            let se = cov[j * p + j].sqrt();
            let interval = Interval {
                lower: beta[j] - z * se,
                upper: beta[j] + z * se,
                level,
            };
            Coefficient {
                name: names[j].clone(),
                estimate: beta[j],
                standard_error: se,
                z: beta[j] / se,
                p_value: normal_two_sided_p(beta[j] / se),
                interval,
                odds_ratio: beta[j].exp(),
                odds_ratio_interval: Interval {
                    lower: interval.lower.exp(),
                    upper: interval.upper.exp(),
                    level,
                },
            }
        })
        .collect();
    Inference {
        covariance: covariance.to_string(),
        coefficients,
        covariance_matrix: cov,
    }
}

/// Fit a logistic regression of `events` out of `trials` on `design`, with
/// cluster-robust inference by `groups` (one cluster id per row) when given.
///
/// The cluster-robust covariance is the sandwich `A^-1 M A^-1` with `M` the
/// sum over clusters of the outer products of the cluster score sums, times
/// the small-sample factor `G/(G-1) * (N-1)/(N-K)` (`G` clusters, `N` rows,
/// `K` columns), the one statsmodels applies by default
/// (`cov_type="cluster"`, `use_correction=True`) and Stata's `vce(cluster)`.
///
/// Separation is detected, not fitted around: when some row's fitted
/// probability is within 1e-10 of 0 or 1 (a linear combination of the
/// covariates predicts its outcome perfectly, so the likelihood has no
/// finite maximum) the fit is an error naming the first such row. Firth's
/// penalised likelihood would give finite estimates there and is the way to
/// lift this.
///
/// # Errors
///
/// [`StatsError::Invalid`] for mismatched lengths, `events > trials`, a bad
/// level, or a row with zero trials; [`StatsError::Empty`] without rows;
/// [`StatsError::Undefined`] for separation, a rank-deficient design, or
/// cluster-robust errors with fewer than two clusters or no more rows than
/// columns; [`StatsError::NoConvergence`] when the iteration limit is
/// reached.
pub fn logistic(
    design: &Design,
    events: &[u64],
    trials: &[u64],
    groups: Option<&[u64]>,
    options: &LogisticOptions,
) -> Result<LogisticFit, StatsError> {
    check_level(options.level)?;
    let (rows, p) = (design.rows(), design.columns());
    if rows == 0 {
        return Err(StatsError::Empty("logistic regression without rows".into()));
    }
    if events.len() != rows || trials.len() != rows || groups.is_some_and(|g| g.len() != rows) {
        return Err(StatsError::Invalid(format!(
            "{rows} design rows but {} events, {} trials, {} groups",
            events.len(),
            trials.len(),
            groups.map_or(rows, <[u64]>::len)
        )));
    }
    if let Some(i) = (0..rows).find(|&i| trials[i] == 0 || events[i] > trials[i]) {
        return Err(StatsError::Invalid(format!(
            "row {i}: {} events out of {} trials",
            events[i], trials[i]
        )));
    }
    let mut beta = vec![0.0; p];
    let mut iterations = 0;
    let mut converged = false;
    let mut previous_step = f64::INFINITY;
    while iterations < options.max_iterations {
        iterations += 1;
        let (mut xtwx, mut next, _) = weighted_system(design, events, trials, &beta);
        if let Err(e) = cholesky(&mut xtwx, p) {
            if iterations == 1 {
                return Err(e);
            }
            // The information matrix lost rank while iterating: fitted
            // probabilities reached 0 or 1, which is separation.
            return Err(StatsError::Undefined(format!(
                "separation: the information matrix became singular at iteration {iterations}"
            )));
        }
        cholesky_solve(&xtwx, p, &mut next);
        let step = next
            .iter()
            .zip(&beta)
            .map(|(n, b)| (n - b).abs() / (1.0 + b.abs()))
            .fold(0.0, f64::max);
        beta = next;
        if !beta.iter().all(|b| b.is_finite()) {
            break;
        }
        tracing::trace!(iteration = iterations, step, "irls step");
        // Newton steps shrink quadratically until round-off in X'WX (summed
        // over many rows) sets a floor; a tiny step that no longer halves
        // has reached that floor.
        if step < options.tolerance || (step < 1e-8 && step > 0.5 * previous_step) {
            converged = true;
            break;
        }
        previous_step = step;
    }
    let (mut info, _, mu) = weighted_system(design, events, trials, &beta);
    if let Some(i) = mu
        .iter()
        .position(|m| !m.is_finite() || m.min(1.0 - m) < 1e-10)
    {
        return Err(StatsError::Undefined(format!(
            "separation: row {i} is predicted with probability {:.3e} of its outcome; \
             the maximum-likelihood estimate is infinite",
            mu[i].max(1.0 - mu[i])
        )));
    }
    if !converged {
        return Err(StatsError::NoConvergence(format!(
            "irls did not converge in {} iterations",
            options.max_iterations
        )));
    }
    tracing::debug!(
        rows,
        columns = p,
        iterations,
        "logistic regression converged"
    );
    cholesky(&mut info, p)?;
    let cov = inverse(&info, p);

    let (mut deviance, mut log_likelihood) = (0.0, 0.0);
    let total_events: u64 = events.iter().sum();
    let n: u64 = trials.iter().sum();
    let p_bar = total_events as f64 / n as f64;
    let mut null_deviance = 0.0;
    for i in 0..rows {
        let (y, t) = (events[i] as f64, trials[i] as f64);
        deviance += binomial_deviance_term(y, t, mu[i]);
        null_deviance += binomial_deviance_term(y, t, p_bar);
        log_likelihood += ln_gamma(t + 1.0) - ln_gamma(y + 1.0) - ln_gamma(t - y + 1.0)
            + y * mu[i].ln()
            + (t - y) * (1.0 - mu[i]).ln();
    }

    let mut clusters = None;
    let cluster_robust = match groups {
        None => None,
        Some(g) => {
            let mut ids: Vec<u64> = g.to_vec();
            ids.sort_unstable();
            ids.dedup();
            let count = ids.len();
            if count < 2 || rows <= p {
                return Err(StatsError::Undefined(format!(
                    "cluster-robust errors need two clusters and more rows than columns, \
                     got {count} clusters, {rows} rows, {p} columns"
                )));
            }
            let mut scores = vec![0.0; count * p];
            for i in 0..rows {
                let c = ids.binary_search(&g[i]).expect("id is in the list");
                let resid = events[i] as f64 - trials[i] as f64 * mu[i];
                for (j, x) in design.row(i).iter().enumerate() {
                    scores[c * p + j] += x * resid;
                }
            }
            let mut meat = vec![0.0; p * p];
            for s in scores.chunks(p) {
                for a in 0..p {
                    for b in 0..p {
                        meat[a * p + b] += s[a] * s[b];
                    }
                }
            }
            let factor =
                (count as f64 / (count as f64 - 1.0)) * ((rows as f64 - 1.0) / (rows - p) as f64);
            let mut robust = vec![0.0; p * p];
            for a in 0..p {
                for b in 0..p {
                    let mut s = 0.0;
                    for k in 0..p {
                        for l in 0..p {
                            s += cov[a * p + k] * meat[k * p + l] * cov[l * p + b];
                        }
                    }
                    robust[a * p + b] = factor * s;
                }
            }
            clusters = Some(count);
            Some(inference(
                design.names(),
                &beta,
                robust,
                options.level,
                "cluster-robust sandwich, factor G/(G-1) (N-1)/(N-K)",
            ))
        }
    };
    Ok(LogisticFit {
        model: inference(
            design.names(),
            &beta,
            cov,
            options.level,
            "inverse fisher information",
        ),
        cluster_robust,
        deviance,
        null_deviance,
        log_likelihood,
        iterations,
        converged,
        rows,
        n,
        clusters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bernoulli rows with a wording effect and pure-noise columns.
    fn large_design(n: usize) -> (Design, Vec<u64>) {
        let mut x = Vec::with_capacity(n * 6);
        let mut y = Vec::with_capacity(n);
        for i in 0..n {
            let s = (i % 2) as f64;
            let a = ((i / 2) % 2) as f64;
            let c = ((i * 31) % 7) as f64 / 7.0;
            x.extend_from_slice(&[1.0, s, a, s * a, c, ((i * 13) % 5) as f64]);
            y.push(u64::from(
                (i as u64 * 2_654_435_761) % 100 < 20 + 15 * (i as u64 % 2),
            ));
        }
        let names = (0..6).map(|j| format!("x{j}")).collect();
        (Design::new(names, x).unwrap(), y)
    }

    #[test]
    fn fits_stop_at_the_round_off_floor() {
        // A tolerance no double-precision step can meet: the fit must stop
        // when the steps stall at round-off (as they do above 1e-12 on
        // million-row designs) rather than run out of iterations.
        let (design, y) = large_design(20_000);
        let trials = vec![1; y.len()];
        let options = LogisticOptions {
            tolerance: 1e-30,
            ..LogisticOptions::default()
        };
        let fit = logistic(&design, &y, &trials, None, &options).unwrap();
        assert!(
            fit.converged && fit.iterations < 20,
            "{} iterations",
            fit.iterations
        );
        // the maximum-likelihood estimate solves the score equations
        // X'(y - mu) = 0; check them directly from the coefficients
        let beta: Vec<f64> = fit.model.coefficients.iter().map(|c| c.estimate).collect();
        let mut score = [0.0_f64; 6];
        let mut scale = [0.0_f64; 6];
        for (i, yi) in y.iter().enumerate() {
            let x = design.row(i);
            let eta: f64 = x.iter().zip(&beta).map(|(a, b)| a * b).sum();
            let resid = *yi as f64 - 1.0 / (1.0 + (-eta).exp());
            for j in 0..6 {
                score[j] += x[j] * resid;
                scale[j] += x[j].abs();
            }
        }
        for j in 0..6 {
            assert!(score[j].abs() <= 1e-9 * scale[j], "score {j}: {}", score[j]);
        }
    }

    #[test]
    fn separation_is_an_error() {
        let design = Design::new(
            vec!["intercept".into(), "x".into()],
            vec![1.0, -1.0, 1.0, -0.5, 1.0, 0.5, 1.0, 1.0],
        )
        .unwrap();
        let r = logistic(
            &design,
            &[0, 0, 1, 1],
            &[1; 4],
            None,
            &LogisticOptions::default(),
        );
        assert!(matches!(r, Err(StatsError::Undefined(m)) if m.contains("separation")));
    }
}
