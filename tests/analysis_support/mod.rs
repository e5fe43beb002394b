//! A small record builder for the analysis tests.
#![allow(dead_code)]

use refusal_bias::classify::{Classification, Verdict};
use refusal_bias::model::{ErrorKind, ModelError, Response};
use refusal_bias::prompt::{Authorization, Category, Framing, Prompt, Wording};
use refusal_bias::record::{Outcome, Record};

/// What a built record's outcome is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum O {
    /// Refusal.
    R,
    /// Partial refusal (counts as refused).
    P,
    /// Compliance.
    C,
    /// No answer.
    N,
    /// Undetermined.
    U,
    /// Failed request.
    E,
}

pub const SENS: Framing = Framing {
    wording: Some(Wording::Sensitive),
    authorization: Some(Authorization::Absent),
};
pub const NEUT: Framing = Framing {
    wording: Some(Wording::Neutral),
    authorization: Some(Authorization::Absent),
};
pub const SENS_AUTH: Framing = Framing {
    wording: Some(Wording::Sensitive),
    authorization: Some(Authorization::Stated),
};
pub const NEUT_AUTH: Framing = Framing {
    wording: Some(Wording::Neutral),
    authorization: Some(Authorization::Stated),
};

/// One record; the prompt id is `group/framing` (or `id` when no group).
pub fn rec(model: &str, id: &str, group: Option<&str>, framing: Framing, o: O) -> Record {
    let mut prompt = Prompt::new(id, "text").with_framing(framing);
    if let Some(g) = group {
        prompt = prompt.with_group(g);
    }
    let outcome = match o {
        O::E => Outcome::Failed {
            error: ModelError::new(ErrorKind::Timeout, "timed out"),
        },
        _ => Outcome::Answered {
            response: Response::text("answer"),
            classification: Classification::new(
                match o {
                    O::R => Verdict::Refusal,
                    O::P => Verdict::PartialRefusal,
                    O::C => Verdict::Compliance,
                    O::N => Verdict::NoAnswer,
                    _ => Verdict::Undetermined,
                },
                "test",
            ),
        },
    };
    Record {
        prompt,
        model: model.into(),
        sample: 0,
        outcome,
    }
}

/// `n` task groups named `{prefix}{i}`, each with a `first`-framed record of
/// outcome `o1` and a `second`-framed record of outcome `o2`.
pub fn pairs(
    model: &str,
    prefix: &str,
    n: usize,
    (first, o1): (Framing, O),
    (second, o2): (Framing, O),
) -> Vec<Record> {
    (0..n)
        .flat_map(|i| {
            let g = format!("{prefix}{i}");
            [
                rec(
                    model,
                    &format!("{g}/{}", first.label()),
                    Some(&g),
                    first,
                    o1,
                ),
                rec(
                    model,
                    &format!("{g}/{}", second.label()),
                    Some(&g),
                    second,
                    o2,
                ),
            ]
        })
        .collect()
}

/// Sets the category of every record.
pub fn with_category(mut records: Vec<Record>, c: Category) -> Vec<Record> {
    for r in &mut records {
        r.prompt.category = Some(c.clone());
    }
    records
}

/// Asserts `actual` is within `tol` relative of `expected`.
#[track_caller]
pub fn close(actual: &serde_json::Value, expected: f64, tol: f64) {
    let a = actual
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {actual}"));
    let scale = expected.abs().max(1e-300);
    assert!(
        (a - expected).abs() <= tol * scale,
        "{a} is not within {tol} relative of {expected}"
    );
}
