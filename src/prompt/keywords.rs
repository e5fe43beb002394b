//! The study's security-sensitive word list and a matcher for it.
//!
//! The list is the one the study labels prompts with: exploit, payload,
//! shell, bypass, crack, brute, dump, pivot, c2, obfuscate, evasion. A term
//! matches as a whole word, in any case, with its common inflections
//! (`exploitable`, `dumped`, `cracking`, `obfuscated`, `bruteforce`). It does
//! not match inside another word: `PowerShell`, `Log4Shell`, `shellcode` and
//! `deobfuscate` do not count.
//!
//! Shortcoming: the inflections are a fixed list per term; a stemmer would
//! catch rarer forms (`exploiter`, `pivotable`).

use std::sync::OnceLock;

use regex::Regex;

use super::{Prompt, Wording};

/// The study's security-sensitive terms, in its order.
pub const SENSITIVE_TERMS: [&str; 11] = [
    "exploit",
    "payload",
    "shell",
    "bypass",
    "crack",
    "brute",
    "dump",
    "pivot",
    "c2",
    "obfuscate",
    "evasion",
];

/// The pattern for each term of [`SENSITIVE_TERMS`], in the same order: the
/// stem and the inflections that count as the term.
const PATTERNS: [&str; 11] = [
    r"exploit(?:s|ed|ing|able|ation|ations)?",
    r"payloads?",
    r"shells?",
    r"bypass(?:es|ed|ing)?",
    r"crack(?:s|ed|ing|er|ers)?",
    r"brute(?:force|forcing|forced)?",
    r"dump(?:s|ed|ing)?",
    r"pivot(?:s|ed|ing)?",
    r"c2",
    r"obfuscat(?:e|es|ed|ing|ion|or|ors)",
    r"evasions?",
];

/// One regex with a named group per term.
fn matcher() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let alternatives: Vec<String> = PATTERNS
            .iter()
            .enumerate()
            .map(|(i, p)| format!("(?P<t{i}>{p})"))
            .collect();
        Regex::new(&format!(r"(?i)\b(?:{})\b", alternatives.join("|")))
            .expect("the keyword pattern is a valid regex")
    })
}

/// The study terms found in `text`, each once, in order of first appearance.
///
/// ```
/// use refusal_bias::prompt::keywords::sensitive_terms;
///
/// let found = sensitive_terms("Dump LSASS, then look for shells; more dumps later.");
/// assert_eq!(found, ["dump", "shell"]);
/// assert!(sensitive_terms("Run this PowerShell script").is_empty());
/// ```
pub fn sensitive_terms(text: &str) -> Vec<&'static str> {
    let re = matcher();
    let mut found: Vec<&'static str> = Vec::new();
    for caps in re.captures_iter(text) {
        let term = (0..SENSITIVE_TERMS.len())
            .find(|i| caps.name(&format!("t{i}")).is_some())
            .map(|i| SENSITIVE_TERMS[i])
            .expect("every match comes from one named group");
        if !found.contains(&term) {
            found.push(term);
        }
    }
    found
}

/// Whether `text` contains any study term.
pub fn is_sensitive(text: &str) -> bool {
    matcher().is_match(text)
}

/// Sets `prompt.framing.wording` from its text when it is unset: sensitive if
/// the text contains a study term, neutral otherwise. A wording that is
/// already set is kept. Returns the wording the prompt ends up with.
pub fn tag_wording(prompt: &mut Prompt) -> Wording {
    *prompt.framing.wording.get_or_insert_with(|| {
        if is_sensitive(&prompt.text) {
            Wording::Sensitive
        } else {
            Wording::Neutral
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflections_and_word_boundaries() {
        assert_eq!(
            sensitive_terms("Is it exploitable? We cracked it by brute-force."),
            ["exploit", "crack", "brute"]
        );
        assert_eq!(
            sensitive_terms("an OBFUSCATED C2 beacon"),
            ["obfuscate", "c2"]
        );
        assert_eq!(
            sensitive_terms("pivoting past AV evasion"),
            ["pivot", "evasion"]
        );
        for clean in [
            "PowerShell and Log4Shell",
            "injected shellcode",
            "deobfuscate it",
            "dumpster fire",
            "C22 bus",
            "bypassable", // not an inflection in the list
        ] {
            assert!(sensitive_terms(clean).is_empty(), "{clean}");
        }
    }

    #[test]
    fn tagging_keeps_a_set_wording() {
        let mut p = Prompt::new("a", "dump the table");
        assert_eq!(tag_wording(&mut p), Wording::Sensitive);
        let mut q = Prompt::new("b", "export the table");
        assert_eq!(tag_wording(&mut q), Wording::Neutral);
        let mut r = Prompt::new("c", "dump the table");
        r.framing.wording = Some(Wording::Neutral);
        assert_eq!(tag_wording(&mut r), Wording::Neutral);
    }
}
