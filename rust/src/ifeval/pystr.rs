//! Python `str` semantics the IFEval checkers depend on.
//!
//! The reference checkers are Python: `str.isspace`/`strip`/`split`, `str.isupper`/`islower`,
//! `str.lower` and the `re` module's `\s`/`\w`/`\d` classes decide verdicts. Rust's own notions
//! differ in small ways (`\x1c`-`\x1f` are Python whitespace but not Unicode `White_Space`,
//! Python's `\w` is `str.isalnum() or '_'`, titlecase letters make `isupper` false), so every
//! check goes through these helpers instead of the Rust built-ins.

/// `str.isspace()` for one character: Unicode `White_Space` plus the four ASCII separators
/// U+001C..U+001F that CPython also counts.
#[inline]
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python `str.strip()` with no argument.
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// Python `str.rstrip()` with no argument.
pub fn strip_end(s: &str) -> &str {
    s.trim_end_matches(is_space)
}

pub fn lstrip_chars<'a>(s: &'a str, chars: &[char]) -> &'a str {
    s.trim_start_matches(|c| chars.contains(&c))
}

pub fn rstrip_chars<'a>(s: &'a str, chars: &[char]) -> &'a str {
    s.trim_end_matches(|c| chars.contains(&c))
}

pub fn strip_chars<'a>(s: &'a str, chars: &[char]) -> &'a str {
    s.trim_matches(|c| chars.contains(&c))
}

/// Python `str.split()` with no argument (runs of whitespace, no empty pieces).
pub fn split_ws(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_space).filter(|p| !p.is_empty())
}

/// Unicode titlecase letters (general category Lt), which Python's `isupper`/`islower` treat as
/// neither upper nor lower but which make both return False.
#[inline]
pub fn is_title(c: char) -> bool {
    matches!(c as u32,
        0x01C5 | 0x01C8 | 0x01CB | 0x01F2 | 0x1F88..=0x1F8F | 0x1F98..=0x1F9F | 0x1FA8..=0x1FAF
        | 0x1FBC | 0x1FCC | 0x1FFC)
}

/// Python `str.isupper()`: at least one cased character and no lowercase or titlecase one.
pub fn is_upper_str(s: &str) -> bool {
    let mut cased = false;
    for c in s.chars() {
        if c.is_lowercase() || is_title(c) {
            return false;
        }
        if !cased && c.is_uppercase() {
            cased = true;
        }
    }
    cased
}

/// Python `str.islower()`.
pub fn is_lower_str(s: &str) -> bool {
    let mut cased = false;
    for c in s.chars() {
        if c.is_uppercase() || is_title(c) {
            return false;
        }
        if !cased && c.is_lowercase() {
            cased = true;
        }
    }
    cased
}

/// Python `ch.isupper()` for a single character.
#[inline]
pub fn char_is_upper(c: char) -> bool {
    c.is_uppercase() && !c.is_lowercase() && !is_title(c)
}

/// Python `ch.islower()` for a single character.
#[inline]
pub fn char_is_lower(c: char) -> bool {
    c.is_lowercase() && !c.is_uppercase() && !is_title(c)
}

/// Python `str.lower()`: full Unicode lowercase mapping with the Final_Sigma rule, which is
/// what Rust's `str::to_lowercase` implements too.
pub fn lower(s: &str) -> String {
    s.to_lowercase()
}

/// Python's `re` `\w` for `str` patterns: `str.isalnum()` (categories L* and N*) or `_`.
#[inline]
pub fn is_py_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric() && !is_other_alphabetic_mark(c)
}

/// `char::is_alphanumeric` includes `Other_Alphabetic` marks and symbols (Devanagari vowel
/// signs, circled letters) that Python's `isalnum` excludes; those are exactly the alphabetic
/// characters that are not letters or numbers, so test the category through the regex tables.
#[inline]
fn is_other_alphabetic_mark(c: char) -> bool {
    if c.is_ascii() {
        return false;
    }
    !crate::ifeval::pyre::is_letter_or_number(c)
}

/// Number of code points (Python's `len`).
pub fn py_len(s: &str) -> usize {
    s.chars().count()
}

/// Python `str.endswith` / `startswith` are byte-exact on UTF-8 too.
pub fn ends_with(s: &str, suffix: &str) -> bool {
    s.ends_with(suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_case_predicates() {
        assert!(is_upper_str("HELLO 123"));
        assert!(!is_upper_str("123"));
        assert!(!is_upper_str("HELLo"));
        assert!(!is_upper_str("AǅB"));
        assert!(is_lower_str("hello, world"));
        assert!(!is_lower_str("hello World"));
        assert!(is_upper_str("ΣΑΣ"));
    }

    #[test]
    fn python_whitespace() {
        assert!(is_space('\u{1c}'));
        assert!(is_space('\u{a0}'));
        assert!(!is_space('\u{200b}'));
        assert_eq!(strip("\u{1f} a b \n"), "a b");
        assert_eq!(
            split_ws(" a\u{1e}b  c ").collect::<Vec<_>>(),
            vec!["a", "b", "c"]
        );
    }

    #[test]
    fn python_word_chars() {
        assert!(is_py_word('a'));
        assert!(is_py_word('_'));
        assert!(is_py_word('²'));
        assert!(!is_py_word('\u{301}'));
        assert!(!is_py_word('Ⓐ'));
        assert!(!is_py_word('-'));
    }
}
