//! [`ApiKey`]: a credential that never shows itself in `Debug`, `Display`,
//! logs or serialized output.

use std::fmt;

use super::{ErrorKind, ModelError};

/// An API key. `Debug` and `Display` print `ApiKey(***)` / `***`; the only way
/// to read the value is [`ApiKey::expose`], which the HTTP clients call when
/// they set the auth header (marked sensitive there).
///
/// It deliberately implements neither `Serialize` nor `Deserialize`, so it
/// cannot end up in a journal, a cache entry or a report by accident.
///
/// ```
/// use refusal_bias::model::secret::ApiKey;
///
/// let key = ApiKey::new("sk-example-not-a-real-key");
/// assert_eq!(format!("{key:?}"), "ApiKey(***)");
/// assert_eq!(key.to_string(), "***");
/// assert_eq!(key.expose(), "sk-example-not-a-real-key");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        ApiKey(value.into())
    }

    /// Reads the key from the environment variable `var`.
    ///
    /// Returns `Ok(None)` when the variable is unset or empty (local servers
    /// need no key) and a [`ErrorKind::Config`] error when it is not valid
    /// Unicode. The error names the variable, never its value.
    pub fn from_env(var: &str) -> Result<Option<ApiKey>, ModelError> {
        match std::env::var(var) {
            Ok(v) if v.trim().is_empty() => Ok(None),
            Ok(v) => Ok(Some(ApiKey(v.trim().to_owned()))),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(ModelError::new(
                ErrorKind::Config,
                format!("environment variable {var} is not valid unicode"),
            )),
        }
    }

    /// The secret value. Call it only to build an auth header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
