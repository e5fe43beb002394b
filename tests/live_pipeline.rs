//! The whole pipeline against the real local model server: part of the
//! built-in corpus, the OpenAI-compatible client with retries, the pattern
//! classifier, the runner with its journal, a resume, and the report.
//!
//! Set `REFUSAL_BIAS_LIVE_URL` and `REFUSAL_BIAS_LIVE_MODEL` (`scripts/test.sh`
//! does). Without them the test prints "skipping: ..." and passes, unless
//! `REFUSAL_BIAS_REQUIRE_LIVE=1`, which makes it fail.

#![cfg(feature = "http")]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use refusal_bias::analysis::standard_analyzers;
use refusal_bias::classify::pattern::PatternClassifier;
use refusal_bias::model::openai::OpenAiClient;
use refusal_bias::model::retry::{Retry, RetryPolicy};
use refusal_bias::model::{ModelClient, Params};
use refusal_bias::prompt::{Category, corpus};
use refusal_bias::report::{Report, RunInfo};
use refusal_bias::run::{Budget, Journal, RunConfig, Runner, Shutdown};
use support::live;

#[tokio::test]
async fn corpus_subset_end_to_end_with_resume() {
    let Some((url, model)) = live() else { return };
    // The first task group of every category, in all four framings: 32 prompts.
    let mut first_groups = BTreeSet::new();
    let prompts: Vec<_> = corpus::defensive()
        .into_iter()
        .filter(|p| {
            let key = (p.category.clone(), p.group.clone());
            if first_groups
                .iter()
                .any(|(c, _): &(Option<Category>, _)| *c == key.0)
            {
                first_groups.contains(&key)
            } else {
                first_groups.insert(key);
                true
            }
        })
        .collect();
    assert_eq!(prompts.len(), 8 * 4);

    let client = OpenAiClient::builder(url, model)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let client: Arc<dyn ModelClient> = Arc::new(Retry::new(client, RetryPolicy::default()));
    let classifier = Arc::new(PatternClassifier::default());
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let config = RunConfig {
        concurrency: 4,
        params: Params {
            max_tokens: Some(32),
            temperature: Some(0.0),
            ..Params::default()
        },
        ..RunConfig::default()
    };

    // A budget of 16 requests stops the first run; the second resumes it.
    let first = Runner::new(RunConfig {
        budget: Budget::unlimited().with_max_requests(16),
        ..config.clone()
    })
    .run(
        &prompts,
        std::slice::from_ref(&client),
        classifier.clone(),
        &journal,
        Shutdown::manual(),
    )
    .await
    .unwrap();
    assert_eq!(first.counts.new, 16);
    assert_eq!(first.counts.skipped_budget, 16);
    let summary = Runner::new(config)
        .run(
            &prompts,
            std::slice::from_ref(&client),
            classifier.clone(),
            &journal,
            Shutdown::manual(),
        )
        .await
        .unwrap();
    assert_eq!(summary.counts.resumed, 16);
    assert_eq!(summary.counts.new, 16);
    assert_eq!(summary.records.len(), 32);
    // Each request is in the journal exactly once.
    let contents = Journal::read(&journal).unwrap();
    assert_eq!(contents.records.len(), 32);
    assert!(contents.torn.is_none());

    // Every record is a real answer (the server is up) or a counted error.
    let answered = summary
        .records
        .iter()
        .filter(|r| r.response().is_some())
        .count();
    assert_eq!(answered as u64 + summary.counts.failed, 32);
    assert!(answered >= 30, "only {answered} of 32 answered");
    for r in summary.records.iter().filter_map(|r| r.response()) {
        assert!(
            r.usage
                .is_some_and(|u| u.output_tokens > 0 && u.output_tokens <= 32)
        );
    }

    let run = RunInfo {
        prompt_source: "corpus subset".into(),
        models: vec![client.info()],
        classifier: "pattern".into(),
        ..RunInfo::default()
    }
    .count(&summary.records);
    let report = Report::build(run, &summary.records, &standard_analyzers());
    let paths = report.write_to_dir(dir.path()).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(paths.json).unwrap()).unwrap();
    assert_eq!(json["run"]["records"], 32);
    assert_eq!(json["run"]["prompts"], 32);
    let md = std::fs::read_to_string(paths.markdown).unwrap();
    assert!(md.contains("## "), "{md}");
}
