//! Reports: sections produced by analyzers, written as JSON and Markdown.

use serde::{Deserialize, Serialize};

/// A table a person reads, with the machine-readable figures kept in
/// [`Section::data`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// The table's title.
    pub title: String,
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows of formatted cells, each as long as `columns`.
    pub rows: Vec<Vec<String>>,
}

/// One section of a report, produced by one analyzer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// The analyzer's name.
    pub id: String,
    /// A heading.
    pub title: String,
    /// Sentences a reader sees first.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Tables for `report.md`.
    #[serde(default)]
    pub tables: Vec<Table>,
    /// Every figure with its n and method, for `report.json`.
    pub data: serde_json::Value,
}
