//! Shared pieces of the analyzers: outcome counts, groupings, pairing of
//! variants, and the formatting of figures for tables and JSON.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::table::{Code, IdMap, RecordTable};
use crate::prompt::{Authorization, Framing, Wording};
use crate::record::Record;
use crate::report::Section;
use crate::stats::{Estimate, StatsError, TestResult};

/// What became of a set of records: refusals (full or partial), compliances,
/// and the records that carry no verdict, by reason.
///
/// The denominator of every rate is [`OutcomeCounts::n`]: records whose
/// verdict is refusal, partial refusal or compliance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    /// Refusal or partial refusal.
    pub refused: u64,
    /// Compliance.
    pub complied: u64,
    /// Failed requests.
    pub errors: u64,
    /// Answered, but with no answer to classify.
    pub no_answer: u64,
    /// Answered, but the classifier could not decide.
    pub undetermined: u64,
}

impl OutcomeCounts {
    /// Counts `records`.
    pub fn of<'a>(records: impl IntoIterator<Item = &'a Record>) -> Self {
        let mut c = OutcomeCounts::default();
        for r in records {
            c.add(r);
        }
        c
    }

    /// Adds one record.
    pub fn add(&mut self, record: &Record) {
        use crate::classify::Verdict;
        match record.verdict() {
            None => self.errors += 1,
            Some(Verdict::Refusal | Verdict::PartialRefusal) => self.refused += 1,
            Some(Verdict::Compliance) => self.complied += 1,
            Some(Verdict::NoAnswer) => self.no_answer += 1,
            Some(Verdict::Undetermined) => self.undetermined += 1,
        }
    }

    /// Adds one record's outcome code.
    pub(crate) fn add_code(&mut self, code: Code) {
        match code {
            Code::Refused => self.refused += 1,
            Code::Complied => self.complied += 1,
            Code::Error => self.errors += 1,
            Code::NoAnswer => self.no_answer += 1,
            Code::Undetermined => self.undetermined += 1,
        }
    }

    /// Adds another set of counts.
    pub fn merge(&mut self, other: &OutcomeCounts) {
        self.refused += other.refused;
        self.complied += other.complied;
        self.errors += other.errors;
        self.no_answer += other.no_answer;
        self.undetermined += other.undetermined;
    }

    /// The denominator of the refusal rate: records with a verdict.
    pub fn n(&self) -> u64 {
        self.refused + self.complied
    }

    /// Every record counted, with or without a verdict.
    pub fn total(&self) -> u64 {
        self.n() + self.errors + self.no_answer + self.undetermined
    }
}

/// The note every section with rates carries about its denominator.
pub(crate) const DENOMINATOR_NOTE: &str = "rates are refusals (full or partial) over records \
    with a verdict of refusal, partial refusal or compliance; failed requests, no-answer and \
    undetermined records are counted beside each rate and left out of its denominator";

/// A label of records to group them by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// The model label.
    Model,
    /// The task category (`unlabelled` when absent).
    Category,
    /// The framing label (`sensitive+auth`, `neutral`, ...).
    Framing,
    /// Sensitive or neutral wording (`unlabelled` when absent).
    Wording,
    /// Authorization stated or absent (`unlabelled` when absent).
    Authorization,
    /// A prompt metadata key, such as XSTest's `type` or `label`
    /// (`unlabelled` when absent; strings are shown without quotes).
    Metadata(String),
}

impl GroupBy {
    /// The column header for this grouping.
    pub fn header(&self) -> String {
        match self {
            GroupBy::Model => "model".into(),
            GroupBy::Category => "category".into(),
            GroupBy::Framing => "framing".into(),
            GroupBy::Wording => "wording".into(),
            GroupBy::Authorization => "authorization".into(),
            GroupBy::Metadata(key) => key.clone(),
        }
    }

    /// The value of this grouping for `record`.
    pub fn key(&self, record: &Record) -> String {
        self.key_ref(record).into_owned()
    }

    /// The value, borrowed from the record where it can be.
    pub(crate) fn key_ref<'a>(&self, record: &'a Record) -> Cow<'a, str> {
        let p = &record.prompt;
        match self {
            GroupBy::Model => Cow::Borrowed(&record.model),
            GroupBy::Category => {
                Cow::Borrowed(p.category.as_ref().map_or(UNLABELLED, |c| c.as_str()))
            }
            GroupBy::Framing => Cow::Borrowed(framing_label(&p.framing)),
            GroupBy::Wording => Cow::Borrowed(wording_name(p.framing.wording)),
            GroupBy::Authorization => Cow::Borrowed(authorization_name(p.framing.authorization)),
            GroupBy::Metadata(key) => match p.metadata.get(key) {
                None | Some(Value::Null) => Cow::Borrowed(UNLABELLED),
                Some(Value::String(s)) => Cow::Borrowed(s),
                Some(other) => Cow::Owned(other.to_string()),
            },
        }
    }
}

/// [`Framing::label`] without allocating.
fn framing_label(f: &Framing) -> &'static str {
    use crate::prompt::Authorization::Stated;
    match (f.wording, f.authorization == Some(Stated)) {
        (Some(Wording::Sensitive), false) => "sensitive",
        (Some(Wording::Sensitive), true) => "sensitive+auth",
        (Some(Wording::Neutral), false) => "neutral",
        (Some(Wording::Neutral), true) => "neutral+auth",
        (None, false) => "unlabelled",
        (None, true) => "unlabelled+auth",
    }
}

/// The value shown for a missing label.
pub(crate) const UNLABELLED: &str = "unlabelled";

pub(crate) fn wording_name(w: Option<Wording>) -> &'static str {
    match w {
        Some(Wording::Sensitive) => "sensitive",
        Some(Wording::Neutral) => "neutral",
        None => UNLABELLED,
    }
}

pub(crate) fn authorization_name(a: Option<Authorization>) -> &'static str {
    match a {
        Some(Authorization::Stated) => "stated",
        Some(Authorization::Absent) => "absent",
        None => UNLABELLED,
    }
}

/// A figure for `data`: the result serialised, or `{"undefined": why}`.
pub(crate) fn figure<T: Serialize>(result: &Result<T, StatsError>) -> Value {
    match result {
        Ok(v) => serde_json::to_value(v).unwrap_or(Value::Null),
        Err(e) => json!({ "undefined": e.to_string() }),
    }
}

/// A proportion or ratio with its interval, for a table cell.
pub(crate) fn fmt_estimate(result: &Result<Estimate, StatsError>) -> String {
    match result {
        Ok(e) => format!(
            "{} [{}, {}]",
            fmt_num(e.estimate),
            fmt_num(e.interval.lower),
            fmt_num(e.interval.upper)
        ),
        Err(StatsError::Empty(_)) => "n = 0".into(),
        Err(_) => "undefined".into(),
    }
}

/// A p-value for a table cell.
pub(crate) fn fmt_test(result: &Result<TestResult, StatsError>) -> String {
    match result {
        Ok(t) => fmt_p(t.p_value),
        Err(_) => "undefined".into(),
    }
}

/// Three decimals, or scientific notation for very large or small values.
pub(crate) fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e4).contains(&a) {
        format!("{x:.2e}")
    } else {
        format!("{x:.3}")
    }
}

/// A p-value: four decimals, or scientific notation below 1e-4.
pub(crate) fn fmt_p(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// A section that says why an analysis could not run on these records,
/// instead of failing the whole report.
pub(crate) fn skipped_section(id: String, title: &str, why: String) -> Section {
    tracing::info!(analyzer = %id, reason = %why, "analysis skipped");
    Section {
        id,
        title: title.into(),
        notes: vec![format!("not computed: {why}")],
        tables: Vec::new(),
        data: json!({ "skipped": why }),
    }
}

/// Compound group keys of table rows as small integers, decoded to names
/// at the end.
pub(crate) struct Keyer<'t, 'a> {
    table: &'t RecordTable<'a>,
    by: &'t [GroupBy],
    /// Interned metadata values, per `by` position.
    meta: Vec<HashMap<Cow<'a, str>, u32>>,
    meta_names: Vec<Vec<String>>,
}

impl<'t, 'a> Keyer<'t, 'a> {
    pub(crate) fn new(table: &'t RecordTable<'a>, by: &'t [GroupBy]) -> Self {
        Keyer {
            table,
            by,
            meta: by.iter().map(|_| HashMap::new()).collect(),
            meta_names: by.iter().map(|_| Vec::new()).collect(),
        }
    }

    /// Writes the key of row `i` into `key`.
    pub(crate) fn key(&mut self, i: usize, key: &mut Vec<u32>) {
        key.clear();
        let row = &self.table.rows[i];
        for (pos, g) in self.by.iter().enumerate() {
            let code = match g {
                GroupBy::Model => row.model,
                GroupBy::Category => row.category,
                GroupBy::Wording => wording_code(row.wording),
                GroupBy::Authorization => authorization_code(row.authorization),
                GroupBy::Framing => {
                    let stated = row.authorization == Some(Authorization::Stated);
                    wording_code(row.wording) * 2 + u32::from(stated)
                }
                GroupBy::Metadata(_) => {
                    let value = g.key_ref(&self.table.records()[i]);
                    let names = &mut self.meta_names[pos];
                    let next = names.len() as u32;
                    *self.meta[pos].entry(value).or_insert_with_key(|v| {
                        names.push(v.to_string());
                        next
                    })
                }
            };
            key.push(code);
        }
    }

    /// The names of a key.
    pub(crate) fn names(&self, key: &[u32]) -> Vec<String> {
        self.by
            .iter()
            .zip(key)
            .enumerate()
            .map(|(pos, (g, &code))| match g {
                GroupBy::Model => self.table.models[code as usize].to_string(),
                GroupBy::Category => self.table.categories[code as usize].to_string(),
                GroupBy::Wording => WORDING_NAMES[code as usize].to_string(),
                GroupBy::Authorization => AUTHORIZATION_NAMES[code as usize].to_string(),
                GroupBy::Framing => {
                    let w = WORDING_NAMES[(code / 2) as usize];
                    if code % 2 == 1 {
                        format!("{w}+auth")
                    } else {
                        w.to_string()
                    }
                }
                GroupBy::Metadata(_) => self.meta_names[pos][code as usize].clone(),
            })
            .collect()
    }

    /// Folds the rows `rows` into one value per key, sorted by key names.
    pub(crate) fn fold<T: Default>(
        &mut self,
        rows: impl IntoIterator<Item = usize>,
        mut add: impl FnMut(&mut T, usize),
    ) -> Vec<(Vec<String>, T)> {
        let mut groups: IdMap<Vec<u32>, T> = IdMap::default();
        let mut key = Vec::with_capacity(self.by.len());
        for i in rows {
            self.key(i, &mut key);
            match groups.get_mut(key.as_slice()) {
                Some(v) => add(v, i),
                None => {
                    let mut v = T::default();
                    add(&mut v, i);
                    groups.insert(key.clone(), v);
                }
            }
        }
        let mut out: Vec<(Vec<String>, T)> = groups
            .into_iter()
            .map(|(k, v)| (self.names(&k), v))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

const WORDING_NAMES: [&str; 3] = ["sensitive", "neutral", UNLABELLED];
const AUTHORIZATION_NAMES: [&str; 3] = ["stated", "absent", UNLABELLED];

fn wording_code(w: Option<Wording>) -> u32 {
    match w {
        Some(Wording::Sensitive) => 0,
        Some(Wording::Neutral) => 1,
        None => 2,
    }
}

fn authorization_code(a: Option<Authorization>) -> u32 {
    match a {
        Some(Authorization::Stated) => 0,
        Some(Authorization::Absent) => 1,
        None => 2,
    }
}
