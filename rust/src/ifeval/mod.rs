//! The instruction-following judge: the 25 verifiable instructions of IFEval (Zhou et al.,
//! 2023), with the verdicts of the reference checkers (`lm_eval/tasks/ifeval`), quirks
//! included.
//!
//! - [`build`] turns an instruction id and its kwargs into an [`Instruction`], reproducing the
//!   reference's kwargs handling: keys whose value is falsy (`None`, `0`, `""`, `[]`) are
//!   dropped first, and where the reference then draws a random default we use a fixed value
//!   inside the same range (see [`defaults`]).
//! - [`check`] evaluates one instruction on one response; [`evaluate`] runs a batch in strict
//!   or loose mode (IFEval's eight response variants).
//!
//! Everything Python-specific the verdicts hinge on lives in the submodules: [`pystr`] (str
//! semantics), [`pyre`] (Python `re` patterns on the `regex` crate), [`pyjson`] (`json.loads`
//! acceptance), [`punkt`] and [`treebank`] (NLTK's sentence and word tokenizers),
//! [`langdetect`] (seeded, bit-exact `langdetect.detect`).

pub mod ifbench;
pub mod langdetect;
pub mod punkt;
pub mod pyjson;
pub mod pyre;
pub mod pystr;
pub mod treebank;

use std::collections::HashMap;

use regex::Regex;

use crate::batch::par_map_catch;
use crate::error::CoreError;
use langdetect::{Detected, LangDetectTables};
use punkt::PunktParams;

/// Tables read once from the installed data packages.
#[derive(Debug, Default, Clone)]
pub struct Resources {
    pub punkt: PunktParams,
    pub lang: LangDetectTables,
}

/// A kwargs value as it arrives from Python.
#[derive(Debug, Clone, PartialEq)]
pub enum KwValue {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<KwValue>),
    /// Any other Python object, by type name (always an error where a value is read).
    Other(String),
}

impl KwValue {
    /// Python truthiness, which decides whether the reference keeps the key.
    pub fn truthy(&self) -> bool {
        match self {
            KwValue::None => false,
            KwValue::Bool(b) => *b,
            KwValue::Int(i) => *i != 0,
            KwValue::Float(f) => *f != 0.0,
            KwValue::Str(s) => !s.is_empty(),
            KwValue::List(l) => !l.is_empty(),
            KwValue::Other(_) => true,
        }
    }

    pub fn type_name(&self) -> &str {
        match self {
            KwValue::None => "NoneType",
            KwValue::Bool(_) => "bool",
            KwValue::Int(_) => "int",
            KwValue::Float(_) => "float",
            KwValue::Str(_) => "str",
            KwValue::List(_) => "list",
            KwValue::Other(t) => t,
        }
    }
}

pub type Kwargs = Vec<(String, KwValue)>;

/// IFEval's two comparison relations: "less than" is strict, "at least" inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    LessThan,
    AtLeast,
}

impl Relation {
    fn holds(self, count: usize, threshold: f64) -> bool {
        match self {
            Relation::LessThan => (count as f64) < threshold,
            Relation::AtLeast => (count as f64) >= threshold,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Relation::LessThan => "less than",
            Relation::AtLeast => "at least",
        }
    }
}

/// How the reference uses a pattern, which decides what an exact Rust match needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// `re.search`: any match.
    Search,
    /// `len(re.findall(...))` or `len(re.split(...)) - 1`: every match, so empty matches (which
    /// Python and Rust step over differently) must be impossible.
    Count,
}

/// A Python pattern: a case-insensitive plain word is matched directly (no compilation), a
/// pattern [`pyre::exact`] reproduces is a Rust regex, and anything else is left to Python's
/// `re` (see [`Deferred`]).
#[derive(Debug, Clone)]
pub struct Pattern {
    pub source: String,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    Literal(pyre::CiLiteral),
    Regex(pyre::Exact),
    Python,
}

impl Pattern {
    fn new(source: &str, ignore_case: bool, multi_line: bool, usage: Use) -> Self {
        let matcher = if ignore_case && pyre::is_literal(source) {
            Matcher::Literal(pyre::CiLiteral::new(source))
        } else {
            match pyre::exact(source, ignore_case, multi_line) {
                Some(e) if usage == Use::Search || !e.can_be_empty => Matcher::Regex(e),
                _ => Matcher::Python,
            }
        };
        Pattern {
            source: source.to_string(),
            matcher,
        }
    }

    /// True when only Python's `re` can evaluate this pattern exactly.
    pub fn needs_python(&self) -> bool {
        matches!(self.matcher, Matcher::Python)
    }

    fn is_match(&self, text: &str) -> bool {
        match &self.matcher {
            Matcher::Literal(l) => l.is_match(text),
            Matcher::Regex(e) => e.regex.is_match(text),
            Matcher::Python => false,
        }
    }

    /// `len(re.findall(pattern, text))`.
    fn count(&self, text: &str) -> usize {
        match &self.matcher {
            Matcher::Literal(l) => l.count(text),
            Matcher::Regex(e) => e.regex.find_iter(text).count(),
            Matcher::Python => 0,
        }
    }

    /// `len(re.split(pattern, text)) - 1`: each split also yields one item per capturing group.
    fn split_count(&self, text: &str) -> usize {
        match &self.matcher {
            Matcher::Regex(e) => e.regex.find_iter(text).count() * (1 + e.groups),
            Matcher::Literal(l) => l.count(text),
            Matcher::Python => 0,
        }
    }
}

/// A check only Python's `re` can make exactly (its pattern is outside what [`pyre::exact`]
/// reproduces). The judge's caller runs it on each response variant and takes its verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Deferred {
    /// `"all_search"`: every pattern is found (`re.search`); `"none_search"`: none is found;
    /// `"count"`: `len(re.findall(p, v, flags))`; `"split"`: `len(re.split(p, v, flags)) - 1`
    /// -- the last two compared with `threshold` under `relation`.
    pub op: &'static str,
    pub patterns: Vec<String>,
    /// Python `re` flags: `re.IGNORECASE` = 2, `re.MULTILINE` = 8.
    pub flags: u32,
    /// The response is lower-cased before matching (the postscript check).
    pub lower: bool,
    pub relation: Relation,
    pub threshold: f64,
}

const RE_IGNORECASE: u32 = 2;
const RE_MULTILINE: u32 = 8;

/// One instruction with its resolved arguments.
#[derive(Debug, Clone)]
pub enum Instruction {
    KeywordsExistence(Vec<Pattern>),
    KeywordFrequency {
        keyword: Pattern,
        frequency: f64,
        relation: Relation,
    },
    ForbiddenWords(Vec<ForbiddenWord>),
    LetterFrequency {
        letter: char,
        frequency: f64,
        relation: Relation,
    },
    ResponseLanguage(String),
    NumberSentences {
        threshold: f64,
        relation: Relation,
    },
    NumberParagraphs(f64),
    NumberWords {
        threshold: f64,
        relation: Relation,
    },
    NthParagraphFirstWord {
        num_paragraphs: i64,
        nth: i64,
        first_word: String,
    },
    NumberPlaceholders(f64),
    Postscript(Pattern),
    NumberBulletLists(f64),
    ConstrainedResponse,
    NumberHighlightedSections(f64),
    MultipleSections {
        splitter: Pattern,
        num_sections: f64,
    },
    JsonFormat,
    Title,
    TwoResponses,
    RepeatPrompt(String),
    EndChecker(String),
    CapitalWordFrequency {
        frequency: f64,
        relation: Relation,
    },
    EnglishCapital,
    EnglishLowercase,
    NoComma,
    Quotation,
    /// One of IFBench's constraints ([`ifbench`]).
    IfBench(ifbench::Constraint),
}

/// A forbidden word: `re.search(r"\b" + word + r"\b", text, re.IGNORECASE)`.
#[derive(Debug, Clone)]
pub struct ForbiddenWord {
    pub word: String,
    /// A plain word is matched case-insensitively at every position, with Python's `\b`
    /// (Python's `\w`) tested on both sides: exact. Otherwise (None) Python's `re` decides.
    literal: Option<pyre::CiLiteral>,
}

/// The 25 instruction ids of IFEval's registry.
pub const INSTRUCTION_IDS: [&str; 25] = [
    "keywords:existence",
    "keywords:frequency",
    "keywords:forbidden_words",
    "keywords:letter_frequency",
    "language:response_language",
    "length_constraints:number_sentences",
    "length_constraints:number_paragraphs",
    "length_constraints:number_words",
    "length_constraints:nth_paragraph_first_word",
    "detectable_content:number_placeholders",
    "detectable_content:postscript",
    "detectable_format:number_bullet_lists",
    "detectable_format:constrained_response",
    "detectable_format:number_highlighted_sections",
    "detectable_format:multiple_sections",
    "detectable_format:json_format",
    "detectable_format:title",
    "combination:two_responses",
    "combination:repeat_prompt",
    "startend:end_checker",
    "change_case:capital_word_frequency",
    "change_case:english_capital",
    "change_case:english_lowercase",
    "punctuation:no_comma",
    "startend:quotation",
];

/// ISO 639-1 codes the reference accepts for `language:response_language` (its
/// `LANGUAGE_CODES`; any other code raises `KeyError` there).
pub const RESPONSE_LANGUAGES: [&str; 30] = [
    "en", "es", "pt", "ar", "hi", "fr", "ru", "de", "ja", "it", "bn", "uk", "th", "ur", "ta", "te",
    "bg", "ko", "pl", "he", "fa", "vi", "ne", "sw", "kn", "mr", "gu", "pa", "ml", "fi",
];

/// The fixed values we use where the reference draws a random default (documented in
/// docs/instructions.md). Each lies inside the reference's range.
pub mod defaults {
    /// `random.choice(("less than", "at least"))`.
    pub const RELATION: super::Relation = super::Relation::AtLeast;
    /// `random.randint(1, 20)` sentences, `randint(1, 4)` placeholders, `randint(1, 5)`
    /// bullets/sections/paragraphs, `randint(1, 4)` highlights, `randint(1, 3)` keyword
    /// frequency, `randint(1, 10)` letter frequency, `randint(1, 20)` capital words: 1.
    pub const COUNT: f64 = 1.0;
    /// `random.randint(100, 500)` words.
    pub const NUM_WORDS: f64 = 100.0;
    /// `random.randint(1, num_paragraphs + 1)`.
    pub const NTH_PARAGRAPH: i64 = 1;
    /// `random.choice(string.ascii_letters)`, lower-cased.
    pub const LETTER: char = 'a';
    /// `random.choice(LANGUAGE_CODES)`.
    pub const LANGUAGE: &str = "en";
    /// `random.choice(("P.S.", "P.P.S"))`.
    pub const POSTSCRIPT: &str = "P.S.";
    /// `random.choice(("Section", "SECTION"))`.
    pub const SECTION: &str = "Section";
    /// `random.choice(_ENDING_OPTIONS)`.
    pub const END_PHRASE: &str = "Any other questions?";
}

const CONSTRAINED_OPTIONS: [&str; 3] = [
    "My answer is yes.",
    "My answer is no.",
    "My answer is maybe.",
];

struct Args<'a> {
    id: &'a str,
    kw: Vec<(&'a str, &'a KwValue)>,
}

impl<'a> Args<'a> {
    fn get(&self, key: &str) -> Option<&'a KwValue> {
        self.kw
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }

    fn err(&self, msg: impl std::fmt::Display) -> String {
        format!("instruction {:?}: {msg}", self.id)
    }

    fn allow(&self, keys: &[&str]) -> Result<(), String> {
        for (k, _) in &self.kw {
            if !keys.contains(k) {
                return Err(self.err(format!(
                    "unexpected kwarg {k:?} (accepted: {})",
                    if keys.is_empty() {
                        "none".to_string()
                    } else {
                        keys.join(", ")
                    }
                )));
            }
        }
        Ok(())
    }

    /// A count threshold: `None` or negative -> default (the reference's `x is None or x < 0`).
    fn count(&self, key: &str, default: f64, negative_is_default: bool) -> Result<f64, String> {
        match self.get(key) {
            None => Ok(default),
            Some(KwValue::Bool(b)) => Ok(f64::from(u8::from(*b))),
            Some(KwValue::Int(i)) if negative_is_default && *i < 0 => Ok(default),
            Some(KwValue::Int(i)) => Ok(*i as f64),
            Some(KwValue::Float(f)) if negative_is_default && *f < 0.0 => Ok(default),
            Some(KwValue::Float(f)) if f.is_nan() => Err(self.err(format!("{key} is NaN"))),
            Some(KwValue::Float(f)) => Ok(*f),
            Some(v) => Err(self.err(format!("{key} must be a number, got {}", v.type_name()))),
        }
    }

    fn int(&self, key: &str) -> Result<Option<i64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(KwValue::Bool(b)) => Ok(Some(i64::from(*b))),
            Some(KwValue::Int(i)) => Ok(Some(*i)),
            Some(v) => Err(self.err(format!("{key} must be an int, got {}", v.type_name()))),
        }
    }

    fn relation(&self, key: &str) -> Result<Relation, String> {
        match self.get(key) {
            None => Ok(defaults::RELATION),
            Some(KwValue::Str(s)) if s == "less than" => Ok(Relation::LessThan),
            Some(KwValue::Str(s)) if s == "at least" => Ok(Relation::AtLeast),
            Some(v) => Err(self.err(format!(
                "{key} must be 'less than' or 'at least', got {}",
                match v {
                    KwValue::Str(s) => format!("{s:?}"),
                    other => other.type_name().to_string(),
                }
            ))),
        }
    }

    fn string(&self, key: &str) -> Result<Option<&'a str>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(KwValue::Str(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(self.err(format!("{key} must be a str, got {}", v.type_name()))),
        }
    }

    fn required_string(&self, key: &str) -> Result<&'a str, String> {
        self.string(key)?.ok_or_else(|| {
            self.err(format!(
                "missing {key}: the reference would draw a random word, which a judge cannot"
            ))
        })
    }

    /// A list of strings (a str is iterated character by character, as Python would).
    fn strings(&self, key: &str) -> Result<Vec<String>, String> {
        match self.get(key) {
            None => Err(self.err(format!(
                "missing {key}: the reference would draw random words, which a judge cannot"
            ))),
            Some(KwValue::Str(s)) => Ok(s.chars().map(String::from).collect()),
            Some(KwValue::List(items)) => items
                .iter()
                .map(|v| match v {
                    KwValue::Str(s) => Ok(s.clone()),
                    other => Err(self.err(format!(
                        "{key} must hold strings, got {}",
                        other.type_name()
                    ))),
                })
                .collect(),
            Some(v) => Err(self.err(format!(
                "{key} must be a list of str, got {}",
                v.type_name()
            ))),
        }
    }
}

/// Builds an instruction like the reference's `build_description(**kwargs)` after its
/// falsy-value filter. `prompt` is the sample's prompt, used by `combination:repeat_prompt`
/// when `prompt_to_repeat` is missing.
pub fn build(id: &str, kwargs: &[(String, KwValue)], prompt: &str) -> Result<Instruction, String> {
    if ifbench::IDS.contains(&id) {
        return ifbench::build(id, kwargs).map(Instruction::IfBench);
    }
    let args = Args {
        id,
        kw: kwargs
            .iter()
            .filter(|(_, v)| v.truthy())
            .map(|(k, v)| (k.as_str(), v))
            .collect(),
    };
    use Instruction as I;
    let c = defaults::COUNT;
    Ok(match id {
        "keywords:existence" => {
            args.allow(&["keywords"])?;
            let mut words = args.strings("keywords")?;
            words.sort();
            I::KeywordsExistence(
                words
                    .iter()
                    .map(|w| Pattern::new(w, true, false, Use::Search))
                    .collect(),
            )
        }
        "keywords:frequency" => {
            args.allow(&["keyword", "frequency", "relation"])?;
            let keyword = pystr::strip(args.required_string("keyword")?);
            I::KeywordFrequency {
                keyword: Pattern::new(keyword, true, false, Use::Count),
                frequency: args.count("frequency", c, true)?,
                relation: args.relation("relation")?,
            }
        }
        "keywords:forbidden_words" => {
            args.allow(&["forbidden_words"])?;
            let mut words = args.strings("forbidden_words")?;
            words.sort();
            words.dedup();
            I::ForbiddenWords(words.iter().map(|w| forbidden_word(w)).collect())
        }
        "keywords:letter_frequency" => {
            args.allow(&["letter", "let_frequency", "let_relation"])?;
            let letter = match args.get("letter") {
                None => defaults::LETTER,
                Some(KwValue::Str(s)) => {
                    let mut chars = s.chars();
                    let first = chars.next();
                    match (first, chars.next()) {
                        (Some(ch), None) => {
                            let lowered = pystr::lower(&ch.to_string());
                            let mut lc = lowered.chars();
                            match (lc.next(), lc.next()) {
                                (Some(l), None) if l.is_ascii_lowercase() => {
                                    let stripped = pystr::lower(pystr::strip(s));
                                    stripped.chars().next().unwrap_or(l)
                                }
                                (Some(_), None) => defaults::LETTER,
                                _ => {
                                    return Err(args.err(format!(
                                        "letter {s:?} lower-cases to several characters \
                                         (the reference raises TypeError)"
                                    )))
                                }
                            }
                        }
                        _ => defaults::LETTER,
                    }
                }
                Some(v) => {
                    return Err(args.err(format!("letter must be a str, got {}", v.type_name())))
                }
            };
            I::LetterFrequency {
                letter,
                frequency: args.count("let_frequency", c, true)?,
                relation: args.relation("let_relation")?,
            }
        }
        "language:response_language" => {
            args.allow(&["language"])?;
            let lang = args.string("language")?.unwrap_or(defaults::LANGUAGE);
            if !RESPONSE_LANGUAGES.contains(&lang) {
                return Err(args.err(format!(
                    "language {lang:?} is not one of IFEval's codes ({})",
                    RESPONSE_LANGUAGES.join(", ")
                )));
            }
            I::ResponseLanguage(lang.to_string())
        }
        "length_constraints:number_sentences" => {
            args.allow(&["num_sentences", "relation"])?;
            I::NumberSentences {
                threshold: args.count("num_sentences", c, true)?,
                relation: args.relation("relation")?,
            }
        }
        "length_constraints:number_paragraphs" => {
            args.allow(&["num_paragraphs"])?;
            I::NumberParagraphs(args.count("num_paragraphs", c, true)?)
        }
        "length_constraints:number_words" => {
            args.allow(&["num_words", "relation"])?;
            I::NumberWords {
                threshold: args.count("num_words", defaults::NUM_WORDS, true)?,
                relation: args.relation("relation")?,
            }
        }
        "length_constraints:nth_paragraph_first_word" => {
            args.allow(&["num_paragraphs", "nth_paragraph", "first_word"])?;
            let num = match args.int("num_paragraphs")? {
                Some(n) if n >= 0 => n,
                _ => 1,
            };
            let nth = match args.int("nth_paragraph")? {
                Some(n) if n > 0 && n <= num => n,
                _ => defaults::NTH_PARAGRAPH,
            };
            I::NthParagraphFirstWord {
                num_paragraphs: num,
                nth,
                first_word: pystr::lower(args.required_string("first_word")?),
            }
        }
        "detectable_content:number_placeholders" => {
            args.allow(&["num_placeholders"])?;
            I::NumberPlaceholders(args.count("num_placeholders", c, true)?)
        }
        "detectable_content:postscript" => {
            args.allow(&["postscript_marker"])?;
            let marker = args
                .string("postscript_marker")?
                .map(pystr::strip)
                .unwrap_or(defaults::POSTSCRIPT);
            let pat = match marker {
                "P.P.S" => r"\s*p\.\s?p\.\s?s.*$".to_string(),
                "P.S." => r"\s*p\.\s?s\..*$".to_string(),
                other => format!(r"\s*{}.*$", pystr::lower(other)),
            };
            I::Postscript(Pattern::new(&pat, false, true, Use::Search))
        }
        "detectable_format:number_bullet_lists" => {
            args.allow(&["num_bullets"])?;
            I::NumberBulletLists(args.count("num_bullets", c, true)?)
        }
        "detectable_format:constrained_response" => {
            args.allow(&[])?;
            I::ConstrainedResponse
        }
        "detectable_format:number_highlighted_sections" => {
            args.allow(&["num_highlights"])?;
            I::NumberHighlightedSections(args.count("num_highlights", c, true)?)
        }
        "detectable_format:multiple_sections" => {
            args.allow(&["section_spliter", "num_sections"])?;
            let sp = args
                .string("section_spliter")?
                .map(pystr::strip)
                .unwrap_or(defaults::SECTION);
            I::MultipleSections {
                splitter: Pattern::new(&format!(r"\s?{sp}\s?\d+\s?"), false, false, Use::Count),
                num_sections: args.count("num_sections", c, true)?,
            }
        }
        "detectable_format:json_format" => {
            args.allow(&[])?;
            I::JsonFormat
        }
        "detectable_format:title" => {
            args.allow(&[])?;
            I::Title
        }
        "combination:two_responses" => {
            args.allow(&[])?;
            I::TwoResponses
        }
        "combination:repeat_prompt" => {
            args.allow(&["prompt_to_repeat"])?;
            let p = match args.string("prompt_to_repeat")? {
                Some(p) => p,
                None if !prompt.is_empty() => prompt,
                None => {
                    return Err(args.err("prompt_to_repeat must be set (or the sample's prompt)"))
                }
            };
            I::RepeatPrompt(pystr::lower(pystr::strip(p)))
        }
        "startend:end_checker" => {
            args.allow(&["end_phrase"])?;
            let phrase = args
                .string("end_phrase")?
                .map(pystr::strip)
                .unwrap_or(defaults::END_PHRASE);
            I::EndChecker(pystr::lower(pystr::strip(phrase)))
        }
        "change_case:capital_word_frequency" => {
            args.allow(&["capital_frequency", "capital_relation"])?;
            I::CapitalWordFrequency {
                // Only `None` falls back to the default here: the reference has no `< 0` test.
                frequency: args.count("capital_frequency", c, false)?,
                relation: args.relation("capital_relation")?,
            }
        }
        "change_case:english_capital" => {
            args.allow(&[])?;
            I::EnglishCapital
        }
        "change_case:english_lowercase" => {
            args.allow(&[])?;
            I::EnglishLowercase
        }
        "punctuation:no_comma" => {
            args.allow(&[])?;
            I::NoComma
        }
        "startend:quotation" => {
            args.allow(&[])?;
            I::Quotation
        }
        other => {
            return Err(format!(
                "unknown instruction id {other:?} (IFEval has: {})",
                INSTRUCTION_IDS.join(", ")
            ))
        }
    })
}

fn forbidden_word(word: &str) -> ForbiddenWord {
    ForbiddenWord {
        word: word.to_string(),
        // Rust's `\b` follows Unicode's word definition, not Python's: only plain words are
        // matched here.
        literal: pyre::is_literal(word).then(|| pyre::CiLiteral::new(word)),
    }
}

impl ForbiddenWord {
    fn found(&self, text: &str) -> bool {
        let boundary = |pos: usize| {
            let before = text[..pos]
                .chars()
                .next_back()
                .is_some_and(pystr::is_py_word);
            let after = text[pos..].chars().next().is_some_and(pystr::is_py_word);
            before != after
        };
        match &self.literal {
            Some(lit) => lit.all_at(text).any(|(s, e)| boundary(s) && boundary(e)),
            None => false,
        }
    }
}

impl Instruction {
    /// The check Python's `re` must make instead, when a pattern of this instruction is
    /// outside what the Rust engine reproduces exactly.
    pub fn deferred(&self) -> Option<Deferred> {
        let d = |op, patterns: Vec<String>, flags, relation, threshold| Deferred {
            op,
            patterns,
            flags,
            lower: false,
            relation,
            threshold,
        };
        let sources = |ps: &[Pattern]| ps.iter().map(|p| p.source.clone()).collect();
        match self {
            Instruction::KeywordsExistence(words) if words.iter().any(Pattern::needs_python) => {
                Some(d(
                    "all_search",
                    sources(words),
                    RE_IGNORECASE,
                    Relation::AtLeast,
                    0.0,
                ))
            }
            Instruction::KeywordFrequency {
                keyword,
                frequency,
                relation,
            } if keyword.needs_python() => Some(d(
                "count",
                vec![keyword.source.clone()],
                RE_IGNORECASE,
                *relation,
                *frequency,
            )),
            Instruction::ForbiddenWords(words) if words.iter().any(|w| w.literal.is_none()) => {
                let pats = words.iter().map(|w| format!(r"\b{}\b", w.word)).collect();
                Some(d(
                    "none_search",
                    pats,
                    RE_IGNORECASE,
                    Relation::AtLeast,
                    0.0,
                ))
            }
            Instruction::Postscript(p) if p.needs_python() => Some(Deferred {
                lower: true,
                ..d(
                    "all_search",
                    vec![p.source.clone()],
                    RE_MULTILINE,
                    Relation::AtLeast,
                    0.0,
                )
            }),
            Instruction::MultipleSections {
                splitter,
                num_sections,
            } if splitter.needs_python() => Some(d(
                "split",
                vec![splitter.source.clone()],
                0,
                Relation::AtLeast,
                *num_sections,
            )),
            _ => None,
        }
    }
}

fn count_matches(re: &Regex, text: &str) -> usize {
    re.find_iter(text).count()
}

fn static_re(
    cell: &'static std::sync::OnceLock<Regex>,
    pat: &str,
    multi_line: bool,
) -> &'static Regex {
    cell.get_or_init(|| {
        regex::RegexBuilder::new(pat)
            .multi_line(multi_line)
            .build()
            .expect("static pattern")
    })
}

/// `count_words`: `RegexpTokenizer(r"\w+")` (NLTK compiles it with the `regex` module, whose
/// Unicode `\w` is the Rust regex crate's): the number of maximal runs of word characters.
pub fn count_words(text: &str) -> usize {
    let mut n = 0;
    let mut in_word = false;
    for c in text.chars() {
        let w = if c.is_ascii() {
            c.is_ascii_alphanumeric() || c == '_'
        } else {
            regex_syntax::is_word_character(c)
        };
        if w && !in_word {
            n += 1;
        }
        in_word = w;
    }
    n
}

/// One instruction's verdict and, on request, what was measured.
pub struct Check {
    pub ok: bool,
    pub detail: String,
}

/// What one sample's checks have measured, reused by its other checks and response variants:
/// loose mode's variants share most sentences, and often their language-detection n-grams
/// (removing `*` rarely changes them), and two instructions may detect the same text. Keys are
/// the inputs the results are pure functions of, so reuse is exact.
#[derive(Debug, Default)]
pub struct Memo {
    /// langdetect's result per n-gram sequence (detection depends on nothing else), found
    /// by a fingerprint of the sequence and confirmed by comparing the sequence itself.
    languages: HashMap<u64, Vec<(Vec<u32>, Detected)>, langdetect::BuildNgramHasher>,
    /// All-capital Treebank tokens per Punkt sentence.
    sentence_capitals: HashMap<String, usize>,
}

impl Memo {
    fn detect(&mut self, res: &Resources, text: &str) -> Detected {
        let features = res.lang.features(text);
        let key = features.iter().fold(features.len() as u64, |h, &x| {
            (h.rotate_left(5) ^ u64::from(x)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        });
        let seen = self.languages.entry(key).or_default();
        if let Some((_, d)) = seen.iter().find(|(f, _)| *f == features) {
            return d.clone();
        }
        let d = res.lang.detect_features(&features);
        seen.push((features, d.clone()));
        d
    }

    /// `sum(1 for w in nltk.word_tokenize(text) if w.isupper())`. A token is all-capital only
    /// if it holds an uppercase letter, so sentences without one are not tokenized.
    fn capital_words(&mut self, res: &Resources, text: &str) -> usize {
        if !text.chars().any(char::is_uppercase) {
            return 0;
        }
        let mut n = 0;
        for (s, e) in res.punkt.sentence_spans(text) {
            let sentence = if s < e { &text[s..e] } else { "" };
            if !sentence.chars().any(char::is_uppercase) {
                continue;
            }
            n += match self.sentence_capitals.get(sentence) {
                Some(&k) => k,
                None => {
                    let k = treebank::tokenize_sentence(sentence)
                        .iter()
                        .filter(|w| pystr::is_upper_str(w))
                        .count();
                    self.sentence_capitals.insert(sentence.to_string(), k);
                    k
                }
            };
        }
        n
    }
}

fn language_ok(
    res: &Resources,
    memo: &mut Memo,
    text: &str,
    want: &str,
    detail: bool,
) -> (bool, String) {
    match memo.detect(res, text) {
        Detected::Lang(l) => (
            l == want,
            if detail {
                format!("detected language {l:?}")
            } else {
                String::new()
            },
        ),
        Detected::Unknown => (
            false,
            if detail {
                "detected language \"unknown\"".into()
            } else {
                String::new()
            },
        ),
        // The reference counts a detection failure as followed.
        Detected::NoFeatures => (
            true,
            if detail {
                "no features to detect a language".into()
            } else {
                String::new()
            },
        ),
    }
}

/// `check_following` of one instruction on one response.
pub fn check(res: &Resources, ins: &Instruction, value: &str, detail: bool) -> Check {
    check_with(res, &mut Memo::default(), ins, value, detail)
}

/// [`check`], reusing (and filling) `memo` -- for the checks of one sample.
pub fn check_with(
    res: &Resources,
    memo: &mut Memo,
    ins: &Instruction,
    value: &str,
    detail: bool,
) -> Check {
    use Instruction as I;
    macro_rules! d {
        ($($t:tt)*) => { if detail { format!($($t)*) } else { String::new() } };
    }
    if let Some(dfr) = ins.deferred() {
        return Check {
            ok: false,
            detail: d!("needs Python's re for {:?}", dfr.patterns),
        };
    }
    let (ok, detail) = match ins {
        I::KeywordsExistence(words) => {
            let missing: Vec<&str> = words
                .iter()
                .filter(|p| !p.is_match(value))
                .map(|p| p.source.as_str())
                .collect();
            (missing.is_empty(), d!("missing keywords {missing:?}"))
        }
        I::KeywordFrequency {
            keyword,
            frequency,
            relation,
        } => {
            let n = keyword.count(value);
            (
                relation.holds(n, *frequency),
                d!(
                    "{:?} occurs {n} times, need {} {frequency}",
                    keyword.source,
                    relation.as_str()
                ),
            )
        }
        I::ForbiddenWords(words) => {
            let found: Vec<&str> = words
                .iter()
                .filter(|w| w.found(value))
                .map(|w| w.word.as_str())
                .collect();
            (found.is_empty(), d!("forbidden words present {found:?}"))
        }
        I::LetterFrequency {
            letter,
            frequency,
            relation,
        } => {
            // Counter(value.lower())[letter] for an ASCII letter: only characters whose
            // lowercase contains it count (Final_Sigma only ever yields sigmas).
            let n: usize = value
                .chars()
                .map(|c| {
                    if c.is_ascii() {
                        usize::from(c.to_ascii_lowercase() == *letter)
                    } else {
                        c.to_lowercase().filter(|l| l == letter).count()
                    }
                })
                .sum();
            (
                relation.holds(n, *frequency),
                d!(
                    "letter {letter:?} occurs {n} times, need {} {frequency}",
                    relation.as_str()
                ),
            )
        }
        I::ResponseLanguage(lang) => language_ok(res, memo, value, lang, detail),
        I::NumberSentences {
            threshold,
            relation,
        } => {
            let n = res.punkt.count_sentences(value);
            (
                relation.holds(n, *threshold),
                d!("{n} sentences, need {} {threshold}", relation.as_str()),
            )
        }
        I::NumberParagraphs(want) => {
            static R: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
            let re = static_re(&R, r"[\s\x1C-\x1F]?\*\*\*[\s\x1C-\x1F]?", false);
            let parts: Vec<&str> = re.split(value).collect();
            let mut n = parts.len();
            let mut inner_empty = false;
            for (i, p) in parts.iter().enumerate() {
                if pystr::strip(p).is_empty() {
                    if i == 0 || i == parts.len() - 1 {
                        n -= 1;
                    } else {
                        inner_empty = true;
                        break;
                    }
                }
            }
            if inner_empty {
                (false, d!("an empty paragraph between two *** dividers"))
            } else {
                (n as f64 == *want, d!("{n} paragraphs, need exactly {want}"))
            }
        }
        I::NumberWords {
            threshold,
            relation,
        } => {
            let n = count_words(value);
            (
                relation.holds(n, *threshold),
                d!("{n} words, need {} {threshold}", relation.as_str()),
            )
        }
        I::NthParagraphFirstWord {
            num_paragraphs,
            nth,
            first_word,
        } => {
            let parts: Vec<&str> = value.split("\n\n").collect();
            let n = parts.len() - parts.iter().filter(|p| pystr::strip(p).is_empty()).count();
            if *nth as usize > n || *nth < 1 {
                (false, d!("only {n} paragraphs, no paragraph {nth}"))
            } else {
                let para = pystr::strip(parts[*nth as usize - 1]);
                if para.is_empty() {
                    (false, d!("paragraph {nth} is empty"))
                } else {
                    let word = pystr::split_ws(para).next().unwrap_or("");
                    let word = pystr::lstrip_chars(pystr::lstrip_chars(word, &['\'']), &['"']);
                    let mut got = String::new();
                    for ch in word.chars() {
                        if matches!(ch, '.' | ',' | '?' | '!' | '\'' | '"') {
                            break;
                        }
                        got.push_str(&pystr::lower(&ch.to_string()));
                    }
                    (
                        n as i64 == *num_paragraphs && got == *first_word,
                        d!(
                            "{n} paragraphs (need {num_paragraphs}), paragraph {nth} starts \
                             with {got:?} (need {first_word:?})"
                        ),
                    )
                }
            }
        }
        I::NumberPlaceholders(want) => {
            static R: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
            let n = count_matches(static_re(&R, r"\[.*?\]", false), value);
            (
                n as f64 >= *want,
                d!("{n} [placeholders], need at least {want}"),
            )
        }
        I::Postscript(p) => {
            let found = p.is_match(&pystr::lower(value));
            (
                found,
                d!("postscript pattern {:?} found: {found}", p.source),
            )
        }
        I::NumberBulletLists(want) => {
            static R1: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
            static R2: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
            let n = count_matches(static_re(&R1, r"^[\s\x1C-\x1F]*\*[^*].*$", true), value)
                + count_matches(static_re(&R2, r"^[\s\x1C-\x1F]*-.*$", true), value);
            (
                n as f64 == *want,
                d!("{n} bullet points, need exactly {want}"),
            )
        }
        I::ConstrainedResponse => {
            let v = pystr::strip(value);
            let ok = CONSTRAINED_OPTIONS.iter().any(|o| v.contains(o));
            (ok, d!("none of {CONSTRAINED_OPTIONS:?} present"))
        }
        I::NumberHighlightedSections(want) => {
            static R1: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
            static R2: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
            let mut n = 0usize;
            for m in static_re(&R1, r"\*[^\n*]*\*", false).find_iter(value) {
                if !pystr::strip(pystr::strip_chars(m.as_str(), &['*'])).is_empty() {
                    n += 1;
                }
            }
            for m in static_re(&R2, r"\*\*[^\n*]*\*\*", false).find_iter(value) {
                let s = m.as_str();
                if !pystr::strip(&s[2..s.len() - 2]).is_empty() {
                    n += 1;
                }
            }
            (
                n as f64 >= *want,
                d!("{n} highlighted sections, need at least {want}"),
            )
        }
        I::MultipleSections {
            splitter,
            num_sections,
        } => {
            let n = splitter.split_count(value);
            (
                n as f64 >= *num_sections,
                d!("{n} sections, need at least {num_sections}"),
            )
        }
        I::JsonFormat => {
            let mut v = pystr::strip(value);
            for p in ["```json", "```Json", "```JSON", "```"] {
                v = v.strip_prefix(p).unwrap_or(v);
            }
            v = v.strip_suffix("```").unwrap_or(v);
            let ok = pyjson::python_json_loads_ok(pystr::strip(v));
            (ok, d!("not valid JSON (json.loads raises)"))
        }
        I::Title => {
            static R: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
            let ok = static_re(&R, r"<<[^\n]+>>", false)
                .find_iter(value)
                .any(|m| {
                    let t = pystr::rstrip_chars(pystr::lstrip_chars(m.as_str(), &['<']), &['>']);
                    !pystr::strip(t).is_empty()
                });
            (ok, d!("no non-empty <<title>>"))
        }
        I::TwoResponses => {
            let parts: Vec<&str> = value.split("******").collect();
            let mut valid = Vec::new();
            let mut inner_empty = false;
            for (i, p) in parts.iter().enumerate() {
                if pystr::strip(p).is_empty() {
                    if i != 0 && i != parts.len() - 1 {
                        inner_empty = true;
                        break;
                    }
                } else {
                    valid.push(*p);
                }
            }
            let ok = !inner_empty
                && valid.len() == 2
                && pystr::strip(valid[0]) != pystr::strip(valid[1]);
            (
                ok,
                d!(
                    "{} non-empty responses separated by ******, need 2 different",
                    valid.len()
                ),
            )
        }
        I::RepeatPrompt(p) => {
            let ok = pystr::lower(pystr::strip(value)).starts_with(p.as_str());
            (ok, d!("does not start with the prompt"))
        }
        I::EndChecker(phrase) => {
            let v = pystr::lower(pystr::strip_chars(pystr::strip(value), &['"']));
            let ok = v.ends_with(phrase.as_str());
            (ok, d!("does not end with {phrase:?}"))
        }
        I::CapitalWordFrequency {
            frequency,
            relation,
        } => {
            let n = memo.capital_words(res, value);
            (
                relation.holds(n, *frequency),
                d!(
                    "{n} all-capital words, need {} {frequency}",
                    relation.as_str()
                ),
            )
        }
        I::EnglishCapital => {
            if !pystr::is_upper_str(value) {
                (false, d!("not all capital letters"))
            } else {
                language_ok(res, memo, value, "en", detail)
            }
        }
        I::EnglishLowercase => {
            if !pystr::is_lower_str(value) {
                (false, d!("not all lowercase letters"))
            } else {
                language_ok(res, memo, value, "en", detail)
            }
        }
        I::NoComma => (!value.contains(','), d!("contains a comma")),
        I::IfBench(c) => (ifbench::check(c, value), d!("not followed")),
        I::Quotation => {
            let v = pystr::strip(value);
            let ok = v.chars().count() > 1 && v.starts_with('"') && v.ends_with('"');
            (ok, d!("not wrapped in double quotes"))
        }
    };
    Check { ok, detail }
}

/// IFEval's loose-mode variants of a response: as is, `*` removed, first and/or last line
/// removed (in the reference's order).
pub fn loose_variants(response: &str) -> Vec<String> {
    let lines: Vec<&str> = response.split('\n').collect();
    let join = |ls: &[&str]| pystr::strip(&ls.join("\n")).to_string();
    let n = lines.len();
    let first = join(&lines[1.min(n)..]);
    let last = join(&lines[..n.saturating_sub(1)]);
    let both = if n >= 2 {
        join(&lines[1..n - 1])
    } else {
        String::new()
    };
    let nostar = |s: &str| s.replace('*', "");
    vec![
        response.to_string(),
        nostar(response),
        first.clone(),
        last.clone(),
        both.clone(),
        nostar(&first),
        nostar(&last),
        nostar(&both),
    ]
}

/// One sample for the judge.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub prompt: String,
    pub response: String,
    pub instruction_ids: Vec<String>,
    pub kwargs: Vec<Kwargs>,
}

/// Per-instruction outcome: followed, plus a human-readable detail (explain mode). When
/// `deferred` is set, `followed` is undecided (false) and the caller must run that check with
/// Python's `re`.
#[derive(Debug, Clone, PartialEq)]
pub struct InstructionResult {
    pub id: String,
    pub followed: bool,
    pub detail: String,
    pub deferred: Option<Deferred>,
}

/// Builds every sample's instructions, failing on the first bad id or kwargs.
pub fn build_all(samples: &[Sample]) -> Result<Vec<Vec<Instruction>>, CoreError> {
    samples
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if s.kwargs.len() != s.instruction_ids.len() {
                return Err(CoreError::invalid_at(
                    i,
                    "kwargs",
                    format!(
                        "{} instruction ids but {} kwargs dicts",
                        s.instruction_ids.len(),
                        s.kwargs.len()
                    ),
                ));
            }
            s.instruction_ids
                .iter()
                .zip(&s.kwargs)
                .map(|(id, kw)| {
                    build(id, kw, &s.prompt)
                        .map_err(|m| CoreError::invalid_at(i, "instruction_id_list", m))
                })
                .collect()
        })
        .collect()
}

/// Evaluates one sample's instructions in strict or loose mode.
pub fn evaluate_one(
    res: &Resources,
    instructions: &[Instruction],
    ids: &[String],
    response: &str,
    loose: bool,
    detail: bool,
) -> Vec<InstructionResult> {
    let mut variants = if loose {
        loose_variants(response)
    } else {
        vec![response.to_string()]
    };
    // Loose mode asks whether *any* variant passes: identical variants (a response without
    // asterisks, or with a single line) need checking once. Blank ones never pass.
    let mut memo = Memo::default();
    // At most eight variants: comparing them directly beats hashing each whole text.
    let mut kept: Vec<String> = Vec::with_capacity(variants.len());
    for v in variants.drain(..) {
        if !pystr::strip(&v).is_empty() && !kept.contains(&v) {
            kept.push(v);
        }
    }
    let variants = kept;
    instructions
        .iter()
        .zip(ids)
        .map(|(ins, id)| {
            if let Some(d) = ins.deferred() {
                return InstructionResult {
                    id: id.clone(),
                    followed: false,
                    detail: String::new(),
                    deferred: Some(d),
                };
            }
            let mut last_detail = if detail && variants.is_empty() {
                "empty response".to_string()
            } else {
                String::new()
            };
            let mut followed = false;
            for v in &variants {
                let c = check_with(res, &mut memo, ins, v, detail);
                if c.ok {
                    followed = true;
                    last_detail = String::new();
                    break;
                }
                if last_detail.is_empty() {
                    last_detail = c.detail;
                }
            }
            InstructionResult {
                id: id.clone(),
                followed,
                detail: if followed { String::new() } else { last_detail },
                deferred: None,
            }
        })
        .collect()
}

/// Evaluates a batch (in parallel). A panic inside one sample yields `Err(message)` for it.
pub fn evaluate(
    res: &Resources,
    samples: &[Sample],
    loose: bool,
    detail: bool,
) -> Result<Vec<Result<Vec<InstructionResult>, String>>, CoreError> {
    let built = build_all(samples)?;
    let items: Vec<(usize, &Sample)> = samples.iter().enumerate().collect();
    Ok(par_map_catch(
        &items,
        |_, (i, s)| {
            Ok(evaluate_one(
                res,
                &built[*i],
                &s.instruction_ids,
                &s.response,
                loose,
                detail,
            ))
        },
        |_, msg| Err(msg),
    ))
}

#[cfg(test)]
mod tests;
