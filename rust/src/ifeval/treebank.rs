//! `nltk.word_tokenize` (NLTK 3.10's `NLTKWordTokenizer` applied to each Punkt sentence), used
//! by `change_case:capital_word_frequency`.
//!
//! The substitutions run in NLTK's order with NLTK's patterns; the two that need look-around
//! (an opening single quote, `wanna`) are rewritten without it, and Python's `$` ("end, or
//! before a final newline") is spelled out where it matters.

use std::sync::OnceLock;

use regex::Regex;

use super::punkt::PunktParams;
use super::pystr;

/// A substitution, with the substrings of which one must occur for it to possibly match (a
/// cheap guard that skips most of the ~30 passes on ordinary text; empty = always run).
type Rule = (Regex, &'static str, &'static [&'static str]);

struct Rules {
    starting: Vec<Rule>,
    punctuation: Vec<Rule>,
    parens: Rule,
    dashes: Rule,
    ending: Vec<Rule>,
    contractions: Vec<Rule>,
}

fn rx(p: &str) -> Regex {
    Regex::new(p).expect("static tokenizer pattern")
}

fn rules() -> &'static Rules {
    static R: OnceLock<Rules> = OnceLock::new();
    R.get_or_init(|| Rules {
        starting: vec![
            (rx("([«“‘„]|[`]+)"), " ${1} ", &["«", "“", "‘", "„", "`"]),
            (rx("^\""), "``", &["\""]),
            (rx("(``)"), " ${1} ", &["``"]),
            (rx(r#"([ (\[{<])("|'{2})"#), "${1} `` ", &["\"", "''"]),
        ],
        punctuation: vec![
            (
                rx(r#"([^.])(\.)([\])}>"'»”’ ]*)\s*\z"#),
                "${1} ${2} ${3} ",
                &["."],
            ),
            (rx(r"([:,])([^\d])"), " ${1} ${2}", &[":", ","]),
            (rx(r"([:,])(\n?)\z"), " ${1} ${2}", &[":", ","]),
            (rx(r"\.{2,}"), " ${0} ", &[".."]),
            (rx(r"[;@#$%&]"), " ${0} ", &[";", "@", "#", "$", "%", "&"]),
            (
                rx(r"[\x{2012}-\x{2015}]"),
                " ${0} ",
                &["\u{2012}", "\u{2013}", "\u{2014}", "\u{2015}"],
            ),
            (
                rx(r#"([^.])(\.)([\])}>"']*)\s*\z"#),
                "${1} ${2}${3} ",
                &["."],
            ),
            (rx(r"[?!]"), " ${0} ", &["?", "!"]),
            (rx(r"([^'])' "), "${1} ' ", &["' "]),
            (rx(r"[*]"), " ${0} ", &["*"]),
        ],
        parens: (
            rx(r"[\]\[(){}<>]"),
            " ${0} ",
            &["[", "]", "(", ")", "{", "}", "<", ">"],
        ),
        dashes: (rx("--"), " -- ", &["--"]),
        ending: vec![
            (rx("([»”’])"), " ${1} ", &["»", "”", "’"]),
            (rx("''"), " '' ", &["''"]),
            (rx("\""), " '' ", &["\""]),
            (rx(r"\s+"), " ", &[]),
            (rx(r"([^' ])('[sS]|'[mM]|'[dD]|') "), "${1} ${2} ", &["'"]),
            (
                rx(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "),
                "${1} ${2} ",
                &["'"],
            ),
        ],
        contractions: vec![
            (rx(r"(?i)\b(can)(not)\b"), " ${1} ${2} ", &["cannot"]),
            (rx(r"(?i)\b(d)('ye)\b"), " ${1} ${2} ", &["d'ye"]),
            (rx(r"(?i)\b(gim)(me)\b"), " ${1} ${2} ", &["gimme"]),
            (rx(r"(?i)\b(gon)(na)\b"), " ${1} ${2} ", &["gonna"]),
            (rx(r"(?i)\b(got)(ta)\b"), " ${1} ${2} ", &["gotta"]),
            (rx(r"(?i)\b(lem)(me)\b"), " ${1} ${2} ", &["lemme"]),
            (rx(r"(?i)\b(more)('n)\b"), " ${1} ${2} ", &["more'n"]),
            (rx(r"(?i)\b(wan)(na)(\s)"), " ${1} ${2} ${3}", &["wanna"]),
            (rx(r"(?i) ('t)(is)\b"), " ${1} ${2} ", &["'ti"]),
            (rx(r"(?i) ('t)(was)\b"), " ${1} ${2} ", &["'twa"]),
        ],
    })
}

fn is_word(c: char) -> bool {
    regex_syntax::is_word_character(c)
}

/// `(?i)(?<!\w)(\')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)` -> `' `: an opening single quote.
fn split_opening_quotes(text: &str) -> String {
    if !text.contains('\'') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        out.push(c);
        if c == '\'' && !prev.is_some_and(is_word) {
            let after = &text[i + 1..];
            let next_is_word = after.chars().next().is_some_and(is_word);
            let clitic = ["re", "ve", "ll", "m", "t", "s", "d", "n"]
                .iter()
                .any(|alt| {
                    after.len() >= alt.len()
                        && after.is_char_boundary(alt.len())
                        && after[..alt.len()].eq_ignore_ascii_case(alt)
                        && {
                            // \b after the clitic: word/non-word transition.
                            let last_word = true; // the clitic letters are word characters
                            let next = after[alt.len()..].chars().next();
                            last_word != next.is_some_and(is_word)
                        }
                });
            if next_is_word && !clitic {
                out.push(' ');
            }
        }
        prev = Some(c);
    }
    out
}

fn guarded(text: &str, lowered: Option<&str>, guard: &[&str]) -> bool {
    let hay = lowered.unwrap_or(text);
    guard.is_empty() || guard.iter().any(|g| hay.contains(g))
}

fn apply(text: String, rules: &[Rule], case_insensitive_guard: bool) -> String {
    let mut t = text;
    // The (?i) contractions test their guards on an ASCII-lowered copy (substitutions only
    // insert spaces, so one copy serves all of them). No guard contains `s` or `k`, the only
    // letters with non-ASCII case variants (ſ, the Kelvin sign).
    let lowered = case_insensitive_guard.then(|| t.to_ascii_lowercase());
    for (r, rep, guard) in rules {
        if !guarded(&t, lowered.as_deref(), guard) {
            continue;
        }
        if let std::borrow::Cow::Owned(s) = r.replace_all(&t, *rep) {
            t = s;
        }
    }
    t
}

/// `NLTKWordTokenizer.tokenize` of one sentence.
pub fn tokenize_sentence(sentence: &str) -> Vec<String> {
    let r = rules();
    let mut text = apply(sentence.to_string(), &r.starting, false);
    text = split_opening_quotes(&text);
    text = apply(text, &r.punctuation, false);
    text = apply(text, std::slice::from_ref(&r.parens), false);
    text = apply(text, std::slice::from_ref(&r.dashes), false);
    text = format!(" {text} ");
    text = apply(text, &r.ending, false);
    text = apply(text, &r.contractions, true);
    pystr::split_ws(&text).map(str::to_string).collect()
}

/// `nltk.word_tokenize(text)`: Punkt sentences, then the Treebank-style tokenizer on each.
pub fn word_tokenize(punkt: &PunktParams, text: &str) -> Vec<String> {
    punkt
        .sentence_spans(text)
        .into_iter()
        .flat_map(|(s, e)| tokenize_sentence(if s < e { &text[s..e] } else { "" }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nltk_doc_example() {
        let s = "Good muffins cost $3.88 (roughly 3,36 euros)\nin New York.  Please buy me\ntwo of them.\nThanks.";
        assert_eq!(
            tokenize_sentence(s),
            vec![
                "Good", "muffins", "cost", "$", "3.88", "(", "roughly", "3,36", "euros", ")", "in",
                "New", "York.", "Please", "buy", "me", "two", "of", "them.", "Thanks", "."
            ]
        );
    }

    #[test]
    fn contractions_and_quotes() {
        assert_eq!(
            tokenize_sentence("\"I CANNOT go,\" she said. Don't!"),
            vec!["``", "I", "CAN", "NOT", "go", ",", "''", "she", "said.", "Do", "n't", "!"]
        );
        assert_eq!(tokenize_sentence("'hello' x"), vec!["'", "hello", "'", "x"]);
    }
}
