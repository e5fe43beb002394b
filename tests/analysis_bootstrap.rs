//! The cluster bootstrap analyzer.
//!
//! Expected values by hand: the point estimate is the ratio of the two
//! pooled rates; when every cluster is identical every resample is the
//! same, so both intervals collapse onto the estimate.

mod analysis_support;

use analysis_support::{NEUT, O, SENS, close, pairs};
use refusal_bias::analysis::{Analyzer, ClusterBootstrap, Factor};
use refusal_bias::record::Record;
use refusal_bias::stats::bootstrap::BootstrapConfig;

fn config(threads: usize) -> BootstrapConfig {
    BootstrapConfig {
        resamples: 999,
        level: 0.95,
        seed: 42,
        threads,
        bca: true,
    }
}

fn records() -> Vec<Record> {
    // 12 groups refuse sensitive only, 4 both, 4 neutral only, 20 neither:
    // sensitive 16/40, neutral 8/40, ratio 2.
    let mut r = pairs("m", "a", 12, (SENS, O::R), (NEUT, O::C));
    r.extend(pairs("m", "b", 4, (SENS, O::R), (NEUT, O::R)));
    r.extend(pairs("m", "c", 4, (SENS, O::C), (NEUT, O::R)));
    r.extend(pairs("m", "d", 20, (SENS, O::C), (NEUT, O::C)));
    // A failed request does not enter any cluster's counts.
    r.extend(pairs("m", "e", 1, (SENS, O::E), (NEUT, O::E)));
    r
}

#[test]
fn estimate_and_determinism() {
    let one = ClusterBootstrap::new(Factor::Wording)
        .with_config(config(1))
        .analyze(&records())
        .unwrap();
    let two = ClusterBootstrap::new(Factor::Wording)
        .with_config(config(2))
        .analyze(&records())
        .unwrap();
    assert_eq!(
        one.data["result"], two.data["result"],
        "same seed, any thread count, same result"
    );
    let res = &one.data["result"];
    close(&res["estimate"], 2.0, 1e-12);
    assert_eq!(one.data["clusters"], 40);
    assert_eq!(res["resamples"], 999);
    let (lo, hi) = (
        res["percentile"]["lower"].as_f64().unwrap(),
        res["percentile"]["upper"].as_f64().unwrap(),
    );
    assert!(lo < 2.0 && 2.0 < hi, "[{lo}, {hi}]");
    assert!(res["bca"]["interval"]["lower"].as_f64().unwrap() < 2.0);
}

#[test]
fn identical_clusters_give_a_degenerate_interval() {
    // Every group: sensitive refuses, neutral refuses in one of two
    // samples -> each cluster is 2/2 vs 1/2, ratio 2 in every resample.
    let mut r = pairs("m", "g", 10, (SENS, O::R), (NEUT, O::R));
    let mut second = pairs("m", "g", 10, (SENS, O::R), (NEUT, O::C));
    for x in &mut second {
        x.sample = 1;
    }
    r.extend(second);
    let cfg = BootstrapConfig {
        bca: false,
        ..config(1)
    };
    let s = ClusterBootstrap::new(Factor::Wording)
        .with_config(cfg)
        .analyze(&r)
        .unwrap();
    let res = &s.data["result"];
    close(&res["percentile"]["lower"], 2.0, 1e-12);
    close(&res["percentile"]["upper"], 2.0, 1e-12);
    assert_eq!(res["non_finite"], 0);
}

#[test]
fn unlabelled_records_degrade_to_a_note() {
    let mut r = records();
    for x in &mut r {
        x.prompt.framing = Default::default();
    }
    let s = ClusterBootstrap::new(Factor::Authorization)
        .analyze(&r)
        .unwrap();
    assert!(s.notes[0].starts_with("not computed"));
}

#[test]
fn section_does_not_depend_on_threads() {
    // The whole section, not only the result: reports stay byte-identical
    // across machines with different core counts.
    let a = ClusterBootstrap::new(Factor::Wording).with_config(config(1));
    let b = ClusterBootstrap::new(Factor::Wording).with_config(config(3));
    assert_eq!(
        a.analyze(&records()).unwrap(),
        b.analyze(&records()).unwrap()
    );
}
