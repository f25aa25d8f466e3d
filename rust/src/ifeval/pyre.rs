//! Python `re` patterns on the Rust `regex` crate.
//!
//! IFEval's keywords, forbidden words, section splitters and postscript markers are spliced
//! into Python regular expressions. [`translate`] rewrites the few constructs whose meaning
//! differs between the two engines (`\s`, `\S`, `\w`, `\W`, `\d`, `\D`, `\Z`, a `{` that is
//! not a repetition, `{,n}`); what Rust cannot express (look-around, back-references,
//! possessive quantifiers) makes [`compile`] fall back, deterministically, to matching the
//! pattern as a literal string, which is what such keywords almost always mean.

use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};

/// Python's `\s` (str.isspace) as a Rust class body.
pub const SPACE_BODY: &str = r"\s\x1C-\x1F";
/// Python's `\w` (str.isalnum or `_`) as a Rust class body.
pub const WORD_BODY: &str = r"\p{L}\p{N}_";

fn letter_number_ranges() -> &'static [(char, char)] {
    static RANGES: OnceLock<Vec<(char, char)>> = OnceLock::new();
    RANGES.get_or_init(|| {
        let hir = regex_syntax::Parser::new()
            .parse(r"[\p{L}\p{N}]")
            .expect("static class parses");
        match hir.kind() {
            regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(cls)) => {
                cls.ranges().iter().map(|r| (r.start(), r.end())).collect()
            }
            _ => Vec::new(),
        }
    })
}

/// True for general categories L* and N* (Python's `str.isalnum()` for one character).
pub fn is_letter_or_number(c: char) -> bool {
    let ranges = letter_number_ranges();
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Length in bytes of a valid `{m}`, `{m,}`, `{,n}` or `{m,n}` quantifier at the start of `s`.
fn quantifier_len(s: &str) -> Option<(usize, String)> {
    let b = s.as_bytes();
    if b.first() != Some(&b'{') {
        return None;
    }
    let close = s.find('}')?;
    let inner = &s[1..close];
    let (lo, hi) = match inner.split_once(',') {
        Some((lo, hi)) => (lo, Some(hi)),
        None => (inner, None),
    };
    let digits = |x: &str| x.bytes().all(|c| c.is_ascii_digit());
    if !digits(lo) || hi.is_some_and(|h| !digits(h)) {
        return None;
    }
    match hi {
        None if lo.is_empty() => None,
        None => Some((close + 1, format!("{{{lo}}}"))),
        Some(h) => {
            let lo = if lo.is_empty() { "0" } else { lo };
            Some((close + 1, format!("{{{lo},{h}}}")))
        }
    }
}

/// Rewrites a Python `re` pattern (str, Unicode) into the Rust `regex` dialect.
pub fn translate(pat: &str) -> String {
    let mut out = String::with_capacity(pat.len() + 16);
    let mut in_class = false;
    let mut it = pat.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match c {
            '\\' => {
                let Some((_, e)) = it.next() else {
                    out.push_str(r"\\");
                    break;
                };
                let rep: Option<&str> = match (e, in_class) {
                    ('s', false) => Some(r"[\s\x1C-\x1F]"),
                    ('s', true) => Some(SPACE_BODY),
                    ('S', false) => Some(r"[^\s\x1C-\x1F]"),
                    ('S', true) => Some(r"[^\s\x1C-\x1F]"),
                    ('w', false) => Some(r"[\p{L}\p{N}_]"),
                    ('w', true) => Some(WORD_BODY),
                    ('W', _) => Some(r"[^\p{L}\p{N}_]"),
                    ('Z', false) => Some(r"\z"),
                    _ => None,
                };
                match rep {
                    Some(r) => out.push_str(r),
                    None => {
                        out.push('\\');
                        out.push(e);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if let Some(&(_, '^')) = it.peek() {
                    it.next();
                    out.push('^');
                }
                // A `]` right after `[` or `[^` is a literal in Python.
                if let Some(&(_, ']')) = it.peek() {
                    it.next();
                    out.push_str(r"\]");
                }
                continue;
            }
            '[' if in_class => out.push_str(r"\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '{' if !in_class => match quantifier_len(&pat[i..]) {
                Some((len, q)) => {
                    out.push_str(&q);
                    for _ in 1..pat[i..i + len].chars().count() {
                        it.next();
                    }
                }
                None => out.push_str(r"\{"),
            },
            '}' if !in_class => out.push_str(r"\}"),
            '&' | '~' | '-' if in_class && it.peek().map(|p| p.1) == Some(c) => {
                // Rust reads `&&`, `~~`, `--` in a class as set operations.
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Compiles a Python pattern with Python's flags; falls back to the escaped literal when the
/// Rust engine rejects the translation (look-around, back-references, possessive quantifiers).
/// Returns the regex and whether the fallback was used.
pub fn compile(pat: &str, ignore_case: bool, multi_line: bool) -> (Regex, bool) {
    let build = |p: &str| {
        RegexBuilder::new(p)
            .case_insensitive(ignore_case)
            .multi_line(multi_line)
            .size_limit(64 << 20)
            .build()
    };
    match build(&translate(pat)) {
        Ok(r) => (r, false),
        Err(_) => (
            build(&regex::escape(pat)).expect("an escaped literal always compiles"),
            true,
        ),
    }
}

/// True when `pat` has no regex metacharacter, so it matches itself literally.
pub fn is_literal(pat: &str) -> bool {
    !pat.chars().any(|c| r"\.^$*+?{}[]|()".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_python_classes() {
        let (r, fb) = compile(r"a\sb", false, false);
        assert!(!fb);
        assert!(r.is_match("a\u{1c}b"));
        let (r, _) = compile(r"\w+", false, false);
        assert_eq!(r.find("\u{301}x").map(|m| m.as_str()), Some("x"));
        let (r, fb) = compile("{foo}", false, false);
        assert!(!fb);
        assert!(r.is_match("a {foo} b"));
        let (r, _) = compile("a{,2}b", false, false);
        assert!(r.is_match("aab"));
        let (r, fb) = compile(r"(?<=a)b", false, false);
        assert!(fb);
        assert!(r.is_match("x(?<=a)b"));
        let (r, _) = compile("[]a]", false, false);
        assert!(r.is_match("]"));
    }

    #[test]
    fn letter_or_number_table() {
        assert!(is_letter_or_number('é'));
        assert!(is_letter_or_number('½'));
        assert!(!is_letter_or_number('\u{301}'));
        assert!(!is_letter_or_number(' '));
    }
}
