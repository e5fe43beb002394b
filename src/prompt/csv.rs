//! Prompts from a CSV file with a header row and a column mapping.
//!
//! A [`ColumnMap`] says which column holds which [`Prompt`] field. Columns it
//! does not name go into [`Prompt::metadata`] as strings, keyed by header. An
//! empty cell in an optional column leaves the field unset. Locations in
//! errors give the line on which the record starts (the header is line 1).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{
    Authorization, Category, Framing, MissingPolicy, Prompt, PromptSet, PromptSource, Skipped,
    Wording,
};
use crate::error::{Error, Location, Result};

/// Which CSV column holds which prompt field.
///
/// Only the text column is required. Without an id column a prompt's id is its
/// 1-based record number (the first row after the header is `1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    /// The column with the user message.
    pub text: String,
    /// The column with the prompt id.
    pub id: Option<String>,
    /// The column with the system message.
    pub system: Option<String>,
    /// The column with the category name (see [`Category::parse`]).
    pub category: Option<String>,
    /// The column with the wording: `sensitive` or `neutral`.
    pub wording: Option<String>,
    /// The column with the authorization: `stated`/`absent` (also
    /// `true`/`false`, `yes`/`no`, `1`/`0`).
    pub authorization: Option<String>,
    /// The column with the group id.
    pub group: Option<String>,
}

impl ColumnMap {
    /// A mapping with only the text column.
    pub fn new(text: impl Into<String>) -> Self {
        ColumnMap {
            text: text.into(),
            id: None,
            system: None,
            category: None,
            wording: None,
            authorization: None,
            group: None,
        }
    }

    /// The conventional mapping for a header: each field maps to the column of
    /// the same name where one exists, and the text to `text` or else `prompt`.
    /// `None` when the header has neither.
    pub fn from_header<'a>(header: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let cols: Vec<&str> = header.into_iter().map(str::trim).collect();
        let has = |name: &str| cols.contains(&name).then(|| name.to_string());
        let text = has("text").or_else(|| has("prompt"))?;
        Some(ColumnMap {
            text,
            id: has("id"),
            system: has("system"),
            category: has("category"),
            wording: has("wording"),
            authorization: has("authorization"),
            group: has("group"),
        })
    }

    /// Sets the id column.
    #[must_use]
    pub fn id(mut self, column: impl Into<String>) -> Self {
        self.id = Some(column.into());
        self
    }

    /// Sets the system-message column.
    #[must_use]
    pub fn system(mut self, column: impl Into<String>) -> Self {
        self.system = Some(column.into());
        self
    }

    /// Sets the category column.
    #[must_use]
    pub fn category(mut self, column: impl Into<String>) -> Self {
        self.category = Some(column.into());
        self
    }

    /// Sets the wording column.
    #[must_use]
    pub fn wording(mut self, column: impl Into<String>) -> Self {
        self.wording = Some(column.into());
        self
    }

    /// Sets the authorization column.
    #[must_use]
    pub fn authorization(mut self, column: impl Into<String>) -> Self {
        self.authorization = Some(column.into());
        self
    }

    /// Sets the group column.
    #[must_use]
    pub fn group(mut self, column: impl Into<String>) -> Self {
        self.group = Some(column.into());
        self
    }

    /// `(field name, column)` for every mapped field.
    fn mapped(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![("text", self.text.as_str())];
        let optional = [
            ("id", &self.id),
            ("system", &self.system),
            ("category", &self.category),
            ("wording", &self.wording),
            ("authorization", &self.authorization),
            ("group", &self.group),
        ];
        out.extend(
            optional
                .into_iter()
                .filter_map(|(f, c)| c.as_deref().map(|c| (f, c))),
        );
        out
    }
}

/// A CSV prompt file.
///
/// ```no_run
/// use refusal_bias::prompt::PromptSource;
/// use refusal_bias::prompt::csv::{ColumnMap, CsvSource};
///
/// let map = ColumnMap::new("question").id("qid").category("topic");
/// let set = CsvSource::new("prompts.csv", map).load()?;
/// # Ok::<(), refusal_bias::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CsvSource {
    path: PathBuf,
    map: ColumnMap,
    policy: MissingPolicy,
}

impl CsvSource {
    /// A source reading `path` with the column mapping `map`, failing on a
    /// record with an empty text or id cell.
    pub fn new(path: impl Into<PathBuf>, map: ColumnMap) -> Self {
        CsvSource {
            path: path.into(),
            map,
            policy: MissingPolicy::Error,
        }
    }

    /// Sets what to do with a record whose text or id cell is empty.
    #[must_use]
    pub fn missing(mut self, policy: MissingPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl PromptSource for CsvSource {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn load(&self) -> Result<PromptSet> {
        let source = self.name();
        let table = read_table(&self.path)?;
        let columns = table.resolve(&source, &self.map.mapped())?;
        let col = |field: &str| columns.iter().find(|(f, _)| *f == field).map(|(_, i)| *i);
        let mut set = PromptSet::default();
        for (n, row) in table.rows.iter().enumerate() {
            let here = Location::new(&source).line(row.line);
            let cell = |field: &str| col(field).map(|i| row.cells[i].as_str());
            let nonempty = |field: &str| cell(field).filter(|s| !s.trim().is_empty());
            let text = cell("text").unwrap_or_default();
            let missing = if text.trim().is_empty() {
                Some("text")
            } else if self.map.id.is_some() && nonempty("id").is_none() {
                Some("id")
            } else {
                None
            };
            if let Some(field) = missing {
                let reason = format!("empty `{field}` cell");
                match self.policy {
                    MissingPolicy::Error => return Err(Error::invalid(here.field(field), reason)),
                    MissingPolicy::Skip => {
                        set.skipped.push(Skipped {
                            location: here.field(field),
                            reason,
                        });
                        continue;
                    }
                }
            }
            let id = nonempty("id").map_or_else(|| (n + 1).to_string(), str::to_string);
            let mut prompt = Prompt::new(id, text);
            prompt.system = nonempty("system").map(str::to_string);
            prompt.category = nonempty("category").map(Category::parse);
            prompt.group = nonempty("group").map(str::to_string);
            prompt.framing = Framing {
                wording: nonempty("wording")
                    .map(|s| parse_wording(s).ok_or_else(|| bad(&here, "wording", s)))
                    .transpose()?,
                authorization: nonempty("authorization")
                    .map(|s| parse_authorization(s).ok_or_else(|| bad(&here, "authorization", s)))
                    .transpose()?,
            };
            for (i, header) in table.header.iter().enumerate() {
                if !columns.iter().any(|(_, c)| *c == i) {
                    prompt
                        .metadata
                        .insert(header.clone(), Value::String(row.cells[i].clone()));
                }
            }
            set.prompts.push(prompt);
        }
        tracing::debug!(
            source = %source,
            prompts = set.prompts.len(),
            skipped = set.skipped.len(),
            "loaded csv prompts"
        );
        Ok(set)
    }
}

fn bad(here: &Location, field: &str, value: &str) -> Error {
    let expected = if field == "wording" {
        "`sensitive` or `neutral`"
    } else {
        "`stated` or `absent`"
    };
    Error::invalid(
        here.clone().field(field),
        format!("unknown value `{value}`, expected {expected}"),
    )
}

/// Parses a wording cell, any case.
pub(crate) fn parse_wording(s: &str) -> Option<Wording> {
    match s.trim().to_ascii_lowercase().as_str() {
        "sensitive" => Some(Wording::Sensitive),
        "neutral" => Some(Wording::Neutral),
        _ => None,
    }
}

/// Parses an authorization cell, any case.
pub(crate) fn parse_authorization(s: &str) -> Option<Authorization> {
    match s.trim().to_ascii_lowercase().as_str() {
        "stated" | "true" | "yes" | "1" => Some(Authorization::Stated),
        "absent" | "false" | "no" | "0" => Some(Authorization::Absent),
        _ => None,
    }
}

/// A CSV file read whole: header and rows, each row with the line it starts on.
pub(crate) struct Table {
    pub(crate) header: Vec<String>,
    pub(crate) rows: Vec<Row>,
}

/// One CSV record.
pub(crate) struct Row {
    /// The 1-based line on which the record starts.
    pub(crate) line: u64,
    /// One cell per header column.
    pub(crate) cells: Vec<String>,
}

impl Table {
    /// Column indexes of `(field, column)` pairs; an error names the first
    /// column absent from the header.
    pub(crate) fn resolve(
        &self,
        source: &str,
        mapped: &[(&'static str, &str)],
    ) -> Result<Vec<(&'static str, usize)>> {
        mapped
            .iter()
            .map(|(field, column)| {
                self.header
                    .iter()
                    .position(|h| h.trim() == *column)
                    .map(|i| (*field, i))
                    .ok_or_else(|| {
                        Error::invalid(
                            Location::new(source).line(1).field(*column),
                            format!("no column `{column}` in the header (mapped to `{field}`)"),
                        )
                    })
            })
            .collect()
    }
}

/// Reads a CSV file with a header. A record with a different number of cells
/// from the header is an error naming its line.
pub(crate) fn read_table(path: &Path) -> Result<Table> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(std::io::BufReader::new(file));
    let to_err = |e: csv::Error| {
        let line = e.position().map_or(1, |p| p.line());
        match e.into_kind() {
            csv::ErrorKind::Io(io) => Error::io(path, io),
            csv::ErrorKind::Utf8 { err, .. } => Error::invalid(
                Location::new(&source).line(line),
                format!("invalid utf-8 in field {}", err.field() + 1),
            ),
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => Error::invalid(
                Location::new(&source).line(line),
                format!("expected {expected_len} fields as in the header, found {len}"),
            ),
            _ => Error::invalid(Location::new(&source).line(line), "malformed csv record"),
        }
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(to_err)?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(to_err)?;
        let line = record.position().map_or(0, |p| p.line());
        rows.push(Row {
            line,
            cells: record.iter().map(str::to_string).collect(),
        });
    }
    Ok(Table { header, rows })
}
