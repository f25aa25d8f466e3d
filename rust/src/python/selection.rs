//! Bindings of [`crate::selection`]: numpy arrays in, numpy arrays out.
//!
//! Inputs are read in place (zero-copy; `cgpo.selection` hands over C-contiguous arrays of the
//! right dtype) and the work runs with the GIL released. Results are moved into new numpy
//! arrays without a copy.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use super::{guard, InvalidInputError};
use crate::selection;

type F64Array<'py> = Bound<'py, PyArray1<f64>>;
type I64Array<'py> = Bound<'py, PyArray1<i64>>;

fn slice<'a, T: numpy::Element>(key: &str, a: &'a PyReadonlyArray1<'_, T>) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| InvalidInputError::new_err(format!("`{key}`: must be a contiguous 1-D array")))
}

#[pyfunction]
fn calibrated_reward<'py>(
    py: Python<'py>,
    rewards: PyReadonlyArray1<'py, f64>,
    baseline_rewards: PyReadonlyArray1<'py, f64>,
) -> PyResult<F64Array<'py>> {
    let r = slice("rewards", &rewards)?;
    let b = slice("baseline_rewards", &baseline_rewards)?;
    let out = py.detach(|| guard(|| selection::calibrated_reward(r, b)))?;
    Ok(out.into_pyarray(py))
}

#[pyfunction]
fn crpg_weights<'py>(
    py: Python<'py>,
    rewards: PyReadonlyArray1<'py, f64>,
    baseline_rewards: PyReadonlyArray1<'py, f64>,
    satisfied: PyReadonlyArray1<'py, i8>,
    log_ratio: PyReadonlyArray1<'py, f64>,
    kl_max: f64,
) -> PyResult<F64Array<'py>> {
    let r = slice("rewards", &rewards)?;
    let b = slice("baseline_rewards", &baseline_rewards)?;
    let s = slice("satisfied", &satisfied)?;
    let lr = slice("log_ratio", &log_ratio)?;
    let out = py.detach(|| guard(|| selection::crpg_weights(r, b, s, lr, kl_max)))?;
    Ok(out.into_pyarray(py))
}

#[pyfunction]
fn crraft_select<'py>(
    py: Python<'py>,
    group_ids: PyReadonlyArray1<'py, i64>,
    rewards: PyReadonlyArray1<'py, f64>,
    satisfied: PyReadonlyArray1<'py, i8>,
    log_ratio: PyReadonlyArray1<'py, f64>,
    kl_max: f64,
) -> PyResult<(I64Array<'py>, I64Array<'py>)> {
    let g = slice("group_ids", &group_ids)?;
    let r = slice("rewards", &rewards)?;
    let s = slice("satisfied", &satisfied)?;
    let lr = slice("log_ratio", &log_ratio)?;
    let out = py.detach(|| guard(|| selection::crraft_select(g, r, s, lr, kl_max)))?;
    Ok((out.groups.into_pyarray(py), out.index.into_pyarray(py)))
}

#[pyfunction]
fn codpo_pairs<'py>(
    py: Python<'py>,
    group_ids: PyReadonlyArray1<'py, i64>,
    rewards: PyReadonlyArray1<'py, f64>,
    satisfied: PyReadonlyArray1<'py, i8>,
) -> PyResult<(I64Array<'py>, I64Array<'py>, I64Array<'py>)> {
    let g = slice("group_ids", &group_ids)?;
    let r = slice("rewards", &rewards)?;
    let s = slice("satisfied", &satisfied)?;
    let out = py.detach(|| guard(|| selection::codpo_pairs(g, r, s)))?;
    Ok((
        out.groups.into_pyarray(py),
        out.chosen.into_pyarray(py),
        out.rejected.into_pyarray(py),
    ))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(calibrated_reward, m)?)?;
    m.add_function(wrap_pyfunction!(crpg_weights, m)?)?;
    m.add_function(wrap_pyfunction!(crraft_select, m)?)?;
    m.add_function(wrap_pyfunction!(codpo_pairs, m)?)?;
    Ok(())
}
