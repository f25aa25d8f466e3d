//! The fork server: one warm Python zygote per worker, a tiny framed protocol over pipes, and
//! the wall-clock backstop that kills a zygote which stops answering.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::cgroup::{CgroupVersion, JobCgroup};
use super::isolate::{Isolation, Prepared};

const ZYGOTE_SOURCE: &str = include_str!("zygote.py");
/// Extra time a zygote gets beyond the job's own limit before it counts as hung.
const BACKSTOP_GRACE: Duration = Duration::from_secs(10);
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Jobs run as unprivileged uids from here up (level `full`): each pool takes a random block of
/// [`UID_BLOCK`] uids and each worker two of it (the program's and, in safe mode, the tests'),
/// so the per-uid process limit counts exactly one job's processes, also with several judges
/// (or training processes) on one host.
const JOB_UID_BASE: u32 = 2_100_000_000;
const UID_BLOCK: u32 = 128;
const UID_BLOCKS: u32 = 1_000_000;

/// Largest accepted settings (beyond them the shifts to bytes and the kernel's limits break).
pub const MAX_MEMORY_MB: u64 = 1 << 22;
pub const MAX_TIMEOUT_S: f64 = 86_400.0;
const MAX_COUNT: u64 = 1 << 22;
const MAX_CAPTURE: u64 = 1 << 30;
/// Descriptor numbers the cgroup files get in the zygote.
const CGROUP_FD_BASE: i32 = 900;

/// Limits applied to every execution.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The Python interpreter jobs run under (the caller's `sys.executable`).
    pub python: PathBuf,
    pub workers: usize,
    pub memory_mb: u64,
    pub max_processes: u64,
    pub max_file_mb: u64,
    pub max_open_files: u64,
    /// Bytes of stdout and of stderr kept per execution.
    pub capture_bytes: u64,
    /// Size of the private /tmp of each worker.
    pub tmpfs_mb: u64,
    /// `None`: the strongest level the kernel allows.
    pub isolation: Option<Isolation>,
    /// Run user code on its own thread, out of reach of the harness's frames (see zygote.py).
    pub harness_thread: bool,
}

impl SandboxConfig {
    /// Checks every setting; the error names the first bad one and its accepted range.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let ranges: [(&'static str, u64, u64, u64); 7] = [
            ("workers", self.workers as u64, 1, 4096),
            ("memory_mb", self.memory_mb, 1, MAX_MEMORY_MB),
            ("max_processes", self.max_processes, 1, MAX_COUNT),
            ("max_file_mb", self.max_file_mb, 1, MAX_MEMORY_MB),
            ("max_open_files", self.max_open_files, 16, 1 << 20),
            ("capture_bytes", self.capture_bytes, 1, MAX_CAPTURE),
            ("tmpfs_mb", self.tmpfs_mb, 1, MAX_MEMORY_MB),
        ];
        for (name, value, low, high) in ranges {
            if value < low || value > high {
                return Err((
                    name,
                    format!("must be between {low} and {high}, got {value}"),
                ));
            }
        }
        Ok(())
    }
}

/// Checks a per-execution wall-clock limit.
pub fn validate_timeout(timeout_s: f64) -> Result<Duration, String> {
    if timeout_s.is_finite() && timeout_s > 0.0 && timeout_s <= MAX_TIMEOUT_S {
        Ok(Duration::from_secs_f64(timeout_s))
    } else {
        Err(format!(
            "must be a number of seconds > 0 and <= {MAX_TIMEOUT_S} (one day), got {timeout_s}"
        ))
    }
}

/// What a job is, on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Safe mode: tests and program in two processes, calls as plain data.
    Calls,
    /// In-process mode: the tests run in the program's interpreter.
    Tests,
    /// stdin/stdout case.
    Io,
}

/// One request to a zygote.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub mode: Mode,
    pub timeout: Duration,
    pub program: &'a str,
    pub tests: &'a str,
    pub entry_point: &'a str,
    pub stdin: &'a str,
}

/// A zygote's answer (see zygote.py for the statuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: String,
    pub detail: String,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub elapsed_us: u64,
}

impl Reply {
    pub fn sandbox_error(detail: impl Into<String>) -> Reply {
        Reply {
            status: "sandbox_error".into(),
            detail: detail.into(),
            stdout: Vec::new(),
            stderr: Vec::new(),
            elapsed_us: 0,
        }
    }
}

/// Whether a zygote gets a job cgroup: the first one tries, the others follow its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CgroupPolicy {
    Try,
    Required,
    Off,
}

struct Zygote {
    child: Child,
    /// `None` once closed: the zygote exits on end of input.
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    /// Host directory holding job directories at level `minimal` (removed with the zygote).
    host_workroot: Option<PathBuf>,
    /// Dropped after the zygote (fields drop after `Drop::drop`), once its jobs are gone.
    cgroup: Option<JobCgroup>,
}

impl Zygote {
    fn spawn(
        cfg: &SandboxConfig,
        level: Isolation,
        slot: usize,
        dirs: &[PathBuf],
        uid_base: u32,
        cgroup_policy: CgroupPolicy,
    ) -> io::Result<Zygote> {
        let (uid, tests_uid) = if level != Isolation::Userns && unsafe { libc::geteuid() } == 0 {
            let uid = uid_base + 2 * (slot as u32 % (UID_BLOCK / 2));
            (uid as i64, uid as i64 + 1)
        } else {
            (-1, -1)
        };
        let cgroup = if cgroup_policy == CgroupPolicy::Off {
            None
        } else {
            // Tasks: the job's processes and threads plus the tests' process.
            JobCgroup::create(
                &format!(
                    "cgpo-{}-{uid_base}-w{slot}-{:x}",
                    std::process::id(),
                    unique_suffix() % (1 << 32)
                ),
                cfg.memory_mb << 20,
                cfg.max_processes + 1,
            )
        };
        if cgroup.is_none() && cgroup_policy == CgroupPolicy::Required {
            return Err(io::Error::other(
                "could not create the worker's cgroup (the pool's other workers have one)",
            ));
        }
        let cgroup_fds: Vec<i32> = cgroup
            .iter()
            .flat_map(|c| c.procs.iter().chain(std::iter::once(&c.events)))
            .map(|f| f.as_raw_fd())
            .collect();
        let procs_count = cgroup.as_ref().map_or(0, |c| c.procs.len());
        let procs_arg = (0..procs_count)
            .map(|k| (CGROUP_FD_BASE + k as i32).to_string())
            .collect::<Vec<_>>()
            .join(",");
        let events_arg = if cgroup.is_some() {
            CGROUP_FD_BASE + procs_count as i32
        } else {
            -1
        };
        let host_workroot = if level == Isolation::Minimal {
            let dir = std::env::temp_dir().join(format!(
                "cgpo-sandbox-{}-{slot}-{}",
                std::process::id(),
                unique_suffix()
            ));
            std::fs::create_dir(&dir)?;
            Some(dir)
        } else {
            None
        };
        let workroot = host_workroot
            .as_deref()
            .unwrap_or(Path::new("/tmp"))
            .to_string_lossy()
            .into_owned();
        let mut cmd = Command::new(&cfg.python);
        cmd.arg("-I")
            .arg("-S")
            .arg("-c")
            .arg(ZYGOTE_SOURCE)
            .arg(format!("memory={}", cfg.memory_mb << 20))
            .arg(format!("nproc={}", cfg.max_processes))
            .arg(format!("fsize={}", cfg.max_file_mb << 20))
            .arg(format!("nofile={}", cfg.max_open_files))
            .arg(format!("capture={}", cfg.capture_bytes))
            .arg(format!("uid={uid}"))
            .arg(format!("gid={uid}"))
            .arg(format!("tests_uid={tests_uid}"))
            .arg(format!("cgroup_procs={procs_arg}"))
            .arg(format!("cgroup_events={events_arg}"))
            .arg(format!("workroot={workroot}"))
            .arg(format!("harness_thread={}", u8::from(cfg.harness_thread)))
            .arg(format!("slot={slot}"))
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LC_ALL", "C.UTF-8")
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("CGPO_SANDBOX_DEBUG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            });
        let prepared = Prepared::new(level, cfg.tmpfs_mb, dirs);
        unsafe {
            cmd.pre_exec(move || {
                // The cgroup files (opened close-on-exec) move to fixed numbers the zygote keeps.
                for (k, fd) in cgroup_fds.iter().enumerate() {
                    if libc::dup2(*fd, CGROUP_FD_BASE + k as i32) < 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                prepared.enter()
            });
        }
        let spawned = cmd.spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                if let Some(dir) = &host_workroot {
                    let _ = std::fs::remove_dir_all(dir);
                }
                return Err(e);
            }
        };
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let mut z = Zygote {
            child,
            stdin: Some(stdin),
            stdout,
            host_workroot,
            cgroup,
        };
        match z.read_frame(Instant::now() + STARTUP_TIMEOUT) {
            Ok(fields) if fields.first().map(|f| f.as_slice()) == Some(b"ready") => Ok(z),
            Ok(_) => Err(io::Error::other("zygote sent a bad greeting")),
            Err(e) => Err(io::Error::other(format!("zygote did not start: {e}"))),
        }
    }

    fn request(&mut self, req: &Request<'_>) -> io::Result<Reply> {
        let timeout_ms = req.timeout.as_millis().to_string();
        let mode: &[u8] = match req.mode {
            Mode::Calls => b"calls",
            Mode::Tests => b"tests",
            Mode::Io => b"io",
        };
        let fields: [&[u8]; 6] = [
            mode,
            timeout_ms.as_bytes(),
            req.program.as_bytes(),
            req.tests.as_bytes(),
            req.entry_point.as_bytes(),
            req.stdin.as_bytes(),
        ];
        let mut buf = Vec::with_capacity(64 + fields.iter().map(|f| f.len()).sum::<usize>());
        buf.extend_from_slice(&(fields.len() as u32).to_le_bytes());
        for f in fields {
            buf.extend_from_slice(&(f.len() as u32).to_le_bytes());
            buf.extend_from_slice(f);
        }
        let stdin = self.stdin.as_mut().expect("open until drop");
        stdin.write_all(&buf)?;
        stdin.flush()?;
        let fields = self.read_frame(Instant::now() + req.timeout + BACKSTOP_GRACE)?;
        let [status, detail, stdout, stderr, elapsed] = <[Vec<u8>; 5]>::try_from(fields)
            .map_err(|_| io::Error::other("zygote sent a malformed reply"))?;
        Ok(Reply {
            status: String::from_utf8_lossy(&status).into_owned(),
            detail: String::from_utf8_lossy(&detail).into_owned(),
            stdout,
            stderr,
            elapsed_us: String::from_utf8_lossy(&elapsed).parse().unwrap_or(0),
        })
    }

    fn read_frame(&mut self, deadline: Instant) -> io::Result<Vec<Vec<u8>>> {
        let mut word = [0u8; 4];
        self.read_exact_by(&mut word, deadline)?;
        let count = u32::from_le_bytes(word) as usize;
        if count > 16 {
            return Err(io::Error::other("zygote sent a malformed frame"));
        }
        let mut fields = Vec::with_capacity(count);
        for _ in 0..count {
            self.read_exact_by(&mut word, deadline)?;
            let mut field = vec![0u8; u32::from_le_bytes(word) as usize];
            self.read_exact_by(&mut field, deadline)?;
            fields.push(field);
        }
        Ok(fields)
    }

    /// `read_exact` that gives up at `deadline` (poll before every read).
    fn read_exact_by(&mut self, mut buf: &mut [u8], deadline: Instant) -> io::Result<()> {
        let fd = self.stdout.as_raw_fd();
        while !buf.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "zygote unresponsive",
                ));
            }
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().min(i32::MAX as u128) as i32;
            let r = unsafe { libc::poll(&mut pfd, 1, ms.max(1)) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if r == 0 {
                continue;
            }
            let n = self.stdout.read(buf)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "zygote exited",
                ));
            }
            buf = &mut buf[n..];
        }
        Ok(())
    }
}

impl Drop for Zygote {
    fn drop(&mut self) {
        // End of input makes the zygote exit (also mid-job: it polls its input); as PID 1 its
        // exit takes every process of its namespace with it, and the waiter exits after it. So
        // once the waiter is reaped nothing is left. A zygote that does not go in time is
        // killed through the waiter (PDEATHSIG).
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) => std::thread::sleep(Duration::from_millis(1)),
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.host_workroot {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn unique_suffix() -> u64 {
    let mut x = 0u64;
    unsafe {
        libc::getrandom((&mut x as *mut u64).cast(), 8, 0);
    }
    x
}

/// A pool of zygotes, one per worker; each runs one execution at a time.
pub struct Pool {
    cfg: SandboxConfig,
    level: Isolation,
    /// The interpreter's own directories (see [`super::isolate::probe_interpreter`]).
    dirs: Vec<PathBuf>,
    uid_base: u32,
    /// The hierarchy capping each run's memory and tasks (`None`: per-process limits only).
    cgroup: Option<CgroupVersion>,
    slots: Vec<Mutex<Option<Zygote>>>,
}

impl Pool {
    /// Starts the first zygote at the strongest level that works (or the requested one).
    pub fn new(mut cfg: SandboxConfig) -> io::Result<Pool> {
        // The real interpreter, not a virtualenv's symlink or a launcher: jobs run with `-I -S`
        // (standard library only), and the masked home directories may hold either.
        let (python, dirs) = super::isolate::probe_interpreter(&cfg.python)
            .map_err(|e| io::Error::other(format!("cannot run {}: {e}", cfg.python.display())))?;
        cfg.python = python;
        let uid_base = JOB_UID_BASE + (unique_suffix() % UID_BLOCKS as u64) as u32 * UID_BLOCK;
        let levels = match cfg.isolation {
            Some(l) => vec![l],
            None => Isolation::candidates(),
        };
        let mut errors = Vec::new();
        for level in levels {
            match Zygote::spawn(&cfg, level, 0, &dirs, uid_base, CgroupPolicy::Try) {
                Ok(z) => {
                    let cgroup = z.cgroup.as_ref().map(|c| c.version);
                    let workers = cfg.workers.max(1);
                    let mut slots = Vec::with_capacity(workers);
                    slots.push(Mutex::new(Some(z)));
                    slots.extend((1..workers).map(|_| Mutex::new(None)));
                    return Ok(Pool {
                        cfg,
                        level,
                        dirs,
                        uid_base,
                        cgroup,
                        slots,
                    });
                }
                Err(e) => errors.push(format!("{}: {e}", level.name())),
            }
        }
        Err(io::Error::other(format!(
            "could not start a sandbox worker ({})",
            errors.join("; ")
        )))
    }

    pub fn isolation(&self) -> Isolation {
        self.level
    }

    pub fn workers(&self) -> usize {
        self.slots.len()
    }

    /// The hierarchy that caps each run's total memory and tasks, if any.
    pub fn cgroup(&self) -> Option<CgroupVersion> {
        self.cgroup
    }

    /// Runs `f` with worker `slot`'s zygote (started if needed). A zygote that fails a request
    /// (died, hung past the backstop, broke the protocol) is killed and restarted next time.
    pub fn with_worker<R>(
        &self,
        slot: usize,
        f: impl FnOnce(&mut dyn FnMut(&Request<'_>) -> Reply) -> R,
    ) -> R {
        let mut guard = self.slots[slot % self.slots.len()]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut run = |req: &Request<'_>| -> Reply {
            // A zygote that died between requests (it exits when it cannot clean up after a
            // job) is replaced and the request retried once; a fresh zygote is not retried.
            for attempt in 0..2 {
                let fresh = guard.is_none();
                if fresh {
                    let policy = if self.cgroup.is_some() {
                        CgroupPolicy::Required
                    } else {
                        CgroupPolicy::Off
                    };
                    match Zygote::spawn(
                        &self.cfg,
                        self.level,
                        slot,
                        &self.dirs,
                        self.uid_base,
                        policy,
                    ) {
                        Ok(z) => *guard = Some(z),
                        Err(e) => {
                            return Reply::sandbox_error(format!("worker failed to start: {e}"))
                        }
                    }
                }
                let z = guard.as_mut().expect("just started");
                match z.request(req) {
                    Ok(reply) => return reply,
                    Err(e) => {
                        *guard = None;
                        let broken_before_reply = e.kind() != io::ErrorKind::TimedOut;
                        if fresh || attempt == 1 || !broken_before_reply {
                            return Reply::sandbox_error(format!("worker failed: {e}; restarted"));
                        }
                    }
                }
            }
            unreachable!("the loop returns")
        };
        f(&mut run)
    }

    /// Stops every zygote (they restart on the next request).
    pub fn shutdown(&self) {
        for slot in &self.slots {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}
