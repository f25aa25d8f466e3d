//! Python `re` patterns on the Rust `regex` crate, only where the match is provably the same.
//!
//! IFEval's keywords, forbidden words, section splitters and postscript markers are spliced
//! into Python regular expressions. [`exact`] accepts a pattern only when every construct in
//! it means the same in both engines (after [`translate`] rewrites `\s`, `\w`, `\Z`, a `{` that
//! is not a repetition, `{,n}`, and spells `re.IGNORECASE` out as explicit character sets). What
//! is left out -- `\b`, look-around, back-references, inline flags, `$` outside MULTILINE (Python
//! also matches before a final newline), possessive quantifiers, case-insensitive sets, empty
//! matches where they are counted, and every pattern Python's `re` rejects -- returns `None`,
//! and the caller hands that check to Python's own `re` (see `ifeval::Deferred`).

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

/// The characters `re.IGNORECASE` treats as equal to `c` (`c` included), or None when there
/// are none but `c`; from a table of every code point, built on first use.
fn case_group(c: char) -> Option<&'static [char]> {
    static GROUPS: OnceLock<HashMap<char, Vec<char>>> = OnceLock::new();
    let groups = GROUPS.get_or_init(|| {
        let mut by_key: HashMap<char, Vec<char>> = HashMap::new();
        for x in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let k = ignorecase_key(x);
            if k != x {
                by_key.entry(k).or_insert_with(|| vec![k]).push(x);
            }
        }
        let mut out = HashMap::new();
        for members in by_key.values() {
            for &m in members {
                out.insert(m, members.clone());
            }
        }
        out
    });
    groups.get(&c).map(|g| g.as_slice())
}

fn has_case_partners(c: char) -> bool {
    case_group(c).is_some()
}

/// Appends literal `c`, as a set of its `re.IGNORECASE` equivalents when `ignore_case`.
fn push_literal(out: &mut String, c: char, ignore_case: bool) {
    match case_group(c).filter(|_| ignore_case) {
        Some(group) => {
            out.push('[');
            for &m in group {
                out.push_str(&regex::escape(m.encode_utf8(&mut [0; 4])));
            }
            out.push(']');
        }
        None => out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
    }
}

/// True when every construct of the Python pattern means the same to the Rust engine (given
/// [`translate`]) and Python's `re` accepts it; see the module docs for what is left out.
pub fn supported(pat: &str, ignore_case: bool, multi_line: bool) -> bool {
    let cs: Vec<char> = pat.chars().collect();
    let offsets: Vec<usize> = pat.char_indices().map(|(b, _)| b).collect();
    let n = cs.len();
    let mut i = 0;
    // Whether a quantifier may follow (Python: "nothing to repeat" / "multiple repeat").
    let mut repeatable = false;
    let mut depth = 0usize;
    while i < n {
        let c = cs[i];
        match c {
            '\\' => {
                let Some(&e) = cs.get(i + 1) else {
                    return false;
                };
                if e.is_ascii_alphanumeric() && !"dDsSwWntrfvAZ".contains(e) {
                    return false;
                }
                repeatable = !matches!(e, 'A' | 'Z');
                i += 2;
            }
            '[' => {
                let Some(end) = class_end(&cs, i, ignore_case) else {
                    return false;
                };
                i = end + 1;
                repeatable = true;
            }
            '(' => {
                if cs.get(i + 1) == Some(&'?') {
                    match (cs.get(i + 2), cs.get(i + 3)) {
                        (Some(':'), _) => i += 3,
                        (Some('P'), Some('<')) => {
                            let name_end = match cs[i + 4..].iter().position(|&x| x == '>') {
                                Some(k) => i + 4 + k,
                                None => return false,
                            };
                            let name = &cs[i + 4..name_end];
                            let ident = name
                                .first()
                                .is_some_and(|f| f.is_ascii_alphabetic() || *f == '_')
                                && name.iter().all(|x| x.is_ascii_alphanumeric() || *x == '_');
                            if !ident {
                                return false;
                            }
                            i = name_end + 1;
                        }
                        _ => return false,
                    }
                } else {
                    i += 1;
                }
                depth += 1;
                repeatable = false;
            }
            ')' => {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
                repeatable = true;
                i += 1;
            }
            '|' | '^' => {
                repeatable = false;
                i += 1;
            }
            '$' => {
                if !multi_line {
                    return false;
                }
                repeatable = false;
                i += 1;
            }
            '*' | '+' | '?' | '{' => {
                let len = if c == '{' {
                    let at = offsets[i];
                    match quantifier_len(&pat[at..]) {
                        Some((bytes, _)) => pat[at..at + bytes].chars().count(),
                        None => {
                            // A `{` that is no repetition is a literal.
                            repeatable = true;
                            i += 1;
                            continue;
                        }
                    }
                } else {
                    1
                };
                if !repeatable {
                    return false;
                }
                i += len;
                match cs.get(i) {
                    Some('?') => i += 1,
                    Some('+') => return false,
                    _ => {}
                }
                repeatable = false;
            }
            _ => {
                repeatable = true;
                i += 1;
            }
        }
    }
    depth == 0
}

/// Index of the `]` closing the set that opens at `cs[start]`, or None when the set holds
/// something the exact translation leaves out.
fn class_end(cs: &[char], start: usize, ignore_case: bool) -> Option<usize> {
    let mut i = start + 1;
    if cs.get(i) == Some(&'^') {
        i += 1;
    }
    let first = i;
    let mut after_class_escape = false;
    while i < cs.len() {
        let c = cs[i];
        let was_class_escape = std::mem::take(&mut after_class_escape);
        match c {
            ']' if i > first => return Some(i),
            '\\' => {
                let e = *cs.get(i + 1)?;
                if e.is_ascii_alphanumeric() && !"dDsSwWntrfv".contains(e) {
                    return None;
                }
                if ignore_case && has_case_partners(e) {
                    return None;
                }
                after_class_escape = "dDsSwW".contains(e);
                i += 2;
            }
            // Python warns about possible nested sets; Rust reads `[:alpha:]` as a class.
            '[' => return None,
            '-' if i > first && cs.get(i + 1).is_some_and(|&x| x != ']') => {
                // Python rejects a range from a class escape (`[\s-!]`); Rust reads a literal.
                if was_class_escape {
                    return None;
                }
                // Under IGNORECASE Python tests a range with both cases of each character:
                // exact here only for ranges of ASCII characters that are not letters.
                let (lo, hi) = (cs[i - 1], cs[i + 1]);
                if ignore_case && (!hi.is_ascii() || (lo..=hi).any(|x| x.is_ascii_alphabetic())) {
                    return None;
                }
                i += 1;
            }
            _ => {
                if ignore_case && has_case_partners(c) {
                    return None;
                }
                i += 1;
            }
        }
    }
    None
}

/// Rewrites a Python `re` pattern (str, Unicode) into the Rust `regex` dialect. With
/// `ignore_case`, literal characters outside sets become sets of their `re.IGNORECASE`
/// equivalents (the Rust pattern is then compiled case-sensitively).
pub fn translate(pat: &str, ignore_case: bool) -> String {
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
                    None if e.is_ascii_alphanumeric() => {
                        out.push('\\');
                        out.push(e);
                    }
                    // An escaped punctuation mark or non-ASCII character is that character.
                    None if in_class => out.push_str(&regex::escape(e.encode_utf8(&mut [0; 4]))),
                    None => push_literal(&mut out, e, ignore_case),
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
            c if !in_class && ignore_case && !r".^$*+?()|".contains(c) => {
                push_literal(&mut out, c, ignore_case)
            }
            _ => out.push(c),
        }
    }
    out
}

/// A Python pattern compiled for Rust with the same matches as `re`.
#[derive(Debug, Clone)]
pub struct Exact {
    pub regex: Regex,
    /// Capturing groups (each adds an item per split in `re.split`).
    pub groups: usize,
    /// The pattern can match the empty string: `re.findall`/`re.split` then step differently
    /// from the Rust iterator, so only searches are exact.
    pub can_be_empty: bool,
}

/// The exact Rust form of a Python pattern (with `re.IGNORECASE`/`re.MULTILINE` as given), or
/// None when some construct would match differently (see the module docs). Cached: compiling is
/// far costlier than matching, and a training run judges the same prompt's instructions once
/// per sampled response.
pub fn exact(pat: &str, ignore_case: bool, multi_line: bool) -> Option<Exact> {
    type Cache = Mutex<HashMap<(String, bool, bool), Option<Exact>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (pat.to_string(), ignore_case, multi_line);
    if let Ok(c) = cache.lock() {
        if let Some(hit) = c.get(&key) {
            return hit.clone();
        }
    }
    let compiled = exact_uncached(pat, ignore_case, multi_line);
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 20_000 {
            c.clear();
        }
        c.insert(key, compiled.clone());
    }
    compiled
}

fn exact_uncached(pat: &str, ignore_case: bool, multi_line: bool) -> Option<Exact> {
    if !supported(pat, ignore_case, multi_line) {
        return None;
    }
    let translated = translate(pat, ignore_case);
    let hir = regex_syntax::ParserBuilder::new()
        .multi_line(multi_line)
        .build()
        .parse(&translated)
        .ok()?;
    let regex = RegexBuilder::new(&translated)
        .multi_line(multi_line)
        .size_limit(64 << 20)
        .build()
        .ok()?;
    Some(Exact {
        groups: regex.captures_len() - 1,
        can_be_empty: hir.properties().minimum_len() == Some(0),
        regex,
    })
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
        let r = exact(r"a\sb", false, false).unwrap().regex;
        assert!(r.is_match("a\u{1c}b"));
        let r = exact(r"\w+", false, false).unwrap().regex;
        assert_eq!(r.find("\u{301}x").map(|m| m.as_str()), Some("x"));
        assert!(exact("{foo}", false, false)
            .unwrap()
            .regex
            .is_match("a {foo} b"));
        assert!(exact("a{,2}b", false, false).unwrap().regex.is_match("aab"));
        assert!(exact("[]a]", false, false).unwrap().regex.is_match("]"));
        let e = exact("Sec(tion)?", false, false).unwrap();
        assert_eq!((e.groups, e.can_be_empty), (1, false));
        assert!(exact("x*", false, false).unwrap().can_be_empty);
    }

    #[test]
    fn ignore_case_is_spelled_out_like_python() {
        let r = exact("i.s", true, false).unwrap().regex;
        for t in ["ı-ſ", "I S", "İxS"] {
            assert!(r.is_match(t), "{t}");
        }
        assert!(exact("[a-z]", true, false).is_none());
        assert!(exact("[0-9]+", true, false).is_some());
        assert!(exact("[+-]", true, false).is_some());
        assert!(exact(r"[\s-!]", false, false).is_none());
    }

    #[test]
    fn what_python_reads_differently_or_rejects_is_left_to_python() {
        for p in [
            r"\bthe\b",
            "(?<=a)b",
            "(?i)x",
            "dog$",
            "a**",
            "{2}",
            "^*",
            r"\A*",
            "a{1,2}+",
            r"(?P<a>x)(?P=a)",
            r"\1",
            "[[:alpha:]]",
            "(a",
            "a)",
            r"\p{L}",
            r"\x41",
            "[]",
        ] {
            assert!(exact(p, false, false).is_none(), "{p}");
        }
        assert!(exact("dog$", false, true).is_some());
        assert!(exact("a{2,1}", false, false).is_none());
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
