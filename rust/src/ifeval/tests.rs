//! Hand-worked verdicts for the checkers that need no data tables (the data-driven ones --
//! sentences, capital words, language -- are tested from Python against the reference).

use super::*;

fn run(id: &str, kwargs: &[(&str, KwValue)], response: &str) -> bool {
    let kw: Kwargs = kwargs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let ins = build(id, &kw, "").expect("valid instruction");
    check(&Resources::default(), &ins, response, true).ok
}

fn s(x: &str) -> KwValue {
    KwValue::Str(x.to_string())
}

#[test]
fn keyword_checks() {
    let kw = [("keywords", KwValue::List(vec![s("cat"), s("d.g")]))];
    assert!(run("keywords:existence", &kw, "A CAT and a dog"));
    assert!(!run("keywords:existence", &kw, "A cat only"));
    let f = |n: i64, rel: &str, text: &str| {
        run(
            "keywords:frequency",
            &[
                ("keyword", s(" the ")),
                ("frequency", KwValue::Int(n)),
                ("relation", s(rel)),
            ],
            text,
        )
    };
    // Substring counting: "There" and "other" contain "the".
    assert!(f(3, "at least", "the There other"));
    assert!(!f(3, "less than", "the There other"));
    assert!(f(4, "less than", "the There other"));
    let fw = [("forbidden_words", KwValue::List(vec![s("cat")]))];
    assert!(run("keywords:forbidden_words", &fw, "concatenate"));
    assert!(!run("keywords:forbidden_words", &fw, "a Cat!"));
    assert!(run("keywords:forbidden_words", &fw, "cat_x"));
}

#[test]
fn falsy_kwargs_fall_back_to_documented_defaults() {
    // frequency 0 is dropped -> default 1, relation missing -> "at least".
    let kw = [
        ("keyword", s("a")),
        ("frequency", KwValue::Int(0)),
        ("relation", KwValue::None),
    ];
    assert!(run("keywords:frequency", &kw, "a"));
    assert!(!run("keywords:frequency", &kw, "b"));
}

#[test]
fn bad_input_is_an_error() {
    assert!(build("keywords:nope", &[], "").is_err());
    let kw = vec![("relation".to_string(), s("at most"))];
    assert!(build("length_constraints:number_words", &kw, "").is_err());
    let kw = vec![("bogus".to_string(), KwValue::Int(1))];
    assert!(build("punctuation:no_comma", &kw, "").is_err());
}

#[test]
fn format_checks() {
    let p = |n: i64, text: &str| {
        run(
            "length_constraints:number_paragraphs",
            &[("num_paragraphs", KwValue::Int(n))],
            text,
        )
    };
    assert!(p(2, "a *** b"));
    assert!(p(2, "*** a *** b ***"));
    assert!(!p(2, "a *** *** b"));
    assert!(!p(3, "a *** b"));
    let h = |n: i64, text: &str| {
        run(
            "detectable_format:number_highlighted_sections",
            &[("num_highlights", KwValue::Int(n))],
            text,
        )
    };
    assert!(h(2, "*a* and **b**"));
    assert!(!h(2, "* * and *a*"));
    let b = |n: i64, text: &str| {
        run(
            "detectable_format:number_bullet_lists",
            &[("num_bullets", KwValue::Int(n))],
            text,
        )
    };
    assert!(b(3, "* a\n* b\n- c"));
    assert!(!b(3, "* a\n** b\n- c"));
    assert!(run(
        "detectable_format:json_format",
        &[],
        "```json\n{\"a\": NaN}\n```"
    ));
    assert!(!run("detectable_format:json_format", &[], "{'a': 1}"));
    assert!(run("detectable_format:title", &[], "<<Joy>> x"));
    assert!(!run("detectable_format:title", &[], "<< >> x"));
    assert!(run("combination:two_responses", &[], "a ****** b"));
    assert!(!run("combination:two_responses", &[], "a ****** a"));
    assert!(run("startend:quotation", &[], " \"hi\" "));
    assert!(!run("startend:quotation", &[], "\""));
    assert!(run("punctuation:no_comma", &[], "a b"));
    let sec = [
        ("section_spliter", s("Section")),
        ("num_sections", KwValue::Int(2)),
    ];
    assert!(run(
        "detectable_format:multiple_sections",
        &sec,
        "Section 1 a\nSection 2 b"
    ));
    assert!(!run(
        "detectable_format:multiple_sections",
        &sec,
        "Section 1 a"
    ));
    let ps = [("postscript_marker", s("P.S."))];
    assert!(run("detectable_content:postscript", &ps, "hi\np. s. bye"));
    assert!(!run("detectable_content:postscript", &ps, "hi\nPS bye"));
}

#[test]
fn nth_paragraph_first_word() {
    let kw = [
        ("num_paragraphs", KwValue::Int(2)),
        ("nth_paragraph", KwValue::Int(2)),
        ("first_word", s("Then")),
    ];
    assert!(run(
        "length_constraints:nth_paragraph_first_word",
        &kw,
        "A b.\n\n\"Then, c."
    ));
    assert!(!run(
        "length_constraints:nth_paragraph_first_word",
        &kw,
        "A b.\n\nNow c."
    ));
    assert!(!run(
        "length_constraints:nth_paragraph_first_word",
        &kw,
        "A b.\n\nThen\n\nc"
    ));
}

#[test]
fn loose_variants_follow_ifeval() {
    let v = loose_variants("Sure:\n*hello*\nBye");
    assert_eq!(v.len(), 8);
    assert_eq!(v[1], "Sure:\nhello\nBye");
    assert_eq!(v[2], "*hello*\nBye");
    assert_eq!(v[4], "*hello*");
    assert_eq!(v[7], "hello");
}

#[test]
fn huge_and_odd_inputs_do_not_panic() {
    let big = "word, *x* [y] ***\n\n".repeat(100_000);
    for id in INSTRUCTION_IDS {
        let kw: Kwargs = match id {
            "keywords:existence" => vec![("keywords".into(), KwValue::List(vec![s("x")]))],
            "keywords:frequency" => vec![("keyword".into(), s("x"))],
            "keywords:forbidden_words" => {
                vec![("forbidden_words".into(), KwValue::List(vec![s("x")]))]
            }
            "length_constraints:nth_paragraph_first_word" => vec![("first_word".into(), s("x"))],
            "combination:repeat_prompt" => vec![("prompt_to_repeat".into(), s("x"))],
            _ => vec![],
        };
        let ins = build(id, &kw, "").unwrap();
        for text in [big.as_str(), "\0\u{fffd}\0", ""] {
            let _ = check(&Resources::default(), &ins, text, true);
        }
    }
}

#[test]
fn section_splitter_is_a_python_pattern() {
    let sections = |sp: &str, n: i64, text: &str| {
        run(
            "detectable_format:multiple_sections",
            &[
                ("section_spliter", s(sp)),
                ("num_sections", KwValue::Int(n)),
            ],
            text,
        )
    };
    // `re.split` yields the capturing group too: two splits count as four sections.
    assert!(sections("Sec(tion)?", 4, "Section 1 a Sec 2 b"));
    assert!(!sections("Sec(tion)?", 5, "Section 1 a Sec 2 b"));
    assert!(sections("Sec(?:tion)?", 2, "Section 1 a Sec 2 b"));
    assert!(!sections("Sec(?:tion)?", 3, "Section 1 a Sec 2 b"));
    assert!(sections("S.ction", 1, "SXction 1"));
}

#[test]
fn patterns_rust_cannot_reproduce_are_deferred_to_python() {
    let build1 = |id: &str, k: &str, v: KwValue| build(id, &[(k.to_string(), v)], "").unwrap();
    let ins = build1(
        "keywords:existence",
        "keywords",
        KwValue::List(vec![s("cat"), s("dog$")]),
    );
    let d = ins.deferred().expect("`$` without MULTILINE needs Python");
    assert_eq!((d.op, d.flags), ("all_search", 2));
    assert_eq!(d.patterns, vec!["cat".to_string(), "dog$".to_string()]);
    let ins = build1(
        "keywords:forbidden_words",
        "forbidden_words",
        KwValue::List(vec![s("b"), s("a.c"), s("b")]),
    );
    let d = ins
        .deferred()
        .expect("a non-plain forbidden word needs Python's \\b");
    assert_eq!(
        d.patterns,
        vec![r"\ba.c\b".to_string(), r"\bb\b".to_string()]
    );
    let ins = build1(
        "detectable_format:multiple_sections",
        "section_spliter",
        s("x*|"),
    );
    assert_eq!(ins.deferred().map(|d| d.op), Some("split"));
    assert!(!check(&Resources::default(), &ins, "x 1", false).ok);
    let ins = build1(
        "keywords:existence",
        "keywords",
        KwValue::List(vec![s("U.S.")]),
    );
    assert!(ins.deferred().is_none());
    let sample = Sample {
        prompt: String::new(),
        response: "a".into(),
        instruction_ids: vec!["detectable_content:postscript".into()],
        kwargs: vec![vec![("postscript_marker".into(), s("(?<=x)y"))]],
    };
    let out = evaluate(&Resources::default(), &[sample], false, false).unwrap();
    let r = &out[0].as_ref().unwrap()[0];
    assert!(!r.followed && r.deferred.as_ref().is_some_and(|d| d.lower && d.flags == 8));
}
