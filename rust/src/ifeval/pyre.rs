//! Python `re` patterns on the Rust `regex` crate.
//!
//! IFEval's keywords, forbidden words, section splitters and postscript markers are spliced
//! into Python regular expressions. [`translate`] rewrites the few constructs whose meaning
//! differs between the two engines (`\s`, `\S`, `\w`, `\W`, `\d`, `\D`, `\Z`, a `{` that is
//! not a repetition, `{,n}`); what Rust cannot express (look-around, back-references,
//! possessive quantifiers) makes [`compile`] fall back, deterministically, to matching the
//! pattern as a literal string, which is what such keywords almost always mean.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

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
    // Compiling is far costlier than matching (a case-insensitive Unicode pattern takes
    // hundreds of microseconds), and a training run judges the same prompt's instructions once
    // per sampled response: keep compiled patterns.
    type Cache = Mutex<HashMap<(String, bool, bool), (Regex, bool)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (pat.to_string(), ignore_case, multi_line);
    if let Ok(c) = cache.lock() {
        if let Some(hit) = c.get(&key) {
            return hit.clone();
        }
    }
    let compiled = compile_uncached(pat, ignore_case, multi_line);
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 20_000 {
            c.clear();
        }
        c.insert(key, compiled.clone());
    }
    compiled
}

fn compile_uncached(pat: &str, ignore_case: bool, multi_line: bool) -> (Regex, bool) {
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

/// Python's simple lowercase mapping (`Py_UNICODE_TOLOWER`): Rust's full mapping except for
/// U+0130, the one letter whose full lowercase has two characters.
#[inline]
fn simple_lower(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    if c == '\u{130}' {
        return 'i';
    }
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// The character `re.IGNORECASE` compares: the simple lowercase, with the extra equivalences
/// CPython's `sre_compile` adds (`_equivalences`: i/ı, s/ſ, µ/μ, the Greek symbol variants...)
/// mapped to one representative.
#[inline]
pub fn ignorecase_key(c: char) -> char {
    let l = simple_lower(c);
    if l.is_ascii() {
        return l;
    }
    match l {
        '\u{131}' => 'i',
        '\u{17f}' => 's',
        '\u{b5}' => '\u{3bc}',
        '\u{345}' | '\u{1fbe}' => '\u{3b9}',
        '\u{1fd3}' => '\u{390}',
        '\u{1fe3}' => '\u{3b0}',
        '\u{3d0}' => '\u{3b2}',
        '\u{3f5}' => '\u{3b5}',
        '\u{3d1}' => '\u{3b8}',
        '\u{3f0}' => '\u{3ba}',
        '\u{3d6}' => '\u{3c0}',
        '\u{3f1}' => '\u{3c1}',
        '\u{3c2}' => '\u{3c3}',
        '\u{3d5}' => '\u{3c6}',
        '\u{1e9b}' => '\u{1e61}',
        '\u{fb05}' => '\u{fb06}',
        other => other,
    }
}

/// A literal keyword matched like Python's `re.IGNORECASE` (no regex compilation at all).
#[derive(Debug, Clone)]
pub struct CiLiteral {
    keys: Vec<char>,
}

impl CiLiteral {
    pub fn new(lit: &str) -> Self {
        CiLiteral {
            keys: lit.chars().map(ignorecase_key).collect(),
        }
    }

    /// Byte length of a match starting at `start`, if any.
    fn match_at(&self, text: &str, start: usize) -> Option<usize> {
        let mut it = text[start..].char_indices();
        for &k in &self.keys {
            let (_, c) = it.next()?;
            if ignorecase_key(c) != k {
                return None;
            }
        }
        Some(it.next().map_or(text.len() - start, |(i, _)| i))
    }

    /// Start and end of every match beginning at a character boundary, overlapping ones
    /// included (what a regex search retried at each position sees).
    pub fn all_at<'a>(&'a self, text: &'a str) -> impl Iterator<Item = (usize, usize)> + 'a {
        text.char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(text.len()))
            .filter_map(move |i| self.match_at(text, i).map(|len| (i, i + len)))
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.all_at(text).next().is_some()
    }

    /// `len(re.findall(lit, text, re.IGNORECASE))`: non-overlapping matches.
    pub fn count(&self, text: &str) -> usize {
        if self.keys.is_empty() {
            return text.chars().count() + 1;
        }
        let mut n = 0;
        let mut next = 0;
        for (s, e) in self.all_at(text) {
            if s >= next {
                n += 1;
                next = e;
            }
        }
        n
    }
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
    fn ignorecase_literals() {
        let l = CiLiteral::new("the");
        assert_eq!(l.count("The THE tHe theory"), 4);
        assert_eq!(CiLiteral::new("aa").count("aaa"), 1);
        assert!(CiLiteral::new("straße").is_match("STRAßE"));
        assert!(CiLiteral::new("ok").is_match("O\u{212a}"));
        assert!(CiLiteral::new("σοφια").is_match("ΣΟΦΙΑ"));
        assert!(CiLiteral::new("is").is_match("ıſ"));
        assert_eq!(CiLiteral::new("").count("ab"), 3);
    }

    #[test]
    fn letter_or_number_table() {
        assert!(is_letter_or_number('é'));
        assert!(is_letter_or_number('½'));
        assert!(!is_letter_or_number('\u{301}'));
        assert!(!is_letter_or_number(' '));
    }
}
