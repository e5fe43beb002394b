//! Analyzers: records in, one report section out.
//!
//! Every analyzer counts failed requests, no-answer and undetermined records
//! beside its rates; the denominator of a rate is the records with a
//! refusal, partial refusal or compliance verdict. An analyzer whose records
//! lack the labels it needs (XSTest prompts have no wording framing, say)
//! returns a section with a note saying why, not an error.
//!
//! - [`RefusalRates`]: rates with Wilson intervals by any [`GroupBy`].
//! - [`WordingEffect`], [`AuthorizationEffect`]: one [`Factor`]'s effect,
//!   unpaired (Katz rate ratio, Newcombe difference, chi-square, Fisher) and
//!   paired by task (McNemar exact, Bonett-Price paired ratio), per model and
//!   pooled.
//! - [`Interaction`]: the four framing cells, Breslow-Day and the logistic
//!   interaction term.
//! - [`CategoryEffects`]: per category, with Holm and Benjamini-Hochberg
//!   adjusted McNemar p-values.
//! - [`ModelComparison`]: every pair of models on the same prompts.
//! - [`StratifiedEffect`]: CMH, Mantel-Haenszel ratios, Breslow-Day.
//! - [`RefusalRegression`]: logistic regression with cluster-robust errors.
//! - [`ClusterBootstrap`]: the rate ratio's bootstrap by task group.
//!
//! A report of many sections should index its records once with
//! [`RecordTable`] ([`run_all`] does):
//!
//! ```
//! use refusal_bias::analysis::{run_all, standard_analyzers};
//!
//! let records = Vec::new(); // from a journal, usually
//! let sections = run_all(&records, &standard_analyzers());
//! assert_eq!(sections.len(), standard_analyzers().len());
//! ```

mod bootstrap;
mod categories;
mod common;
mod effect;
pub mod human;
mod interaction;
mod models;
mod pairing;
mod rates;
mod regression;
mod stratified;
mod table;

pub use bootstrap::ClusterBootstrap;
pub use categories::CategoryEffects;
pub use common::{GroupBy, OutcomeCounts};
pub use effect::{AuthorizationEffect, WordingEffect};
pub use interaction::Interaction;
pub use models::ModelComparison;
pub use pairing::{Factor, PairingSummary};
pub use rates::RefusalRates;
pub use regression::RefusalRegression;
pub use stratified::StratifiedEffect;
pub use table::RecordTable;

use crate::error::Result;
use crate::record::Record;
use crate::report::Section;

/// Turns records into one section of a report.
pub trait Analyzer: Send + Sync {
    /// A stable identifier for the section (`refusal_rates`, ...).
    fn name(&self) -> String;

    /// Analyzes `records`. Failed requests and non-verdicts are counted, never
    /// silently dropped from denominators without saying so.
    fn analyze(&self, records: &[Record]) -> Result<Section>;

    /// Analyzes the records of an indexed `table`. The crate's analyzers do
    /// their work here, so a report of many sections indexes its records
    /// once (see [`run_all`]); the default just calls [`Analyzer::analyze`].
    fn analyze_table(&self, table: &RecordTable<'_>) -> Result<Section> {
        self.analyze(table.records())
    }
}

impl<T: Analyzer + ?Sized> Analyzer for Box<T> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn analyze(&self, records: &[Record]) -> Result<Section> {
        (**self).analyze(records)
    }
    fn analyze_table(&self, table: &RecordTable<'_>) -> Result<Section> {
        (**self).analyze_table(table)
    }
}

/// Runs every analyzer over `records`, indexing them once.
///
/// An analyzer that fails does not sink the others: its section says why
/// (as [`crate::report::Report::build`] does).
pub fn run_all(records: &[Record], analyzers: &[Box<dyn Analyzer>]) -> Vec<Section> {
    let table = RecordTable::new(records);
    tracing::debug!(
        records = table.len(),
        models = table.models().len(),
        analyzers = analyzers.len(),
        "running analyzers"
    );
    analyzers
        .iter()
        .map(|a| match a.analyze_table(&table) {
            Ok(section) => section,
            Err(err) => {
                tracing::warn!(analyzer = %a.name(), error = %err, "analyzer failed");
                Section {
                    id: a.name(),
                    title: a.name(),
                    notes: vec![format!("this analysis could not be computed: {err}")],
                    tables: Vec::new(),
                    data: serde_json::json!({ "error": err.to_string() }),
                }
            }
        })
        .collect()
}

/// The analyzers the `evaluate` example runs, in report order: refusal
/// rates by model, by model x category and by model x framing; the wording
/// and authorization effects (unpaired and paired); their interaction; the
/// wording effect per category with adjusted p-values; models compared on
/// the same prompts; the wording effect stratified by model x category; the
/// regression of refusal on framing, category and model; and the cluster
/// bootstrap of the wording rate ratio (2,000 resamples).
///
/// Each degrades to a section with a note when the records lack its labels,
/// so the set suits any prompt suite.
pub fn standard_analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![
        Box::new(RefusalRates::new(vec![GroupBy::Model])),
        Box::new(RefusalRates::new(vec![GroupBy::Model, GroupBy::Category])),
        Box::new(RefusalRates::new(vec![GroupBy::Model, GroupBy::Framing])),
        Box::new(WordingEffect::new()),
        Box::new(AuthorizationEffect::new()),
        Box::new(Interaction::new()),
        Box::new(CategoryEffects::new(Factor::Wording)),
        Box::new(ModelComparison::new()),
        Box::new(StratifiedEffect::new(Factor::Wording)),
        Box::new(RefusalRegression::new()),
        Box::new(ClusterBootstrap::new(Factor::Wording)),
    ]
}
