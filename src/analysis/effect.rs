//! The effect of one framing factor on the refusal rate: sensitive against
//! neutral wording ([`WordingEffect`]) and authorization stated against
//! absent ([`AuthorizationEffect`]), unpaired and paired, per model and
//! pooled.

use serde_json::{Value, json};

use super::common::{
    DENOMINATOR_NOTE, OutcomeCounts, figure, fmt_estimate, fmt_test, skipped_section,
};
use super::pairing::{Factor, PairingSummary, pair_rows, total};
use super::table::RecordTable;
use crate::analysis::Analyzer;
use crate::error::Result;
use crate::record::Record;
use crate::report::{Section, Table};
use crate::stats::{Alternative, Table2x2, ZeroCellCorrection, paired, two_sample};

/// Settings shared by the two factor analyzers.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Settings {
    level: f64,
    correction: ZeroCellCorrection,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            level: 0.95,
            correction: ZeroCellCorrection::None,
        }
    }
}

/// One comparison's figures and table rows.
struct Scope {
    data: Value,
    unpaired_row: Vec<String>,
    paired_row: Vec<String>,
}

fn compare(
    scope: &str,
    [first, second]: [OutcomeCounts; 2],
    p: PairingSummary,
    factor: Factor,
    s: Settings,
) -> Scope {
    let (x1, n1, x2, n2) = (first.refused, first.n(), second.refused, second.n());
    let rr = two_sample::rate_ratio(x1, n1, x2, n2, s.level, s.correction);
    let rd = two_sample::risk_difference(x1, n1, x2, n2, s.level);
    let table = Table2x2::from_counts(x1, n1, x2, n2);
    let chi = table
        .clone()
        .and_then(|t| two_sample::chi_square(&t, false));
    let fisher = table
        .clone()
        .and_then(|t| two_sample::fisher_exact(&t, Alternative::TwoSided));

    let mcnemar = paired::mcnemar_exact(&p.table);
    let p_ratio = paired::ratio_bonett_price(&p.table, s.level);
    let p_diff = paired::difference(&p.table, s.level);

    let [l1, l2] = factor.levels();
    let data = json!({
        "scope": scope,
        "counts": { l1: first, l2: second },
        "unpaired": {
            "table": figure(&table),
            "rate_ratio": figure(&rr),
            "risk_difference": figure(&rd),
            "chi_square": figure(&chi),
            "fisher_exact": figure(&fisher),
        },
        "paired": {
            "pairing": p,
            "discordant": { "b": p.table.b, "c": p.table.c },
            "mcnemar_exact": figure(&mcnemar),
            "ratio": figure(&p_ratio),
            "difference": figure(&p_diff),
        },
    });
    let no_verdict = |c: &OutcomeCounts| format!("{}/{}/{}", c.errors, c.no_answer, c.undetermined);
    let unpaired_row = vec![
        scope.to_string(),
        format!("{x1}/{n1}"),
        format!("{x2}/{n2}"),
        fmt_estimate(&rr),
        fmt_estimate(&rd),
        fmt_test(&chi),
        fmt_test(&fisher),
        no_verdict(&first),
        no_verdict(&second),
    ];
    let t = p.table;
    let paired_row = vec![
        scope.to_string(),
        p.pairs.to_string(),
        t.a.to_string(),
        t.b.to_string(),
        t.c.to_string(),
        t.d.to_string(),
        fmt_test(&mcnemar),
        fmt_estimate(&p_ratio),
        fmt_estimate(&p_diff),
        (p.pairs_without_verdict).to_string(),
        (p.records_without_partner + p.records_ambiguous + p.records_without_group).to_string(),
    ];
    Scope {
        data,
        unpaired_row,
        paired_row,
    }
}

fn add_counts(into: &mut [OutcomeCounts; 2], c: &[OutcomeCounts; 2]) {
    into[0].merge(&c[0]);
    into[1].merge(&c[1]);
}

/// Runs the comparison per model and, with more than one model, pooled.
fn analyze_factor(
    id: String,
    title: &str,
    factor: Factor,
    s: Settings,
    table: &RecordTable<'_>,
) -> Section {
    // One pass: counts per model and level (models that have labelled
    // records are the scopes).
    let mut counts = vec![[OutcomeCounts::default(); 2]; table.models.len()];
    let mut labelled = 0usize;
    for r in &table.rows {
        let Some(first) = factor.level_row(r) else {
            continue;
        };
        labelled += 1;
        counts[r.model as usize][usize::from(!first)].add_code(r.code);
    }
    let [l1, l2] = factor.levels();
    let mut pooled = [OutcomeCounts::default(); 2];
    for c in &counts {
        add_counts(&mut pooled, c);
    }
    if pooled[0].total() == 0 || pooled[1].total() == 0 {
        return skipped_section(
            id,
            title,
            format!(
                "the records do not have both {l1} and {l2} {} labels ({labelled} of {} records \
                 are labelled)",
                factor.name(),
                table.len()
            ),
        );
    }
    let pairing = pair_rows(table, &table.rows, factor);
    let used: Vec<usize> = (0..counts.len())
        .filter(|&m| counts[m][0].total() + counts[m][1].total() > 0)
        .collect();
    let mut scopes: Vec<Scope> = used
        .iter()
        .map(|&m| compare(table.models[m], counts[m], pairing[m], factor, s))
        .collect();
    let several = used.len() > 1;
    if several {
        scopes.push(compare("all models", pooled, total(&pairing), factor, s));
    }
    let pct = (s.level * 100.0).round();
    let unpaired = Table {
        title: format!("Unpaired: {l1} vs {l2}"),
        columns: vec![
            "model".into(),
            format!("{l1} refused/n"),
            format!("{l2} refused/n"),
            format!("rate ratio [{pct}% Katz]"),
            format!("risk difference [{pct}% Newcombe]"),
            "chi-square p".into(),
            "Fisher p".into(),
            format!("{l1} errors/no answer/undetermined"),
            format!("{l2} errors/no answer/undetermined"),
        ],
        rows: scopes.iter().map(|x| x.unpaired_row.clone()).collect(),
    };
    let paired_table = Table {
        title: format!("Paired by task: {l1} vs {l2} (McNemar)"),
        columns: vec![
            "model".into(),
            "pairs".into(),
            "both refused".into(),
            format!("{l1} only (b)"),
            format!("{l2} only (c)"),
            "neither".into(),
            "McNemar exact p".into(),
            format!("paired ratio [{pct}% Bonett-Price]"),
            format!("paired difference [{pct}% Newcombe]"),
            "pairs without verdict".into(),
            "records unpaired".into(),
        ],
        rows: scopes.iter().map(|x| x.paired_row.clone()).collect(),
    };
    let held = match factor {
        Factor::Wording => "authorization",
        Factor::Authorization => "wording",
    };
    let notes = vec![
        DENOMINATOR_NOTE.to_string(),
        format!(
            "ratios and differences are {l1} over (minus) {l2}; unpaired figures use every \
             labelled record: rate ratio with the Katz log interval, risk difference with \
             Newcombe's hybrid score interval, Pearson chi-square without continuity \
             correction and Fisher's exact test, two-sided"
        ),
        format!(
            "pairs are records of the same task group, {held}, model and sample that differ \
             only in {}; the McNemar test is exact (binomial on the discordant pairs b and c) \
             and the paired ratio uses the Bonett-Price hybrid Wilson interval; a pair with a \
             failed or undecided member is left out and counted",
            factor.name()
        ),
    ];
    let pooled_note = if several {
        vec![
            "the `all models` row pools the models' records; it ignores that the same task \
             appears once per model (see the stratified analysis for a per-model weighting)"
                .to_string(),
        ]
    } else {
        Vec::new()
    };
    Section {
        id,
        title: title.into(),
        notes: notes.into_iter().chain(pooled_note).collect(),
        tables: vec![unpaired, paired_table],
        data: json!({
            "factor": factor,
            "first": l1,
            "second": l2,
            "level": s.level,
            "zero_cell_correction": s.correction,
            "scopes": scopes.into_iter().map(|x| x.data).collect::<Vec<_>>(),
        }),
    }
}

macro_rules! factor_analyzer {
    ($(#[$doc:meta])* $name:ident, $factor:expr, $id:literal, $title:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct $name {
            settings: Settings,
        }

        impl Default for $name {
            fn default() -> Self {
                $name { settings: Settings::default() }
            }
        }

        impl $name {
            /// 95% intervals, no zero-cell correction (a ratio with a zero cell
            /// is reported as undefined).
            pub fn new() -> Self {
                Self::default()
            }

            /// Uses `level` for the intervals instead of 0.95.
            #[must_use]
            pub fn with_level(mut self, level: f64) -> Self {
                self.settings.level = level;
                self
            }

            /// Applies `correction` to the unpaired rate ratio's zero cells.
            #[must_use]
            pub fn with_correction(mut self, correction: ZeroCellCorrection) -> Self {
                self.settings.correction = correction;
                self
            }
        }

        impl Analyzer for $name {
            fn name(&self) -> String {
                $id.into()
            }

            fn analyze(&self, records: &[Record]) -> Result<Section> {
                self.analyze_table(&RecordTable::new(records))
            }

            fn analyze_table(&self, table: &RecordTable<'_>) -> Result<Section> {
                Ok(analyze_factor(self.name(), $title, $factor, self.settings, table))
            }
        }
    };
}

factor_analyzer!(
    /// Sensitive against neutral wording, authorization held fixed: the
    /// unpaired rate ratio (Katz interval), risk difference (Newcombe),
    /// chi-square and Fisher tests, and the paired McNemar exact test with
    /// the discordant counts and the paired ratio (Bonett-Price), per model
    /// and pooled.
    ///
    /// Records whose prompts carry no wording label (XSTest, say) are left
    /// out; with no sensitive or no neutral record at all the section says
    /// so instead of failing.
    WordingEffect,
    Factor::Wording,
    "wording_effect",
    "Wording effect: sensitive vs neutral"
);

factor_analyzer!(
    /// Authorization stated against absent, wording held fixed: the same
    /// figures as [`WordingEffect`].
    AuthorizationEffect,
    Factor::Authorization,
    "authorization_effect",
    "Authorization effect: stated vs absent"
);
