//! A compact, indexed view of the records that every analyzer of a report
//! can share: one small row per record with interned model, category, task
//! group and prompt ids, so that a million records are walked as a few
//! tens of megabytes instead of re-reading every record's strings.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::classify::Verdict;
use crate::prompt::{Authorization, Wording};
use crate::record::Record;

use super::common::UNLABELLED;

/// A fast hasher for the small integer keys of the analyzers (a
/// multiply-rotate hash; not resistant to adversarial keys, which these
/// are not).
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

/// A `HashMap` keyed by small integers.
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// What became of one record, as a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Code {
    Refused,
    Complied,
    Error,
    NoAnswer,
    Undetermined,
}

impl Code {
    fn of(record: &Record) -> Code {
        match record.verdict() {
            None => Code::Error,
            Some(Verdict::Refusal | Verdict::PartialRefusal) => Code::Refused,
            Some(Verdict::Compliance) => Code::Complied,
            Some(Verdict::NoAnswer) => Code::NoAnswer,
            Some(Verdict::Undetermined) => Code::Undetermined,
        }
    }

    /// Refused, not refused, or no verdict.
    pub(crate) fn refused(self) -> Option<bool> {
        match self {
            Code::Refused => Some(true),
            Code::Complied => Some(false),
            _ => None,
        }
    }
}

/// No task group.
pub(crate) const NO_GROUP: u32 = u32::MAX;

/// One record, compactly.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    /// Index into [`RecordTable::models`] (name order).
    pub model: u32,
    /// Index into [`RecordTable::categories`] (name order).
    pub category: u32,
    /// Task group id (first-appearance order), or [`NO_GROUP`].
    pub group: u32,
    /// Prompt id (first-appearance order).
    pub prompt: u32,
    pub sample: u32,
    pub wording: Option<Wording>,
    pub authorization: Option<Authorization>,
    pub code: Code,
}

/// The records with their compact rows. Build it once with
/// [`RecordTable::new`] and hand it to every analyzer through
/// [`crate::analysis::Analyzer::analyze_table`] (or use
/// [`crate::analysis::run_all`]).
#[derive(Debug, Clone)]
pub struct RecordTable<'a> {
    records: &'a [Record],
    pub(crate) rows: Vec<Row>,
    pub(crate) models: Vec<&'a str>,
    pub(crate) categories: Vec<&'a str>,
    pub(crate) groups: usize,
    pub(crate) prompts: usize,
}

/// Interns strings by first appearance, checking the last one first (the
/// records of one prompt or model usually come together).
struct Interner<'a> {
    ids: HashMap<&'a str, u32>,
    last: Option<(&'a str, u32)>,
}

impl<'a> Interner<'a> {
    fn new() -> Self {
        Interner {
            ids: HashMap::new(),
            last: None,
        }
    }

    fn id(&mut self, s: &'a str) -> u32 {
        if let Some((l, id)) = self.last
            && l == s
        {
            return id;
        }
        let next = self.ids.len() as u32;
        let id = *self.ids.entry(s).or_insert(next);
        self.last = Some((s, id));
        id
    }

    /// The names in name order, and the map from first-appearance id to
    /// name-order index.
    fn sorted(self) -> (Vec<&'a str>, Vec<u32>) {
        let mut names: Vec<(&'a str, u32)> = self.ids.into_iter().collect();
        names.sort_unstable();
        let mut remap = vec![0; names.len()];
        for (rank, (_, id)) in names.iter().enumerate() {
            remap[*id as usize] = rank as u32;
        }
        (names.into_iter().map(|(n, _)| n).collect(), remap)
    }
}

impl<'a> RecordTable<'a> {
    /// Indexes `records`.
    pub fn new(records: &'a [Record]) -> Self {
        let mut models = Interner::new();
        let mut cats = Interner::new();
        let mut groups = Interner::new();
        let mut prompts = Interner::new();
        let mut rows = Vec::with_capacity(records.len());
        for r in records {
            let p = &r.prompt;
            rows.push(Row {
                model: models.id(&r.model),
                category: cats.id(p.category.as_ref().map_or(UNLABELLED, |c| c.as_str())),
                group: p.group.as_deref().map_or(NO_GROUP, |g| groups.id(g)),
                prompt: prompts.id(&p.id),
                sample: r.sample,
                wording: p.framing.wording,
                authorization: p.framing.authorization,
                code: Code::of(r),
            });
        }
        let (model_names, model_map) = models.sorted();
        let (cat_names, cat_map) = cats.sorted();
        for row in &mut rows {
            row.model = model_map[row.model as usize];
            row.category = cat_map[row.category as usize];
        }
        RecordTable {
            records,
            rows,
            models: model_names,
            categories: cat_names,
            groups: groups.ids.len(),
            prompts: prompts.ids.len(),
        }
    }

    /// The records the table indexes.
    pub fn records(&self) -> &'a [Record] {
        self.records
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The number of distinct prompt ids.
    pub fn prompts(&self) -> usize {
        self.prompts
    }

    /// The distinct model labels, in name order.
    pub fn models(&self) -> &[&'a str] {
        &self.models
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}
