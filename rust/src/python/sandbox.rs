//! Bindings of the code-execution sandbox (`cgpo.judges.CodeJudge` drives them).

use pyo3::prelude::*;

use super::{guard, to_py_err};
use crate::error::CoreError;
use crate::sandbox::{
    program, validate_timeout, CodeSandbox, Isolation, Job, SandboxConfig, Tests,
};

/// One job on the wire: (completion, tests, entry_point, io_tests, in_process).
type JobTuple = (
    String,
    Option<String>,
    Option<String>,
    Option<Vec<(String, String)>>,
    bool,
);
/// One result on the wire: (verdict, status, detail, stdout tail, stderr tail, seconds).
type ExecTuple = (i8, String, String, String, String, f64);

#[pyclass(name = "CodeSandbox", module = "cgpo._core", frozen)]
pub struct PyCodeSandbox {
    inner: CodeSandbox,
}

#[pymethods]
impl PyCodeSandbox {
    #[new]
    #[pyo3(signature = (python, *, workers, timeout_s, memory_mb, max_processes, max_file_mb,
                        max_open_files, capture_bytes, tmpfs_mb, excerpt_bytes, isolation=None,
                        harness_thread=true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        python: String,
        workers: usize,
        timeout_s: f64,
        memory_mb: u64,
        max_processes: u64,
        max_file_mb: u64,
        max_open_files: u64,
        capture_bytes: u64,
        tmpfs_mb: u64,
        excerpt_bytes: usize,
        isolation: Option<String>,
        harness_thread: bool,
    ) -> PyResult<Self> {
        let isolation = match isolation.as_deref() {
            None | Some("auto") => None,
            Some(name) => Some(Isolation::parse(name).ok_or_else(|| {
                to_py_err(CoreError::invalid(
                    "isolation",
                    format!("unknown level {name:?}; use 'auto', 'full', 'userns' or 'minimal'"),
                ))
            })?),
        };
        let timeout = validate_timeout(timeout_s)
            .map_err(|why| to_py_err(CoreError::invalid("timeout_s", why)))?;
        let cfg = SandboxConfig {
            python: python.into(),
            workers,
            memory_mb,
            max_processes,
            max_file_mb,
            max_open_files,
            capture_bytes,
            tmpfs_mb,
            isolation,
            harness_thread,
        };
        if let Err((name, why)) = cfg.validate() {
            return Err(to_py_err(CoreError::invalid(name, why)));
        }
        let inner = py.detach(|| {
            guard(|| {
                CodeSandbox::new(cfg, timeout, excerpt_bytes)
                    .map_err(|e| CoreError::Internal(format!("sandbox: {e}")))
            })
        })?;
        Ok(PyCodeSandbox { inner })
    }

    /// The isolation level in force: "full", "userns" or "minimal".
    #[getter]
    fn isolation(&self) -> &'static str {
        self.inner.isolation().name()
    }

    #[getter]
    fn workers(&self) -> usize {
        self.inner.workers()
    }

    /// "cgroup v2" or "cgroup v1" when each run's total memory and tasks are capped, else None.
    #[getter]
    fn run_memory_cap(&self) -> Option<&'static str> {
        self.inner.cgroup().map(|c| c.name())
    }

    /// Runs a batch of jobs (GIL released); one result tuple per job, in order.
    fn run(&self, py: Python<'_>, jobs: Vec<JobTuple>) -> Vec<ExecTuple> {
        let jobs: Vec<Job> = jobs
            .into_iter()
            .map(
                |(completion, tests, entry_point, io_tests, in_process)| Job {
                    program: program::extract_program(&completion).to_string(),
                    tests: match io_tests {
                        Some(cases) => Tests::Io(cases),
                        None => Tests::Asserts {
                            tests: tests.unwrap_or_default(),
                            entry_point,
                            in_process,
                        },
                    },
                },
            )
            .collect();
        let results = py.detach(|| self.inner.run_batch(&jobs));
        results
            .into_iter()
            .map(|e| {
                (
                    e.verdict() as i8,
                    e.status,
                    e.detail,
                    e.stdout,
                    e.stderr,
                    e.elapsed_s,
                )
            })
            .collect()
    }

    /// Stops the worker processes (they restart on the next `run`).
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.inner.shutdown());
    }
}

/// The program part of a completion (the last closed ```python block, else everything).
#[pyfunction]
fn code_extract_program(completion: &str) -> String {
    program::extract_program(completion).to_string()
}

/// Whether a program's stdout matches the expected output (see docs/code.md).
#[pyfunction]
fn code_outputs_match(actual: &str, expected: &str) -> bool {
    program::outputs_match(actual, expected)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyCodeSandbox>()?;
    m.add_function(wrap_pyfunction!(code_extract_program, m)?)?;
    m.add_function(wrap_pyfunction!(code_outputs_match, m)?)?;
    Ok(())
}
