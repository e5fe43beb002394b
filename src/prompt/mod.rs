//! Prompts, their framing, and the sources that yield them.
//!
//! The built-in sources:
//!
//! - [`jsonl::JsonlSource`]: one serialized [`Prompt`] per line.
//! - [`csv::CsvSource`]: any CSV with a header, through a [`csv::ColumnMap`].
//! - [`xstest::XsTestSource`]: the XSTest v2 prompt file.
//! - [`frr::FrrSource`]: CyberSecEval's MITRE false-refusal prompts.
//!
//! - [`corpus::defensive`]: the built-in defensive corpus, eight categories
//!   of tasks in four framings each.
//!
//! [`detect`] picks one of them from a file's extension and CSV header. Every
//! loader takes a [`MissingPolicy`] for records without a required field.

pub mod corpus;
pub mod csv;
pub mod frr;
pub mod jsonl;
pub mod keywords;
pub mod variants;
pub mod xstest;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The task category of a prompt.
///
/// The first eight are the defensive task categories of the study this crate
/// implements; [`Category::Other`] holds any category a user or a public suite
/// brings (XSTest's prompt types, for example).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Category {
    /// Hardening a host or service: configuration baselines, patching, lockdown.
    SystemHardening,
    /// Analysing a malicious sample: static and dynamic analysis, indicators.
    MalwareAnalysis,
    /// Finding and rating weaknesses in systems the defender owns.
    VulnerabilityAssessment,
    /// Detecting, containing and recovering from an intrusion.
    IncidentResponse,
    /// Passwords, keys, tickets and secrets: audit, rotation, storage.
    CredentialManagement,
    /// Discovering hosts and services on the defender's own network.
    NetworkScanning,
    /// Firewall and filtering rules.
    FirewallConfiguration,
    /// Reading and querying logs for signs of attack.
    LogAnalysis,
    /// Any other category, by name.
    Other(String),
}

impl Category {
    /// The eight defensive categories of the study, in its order.
    pub const DEFENSIVE: [Category; 8] = [
        Category::SystemHardening,
        Category::MalwareAnalysis,
        Category::VulnerabilityAssessment,
        Category::IncidentResponse,
        Category::CredentialManagement,
        Category::NetworkScanning,
        Category::FirewallConfiguration,
        Category::LogAnalysis,
    ];

    /// The category's stable name (`system_hardening`, ... or the user's name).
    pub fn as_str(&self) -> &str {
        match self {
            Category::SystemHardening => "system_hardening",
            Category::MalwareAnalysis => "malware_analysis",
            Category::VulnerabilityAssessment => "vulnerability_assessment",
            Category::IncidentResponse => "incident_response",
            Category::CredentialManagement => "credential_management",
            Category::NetworkScanning => "network_scanning",
            Category::FirewallConfiguration => "firewall_configuration",
            Category::LogAnalysis => "log_analysis",
            Category::Other(name) => name,
        }
    }

    /// Parses a name; the eight defensive names (with `-`, `_` or spaces, any
    /// case) map to their variants, anything else to [`Category::Other`].
    pub fn parse(name: &str) -> Category {
        let norm: String = name
            .trim()
            .chars()
            .map(|c| {
                if c == '-' || c == ' ' {
                    '_'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        Category::DEFENSIVE
            .iter()
            .find(|c| c.as_str() == norm)
            .cloned()
            .unwrap_or_else(|| Category::Other(name.trim().to_string()))
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Category {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Category {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Category::parse(&s))
    }
}

/// How a prompt is worded: with security-sensitive words or without.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wording {
    /// Uses words that also appear in offensive requests ("exploit", "dump").
    Sensitive,
    /// The same task in plain words.
    Neutral,
}

/// Whether a prompt states that the work is authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authorization {
    /// The prompt says the requester is authorized ("I'm on the blue team").
    Stated,
    /// The prompt says nothing about authorization.
    Absent,
}

/// The framing of a prompt. Either part may be unknown (`None`) for prompts
/// from suites that do not label it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Framing {
    /// Sensitive or neutral wording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wording: Option<Wording>,
    /// Authorization stated or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
}

impl Framing {
    /// A fully specified framing.
    pub fn new(wording: Wording, authorization: Authorization) -> Self {
        Framing {
            wording: Some(wording),
            authorization: Some(authorization),
        }
    }

    /// A short label such as `sensitive+auth`, `neutral`, or `unlabelled`.
    pub fn label(&self) -> String {
        let w = match self.wording {
            Some(Wording::Sensitive) => "sensitive",
            Some(Wording::Neutral) => "neutral",
            None => "unlabelled",
        };
        match self.authorization {
            Some(Authorization::Stated) => format!("{w}+auth"),
            _ => w.to_string(),
        }
    }
}

/// One prompt to send to a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prompt {
    /// Unique within a prompt set; used to pair records and to resume runs.
    pub id: String,
    /// The user message.
    pub text: String,
    /// An optional system message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The task category, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// Wording and authorization, where labelled.
    #[serde(default)]
    pub framing: Framing,
    /// The id shared by all variants of one task, so variants can be paired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Free metadata carried through to records (a suite's own labels, say).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
}

impl Prompt {
    /// A prompt with an id and text and nothing else.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        Prompt {
            id: id.into(),
            text: text.into(),
            system: None,
            category: None,
            framing: Framing::default(),
            group: None,
            metadata: BTreeMap::new(),
        }
    }

    /// Sets the category.
    #[must_use]
    pub fn with_category(mut self, category: Category) -> Self {
        self.category = Some(category);
        self
    }

    /// Sets the framing.
    #[must_use]
    pub fn with_framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// Sets the group id.
    #[must_use]
    pub fn with_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Sets the system message.
    #[must_use]
    pub fn with_system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }
}

/// What a loader does with a record that lacks a required field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MissingPolicy {
    /// Fail with an error naming the file, record and field.
    #[default]
    Error,
    /// Skip the record and count it in [`PromptSet::skipped`].
    Skip,
}

/// A record a loader skipped, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// Where the record is.
    pub location: crate::error::Location,
    /// Why it was skipped.
    pub reason: String,
}

/// The prompts a source yielded, with the records it skipped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromptSet {
    /// The prompts, in source order.
    pub prompts: Vec<Prompt>,
    /// Records skipped under [`MissingPolicy::Skip`].
    pub skipped: Vec<Skipped>,
}

/// Yields prompts.
///
/// Implement this for your own suite; the built-in sources live in this module's
/// submodules.
pub trait PromptSource {
    /// A short name for reports (a file path, a suite name).
    fn name(&self) -> String;

    /// Loads all prompts. Errors name the file, the record and the field.
    fn load(&self) -> Result<PromptSet>;
}

impl<T: PromptSource + ?Sized> PromptSource for &T {
    fn name(&self) -> String {
        (**self).name()
    }
    fn load(&self) -> Result<PromptSet> {
        (**self).load()
    }
}

impl<T: PromptSource + ?Sized> PromptSource for Box<T> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn load(&self) -> Result<PromptSet> {
        (**self).load()
    }
}

/// Prompts held in memory.
#[derive(Debug, Clone, Default)]
pub struct InMemory {
    name: String,
    prompts: Vec<Prompt>,
}

impl InMemory {
    /// A source named `name` yielding `prompts`.
    pub fn new(name: impl Into<String>, prompts: Vec<Prompt>) -> Self {
        InMemory {
            name: name.into(),
            prompts,
        }
    }
}

impl PromptSource for InMemory {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn load(&self) -> Result<PromptSet> {
        Ok(PromptSet {
            prompts: self.prompts.clone(),
            skipped: Vec::new(),
        })
    }
}

/// Picks a source for `path` from its extension and, for CSV, its header.
///
/// - `.jsonl` / `.ndjson`: [`jsonl::JsonlSource`];
/// - `.json`: [`frr::FrrSource`] (a JSON array of CyberSecEval FRR records);
/// - `.csv` whose header is XSTest's `id,prompt,type,label,focus,note`:
///   [`xstest::XsTestSource`];
/// - any other `.csv` with a `text` or `prompt` column:
///   [`csv::CsvSource`] with [`csv::ColumnMap::from_header`].
///
/// Nothing is loaded yet except the CSV header; errors name the file.
///
/// ```no_run
/// use refusal_bias::prompt::{MissingPolicy, PromptSource, detect};
///
/// let source = detect("../shared/data/xstest/xstest_prompts.csv", MissingPolicy::Error)?;
/// let set = source.load()?;
/// # Ok::<(), refusal_bias::Error>(())
/// ```
pub fn detect(
    path: impl AsRef<Path>,
    policy: MissingPolicy,
) -> Result<Box<dyn PromptSource + Send + Sync>> {
    use crate::error::{Error, Location};

    let path = path.as_ref();
    let name = path.display().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let source: Box<dyn PromptSource + Send + Sync> = match ext.as_str() {
        "jsonl" | "ndjson" => Box::new(jsonl::JsonlSource::new(path).missing(policy)),
        "json" => Box::new(frr::FrrSource::new(path).missing(policy)),
        "csv" => {
            let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            let mut reader = ::csv::Reader::from_reader(std::io::BufReader::new(file));
            let header: Vec<String> = reader
                .headers()
                .map_err(|e| {
                    Error::invalid(
                        Location::new(&name).line(1),
                        format!("unreadable header: {e}"),
                    )
                })?
                .iter()
                .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
                .collect();
            if header.iter().map(String::as_str).eq(xstest::XSTEST_COLUMNS) {
                Box::new(xstest::XsTestSource::new(path).missing(policy))
            } else if let Some(map) = csv::ColumnMap::from_header(header.iter().map(String::as_str))
            {
                Box::new(csv::CsvSource::new(path, map).missing(policy))
            } else {
                return Err(Error::invalid(
                    Location::new(&name).line(1),
                    "csv header has neither a `text` nor a `prompt` column",
                ));
            }
        }
        other => {
            return Err(Error::invalid(
                Location::new(&name),
                format!("unknown prompt file extension `{other}`, expected jsonl, json or csv"),
            ));
        }
    };
    tracing::debug!(source = %name, kind = %ext, "detected prompt source");
    Ok(source)
}
