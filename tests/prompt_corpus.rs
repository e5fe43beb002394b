//! The built-in defensive corpus: shape, ids, framings and wording.

use std::collections::{BTreeMap, BTreeSet};

use refusal_bias::prompt::corpus::{defensive, defensive_tasks};
use refusal_bias::prompt::keywords::sensitive_terms;
use refusal_bias::prompt::{Authorization, Category, Framing, Wording};

#[test]
fn eight_categories_six_tasks_four_framings() {
    let prompts = defensive();
    assert_eq!(prompts.len(), 8 * 6 * 4);
    let mut per_category: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in &prompts {
        let c = p
            .category
            .clone()
            .expect("every corpus prompt has a category");
        assert!(
            Category::DEFENSIVE.contains(&c),
            "{c} is not a study category"
        );
        per_category
            .entry(c.to_string())
            .or_default()
            .insert(p.group.clone().expect("every corpus prompt has a group"));
    }
    assert_eq!(per_category.len(), 8);
    for (c, groups) in &per_category {
        assert!(groups.len() >= 6, "{c} has {} tasks", groups.len());
    }
}

#[test]
fn ids_unique_and_every_group_has_all_four_framings() {
    let prompts = defensive();
    let ids: BTreeSet<&str> = prompts.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids.len(), prompts.len());
    let mut framings: BTreeMap<&str, BTreeSet<Framing>> = BTreeMap::new();
    for p in &prompts {
        let group = p.group.as_deref().unwrap();
        assert_eq!(p.id, format!("{group}/{}", p.framing.label()));
        framings.entry(group).or_default().insert(p.framing);
    }
    let all: BTreeSet<Framing> = [Wording::Sensitive, Wording::Neutral]
        .into_iter()
        .flat_map(|w| [Authorization::Stated, Authorization::Absent].map(|a| Framing::new(w, a)))
        .collect();
    for (group, seen) in framings {
        assert_eq!(seen, all, "{group}");
    }
    assert!(ids.contains("hardening-03/sensitive+auth"));
}

#[test]
fn sensitive_variants_use_study_words_and_neutral_ones_do_not() {
    for p in defensive() {
        let terms = sensitive_terms(&p.text);
        match p.framing.wording {
            Some(Wording::Sensitive) => assert!(!terms.is_empty(), "{}: {}", p.id, p.text),
            Some(Wording::Neutral) => assert!(terms.is_empty(), "{}: {terms:?}", p.id),
            None => panic!("{} has no wording", p.id),
        }
    }
}

#[test]
fn authorization_statements_vary_and_prompts_stay_short() {
    let tasks = defensive_tasks();
    let statements: BTreeSet<&str> = tasks.iter().map(|t| t.authorization_statement()).collect();
    // Hand count of distinct statements in corpus/defensive.jsonl: the
    // college blue-team sentence is reused by three tasks, all others differ.
    assert!(
        statements.len() >= 40,
        "{} distinct statements",
        statements.len()
    );
    for p in defensive() {
        let authorized = p.framing.authorization == Some(Authorization::Stated);
        let has_statement = tasks
            .iter()
            .any(|t| p.text.starts_with(t.authorization_statement()));
        assert_eq!(authorized, has_statement, "{}", p.id);
        // One to three sentences: a sentence end is a `.`, `?` or `!` followed
        // by a space, or the end of the text (dots inside auth.log or
        // image.php.jpg are not followed by a space).
        let inner = [". ", "? ", "! "]
            .iter()
            .map(|e| p.text.matches(e).count())
            .sum::<usize>();
        assert!(p.text.ends_with(['.', '?']), "{}", p.id);
        assert!(inner < 3, "{}: {} sentences", p.id, inner + 1);
    }
}
