//! Analyzers: records in, one report section out.

pub mod human;

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
}

impl<T: Analyzer + ?Sized> Analyzer for Box<T> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn analyze(&self, records: &[Record]) -> Result<Section> {
        (**self).analyze(records)
    }
}
