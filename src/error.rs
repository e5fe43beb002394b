//! The crate-wide error type.

use std::path::PathBuf;

/// Where in an input a problem was found: a file and, when known, a line or
/// record number and a field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Location {
    /// The file, or a short description of an in-memory source.
    pub source: String,
    /// 1-based line (JSONL) or record (CSV, JSON array element) number.
    pub line: Option<u64>,
    /// The field concerned, if the problem is in one field.
    pub field: Option<String>,
}

impl Location {
    /// A location in `source` with no line or field yet.
    pub fn new(source: impl Into<String>) -> Self {
        Location {
            source: source.into(),
            line: None,
            field: None,
        }
    }

    /// The same location at `line`.
    #[must_use]
    pub fn line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    /// The same location narrowed to `field`.
    #[must_use]
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, " (field `{field}`)")?;
        }
        Ok(())
    }
}

/// Errors returned by the crate's loaders, runner, analyzers and reports.
///
/// Model-call failures are not here: they are [`crate::model::ModelError`]
/// values and become records, not errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An input is malformed at a known place.
    #[error("{location}: {message}")]
    Invalid {
        /// Where the problem is.
        location: Location,
        /// What is wrong, in lowercase without a final period.
        message: String,
    },
    /// A statistic cannot be computed from the data given (for example a
    /// proportion of zero trials).
    #[error("statistics: {0}")]
    Stats(#[from] crate::stats::StatsError),
    /// The configuration is inconsistent (for example a journal written by a
    /// different configuration).
    #[error("configuration: {0}")]
    Config(String),
    /// A run or analysis was stopped before it finished.
    #[error("interrupted: {0}")]
    Interrupted(String),
}

impl Error {
    /// An [`Error::Invalid`] at `location`.
    pub fn invalid(location: Location, message: impl Into<String>) -> Self {
        Error::Invalid {
            location,
            message: message.into(),
        }
    }

    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// A `Result` whose error is the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
