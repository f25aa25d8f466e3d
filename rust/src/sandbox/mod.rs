//! Sandboxed execution of untrusted Python programs against unit tests (the code judge).
//!
//! Design (details and the threat model in docs/code.md):
//! - [`pool`]: one warm Python "zygote" per worker speaks a framed protocol over pipes and forks
//!   one child per execution; Rust enforces a wall-clock backstop and restarts a hung zygote.
//! - [`isolate`]: each zygote is PID 1 of its own PID/network/mount/IPC/UTS namespaces (inside a
//!   user namespace when not root) with a read-only root, a private tmpfs /tmp and a seccomp
//!   filter; after every job it kills everything left in its namespace.
//! - [`cgroup`]: a cgroup per worker that every process of a job joins: the run's total memory
//!   and task count are capped, where the kernel and privileges allow.
//! - zygote.py: per job, the child takes its own session, rlimits (CPU, address space, file
//!   size, open files, processes, no core), an unprivileged uid, a private directory. In safe
//!   mode (the default) the program and the tests run in two such processes, the tests calling
//!   the program's functions over a pipe with plain data; in-process mode runs both in one.
//!   The tests' side reports through a pipe with a per-run nonce.
//! - [`program`]: which part of a completion is the program; the stdout comparison rule.

pub mod cgroup;
pub mod isolate;
pub mod pool;
pub mod program;

use std::time::Duration;

pub use cgroup::CgroupVersion;
pub use isolate::Isolation;
pub use pool::{validate_timeout, Mode, Pool, Reply, Request, SandboxConfig};

use crate::batch::panic_message;
use crate::verdict::Verdict;

/// What a program is checked against.
#[derive(Debug, Clone)]
pub enum Tests {
    /// Test code; with an entry point the tests define `check(candidate)` and the harness
    /// calls `check(<entry_point>)`. Safe mode (`in_process: false`): the tests run in a process
    /// of their own and call the program's functions over a pipe with plain data; in-process
    /// mode: they run after the program in its interpreter.
    Asserts {
        tests: String,
        entry_point: Option<String>,
        in_process: bool,
    },
    /// stdin/stdout cases, each run in a fresh process; see [`program::outputs_match`].
    Io(Vec<(String, String)>),
}

#[derive(Debug, Clone)]
pub struct Job {
    pub program: String,
    pub tests: Tests,
}

/// The result of one job: a status (`pass`, `fail`, `timeout`, `memory`, `runtime_error`,
/// `syntax_error`, `sandbox_error`), a detail (failing test, exception), output excerpts.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub status: String,
    pub detail: String,
    pub stdout: String,
    pub stderr: String,
    pub elapsed_s: f64,
}

impl Execution {
    pub fn verdict(&self) -> Verdict {
        match self.status.as_str() {
            "pass" => Verdict::Satisfied,
            "sandbox_error" => Verdict::Error,
            _ => Verdict::Violated,
        }
    }

    fn from_reply(r: Reply, prefix: &str, excerpt: usize) -> Execution {
        Execution {
            status: r.status,
            detail: format!("{prefix}{}", r.detail),
            stdout: tail(&r.stdout, excerpt),
            stderr: tail(&r.stderr, excerpt),
            elapsed_s: r.elapsed_us as f64 / 1e6,
        }
    }
}

/// The last `limit` bytes of `bytes` as text (tracebacks end at the bottom).
fn tail(bytes: &[u8], limit: usize) -> String {
    let start = bytes.len().saturating_sub(limit);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

fn head(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// The code judge's engine: a zygote pool plus the job semantics.
pub struct CodeSandbox {
    pool: Pool,
    timeout: Duration,
    /// Bytes of stdout/stderr kept in an [`Execution`].
    excerpt: usize,
}

impl CodeSandbox {
    pub fn new(cfg: SandboxConfig, timeout: Duration, excerpt: usize) -> std::io::Result<Self> {
        if let Err((name, why)) = cfg.validate() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{name} {why}"),
            ));
        }
        validate_timeout(timeout.as_secs_f64())
            .map_err(|why| std::io::Error::new(std::io::ErrorKind::InvalidInput, why))?;
        Ok(CodeSandbox {
            pool: Pool::new(cfg)?,
            timeout,
            excerpt,
        })
    }

    pub fn isolation(&self) -> Isolation {
        self.pool.isolation()
    }

    pub fn workers(&self) -> usize {
        self.pool.workers()
    }

    /// The cgroup hierarchy capping each run's total memory and tasks (`None`: per process).
    pub fn cgroup(&self) -> Option<CgroupVersion> {
        self.pool.cgroup()
    }

    pub fn shutdown(&self) {
        self.pool.shutdown();
    }

    /// Runs every job, `workers` at a time; results in input order. A panic costs one job
    /// (`sandbox_error`), never the batch.
    pub fn run_batch(&self, jobs: &[Job]) -> Vec<Execution> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let next = AtomicUsize::new(0);
        let threads = self.pool.workers().min(jobs.len());
        let mut out: Vec<Option<Execution>> = vec![None; jobs.len()];
        let parts: Vec<Vec<(usize, Execution)>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|slot| {
                    let next = &next;
                    s.spawn(move || {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= jobs.len() {
                                break;
                            }
                            let run =
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                    self.run_one(slot, &jobs[i])
                                }));
                            let exec = run.unwrap_or_else(|p| {
                                Execution::from_reply(
                                    Reply::sandbox_error(format!(
                                        "panic in the sandbox: {}",
                                        panic_message(p.as_ref())
                                    )),
                                    "",
                                    0,
                                )
                            });
                            done.push((i, exec));
                        }
                        done
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        for (i, e) in parts.into_iter().flatten() {
            out[i] = Some(e);
        }
        out.into_iter()
            .map(|e| {
                e.unwrap_or_else(|| {
                    Execution::from_reply(Reply::sandbox_error("worker thread died"), "", 0)
                })
            })
            .collect()
    }

    fn run_one(&self, slot: usize, job: &Job) -> Execution {
        self.pool.with_worker(slot, |run| match &job.tests {
            Tests::Asserts {
                tests,
                entry_point,
                in_process,
            } => {
                let reply = run(&Request {
                    mode: if *in_process {
                        Mode::Tests
                    } else {
                        Mode::Calls
                    },
                    timeout: self.timeout,
                    program: &job.program,
                    tests,
                    entry_point: entry_point.as_deref().unwrap_or(""),
                    stdin: "",
                });
                Execution::from_reply(reply, "", self.excerpt)
            }
            Tests::Io(cases) => {
                let mut last = None;
                for (k, (input, expected)) in cases.iter().enumerate() {
                    let reply = run(&Request {
                        mode: Mode::Io,
                        timeout: self.timeout,
                        program: &job.program,
                        tests: "",
                        entry_point: "",
                        stdin: input,
                    });
                    if reply.status != "ran" {
                        let prefix = format!("io test {k}: ");
                        return Execution::from_reply(reply, &prefix, self.excerpt);
                    }
                    let actual = String::from_utf8_lossy(&reply.stdout).into_owned();
                    if !program::outputs_match(&actual, expected) {
                        let mut e = Execution::from_reply(reply, "", self.excerpt);
                        e.status = "fail".into();
                        e.detail = format!(
                            "io test {k}: expected {:?}, got {:?}",
                            head(expected, 200),
                            head(&actual, 200)
                        );
                        return e;
                    }
                    last = Some(reply);
                }
                let mut e = Execution::from_reply(
                    last.unwrap_or_else(|| Reply {
                        status: String::new(),
                        detail: String::new(),
                        stdout: Vec::new(),
                        stderr: Vec::new(),
                        elapsed_us: 0,
                    }),
                    "",
                    self.excerpt,
                );
                e.status = "pass".into();
                e.detail = format!("{} io tests passed", cases.len());
                e
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox() -> CodeSandbox {
        let python = std::env::var("CGPO_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let cfg = SandboxConfig {
            python: python.into(),
            workers: 2,
            memory_mb: 512,
            max_processes: 64,
            max_file_mb: 16,
            max_open_files: 64,
            capture_bytes: 1 << 16,
            tmpfs_mb: 64,
            isolation: None,
            harness_thread: true,
        };
        CodeSandbox::new(cfg, Duration::from_secs(2), 1000).expect("sandbox starts")
    }

    fn asserts(program: &str, tests: &str) -> Job {
        Job {
            program: program.into(),
            tests: Tests::Asserts {
                tests: tests.into(),
                entry_point: None,
                in_process: false,
            },
        }
    }

    #[test]
    fn statuses_of_simple_programs() {
        let sb = sandbox();
        let jobs = vec![
            asserts("def f(x):\n    return x + 1\n", "assert f(1) == 2\n"),
            asserts("def f(x):\n    return x\n", "assert f(1) == 2\n"),
            asserts("def f(x) return x\n", "assert f(1) == 2\n"),
            asserts("import sys\nsys.exit(0)\n", "assert False\n"),
            asserts("import os\nos._exit(0)\n", "assert False\n"),
            asserts("print('passed')\n", "assert False\n"),
            asserts("while True:\n    pass\n", ""),
            asserts("x = bytearray(10**10)\n", ""),
            Job {
                program: "print(int(input()) * 2)\n".into(),
                tests: Tests::Io(vec![
                    ("21\n".into(), "42\n".into()),
                    ("1".into(), "3".into()),
                ]),
            },
        ];
        if unsafe { libc::geteuid() } == 0 {
            assert_eq!(sb.isolation(), Isolation::Full);
        }
        let got: Vec<String> = sb.run_batch(&jobs).into_iter().map(|e| e.status).collect();
        assert_eq!(
            got,
            [
                "pass",
                "fail",
                "syntax_error",
                "runtime_error",
                "runtime_error",
                "fail",
                "timeout",
                "memory",
                "fail"
            ]
        );
    }
}
