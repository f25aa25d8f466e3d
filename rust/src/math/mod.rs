//! The math answer judge: extract the final answer, parse both it and the gold answer into
//! exact values, and decide equivalence within a budget.
//!
//! Pipeline per sample: [`extract`] (configurable strategy order) -> [`normalize`] ->
//! identical strings? -> multiple-choice letter? -> [`parse`] + [`eval`] into exact values ->
//! [`eval::equivalent`]; answers that are not mathematics are compared as normalised text.
//! A batch prepares each distinct gold answer once and judges samples on the rayon pool;
//! a panic costs one sample (`Verdict::Error`, reason `panic`).

pub mod budget;
pub mod eval;
pub mod extract;
pub mod modular;
pub mod normalize;
pub mod parse;
pub mod poly;
pub mod products;

use std::collections::HashMap;
use std::time::Duration;

use num_traits::Zero;

use crate::batch::par_map_catch;
use crate::verdict::{Outcome, Verdict};

pub use budget::{Budget, Fail};
pub use eval::Val;
pub use extract::{extract, Strategy, DEFAULT_ORDER};

/// How the judge extracts and how much it may spend.
#[derive(Debug, Clone)]
pub struct MathConfig {
    /// Extraction strategies, tried in order.
    pub extraction: Vec<Strategy>,
    /// Wall-clock budget of one decision (gold preparation has its own).
    pub timeout: Duration,
    /// Work-unit budget of one decision (deterministic, unlike the clock).
    pub max_steps: u64,
}

impl Default for MathConfig {
    fn default() -> Self {
        MathConfig {
            extraction: DEFAULT_ORDER.to_vec(),
            timeout: Duration::from_millis(100),
            max_steps: 2_000_000,
        }
    }
}

/// A gold answer, parsed once per batch.
#[derive(Debug)]
pub struct Gold {
    norm: String,
    choice: Option<char>,
    node: Result<parse::Node, Fail>,
    value: Result<Val, Fail>,
}

/// A multiple-choice letter: `B`, `(B)`, `B)`, `\text{(B)}` (A to J, upper case).
fn choice_letter(norm: &str) -> Option<char> {
    let t = norm.trim();
    let t = t.strip_prefix('(').unwrap_or(t);
    let mut chars = t.chars();
    let c = chars.next()?;
    if !('A'..='J').contains(&c) {
        return None;
    }
    let rest = chars.as_str().trim_start();
    let rest = rest.strip_prefix(')').unwrap_or(rest);
    (rest.is_empty()).then_some(c)
}

/// The letter a response picked: the whole answer, or a leading `(B)`/`B)`/`B.`/`B:` label.
fn answer_letter(norm: &str) -> Option<char> {
    if let Some(c) = choice_letter(norm) {
        return Some(c);
    }
    let t = norm.trim();
    let (t, paren) = match t.strip_prefix('(') {
        Some(r) => (r, true),
        None => (t, false),
    };
    let mut chars = t.chars();
    let c = chars.next()?;
    let next = chars.next()?;
    let label = if paren {
        next == ')'
    } else {
        matches!(next, ')' | '.' | ':')
    };
    (('A'..='J').contains(&c) && label).then_some(c)
}

/// Text comparison key: lower case, no spaces, braces or outer punctuation.
fn text_key(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '{' | '}' | '\\'))
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .trim_matches(|c: char| matches!(c, '.' | ',' | ';' | ':' | '!'))
        .to_string()
}

/// Parses and evaluates a gold answer. A gold that is a worked solution is reduced to its own
/// final answer first (its boxes, "The final answer is", "####", "Answer:", in that order).
pub fn prepare_gold(answer: &str, cfg: &MathConfig) -> Gold {
    let mut b = Budget::new(cfg.timeout, cfg.max_steps);
    let extracted = extract::extract(answer, &DEFAULT_ORDER).map(|(_, a)| a);
    let raw = extracted.as_deref().unwrap_or(answer);
    let norm = match normalize::normalize(raw, &mut b) {
        Ok(n) => n,
        Err(e) => {
            return Gold {
                norm: String::new(),
                choice: None,
                node: Err(e),
                value: Err(e),
            }
        }
    };
    let choice = choice_letter(&norm);
    let node = parse::parse(&norm, &mut b);
    let value = match &node {
        Ok(n) => eval::eval(n, &mut b),
        Err(e) => Err(*e),
    };
    Gold {
        norm,
        choice,
        node,
        value,
    }
}

fn clip(s: &str) -> String {
    if s.len() <= 200 {
        return s.to_string();
    }
    let mut end = 200;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// Judges one completion against a prepared gold answer. The outcome's detail is the extracted
/// answer (clipped to 200 bytes).
pub fn judge_one(completion: &str, gold: &Gold, cfg: &MathConfig) -> Outcome {
    match extract::extract(completion, &cfg.extraction) {
        Some((_, extracted)) => judge_extracted(&extracted, gold, cfg),
        None => Outcome::violated("no_answer", ""),
    }
}

/// Judges an already-extracted answer against a prepared gold answer.
pub fn judge_extracted(extracted: &str, gold: &Gold, cfg: &MathConfig) -> Outcome {
    let detail = clip(extracted);
    let verdict = |ok: bool| {
        if ok {
            Outcome::new(Verdict::Satisfied, "equivalent", detail.clone())
        } else {
            Outcome::new(Verdict::Violated, "not_equivalent", detail.clone())
        }
    };
    let mut b = Budget::new(cfg.timeout, cfg.max_steps);
    let norm = match normalize::normalize(extracted, &mut b) {
        Ok(n) => n,
        Err(_) => return Outcome::error("budget_exceeded", detail),
    };
    if norm.is_empty() {
        return Outcome::violated("no_answer", detail);
    }
    if norm == gold.norm {
        return verdict(true);
    }
    if let Some(letter) = gold.choice {
        return verdict(answer_letter(&norm) == Some(letter));
    }
    match decide(&norm, gold, &mut b) {
        Ok(ok) => verdict(ok),
        Err(Fail::Invalid) => verdict(false),
        Err(_) => Outcome::error("budget_exceeded", detail),
    }
}

fn decide(norm: &str, gold: &Gold, b: &mut Budget) -> Result<bool, Fail> {
    let node = parse::parse(norm, b);
    // An answer that may be costly to compute exactly (factorials, binomials, big powers) is
    // first checked mod p: a different residue settles it in microseconds.
    if let (Ok(gn), Ok(an)) = (&gold.node, &node) {
        if (modular::costly(gn) || modular::costly(an))
            && modular::differ(&modular::residues(gn, b)?, &modular::residues(an, b)?)
        {
            return Ok(false);
        }
    }
    match (&gold.value, &node) {
        (Ok(gv), Ok(an)) => match eval::eval(an, b) {
            Ok(av) => eval::equivalent(gv, &av, b),
            Err(Fail::Invalid) => Ok(false),
            Err(e) => match equal_products(gold, an, b)? {
                Some(equal) => Ok(equal),
                None => provably_different(gold, an, b)?.then_some(false).ok_or(e),
            },
        },
        (Err(Fail::Invalid), _) | (_, Err(Fail::Invalid)) => {
            // At least one side is not mathematics: compare as text.
            Ok(text_key(norm) == text_key(&gold.norm))
        }
        (Err(_), Ok(an)) => match equal_products(gold, an, b)? {
            Some(equal) => Ok(equal),
            None => provably_different(gold, an, b)?
                .then_some(false)
                .ok_or(Fail::Budget),
        },
        (_, Err(e)) => Err(*e),
    }
}

/// Both answers are products too big to compute: compare their factorisations.
fn equal_products(gold: &Gold, answer: &parse::Node, b: &mut Budget) -> Result<Option<bool>, Fail> {
    match &gold.node {
        Ok(gn) => products::equal_products(gn, answer, b),
        Err(_) => Ok(None),
    }
}

/// What exact evaluation could not afford, settled by reasoning about the values instead:
/// their residues modulo large primes differ ([`modular`]), or their sizes do.
fn provably_different(gold: &Gold, answer: &parse::Node, b: &mut Budget) -> Result<bool, Fail> {
    let Ok(gn) = &gold.node else { return Ok(false) };
    if modular::differ(&modular::residues(gn, b)?, &modular::residues(answer, b)?) {
        return Ok(true);
    }
    Ok(magnitude_differs(gold, answer))
}

/// `true` when the sizes of the two numbers provably differ (an exponent tower against an
/// ordinary number).
fn magnitude_differs(gold: &Gold, answer: &parse::Node) -> bool {
    let Ok(gn) = &gold.node else { return false };
    let zero = |n: &parse::Node| matches!(n, parse::Node::Int(x) if x.is_zero());
    // A size estimate exists only for a nonzero value (`1000000!` is not 0).
    if (zero(gn) && parse::approx_log2(answer).is_some())
        || (zero(answer) && parse::approx_log2(gn).is_some())
    {
        return true;
    }
    match (parse::approx_log2(gn), parse::approx_log2(answer)) {
        (Some((x, e)), Some((y, f))) => {
            // Past f64's range the estimate only says "astronomically large".
            match (x.is_infinite(), y.is_infinite()) {
                (true, true) => return false,
                (true, false) | (false, true) => return true,
                _ => {}
            }
            (x - y).abs() > e + f + 2.0
        }
        _ => false,
    }
}

/// Judges a batch of `(completion, gold answer)` pairs; each distinct gold is prepared once.
pub fn judge_batch(completions: &[String], golds: &[String], cfg: &MathConfig) -> Vec<Outcome> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut distinct: Vec<&str> = Vec::new();
    let slots: Vec<usize> = golds
        .iter()
        .map(|g| {
            *index.entry(g.as_str()).or_insert_with(|| {
                distinct.push(g.as_str());
                distinct.len() - 1
            })
        })
        .collect();
    let prepared: Vec<Option<Gold>> =
        par_map_catch(&distinct, |_, g| Some(prepare_gold(g, cfg)), |_, _| None);
    let items: Vec<(usize, &String)> = slots.into_iter().zip(completions).collect();
    par_map_catch(
        &items,
        |_, (slot, completion)| match &prepared[*slot] {
            Some(gold) => judge_one(completion, gold, cfg),
            None => Outcome::error("panic", "preparing the gold answer panicked"),
        },
        |_, msg| Outcome::error("panic", msg),
    )
}

/// One decision: is `answer` (already extracted) equivalent to `gold`?
pub fn equivalent(gold: &str, answer: &str, cfg: &MathConfig) -> Outcome {
    let answer = answer.trim();
    if answer.is_empty() {
        return Outcome::violated("no_answer", "");
    }
    judge_extracted(answer, &prepare_gold(gold, cfg), cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(completion: &str, gold: &str) -> Outcome {
        let cfg = MathConfig::default();
        judge_one(completion, &prepare_gold(gold, &cfg), &cfg)
    }

    fn v(completion: &str, gold: &str) -> Verdict {
        judge(completion, gold).verdict
    }

    #[test]
    fn end_to_end() {
        assert_eq!(v(r"so \boxed{\frac{1}{2}}", "0.5"), Verdict::Satisfied);
        assert_eq!(v("The final answer is 1,000.", "1000"), Verdict::Satisfied);
        assert_eq!(v("#### 7", "8"), Verdict::Violated);
        let o = judge("no answer here", "3");
        assert_eq!(
            (o.verdict, o.reason.as_str()),
            (Verdict::Violated, "no_answer")
        );
        assert_eq!(v(r"\boxed{\text{Monday}}", "monday"), Verdict::Satisfied);
        assert_eq!(v(r"\boxed{\text{Tuesday}}", "monday"), Verdict::Violated);
        assert_eq!(v(r"\boxed{(B)}", "B"), Verdict::Satisfied);
        assert_eq!(v(r"\boxed{B) 42}", "(B)"), Verdict::Satisfied);
        assert_eq!(v(r"\boxed{C}", "B"), Verdict::Violated);
        assert_eq!(v(r"\boxed{5}", r"\text{no solution}"), Verdict::Violated);
    }

    #[test]
    fn hostile_inputs_return_quickly() {
        let tower = r"\boxed{2^{2^{2^{2^{2^{2^{2}}}}}}}";
        let o = judge(tower, "5");
        assert_eq!(o.verdict, Verdict::Violated, "{o:?}");
        let o = judge(tower, r"2^{2^{2^{2^{2^{2^{3}}}}}}");
        assert_ne!(o.verdict, Verdict::Satisfied);
        assert_eq!(
            judge(
                tower,
                tower.trim_start_matches(r"\boxed{").trim_end_matches('}')
            )
            .verdict,
            Verdict::Satisfied
        );
        let deep = format!(r"\boxed{{{}1{}}}", "(".repeat(300), ")".repeat(300));
        assert_eq!(v(&deep, "1"), Verdict::Satisfied);
        let signs = format!(r"\boxed{{{}1}}", "-".repeat(1000));
        assert_eq!(v(&signs, "1"), Verdict::Satisfied);
        let roots = format!(r"\boxed{{{}1{}}}", r"\sqrt{".repeat(100), "}".repeat(100));
        assert_eq!(v(&roots, "1"), Verdict::Error);
        let mega = "x".repeat(1 << 20) + r"\boxed{3}";
        assert_eq!(v(&mega, "3"), Verdict::Satisfied);
        let mega_box = format!(r"\boxed{{{}}}", "1+".repeat(300_000) + "1");
        let o = judge(&mega_box, "300001");
        assert!(o.verdict != Verdict::Violated || o.reason == "not_equivalent");
        assert_eq!(v("\\boxed{\0\u{202e}\u{1F600}}", "3"), Verdict::Violated);
        assert_eq!(v(r"\boxed{\frac{1}{0}}", "1"), Verdict::Violated);
        // Too many terms to expand, but its value at a point mod p is not 1.
        assert_eq!(v(r"\boxed{(x+y+z+w)^{400}}", "1"), Verdict::Violated);
        assert_eq!(
            v(r"\boxed{2^{1000000}+1}", "2^{1000000}"),
            Verdict::Violated
        );
    }

    #[test]
    fn batch_prepares_each_gold_once_and_keeps_order() {
        let completions: Vec<String> = ["\\boxed{1}", "\\boxed{2}", "\\boxed{3}"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let golds: Vec<String> = ["1", "1", "3"].iter().map(|s| s.to_string()).collect();
        let out = judge_batch(&completions, &golds, &MathConfig::default());
        let verdicts: Vec<Verdict> = out.iter().map(|o| o.verdict).collect();
        assert_eq!(
            verdicts,
            vec![Verdict::Satisfied, Verdict::Violated, Verdict::Satisfied]
        );
    }

    #[test]
    fn equivalent_of_extracted_answers() {
        let cfg = MathConfig::default();
        assert_eq!(
            equivalent("x^2+2x+1", "(x+1)^2", &cfg).verdict,
            Verdict::Satisfied
        );
        assert_eq!(equivalent("1", "}{", &cfg).verdict, Verdict::Violated);
    }
}
