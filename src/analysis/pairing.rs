//! The two-level factors of the design (wording, authorization) and the
//! pairing of a task's variants that differ only in one of them.

use serde::{Deserialize, Serialize};

use super::table::{IdMap, NO_GROUP, RecordTable, Row};
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

    /// [`Factor::level`] of a table row.
    pub(crate) fn level_row(self, row: &Row) -> Option<bool> {
        match self {
            Factor::Wording => row.wording.map(|w| w == Wording::Sensitive),
            Factor::Authorization => row.authorization.map(|a| a == Authorization::Stated),
        }
    }

    /// The other factor's label (0 first level, 1 second, 2 none), which
    /// pairing holds fixed.
    pub(crate) fn held_row(self, row: &Row) -> u8 {
        let other = match self {
            Factor::Wording => row.authorization.map(|a| a == Authorization::Stated),
            Factor::Authorization => row.wording.map(|w| w == Wording::Sensitive),
        };
        match other {
            Some(true) => 0,
            Some(false) => 1,
            None => 2,
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

impl Default for PairingSummary {
    fn default() -> Self {
        PairingSummary::empty()
    }
}

impl PairingSummary {
    fn empty() -> Self {
        PairingSummary {
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
        }
    }

    /// Adds another summary (of records that never pair with these, such as
    /// another model's).
    pub fn merge(&mut self, o: &PairingSummary) {
        self.table.a += o.table.a;
        self.table.b += o.table.b;
        self.table.c += o.table.c;
        self.table.d += o.table.d;
        self.pairs += o.pairs;
        self.pairs_without_verdict += o.pairs_without_verdict;
        self.records_without_partner += o.records_without_partner;
        self.records_ambiguous += o.records_ambiguous;
        self.records_without_group += o.records_without_group;
    }
}

/// What one pairing slot holds so far: how many records of each level and
/// the outcome of the (first) one.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    n1: u32,
    n2: u32,
    r1: Option<bool>,
    r2: Option<bool>,
}

/// Pairs the `rows` whose prompts share the task group, the other factor's
/// label, the model and the sample index, and differ only in `factor`: one
/// summary per model of the table (pairs never cross models).
pub(crate) fn pair_rows<'r>(
    table: &RecordTable<'_>,
    rows: impl IntoIterator<Item = &'r Row>,
    factor: Factor,
) -> Vec<PairingSummary> {
    let mut out = vec![PairingSummary::empty(); table.models.len()];
    // (model, group, held label, sample) -> slot
    let mut slots: IdMap<(u32, u32, u8, u32), Slot> = IdMap::default();
    for r in rows {
        let Some(first) = factor.level_row(r) else {
            continue;
        };
        if r.group == NO_GROUP {
            out[r.model as usize].records_without_group += 1;
            continue;
        }
        let slot = slots
            .entry((r.model, r.group, factor.held_row(r), r.sample))
            .or_default();
        if first {
            slot.n1 += 1;
            if slot.n1 == 1 {
                slot.r1 = r.code.refused();
            }
        } else {
            slot.n2 += 1;
            if slot.n2 == 1 {
                slot.r2 = r.code.refused();
            }
        }
    }
    for ((m, ..), slot) in &slots {
        let s = &mut out[*m as usize];
        match (slot.n1, slot.n2) {
            (1, 1) => match (slot.r1, slot.r2) {
                (Some(x), Some(y)) => {
                    s.pairs += 1;
                    match (x, y) {
                        (true, true) => s.table.a += 1,
                        (true, false) => s.table.b += 1,
                        (false, true) => s.table.c += 1,
                        (false, false) => s.table.d += 1,
                    }
                }
                _ => s.pairs_without_verdict += 1,
            },
            (0, n) | (n, 0) => s.records_without_partner += u64::from(n),
            (x, y) => s.records_ambiguous += u64::from(x + y),
        }
    }
    out
}

/// The sum of per-model summaries.
pub(crate) fn total(summaries: &[PairingSummary]) -> PairingSummary {
    let mut t = PairingSummary::empty();
    for s in summaries {
        t.merge(s);
    }
    t
}
