//! Bindings of the math judge (`cgpo.judges.MathJudge` calls these).

use std::time::Duration;

use pyo3::prelude::*;

use super::{guard, outcome_tuples, to_py_err, OutcomeTuple};
use crate::error::CoreError;
use crate::math::{self, MathConfig, Strategy};

fn config(extraction: &[String], timeout_ms: f64, max_steps: u64) -> Result<MathConfig, CoreError> {
    let mut order = Vec::with_capacity(extraction.len());
    for name in extraction {
        order.push(Strategy::from_name(name).ok_or_else(|| {
            CoreError::invalid(
                "extraction",
                format!(
                    "unknown strategy {name:?}; use boxed, final_answer, hashes or answer_colon"
                ),
            )
        })?);
    }
    if !(timeout_ms.is_finite() && timeout_ms > 0.0) {
        return Err(CoreError::invalid(
            "timeout_ms",
            "must be a positive number of milliseconds",
        ));
    }
    let timeout = Duration::try_from_secs_f64(timeout_ms / 1000.0)
        .map_err(|_| CoreError::invalid("timeout_ms", "is too large"))?;
    Ok(MathConfig {
        extraction: order,
        timeout,
        max_steps,
    })
}

/// Judges `completions[i]` against `answers[i]`; returns `(verdict, reason, extracted)` tuples.
#[pyfunction]
#[pyo3(signature = (completions, answers, extraction, timeout_ms, max_steps))]
fn math_judge(
    py: Python<'_>,
    completions: Vec<String>,
    answers: Vec<String>,
    extraction: Vec<String>,
    timeout_ms: f64,
    max_steps: u64,
) -> PyResult<Vec<OutcomeTuple>> {
    if completions.len() != answers.len() {
        return Err(to_py_err(CoreError::invalid(
            "answers",
            format!(
                "got {} completions but {} answers",
                completions.len(),
                answers.len()
            ),
        )));
    }
    let cfg = config(&extraction, timeout_ms, max_steps).map_err(to_py_err)?;
    let outcomes = py.detach(|| guard(|| Ok(math::judge_batch(&completions, &answers, &cfg))))?;
    Ok(outcome_tuples(outcomes))
}

/// The final answer of `text` by the given strategies, or `None`.
#[pyfunction]
fn math_extract(text: &str, extraction: Vec<String>) -> PyResult<Option<String>> {
    let cfg = config(&extraction, 100.0, 1).map_err(to_py_err)?;
    Ok(math::extract(text, &cfg.extraction).map(|(_, a)| a))
}

/// Decides whether an already-extracted `answer` is equivalent to `gold`.
#[pyfunction]
#[pyo3(signature = (gold, answer, timeout_ms = 100.0, max_steps = 2_000_000))]
fn math_equivalent(
    py: Python<'_>,
    gold: String,
    answer: String,
    timeout_ms: f64,
    max_steps: u64,
) -> PyResult<OutcomeTuple> {
    let cfg = config(&[], timeout_ms, max_steps).map_err(to_py_err)?;
    let o = py.detach(|| guard(|| Ok(math::equivalent(&gold, &answer, &cfg))))?;
    Ok((o.verdict as i8, o.reason, o.detail))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(math_judge, m)?)?;
    m.add_function(wrap_pyfunction!(math_extract, m)?)?;
    m.add_function(wrap_pyfunction!(math_equivalent, m)?)?;
    Ok(())
}
