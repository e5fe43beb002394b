//! Reports: sections produced by analyzers, written as `report.json` (every
//! figure with its n and method) and `report.md` (tables a person reads).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::analysis::Analyzer;
use crate::error::{Error, Result};
use crate::model::ClientInfo;
use crate::record::Record;

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

/// What was run: enough to tell one report from another, without secrets and
/// without timestamps (reports of the same records are byte-identical).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Where the prompts came from.
    pub prompt_source: String,
    /// The number of distinct prompts.
    pub prompts: usize,
    /// The models, as their clients describe themselves.
    pub models: Vec<ClientInfo>,
    /// The classifier's name.
    pub classifier: String,
    /// All records, failed ones included.
    pub records: usize,
    /// Records whose request failed.
    pub failed: usize,
}

impl RunInfo {
    /// Fills the counts (`prompts`, `records`, `failed`) from `records`.
    pub fn count(mut self, records: &[Record]) -> Self {
        let mut ids: Vec<&str> = records.iter().map(|r| r.prompt.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        self.prompts = ids.len();
        self.records = records.len();
        self.failed = records.iter().filter(|r| r.error().is_some()).count();
        self
    }
}

/// A finished report: the run's description and one section per analyzer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The crate version that wrote it.
    pub generator: String,
    /// What was run.
    pub run: RunInfo,
    /// The analyzers' sections, in the order the analyzers were given.
    pub sections: Vec<Section>,
}

/// Where [`Report::write_to_dir`] put its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPaths {
    /// `report.json`.
    pub json: PathBuf,
    /// `report.md`.
    pub markdown: PathBuf,
}

impl Report {
    /// Runs every analyzer over `records`.
    ///
    /// The records are indexed once and shared by every analyzer
    /// ([`crate::analysis::run_all`]). An analyzer that fails does not sink
    /// the report: its section says why.
    pub fn build(run: RunInfo, records: &[Record], analyzers: &[Box<dyn Analyzer>]) -> Report {
        let sections = crate::analysis::run_all(records, analyzers);
        Report {
            generator: format!("refusal-bias {}", env!("CARGO_PKG_VERSION")),
            run,
            sections,
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).expect("report serializes") + "\n"
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let run = &self.run;
        md.push_str("# Refusal report\n\n");
        let models: Vec<String> = run
            .models
            .iter()
            .map(|m| match &m.base_url {
                Some(url) => format!("`{}` ({}, {url})", m.model, m.provider),
                None => format!("`{}` ({})", m.model, m.provider),
            })
            .collect();
        let _ = writeln!(md, "- prompts: {} from {}", run.prompts, run.prompt_source);
        let _ = writeln!(md, "- models: {}", models.join(", "));
        let _ = writeln!(md, "- classifier: {}", run.classifier);
        let _ = writeln!(
            md,
            "- records: {} ({} failed requests)",
            run.records, run.failed
        );
        let _ = writeln!(md, "- written by {}\n", self.generator);
        for section in &self.sections {
            let _ = writeln!(md, "## {}\n", section.title);
            for note in &section.notes {
                let _ = writeln!(md, "- {note}");
            }
            if !section.notes.is_empty() {
                md.push('\n');
            }
            for table in &section.tables {
                render_table(&mut md, table);
            }
        }
        md
    }

    /// Writes `report.json` and `report.md` into `dir`, creating it if needed.
    pub fn write_to_dir(&self, dir: &Path) -> Result<ReportPaths> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let paths = ReportPaths {
            json: dir.join("report.json"),
            markdown: dir.join("report.md"),
        };
        write_atomically(&paths.json, self.to_json().as_bytes())?;
        write_atomically(&paths.markdown, self.to_markdown().as_bytes())?;
        Ok(paths)
    }
}

fn render_table(md: &mut String, table: &Table) {
    if !table.title.is_empty() {
        let _ = writeln!(md, "**{}**\n", table.title);
    }
    if table.columns.is_empty() {
        return;
    }
    let row = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|c| escape_cell(c)).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    md.push_str(&row(&table.columns));
    md.push_str(&format!("|{}\n", "---|".repeat(table.columns.len())));
    for r in &table.rows {
        md.push_str(&row(r));
    }
    md.push('\n');
}

fn escape_cell(cell: &str) -> String {
    cell.replace('|', "\\|").replace('\n', " ")
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`,
/// so a reader never sees half a report.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escapes_pipes_and_newlines_in_cells() {
        let mut md = String::new();
        render_table(
            &mut md,
            &Table {
                title: "t".into(),
                columns: vec!["a".into(), "b".into()],
                rows: vec![vec!["x|y".into(), "1\n2".into()]],
            },
        );
        assert_eq!(md, "**t**\n\n| a | b |\n|---|---|\n| x\\|y | 1 2 |\n\n");
    }
}
