//! Text normalisation for the pattern rules, with a map back to the original
//! byte offsets so evidence spans point into the text the model returned.
//!
//! What it does: curly and low quotes to ASCII quotes, dashes to `-`, odd
//! spaces (no-break, thin, ideographic, ...) to a plain space, zero-width
//! characters and soft hyphens removed, compatibility forms folded (NFKC per
//! character: full-width Latin, ligatures), a base letter and a following
//! combining mark composed, and the common Mac-Roman mojibake of UTF-8 curly
//! quotes (`‚Äô`) read as the quote it was. ASCII input is borrowed as is.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::{compose, is_combining_mark};

/// A normalised text and, when it differs from the original, the original byte
/// offset of every normalised byte (plus one entry for the end).
#[derive(Debug)]
pub(crate) struct Normalized<'a> {
    pub text: Cow<'a, str>,
    map: Option<Vec<usize>>,
    original_len: usize,
}

impl Normalized<'_> {
    /// Maps a byte range of the normalised text back to the original text.
    pub fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        match &self.map {
            None => (start, end),
            Some(map) => {
                let s = map.get(start).copied().unwrap_or(self.original_len);
                // The end maps to the start of the next normalised byte's
                // source, which is the end of the last matched source char.
                let e = map.get(end).copied().unwrap_or(self.original_len);
                (s, e.max(s))
            }
        }
    }
}

fn mapped(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{FF07}' => "'",
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{FF02}'
        | '\u{00AB}' | '\u{00BB}' => "\"",
        '\u{2010}'..='\u{2015}' | '\u{2212}' => "-",
        '\u{00A0}'
        | '\u{1680}'
        | '\u{2000}'..='\u{200A}'
        | '\u{202F}'
        | '\u{205F}'
        | '\u{3000}'
        | '\t' => " ",
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => "",
        '\u{2028}' | '\u{2029}' | '\u{0085}' => "\n",
        _ => return None,
    })
}

/// Mac-Roman mojibake of U+2018/2019/201C/201D/2013/2014: `‚Ä` plus one char.
fn mojibake(third: char) -> Option<&'static str> {
    Some(match third {
        '\u{F2}' | '\u{F4}' => "'",  // ò ô  <- E2 80 98 / 99
        '\u{FA}' | '\u{F9}' => "\"", // ú ù  <- E2 80 9C / 9D
        '\u{EC}' | '\u{EE}' => "-",  // ì î  <- E2 80 93 / 94
        _ => return None,
    })
}

/// Normalises `text`; borrows it unchanged when it is plain ASCII without tabs.
pub(crate) fn normalize(text: &str) -> Normalized<'_> {
    if text.is_ascii() && !text.as_bytes().contains(&b'\t') {
        return Normalized {
            text: Cow::Borrowed(text),
            map: None,
            original_len: text.len(),
        };
    }
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len() + 1);
    let mut chars = text.char_indices().peekable();
    let push = |out: &mut String, map: &mut Vec<usize>, s: &str, at: usize| {
        out.push_str(s);
        map.extend(std::iter::repeat_n(at, s.len()));
    };
    let mut buf = [0u8; 4];
    while let Some((at, c)) = chars.next() {
        if c == '\u{201A}' && text[at + c.len_utf8()..].starts_with('\u{C4}') {
            let rest = &text[at + c.len_utf8() + 2..];
            if let Some(rep) = rest.chars().next().and_then(mojibake) {
                push(&mut out, &mut map, rep, at);
                chars.next();
                chars.next();
                continue;
            }
        }
        if let Some(rep) = mapped(c) {
            push(&mut out, &mut map, rep, at);
            continue;
        }
        if c.is_ascii() {
            push(&mut out, &mut map, c.encode_utf8(&mut buf), at);
            continue;
        }
        if is_combining_mark(c)
            && let Some(prev) = out.chars().next_back()
            && let Some(composed) = compose(prev, c)
        {
            let keep = map[out.len() - prev.len_utf8()];
            out.truncate(out.len() - prev.len_utf8());
            map.truncate(out.len());
            push(&mut out, &mut map, composed.encode_utf8(&mut buf), keep);
            continue;
        }
        // NFKC per character, not over the whole string: sequences that only
        // compose across several marks stay decomposed. Running full NFKC
        // with an offset map (a segment-wise normaliser) would lift this.
        for n in std::iter::once(c).nfkc() {
            let s = n.encode_utf8(&mut buf);
            // NFKC can yield quotes or spaces that need the same mapping.
            let s = mapped(n).unwrap_or(s);
            push(&mut out, &mut map, s, at);
        }
    }
    map.push(text.len());
    Normalized {
        text: Cow::Owned(out),
        map: Some(map),
        original_len: text.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_is_borrowed() {
        let n = normalize("I can't help.");
        assert!(matches!(n.text, Cow::Borrowed(_)));
        assert_eq!(n.original_span(2, 7), (2, 7));
    }

    #[test]
    fn quotes_spaces_and_spans() {
        let src = "I can\u{2019}t\u{00A0}help";
        let n = normalize(src);
        assert_eq!(n.text, "I can't help");
        // "can't" is bytes 2..7 normalised; in the source the apostrophe is 3 bytes.
        let (s, e) = n.original_span(2, 7);
        assert_eq!(&src[s..e], "can\u{2019}t");
    }

    #[test]
    fn mojibake_fullwidth_zero_width_and_combining() {
        assert_eq!(normalize("it‚Äôs").text, "it's");
        assert_eq!(normalize("\u{FF29} can\u{200B}not").text, "I cannot");
        assert_eq!(normalize("cafe\u{301}").text, "caf\u{E9}");
    }
}
