//! Bindings of the instruction-following judge (`crate::ifeval`).
//!
//! Python reads the data tables once (Punkt parameters, langdetect profiles and normalisation
//! tables) and hands them to [`load_resources`]; the returned handle is passed to every call.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::{guard, to_py_err};
use crate::error::CoreError;
use crate::ifeval::{self, langdetect, punkt, KwValue, Kwargs, Resources, Sample};

/// Loaded tables of the instruction judge (opaque; build with `ifeval_load_resources`).
#[pyclass(module = "cgpo._core", frozen)]
pub struct IfevalResources {
    inner: Arc<Resources>,
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// Builds the judge's tables from plain Python data.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (abbrev_types, collocations, sent_starters, ortho_context, langs, freqs, n_words, blocks, block_ids, latin1_excluded, cjk_map, vi_alphabet, vi_dmarks, vi_normalized))]
fn ifeval_load_resources(
    py: Python<'_>,
    abbrev_types: Vec<String>,
    collocations: Vec<(String, String)>,
    sent_starters: Vec<String>,
    ortho_context: HashMap<String, u32>,
    langs: Vec<String>,
    freqs: Vec<HashMap<String, u64>>,
    n_words: Vec<Vec<u64>>,
    blocks: Vec<(u32, u32, u32)>,
    block_ids: HashMap<String, u32>,
    latin1_excluded: String,
    cjk_map: HashMap<String, String>,
    vi_alphabet: String,
    vi_dmarks: String,
    vi_normalized: Vec<String>,
) -> PyResult<IfevalResources> {
    if freqs.len() != langs.len() || n_words.len() != langs.len() {
        return Err(PyValueError::new_err(
            "langs, freqs and n_words must have the same length",
        ));
    }
    let id = |name: &str| -> PyResult<u32> {
        block_ids
            .get(name)
            .copied()
            .ok_or_else(|| PyValueError::new_err(format!("block_ids is missing {name}")))
    };
    let block_ids = langdetect::BlockIds {
        basic_latin: id("UNICODE_BASIC_LATIN")?,
        latin_1_supplement: id("UNICODE_LATIN_1_SUPPLEMENT")?,
        latin_extended_b: id("UNICODE_LATIN_EXTENDED_B")?,
        general_punctuation: id("UNICODE_GENERAL_PUNCTUATION")?,
        arabic: id("UNICODE_ARABIC")?,
        latin_extended_additional: id("UNICODE_LATIN_EXTENDED_ADDITIONAL")?,
        hiragana: id("UNICODE_HIRAGANA")?,
        katakana: id("UNICODE_KATAKANA")?,
        bopomofo: id("UNICODE_BOPOMOFO")?,
        bopomofo_extended: id("UNICODE_BOPOMOFO_EXTENDED")?,
        cjk_unified_ideographs: id("UNICODE_CJK_UNIFIED_IDEOGRAPHS")?,
        hangul_syllables: id("UNICODE_HANGUL_SYLLABLES")?,
    };
    let mut cjk = HashMap::new();
    for (k, v) in cjk_map {
        if let (Some(a), Some(b)) = (k.chars().next(), v.chars().next()) {
            cjk.insert(a, b);
        }
    }
    let res = py.detach(move || {
        // langdetect's `add_profile`: probability = freq / n_words[len - 1] for 1-3-grams.
        // Longer "words" can never be looked up (n-grams have 1-3 characters): skipped.
        let mut index: HashMap<u64, u32, langdetect::BuildNgramHasher> = HashMap::default();
        let mut rows: Vec<Vec<(u16, f64)>> = Vec::new();
        for (l, (freq, nw)) in freqs.iter().zip(&n_words).enumerate() {
            for (word, &f) in freq {
                let cs: Vec<char> = word.chars().collect();
                let Some(key) = langdetect::pack_ngram(&cs) else {
                    continue;
                };
                if let Some(&n) = nw.get(cs.len() - 1) {
                    let r = *index.entry(key).or_insert_with(|| {
                        rows.push(Vec::new());
                        (rows.len() - 1) as u32
                    });
                    rows[r as usize].push((l as u16, f as f64 / n as f64));
                }
            }
        }
        for v in rows.iter_mut() {
            v.sort_by_key(|e| e.0);
        }
        let mut blocks = blocks;
        blocks.sort_unstable();
        Resources {
            punkt: punkt::PunktParams {
                abbrev_types: abbrev_types.into_iter().collect::<HashSet<_>>(),
                collocations: collocations.into_iter().collect(),
                sent_starters: sent_starters.into_iter().collect(),
                ortho_context,
            },
            lang: langdetect::LangDetectTables {
                langs,
                index,
                rows,
                blocks,
                block_ids,
                latin1_excluded: chars(&latin1_excluded),
                cjk_map: cjk,
                vi_alphabet: chars(&vi_alphabet),
                vi_dmarks: chars(&vi_dmarks),
                vi_normalized: vi_normalized.iter().map(|s| chars(s)).collect(),
                ascii_rows: Default::default(),
            },
        }
    });
    Ok(IfevalResources {
        inner: Arc::new(res),
    })
}

fn kw_value(v: &Bound<'_, PyAny>) -> KwValue {
    if v.is_none() {
        KwValue::None
    } else if let Ok(b) = v.cast::<PyBool>() {
        KwValue::Bool(b.is_true())
    } else if v.is_instance_of::<PyInt>() {
        match v.extract::<i64>() {
            Ok(i) => KwValue::Int(i),
            // Beyond i64: only compared with counts, so a float keeps the verdict.
            Err(_) => KwValue::Float(v.extract::<f64>().unwrap_or(f64::INFINITY)),
        }
    } else if let Ok(f) = v.cast::<PyFloat>() {
        KwValue::Float(f.value())
    } else if let Ok(s) = v.cast::<PyString>() {
        KwValue::Str(s.to_string_lossy().into_owned())
    } else if let Ok(l) = v.cast::<PyList>() {
        KwValue::List(l.iter().map(|x| kw_value(&x)).collect())
    } else if let Ok(t) = v.cast::<PyTuple>() {
        KwValue::List(t.iter().map(|x| kw_value(&x)).collect())
    } else {
        KwValue::Other(
            v.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "object".into()),
        )
    }
}

fn to_samples(items: &Bound<'_, PyList>) -> PyResult<Vec<Sample>> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let (prompt, response, ids, kwargs): (String, String, Vec<String>, Bound<'_, PyList>) =
            item.extract().map_err(|e| {
                to_py_err(CoreError::invalid_at(
                    i,
                    "instruction_id_list",
                    format!("expected (prompt, response, ids, kwargs): {e}"),
                ))
            })?;
        let mut kws: Vec<Kwargs> = Vec::with_capacity(kwargs.len());
        for (j, d) in kwargs.iter().enumerate() {
            let dict = d.cast::<PyDict>().map_err(|_| {
                to_py_err(CoreError::invalid_at(
                    i,
                    "kwargs",
                    format!("kwargs[{j}] must be a dict"),
                ))
            })?;
            let mut kw = Kwargs::new();
            for (k, v) in dict.iter() {
                let key: String = k.extract().map_err(|_| {
                    to_py_err(CoreError::invalid_at(
                        i,
                        "kwargs",
                        format!("kwargs[{j}] keys must be str"),
                    ))
                })?;
                kw.push((key, kw_value(&v)));
            }
            kws.push(kw);
        }
        out.push(Sample {
            prompt,
            response,
            instruction_ids: ids,
            kwargs: kws,
        });
    }
    Ok(out)
}

type PerInstruction = Vec<(String, bool, String)>;
/// `(instruction index, op, patterns, re flags, lower-case first, relation, threshold)`.
type SampleOutcome = (PerInstruction, Option<String>, Vec<DeferredCheck>);
type DeferredCheck = (
    usize,
    &'static str,
    Vec<String>,
    u32,
    bool,
    &'static str,
    f64,
);

/// Checks every sample: `([(id, followed, detail), ...], None, deferred)` per sample, or
/// `([], message, [])` when a panic stopped that sample. `deferred` lists the checks left to
/// Python's `re` (their `followed` is false until the caller decides them).
#[pyfunction]
#[pyo3(signature = (resources, samples, loose, detail))]
fn ifeval_check(
    py: Python<'_>,
    resources: &IfevalResources,
    samples: &Bound<'_, PyList>,
    loose: bool,
    detail: bool,
) -> PyResult<Vec<SampleOutcome>> {
    let samples = to_samples(samples)?;
    let res = Arc::clone(&resources.inner);
    let out = py.detach(move || guard(|| ifeval::evaluate(&res, &samples, loose, detail)))?;
    Ok(out
        .into_iter()
        .map(|r| match r {
            Ok(v) => {
                let deferred = v
                    .iter()
                    .enumerate()
                    .filter_map(|(j, x)| {
                        x.deferred.as_ref().map(|d| {
                            let rel = d.relation.as_str();
                            (
                                j,
                                d.op,
                                d.patterns.clone(),
                                d.flags,
                                d.lower,
                                rel,
                                d.threshold,
                            )
                        })
                    })
                    .collect();
                let per = v
                    .into_iter()
                    .map(|x| (x.id, x.followed, x.detail))
                    .collect();
                (per, None, deferred)
            }
            Err(msg) => (Vec::new(), Some(msg), Vec::new()),
        })
        .collect())
}

/// `langdetect.detect` (seed 0) per text: a language code, `"unknown"`, or None when the
/// text has no features.
#[pyfunction]
fn ifeval_detect_language(
    py: Python<'_>,
    resources: &IfevalResources,
    texts: Vec<String>,
) -> PyResult<Vec<Option<String>>> {
    let res = Arc::clone(&resources.inner);
    py.detach(move || {
        guard(|| {
            Ok(texts
                .iter()
                .map(|t| match res.lang.detect(t) {
                    langdetect::Detected::Lang(l) => Some(l),
                    langdetect::Detected::Unknown => Some("unknown".to_string()),
                    langdetect::Detected::NoFeatures => None,
                })
                .collect())
        })
    })
}

/// NLTK Punkt sentences of each text.
#[pyfunction]
fn ifeval_sentences(
    py: Python<'_>,
    resources: &IfevalResources,
    texts: Vec<String>,
) -> PyResult<Vec<Vec<String>>> {
    let res = Arc::clone(&resources.inner);
    py.detach(move || {
        guard(|| {
            Ok(texts
                .iter()
                .map(|t| {
                    res.punkt
                        .sentence_spans(t)
                        .into_iter()
                        .map(|(s, e)| {
                            if s < e {
                                t[s..e].to_string()
                            } else {
                                String::new()
                            }
                        })
                        .collect()
                })
                .collect())
        })
    })
}

/// `nltk.word_tokenize` of each text.
#[pyfunction]
fn ifeval_word_tokenize(
    py: Python<'_>,
    resources: &IfevalResources,
    texts: Vec<String>,
) -> PyResult<Vec<Vec<String>>> {
    let res = Arc::clone(&resources.inner);
    py.detach(move || {
        guard(|| {
            Ok(texts
                .iter()
                .map(|t| ifeval::treebank::word_tokenize(&res.punkt, t))
                .collect())
        })
    })
}

/// The 25 instruction ids.
#[pyfunction]
fn ifeval_instruction_ids() -> Vec<&'static str> {
    ifeval::INSTRUCTION_IDS.to_vec()
}

/// The IFBench instruction ids the judge implements.
#[pyfunction]
fn ifbench_instruction_ids() -> Vec<&'static str> {
    ifeval::ifbench::IDS.to_vec()
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<IfevalResources>()?;
    m.add_function(wrap_pyfunction!(ifeval_load_resources, m)?)?;
    m.add_function(wrap_pyfunction!(ifeval_check, m)?)?;
    m.add_function(wrap_pyfunction!(ifeval_detect_language, m)?)?;
    m.add_function(wrap_pyfunction!(ifeval_sentences, m)?)?;
    m.add_function(wrap_pyfunction!(ifeval_word_tokenize, m)?)?;
    m.add_function(wrap_pyfunction!(ifeval_instruction_ids, m)?)?;
    m.add_function(wrap_pyfunction!(ifbench_instruction_ids, m)?)?;
    Ok(())
}
