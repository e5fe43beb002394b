//! The two-level factors of the design (wording, authorization) and the
//! pairing of a task's variants that differ only in one of them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{authorization_name, wording_name};
use crate::prompt::{Authorization, Wording};
use crate::record::Record;
use crate::stats::PairedTable;

/// A two-level factor of the framing, compared first level against second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// Sensitive (first) against neutral (second) wording, authorization
    /// held fixed.
    Wording,
    /// Authorization stated (first) against absent (second), wording held
    /// fixed.
    Authorization,
}

impl Factor {
    /// `Some(true)` for the first level, `Some(false)` for the second,
    /// `None` when the record's prompt does not label this factor.
    pub fn level(self, record: &Record) -> Option<bool> {
        let f = &record.prompt.framing;
        match self {
            Factor::Wording => f.wording.map(|w| w == Wording::Sensitive),
            Factor::Authorization => f.authorization.map(|a| a == Authorization::Stated),
        }
    }

    /// The label of the other factor, which pairing holds fixed.
    pub(crate) fn held(self, record: &Record) -> &'static str {
        let f = &record.prompt.framing;
        match self {
            Factor::Wording => authorization_name(f.authorization),
            Factor::Authorization => wording_name(f.wording),
        }
    }

    /// The factor's name.
    pub fn name(self) -> &'static str {
        match self {
            Factor::Wording => "wording",
            Factor::Authorization => "authorization",
        }
    }

    /// The names of the first and second levels.
    pub fn levels(self) -> [&'static str; 2] {
        match self {
            Factor::Wording => ["sensitive", "neutral"],
            Factor::Authorization => ["stated", "absent"],
        }
    }
}

/// How the records of one comparison were paired, and why some were not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairingSummary {
    /// The paired table (first level = first condition).
    pub table: PairedTable,
    /// Pairs used: both records have a refusal or compliance verdict.
    pub pairs: u64,
    /// Pairs left out because a member failed or has no verdict.
    pub pairs_without_verdict: u64,
    /// Records labelled with the factor whose partner is missing.
    pub records_without_partner: u64,
    /// Records in a slot holding more than one record of the same level
    /// (the pairing would be ambiguous).
    pub records_ambiguous: u64,
    /// Records labelled with the factor but without a task group.
    pub records_without_group: u64,
}

/// Pairs `records` whose prompts share the task group, the other factor's
/// label, the model and the sample index, and differ only in `factor`.
pub fn pair(records: &[&Record], factor: Factor) -> PairingSummary {
    type Slot<'a> = (Vec<&'a Record>, Vec<&'a Record>);
    let mut slots: BTreeMap<(&str, &str, &str, u32), Slot<'_>> = BTreeMap::new();
    let mut s = PairingSummary {
        table: PairedTable {
            a: 0,
            b: 0,
            c: 0,
            d: 0,
        },
        pairs: 0,
        pairs_without_verdict: 0,
        records_without_partner: 0,
        records_ambiguous: 0,
        records_without_group: 0,
    };
    for r in records {
        let Some(first) = factor.level(r) else {
            continue;
        };
        let Some(group) = r.prompt.group.as_deref() else {
            s.records_without_group += 1;
            continue;
        };
        let slot = slots
            .entry((r.model.as_str(), group, factor.held(r), r.sample))
            .or_default();
        if first {
            slot.0.push(r)
        } else {
            slot.1.push(r)
        }
    }
    for (firsts, seconds) in slots.values() {
        match (firsts.as_slice(), seconds.as_slice()) {
            ([x], [y]) => match (x.refused(), y.refused()) {
                (Some(rx), Some(ry)) => {
                    s.pairs += 1;
                    let t = &mut s.table;
                    match (rx, ry) {
                        (true, true) => t.a += 1,
                        (true, false) => t.b += 1,
                        (false, true) => t.c += 1,
                        (false, false) => t.d += 1,
                    }
                }
                _ => s.pairs_without_verdict += 1,
            },
            ([], ys) => s.records_without_partner += ys.len() as u64,
            (xs, []) => s.records_without_partner += xs.len() as u64,
            (xs, ys) => s.records_ambiguous += (xs.len() + ys.len()) as u64,
        }
    }
    s
}
