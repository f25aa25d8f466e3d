//! The PyO3 glue: the only module of the crate that knows about Python.
//!
//! Conventions every binding follows:
//! - inputs are copied into owned Rust data while holding the GIL, the work runs under
//!   `py.detach` (GIL released) on the rayon pool, results are converted back afterwards;
//! - `CoreError` becomes a `cgpo.errors` exception in exactly one place ([`to_py_err`]);
//! - panics are caught per sample by [`crate::batch::par_map_catch`] (a judge reports
//!   `Verdict.ERROR`) or, for whole-batch calls, by [`guard`] (raises `JudgeInternalError`).

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::prelude::*;

mod ifeval;
mod math;
mod sandbox;
mod selection;

use crate::batch::panic_message;
use crate::error::CoreError;
use crate::verdict::Outcome;

pyo3::import_exception!(cgpo.errors, InvalidInputError);
pyo3::import_exception!(cgpo.errors, JudgeInternalError);

/// The single conversion from core errors to Python exceptions.
pub(crate) fn to_py_err(err: CoreError) -> PyErr {
    match err {
        CoreError::InvalidInput { .. } => InvalidInputError::new_err(err.to_string()),
        CoreError::Internal(_) => JudgeInternalError::new_err(err.to_string()),
    }
}

/// Runs a whole-batch computation, turning a panic into `JudgeInternalError`.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, CoreError>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(to_py_err),
        Err(payload) => Err(to_py_err(CoreError::Internal(format!(
            "panic in the Rust core: {}",
            panic_message(payload.as_ref())
        )))),
    }
}

/// Judge outcomes as `(verdict, reason, detail)` tuples, the wire format `cgpo.judges` reads.
pub(crate) type OutcomeTuple = (i8, String, String);

pub(crate) fn outcome_tuples(outcomes: Vec<Outcome>) -> Vec<OutcomeTuple> {
    outcomes
        .into_iter()
        .map(|o| (o.verdict as i8, o.reason, o.detail))
        .collect()
}

/// Turns rayon fan-out in batch calls on or off (tokenizers-style switch).
#[pyfunction]
fn set_parallelism(enabled: bool) {
    crate::batch::set_parallelism(enabled);
}

#[pyfunction]
fn get_parallelism() -> bool {
    crate::batch::parallelism()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(set_parallelism, m)?)?;
    m.add_function(wrap_pyfunction!(get_parallelism, m)?)?;
    selection::register(m)?;
    math::register(m)?;
    ifeval::register(m)?;
    sandbox::register(m)?;
    Ok(())
}
