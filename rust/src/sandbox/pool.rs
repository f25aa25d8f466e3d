//! The fork server: one warm Python zygote per worker, a tiny framed protocol over pipes, and
//! the wall-clock backstop that kills a zygote which stops answering.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::isolate::{Isolation, Prepared};

const ZYGOTE_SOURCE: &str = include_str!("zygote.py");
/// Extra time a zygote gets beyond the job's own limit before it counts as hung.
const BACKSTOP_GRACE: Duration = Duration::from_secs(10);
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Jobs run as unprivileged uids from here up (level `full`): each pool takes a random block of
/// [`UID_BLOCK`] uids and each worker one uid of it, so the per-uid process limit counts exactly
/// one job's processes, also with several judges (or training processes) on one host.
const JOB_UID_BASE: u32 = 2_100_000_000;
const UID_BLOCK: u32 = 64;
const UID_BLOCKS: u32 = 1_000_000;

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

/// One request to a zygote.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub io_mode: bool,
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

struct Zygote {
    child: Child,
    /// `None` once closed: the zygote exits on end of input.
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    /// Host directory holding job directories at level `minimal` (removed with the zygote).
    host_workroot: Option<PathBuf>,
}

impl Zygote {
    fn spawn(
        cfg: &SandboxConfig,
        level: Isolation,
        slot: usize,
        dirs: &[PathBuf],
        uid_base: u32,
    ) -> io::Result<Zygote> {
        let (uid, gid) = if level != Isolation::Userns && unsafe { libc::geteuid() } == 0 {
            let uid = uid_base + (slot as u32 % UID_BLOCK);
            (uid as i64, uid as i64)
        } else {
            (-1, -1)
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
            .arg(format!("gid={gid}"))
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
            cmd.pre_exec(move || prepared.enter());
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
        };
        match z.read_frame(Instant::now() + STARTUP_TIMEOUT) {
            Ok(fields) if fields.first().map(|f| f.as_slice()) == Some(b"ready") => Ok(z),
            Ok(_) => Err(io::Error::other("zygote sent a bad greeting")),
            Err(e) => Err(io::Error::other(format!("zygote did not start: {e}"))),
        }
    }

    fn request(&mut self, req: &Request<'_>) -> io::Result<Reply> {
        let timeout_ms = req.timeout.as_millis().to_string();
        let mode: &[u8] = if req.io_mode { b"io" } else { b"tests" };
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
            match Zygote::spawn(&cfg, level, 0, &dirs, uid_base) {
                Ok(z) => {
                    let workers = cfg.workers.max(1);
                    let mut slots = Vec::with_capacity(workers);
                    slots.push(Mutex::new(Some(z)));
                    slots.extend((1..workers).map(|_| Mutex::new(None)));
                    return Ok(Pool {
                        cfg,
                        level,
                        dirs,
                        uid_base,
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
                    match Zygote::spawn(&self.cfg, self.level, slot, &self.dirs, self.uid_base) {
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
