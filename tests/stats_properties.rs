//! Properties every result must have, over generated inputs: intervals
//! contain their estimate and proportions stay in [0, 1], p-values stay in
//! [0, 1], swapping the groups mirrors the result, and the bootstrap does
//! not depend on the thread count.

use proptest::prelude::*;
use refusal_bias::stats::{
    Alternative, Estimate, PairedTable, StatsError, Table2x2, ZeroCellCorrection,
    bootstrap::{BootstrapConfig, cluster_bootstrap},
    multiple, paired, proportion, stratified, two_sample,
};

/// Relative closeness for quantities computed along mirrored paths.
fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + 1e-12
}

fn contains(e: &Estimate) -> bool {
    e.interval.lower <= e.estimate && e.estimate <= e.interval.upper
}

fn count_and_total() -> impl Strategy<Value = (u64, u64)> {
    (1u64..3000).prop_flat_map(|n| (0..=n, Just(n)))
}

fn table() -> impl Strategy<Value = Table2x2> {
    (0u64..40, 0u64..40, 0u64..40, 0u64..40).prop_map(|(a, b, c, d)| Table2x2 { a, b, c, d })
}

fn paired_table() -> impl Strategy<Value = PairedTable> {
    (0u64..50, 0u64..50, 0u64..50, 0u64..50)
        .prop_map(|(a, b, c, d)| PairedTable { a, b, c, d })
        .prop_filter("at least one pair", |t| t.pairs() > 0)
}

fn level() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.95), Just(0.9), Just(0.99), 0.5f64..0.999]
}

proptest! {
    #[test]
    fn one_proportion_intervals((x, n) in count_and_total(), level in level()) {
        for e in [
            proportion::wilson(x, n, level).unwrap(),
            proportion::clopper_pearson(x, n, level).unwrap(),
            proportion::jeffreys(x, n, level).unwrap(),
            proportion::agresti_coull(x, n, level).unwrap(),
        ] {
            prop_assert!(contains(&e), "{e:?}");
            prop_assert!(0.0 <= e.interval.lower && e.interval.upper <= 1.0, "{e:?}");
        }
    }

    #[test]
    fn two_sample_mirrors(t in table(), level in level()) {
        prop_assume!(t.total() > 0);
        let s = t.swap_groups();
        let rows_ok = t.a + t.b > 0 && t.c + t.d > 0;
        if rows_ok {
            let (x1, n1, x2, n2) = (t.a, t.a + t.b, t.c, t.c + t.d);
            let corr = ZeroCellCorrection::HaldaneAnscombe;
            let rr = two_sample::rate_ratio(x1, n1, x2, n2, level, corr).unwrap();
            let rr_s = two_sample::rate_ratio(x2, n2, x1, n1, level, corr).unwrap();
            prop_assert!(contains(&rr));
            prop_assert!(near(rr.estimate, 1.0 / rr_s.estimate));
            prop_assert!(near(rr.interval.lower, 1.0 / rr_s.interval.upper));
            let rd = two_sample::risk_difference(x1, n1, x2, n2, level).unwrap();
            let rd_s = two_sample::risk_difference(x2, n2, x1, n1, level).unwrap();
            prop_assert!(contains(&rd));
            prop_assert!(-1.0 <= rd.interval.lower && rd.interval.upper <= 1.0);
            prop_assert!(near(rd.interval.lower, -rd_s.interval.upper));
            let or = two_sample::odds_ratio_woolf(&t, level, corr).unwrap();
            let or_s = two_sample::odds_ratio_woolf(&s, level, corr).unwrap();
            prop_assert!(contains(&or));
            prop_assert!(near(or.interval.upper, 1.0 / or_s.interval.lower));
            match (two_sample::odds_ratio_exact(&t, level), two_sample::odds_ratio_exact(&s, level)) {
                (Ok(e), Ok(e_s)) => {
                    prop_assert!(contains(&e), "{e:?}");
                    // the solvers bisect independently on mirrored problems
                    prop_assert!((e.estimate * e_s.estimate - 1.0).abs() < 1e-9);
                }
                (Ok(e), Err(StatsError::Undefined(_))) => prop_assert_eq!(e.estimate, 0.0),
                (Err(StatsError::Undefined(_)), Ok(e_s)) => prop_assert_eq!(e_s.estimate, 0.0),
                (Err(StatsError::Undefined(_)), Err(StatsError::Undefined(_))) => {}
                other => prop_assert!(false, "unexpected {other:?}"),
            }
        }
        let f = two_sample::fisher_exact(&t, Alternative::TwoSided).unwrap();
        let f_s = two_sample::fisher_exact(&s, Alternative::TwoSided).unwrap();
        prop_assert!((0.0..=1.0).contains(&f.p_value));
        prop_assert!(near(f.p_value, f_s.p_value));
        let less = two_sample::fisher_exact(&t, Alternative::Less).unwrap();
        let greater_s = two_sample::fisher_exact(&s, Alternative::Greater).unwrap();
        prop_assert!((0.0..=1.0).contains(&less.p_value));
        prop_assert!(near(less.p_value, greater_s.p_value));
        for yates in [false, true] {
            if let Ok(c) = two_sample::chi_square(&t, yates) {
                prop_assert!((0.0..=1.0).contains(&c.p_value));
                let c_s = two_sample::chi_square(&s, yates).unwrap();
                prop_assert!(near(c.p_value, c_s.p_value));
            }
        }
    }

    #[test]
    fn paired_mirrors(t in paired_table(), level in level()) {
        let s = t.swap_conditions();
        for (r, r_s) in [
            (paired::mcnemar_exact(&t), paired::mcnemar_exact(&s)),
            (paired::mcnemar_midp(&t), paired::mcnemar_midp(&s)),
            (paired::mcnemar_asymptotic(&t, true), paired::mcnemar_asymptotic(&s, true)),
            (paired::mcnemar_asymptotic(&t, false), paired::mcnemar_asymptotic(&s, false)),
        ] {
            if let (Ok(r), Ok(r_s)) = (r, r_s) {
                prop_assert!((0.0..=1.0).contains(&r.p_value));
                prop_assert!(near(r.p_value, r_s.p_value));
            }
        }
        let corr = ZeroCellCorrection::HaldaneAnscombe;
        let ratio = paired::ratio(&t, level, corr).unwrap();
        let ratio_s = paired::ratio(&s, level, corr).unwrap();
        prop_assert!(contains(&ratio));
        prop_assert!(near(ratio.estimate, 1.0 / ratio_s.estimate));
        if let (Ok(bp), Ok(bp_s)) =
            (paired::ratio_bonett_price(&t, level), paired::ratio_bonett_price(&s, level))
        {
            prop_assert!(contains(&bp), "{bp:?}");
            prop_assert!(near(bp.interval.lower, 1.0 / bp_s.interval.upper));
        }
        let d = paired::difference(&t, level).unwrap();
        let d_s = paired::difference(&s, level).unwrap();
        prop_assert!(contains(&d), "{d:?}");
        prop_assert!(-1.0 <= d.interval.lower && d.interval.upper <= 1.0);
        prop_assert!(near(d.interval.lower, -d_s.interval.upper));
    }

    #[test]
    fn stratified_mirrors(strata in prop::collection::vec(table(), 1..6), level in level()) {
        let swapped: Vec<Table2x2> = strata.iter().map(Table2x2::swap_groups).collect();
        if let Ok(t) = stratified::cmh_test(&strata, true) {
            prop_assert!((0.0..=1.0).contains(&t.p_value));
            let t_s = stratified::cmh_test(&swapped, true).unwrap();
            prop_assert!(near(t.p_value, t_s.p_value));
        }
        if let Ok(or) = stratified::mh_odds_ratio(&strata, level) {
            prop_assert!(contains(&or));
            let or_s = stratified::mh_odds_ratio(&swapped, level).unwrap();
            prop_assert!(near(or.estimate, 1.0 / or_s.estimate));
        }
        if let Ok(rr) = stratified::mh_rate_ratio(&strata, level) {
            prop_assert!(contains(&rr));
            let rr_s = stratified::mh_rate_ratio(&swapped, level).unwrap();
            prop_assert!(near(rr.estimate, 1.0 / rr_s.estimate));
        }
        for tarone in [false, true] {
            if let Ok(t) = stratified::breslow_day(&strata, tarone) {
                prop_assert!((0.0..=1.0).contains(&t.p_value));
                let t_s = stratified::breslow_day(&swapped, tarone).unwrap();
                prop_assert!((t.statistic.unwrap() - t_s.statistic.unwrap()).abs() < 1e-7);
            }
        }
    }

    #[test]
    fn adjusted_p_values(p in prop::collection::vec(0.0f64..=1.0, 0..30)) {
        let bonf = multiple::bonferroni(&p).unwrap();
        let holm = multiple::holm(&p).unwrap();
        let bh = multiple::benjamini_hochberg(&p).unwrap();
        // mathematically p <= bh <= holm <= bonferroni <= 1; `p * m / k`
        // and `p * (m - i)` round separately, so allow a few ulps
        let le = |a: f64, b: f64| a <= b + 4.0 * f64::EPSILON * b.abs();
        for i in 0..p.len() {
            prop_assert!(le(p[i], bh[i]) && le(bh[i], holm[i]) && le(holm[i], bonf[i]));
            prop_assert!(bonf[i] <= 1.0 && holm[i] <= 1.0 && bh[i] <= 1.0);
        }
    }

    #[test]
    fn bootstrap_same_seed_same_result(
        data in prop::collection::vec(0u32..20, 2..40),
        seed in any::<u64>(),
        threads in 1usize..6,
    ) {
        let mean = |s: &[&u32]| s.iter().map(|v| f64::from(**v)).sum::<f64>() / s.len() as f64;
        let config = BootstrapConfig { resamples: 64, seed, threads: 1, ..BootstrapConfig::default() };
        let one = cluster_bootstrap(&data, mean, &config).unwrap();
        let many = cluster_bootstrap(&data, mean, &BootstrapConfig { threads, ..config }).unwrap();
        prop_assert_eq!(&one, &many);
        prop_assert!(one.percentile.lower <= one.percentile.upper);
    }
}
