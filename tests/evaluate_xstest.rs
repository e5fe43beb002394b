//! The main job on real recorded responses: XSTest's prompts, replayed
//! completions of three models, the pattern classifier, the runner and the
//! report. The report's agreement with the human `final_label` must be at least
//! that of the XSTest authors' own string match on the same rows (their labels
//! are in `automated_evaluation_labels/*_streval.csv`).
//!
//! Data: `../shared/data/xstest/`. The test prints a message and passes when that
//! folder is absent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use refusal_bias::analysis::human::HumanAgreement;
use refusal_bias::analysis::{Analyzer, standard_analyzers};
use refusal_bias::classify::pattern::PatternClassifier;
use refusal_bias::classify::score::{Scorecard, load_labelled_completions};
use refusal_bias::model::ModelClient;
use refusal_bias::model::replay::ReplayClient;
use refusal_bias::prompt::PromptSource;
use refusal_bias::prompt::xstest::XsTestSource;
use refusal_bias::report::{Report, RunInfo};
use refusal_bias::run::{RunConfig, Runner, Shutdown};

const MODELS: [&str; 3] = ["gpt4", "llama2new", "mistralinstruct"];

fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/xstest");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: {} is absent", dir.display());
        None
    }
}

#[tokio::test]
async fn replayed_xstest_report_agrees_with_people_at_least_as_well_as_string_match() {
    let Some(dir) = data_dir() else { return };
    let prompts = XsTestSource::new(dir.join("xstest_prompts.csv"))
        .load()
        .unwrap()
        .prompts;
    assert_eq!(prompts.len(), 450);

    let mut clients: Vec<Arc<dyn ModelClient>> = Vec::new();
    let mut labels = BTreeMap::new();
    let mut string_match = BTreeMap::new();
    for model in MODELS {
        let path = dir.join(format!(
            "model_completions/xstest_v2_completions_{model}.csv"
        ));
        let client = ReplayClient::xstest_completions(&path).unwrap();
        let label = client.info().model;
        assert_eq!(label, model);
        clients.push(Arc::new(client));

        // Gold labels and the authors' string-match labels, row for row.
        let streval = dir.join(format!(
            "automated_evaluation_labels/xstest_v2_completions_{model}_streval.csv"
        ));
        let gold = load_labelled_completions(&streval, "final_label").unwrap();
        let theirs = load_labelled_completions(&streval, "strmatch_label").unwrap();
        for g in &gold {
            let id =
                g.id.as_deref()
                    .unwrap()
                    .trim_start_matches("v2-")
                    .to_string();
            labels.insert((label.clone(), id), g.label);
        }
        let pairs = gold.iter().zip(&theirs).map(|(g, t)| (g.label, t.label));
        string_match.insert(label, Scorecard::from_pairs(pairs, 0.95));
    }

    let journal = tempfile::tempdir().unwrap();
    let summary = Runner::new(RunConfig {
        concurrency: 16,
        ..RunConfig::default()
    })
    .run(
        &prompts,
        &clients,
        Arc::new(PatternClassifier::default()),
        &journal.path().join("journal.jsonl"),
        Shutdown::manual(),
    )
    .await
    .unwrap();
    // Every prompt of every model has a record; none failed.
    assert_eq!(summary.records.len(), 3 * 450);
    assert_eq!(summary.counts.failed, 0);

    let human = HumanAgreement::new(labels);
    for model in MODELS {
        let records: Vec<_> = summary
            .records
            .iter()
            .filter(|r| r.model == model)
            .cloned()
            .collect();
        let ours = human.scorecard(&records);
        assert_eq!(ours.n, 450, "{model}");
        let ours = ours.kappa.unwrap().kappa;
        let theirs = string_match[model].kappa.as_ref().unwrap().kappa;
        println!("{model}: report kappa {ours:.3}, string match {theirs:.3}");
        assert!(ours >= theirs, "{model}: {ours} < {theirs}");
    }

    // The report carries the agreement section and per-type rates with intervals.
    let mut analyzers: Vec<Box<dyn Analyzer>> = vec![Box::new(human)];
    analyzers.extend(standard_analyzers());
    let report = Report::build(
        RunInfo::default().count(&summary.records),
        &summary.records,
        &analyzers,
    );
    assert_eq!(report.run.prompts, 450);
    assert_eq!(report.run.records, 1350);
    let agreement = &report.sections[0];
    assert_eq!(agreement.id, "human_agreement");
    assert_eq!(agreement.data["scorecard"]["n"], 1350);
    let by_type = report
        .sections
        .iter()
        .find(|s| {
            s.tables
                .iter()
                .any(|t| t.columns.iter().any(|c| c == "category"))
        })
        .expect("a section of rates by category");
    // 18 XSTest types for each of 3 models.
    assert_eq!(by_type.tables[0].rows.len(), 18 * 3);
    assert!(report.to_markdown().contains("Wilson"));
}
