# cgpo sandbox zygote: a warm Python interpreter that forks one child per execution.
#
# Started by the Rust core (rust/src/sandbox/pool.rs) as `python -I -S -c <this file> <config>`,
# usually as PID 1 of fresh PID/network/mount/IPC/UTS namespaces with a read-only root, a
# private tmpfs on /tmp and a seccomp filter (all set up by Rust before exec). This file only
# runs trusted code; user code runs in forked children (`_child`) after they have dropped
# privileges and set their limits.
#
# Wire format on fd 0 (requests) and fd 1 (replies): a frame is a u32 field count followed by
# that many (u32 length, bytes) fields, little endian.
#   request: mode ("calls" | "tests" | "io"), timeout_ms, program, tests, entry_point, stdin
#   reply:   status, detail, stdout, stderr, elapsed_us
# Modes: "calls" (safe mode: the tests run in a process of their own and call the program's
# functions in the program's process over a pipe, plain data only), "tests" (in-process mode:
# the tests run after the program in its interpreter), "io" (stdin/stdout; Rust compares).
# Statuses: pass, fail, ran (io mode: exited 0, Rust compares stdout), timeout, memory,
# runtime_error, syntax_error, sandbox_error.
import builtins
import ctypes
import gc
import json
import os
import resource
import select
import signal
import struct
import sys
import time

# Standard-library modules imported once here instead of in every child. Nothing that imports
# `threading` (queue, logging, ...): its after-fork hook doubles the cost of every fork.
_PRELOAD = (
    "array abc bisect collections copy dataclasses datetime decimal enum fractions functools "
    "hashlib heapq io itertools json math numbers operator random re statistics string "
    "textwrap traceback typing unicodedata"
).split()
for _name in _PRELOAD:
    __import__(_name)

# Type-checking only: `typing` is already loaded (preloaded above), so this binds one name and
# loads nothing; what TYPE_CHECKING guards never runs. No `from __future__ import annotations`:
# compile() inherits the caller's future flags, so it would change how the program and the
# tests compile. Signatures are quoted instead: nothing in an annotation is evaluated.
from typing import TYPE_CHECKING  # noqa: E402

if TYPE_CHECKING:
    from _thread import LockType
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

    # One step of a job: a callable and its arguments (see `_run_steps`).
    Step = tuple[Callable[..., object], tuple[Any, ...]]

_CFG = dict(kv.split("=", 1) for kv in sys.argv[1:])
MEMORY = int(_CFG["memory"])
NPROC = int(_CFG["nproc"])
FSIZE = int(_CFG["fsize"])
NOFILE = int(_CFG["nofile"])
CAPTURE = int(_CFG["capture"])
UID = int(_CFG["uid"])  # -1: keep the current uid (user-namespace and fallback modes)
GID = int(_CFG["gid"])
# The tests' process of a safe-mode job runs as another uid than the program's (when UID >= 0),
# so the program can neither signal nor inspect it.
TESTS_UID = int(_CFG.get("tests_uid", "-1"))
# Descriptors of the per-worker job cgroup (opened by Rust before the root went read-only):
# `cgroup.procs` files a job's processes write "0" to (joining it), and the file whose
# `oom_kill` counter says the kernel killed a process of the job for memory (-1: none).
CGROUP_PROCS = [int(fd) for fd in _CFG.get("cgroup_procs", "").split(",") if fd]
CGROUP_EVENTS = int(_CFG.get("cgroup_events", "-1"))
_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_DUMPABLE = 4
IS_INIT = os.getpid() == 1
if not IS_INIT:
    # Fallback level (no PID namespace): become the reaper of the jobs' orphans, so a job's
    # double-forked or exited grandchildren are reparented here, killed and reaped after the job
    # instead of lingering under the host's init (where, as zombies, they would still count
    # against the job uid's RLIMIT_NPROC and make the next job's fork fail with EAGAIN).
    _PR_SET_CHILD_SUBREAPER = 36
    _LIBC.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
WORK_ROOT = _CFG["workroot"]
# 1: user code runs on its own thread, out of reach of the harness's frames (the default);
# 0: on the harness's thread (fewer thread switches; see docs/code.md for what that gives up).
HARNESS_THREAD = _CFG.get("harness_thread", "1") == "1"

_IN = 0
_OUT = 1
_DETAIL_CAP = 2000


def _read_exact(n: "int") -> "bytes":
    chunks = []
    while n:
        b = os.read(_IN, n)
        if not b:
            os._exit(0)  # Rust closed the pipe: shut down
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def _read_frame() -> "list[bytes]":
    (count,) = struct.unpack("<I", _read_exact(4))
    fields = []
    for _ in range(count):
        (n,) = struct.unpack("<I", _read_exact(4))
        fields.append(_read_exact(n))
    return fields


def _write_frame(fields: "list[bytes]") -> None:
    parts = [struct.pack("<I", len(fields))]
    for f in fields:
        parts.append(struct.pack("<I", len(f)))
        parts.append(f)
    data = b"".join(parts)
    while data:
        data = data[os.write(_OUT, data) :]


def _children() -> "list[int]":
    """Pids whose parent is this zygote (fallback level only: it scans /proc)."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields start after the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == me:
            found.append(int(entry))
    return found


def _kill_everything(pids: "list[int]") -> None:
    """Kills the job (its processes `pids`) and everything it started, then reaps it all.

    As PID 1 of its own namespace the zygote can reach every descendant with kill(-1), double
    forked daemons and setsid escapees included; a pending SIGKILL also aborts any fork in flight,
    so one pass cannot miss a fork bomb's newest child. Outside a PID namespace (fallback mode)
    kill(-1) would hit the whole machine, so there only the job's process groups are killed.
    """
    pause = 0.0001
    while True:
        targets = [-1] if IS_INIT else [-pid for pid in pids]
        if not IS_INIT:
            # Orphans that left the job's process groups (setsid daemons) are our children now.
            targets += _children()
        for target in targets:
            try:
                os.kill(target, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            while True:
                reaped, _ = os.waitpid(-1, os.WNOHANG)
                if reaped == 0:
                    break
        except ChildProcessError:
            return
        # Killed processes still tearing down; should this never end, Rust's backstop kills
        # the whole zygote (and its namespace) instead.
        time.sleep(pause)
        pause = min(pause * 2, 0.01)


def _make_accessible(path: "str") -> None:
    try:
        if not os.path.islink(path):  # Linux has no lchmod: never chmod through a link
            os.chmod(path, 0o700)
    except OSError:
        pass


def _rmtree(path: "str") -> None:
    try:
        os.rmdir(path)  # the common case: the job left its directory empty
        return
    except OSError:
        pass
    # A hostile job may leave unreadable or read-only directories behind (at level userns the
    # zygote has no capability to override modes): make them accessible first.
    _make_accessible(path)
    for root, dirs, _files in os.walk(path, topdown=True, followlinks=False):
        for d in dirs:
            _make_accessible(os.path.join(root, d))
    for root, dirs, files in os.walk(path, topdown=False, followlinks=False):
        for f in files:
            try:
                os.unlink(os.path.join(root, f))
            except OSError:
                pass
        for d in dirs:
            p = os.path.join(root, d)
            try:
                if os.path.islink(p):
                    os.unlink(p)
                else:
                    os.rmdir(p)
            except OSError:
                pass
    try:
        os.rmdir(path)
    except OSError:
        pass


def _wipe(root: "str") -> None:
    """Removes everything under the work root: whatever a job managed to create there (its own
    directory, or at level userns anything in the private /tmp) must not reach the next job."""
    os.chmod(root, 0o755)
    with os.scandir(root) as entries:
        names = [e.path for e in entries]
    for path in names:
        if os.path.isdir(path) and not os.path.islink(path):
            _rmtree(path)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _open_unlinked(path: "str", data: "bytes" = b"") -> "int":
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    if data:
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    os.unlink(path)
    return fd


def _fork(target: "Callable[..., object]", *args: "Any") -> "int":
    pid = os.fork()
    if pid == 0:
        try:
            target(*args)
        finally:
            os._exit(70)
    return pid


def _oom_kills() -> "int | None":
    """The job cgroup's count of processes the kernel killed for memory (None: no cgroup)."""
    if CGROUP_EVENTS < 0:
        return None
    try:
        text = os.pread(CGROUP_EVENTS, 4096, 0).decode()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill":
            return int(value)
    return None


def _serve_one(counter: "int") -> None:
    fields = _read_frame()
    mode = fields[0].decode()
    timeout = int(fields[1]) / 1000.0
    program, tests, entry, stdin = fields[2], fields[3], fields[4], fields[5]
    nonce = os.urandom(16).hex().encode()
    # A previous job may have changed the work root's mode (at level userns it owns it).
    os.chmod(WORK_ROOT, 0o755)
    wdir = os.path.join(WORK_ROOT, f"job{counter}")
    os.mkdir(wdir, 0o700)
    if UID >= 0:
        os.chown(wdir, UID, GID)
    out_fd = _open_unlinked(os.path.join(wdir, ".stdout"))
    err_fd = _open_unlinked(os.path.join(wdir, ".stderr"))
    in_fd = _open_unlinked(os.path.join(wdir, ".stdin"), stdin) if mode == "io" else None
    rep_r, rep_w = os.pipe()
    ooms = _oom_kills()
    start = time.monotonic()
    if mode == "calls":
        # Safe mode: the tests' process (trusted code, holds the expected values and the report
        # pipe) and the program's process (untrusted) talk over two pipes, plain data only.
        calls_r, calls_w = os.pipe()
        answers_r, answers_w = os.pipe()
        program_pid = _fork(
            _program_child,
            program,
            wdir,
            out_fd,
            err_fd,
            calls_r,
            answers_w,
            (rep_r, rep_w, calls_w, answers_r),
            timeout,
        )
        pid = _fork(
            _tests_child,
            tests,
            entry,
            answers_r,
            calls_w,
            rep_w,
            nonce,
            timeout,
            (rep_r, calls_r, answers_w, out_fd, err_fd),
        )
        fd: int | None  # for mypy: the loop below also takes `in_fd`
        for fd in (calls_r, calls_w, answers_r, answers_w):
            os.close(fd)
        pids = [pid, program_pid]
    else:
        pid = _fork(
            _child, mode, program, tests, entry, wdir, out_fd, err_fd, in_fd, rep_w, nonce, timeout
        )
        pids = [pid]
    del program, tests, entry, stdin
    os.close(rep_w)
    timed_out = False
    status = None
    pidfd = os.pidfd_open(pid)
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        poller.register(_IN, select.POLLIN)  # Rust may abort the job early by closing the pipe
        deadline = start + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            events = poller.poll(left * 1000)
            if any(fd == pidfd for fd, _ in events):
                _, status = os.waitpid(pid, 0)
                break
            if events:
                os._exit(0)
    finally:
        os.close(pidfd)
    elapsed = time.monotonic() - start
    _kill_everything(pids)
    if status is None:
        # killed above; collect its status if the reaper has not
        status = signal.SIGKILL
    report = _read_report(rep_r, nonce)
    os.close(rep_r)
    stdout = os.pread(out_fd, CAPTURE, 0)
    stderr = os.pread(err_fd, CAPTURE, 0)
    for fd in (out_fd, err_fd, in_fd):
        if fd is not None:
            os.close(fd)
    try:
        _wipe(WORK_ROOT)
        dirty = any(True for _ in os.scandir(WORK_ROOT))
    except Exception:  # whatever went wrong, this zygote is not clean
        dirty = True
    st, detail = _verdict(mode, report, status, timed_out, stderr, timeout)
    if st not in ("pass", "ran", "memory") and ooms is not None and (_oom_kills() or 0) > ooms:
        st, detail = "memory", f"the run's memory limit was reached ({detail})"
    _write_frame(
        [st.encode(), detail.encode("utf-8", "replace"), stdout, stderr, b"%d" % (elapsed * 1e6)]
    )
    if dirty:
        # Something the job left could not be removed: end this zygote (its private /tmp goes
        # with it) rather than let the next job see it; Rust starts a fresh one.
        os._exit(0)


def _read_report(fd: "int", nonce: "bytes") -> "tuple[str, str] | None":
    os.set_blocking(fd, False)
    data = b""
    try:
        while len(data) < 65536:
            b = os.read(fd, 65536)
            if not b:
                break
            data += b
    except BlockingIOError:
        pass
    for line in data.split(b"\n"):
        head, _, rest = line.partition(b" ")
        if head == nonce:
            st, _, detail = rest.partition(b" ")
            return st.decode("ascii", "replace"), detail.decode("utf-8", "replace")
    return None


def _signame(sig: "int") -> "str":
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _verdict(
    mode: "str",
    report: "tuple[str, str] | None",
    status: "int",
    timed_out: "bool",
    stderr: "bytes",
    timeout: "float",
) -> "tuple[str, str]":
    if timed_out:
        return "timeout", f"wall-clock limit of {timeout:g} s exceeded"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return "timeout", "CPU-time limit exceeded"
    if report is not None and not (mode == "io" and report[0] == "ran"):
        return report
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if b"MemoryError" in stderr:
            return "memory", f"killed by {_signame(sig)} after a MemoryError"
        return "runtime_error", f"killed by {_signame(sig)}"
    code = os.WEXITSTATUS(status)
    if b"MemoryError" in stderr:
        return "memory", "MemoryError"
    if mode == "io":
        if code == 0:
            return "ran", ""
        return "runtime_error", f"exited with status {code}"
    return (
        "runtime_error",
        f"exited with status {code} before the tests reported (sys.exit/os._exit in the program?)",
    )


# ----------------------------------------------------------------------------------------------
# The child: limits, privileges, then the harness. Everything below runs in the forked process.


def _enter_limits(timeout: "float", uid: "int", gid: "int", wdir: "str") -> None:
    """Limits and privileges of a job's process, before any job code runs."""
    os.setsid()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = int(timeout) + 1  # the wall clock usually fires first; this stops a spinning job alone
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE, FSIZE))
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    resource.setrlimit(resource.RLIMIT_NPROC, (NPROC, NPROC))
    if uid >= 0:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    os.chdir(wdir)
    os.umask(0o077)


def _join_cgroup() -> None:
    """Moves this process into the worker's job cgroup (its memory and process caps count the
    whole run); done first, before the descriptors are closed and privileges dropped."""
    for fd in CGROUP_PROCS:
        os.write(fd, b"0")


def _std_fds(stdin_fd: "int", out_fd: "int", err_fd: "int", keep: "tuple[int, ...]") -> "list[int]":
    """Sets up descriptors 0-2, moves `keep` to 3, 4, ... and closes everything else."""
    os.dup2(stdin_fd, 0)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    for k, fd in enumerate(keep):
        os.dup2(fd, 1000 + k, inheritable=False)
    for k in range(len(keep)):
        os.dup2(1000 + k, 3 + k, inheritable=False)
    os.closerange(3 + len(keep), 65536)
    return list(range(3, 3 + len(keep)))


def _child(
    mode: "str",
    program: "bytes",
    tests: "bytes",
    entry: "bytes",
    wdir: "str",
    out_fd: "int",
    err_fd: "int",
    in_fd: "int | None",
    rep_w: "int",
    nonce: "bytes",
    timeout: "float",
) -> None:
    _join_cgroup()
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(in_fd if in_fd is not None else null, 0)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    # The report pipe goes to a random descriptor; every other inherited descriptor (the
    # zygote's request and reply pipes among them) is closed before user code runs.
    rep = 3 + int.from_bytes(os.urandom(1), "little") % 60
    if rep != rep_w:
        os.dup2(rep_w, rep, inheritable=False)
    os.closerange(3, rep)
    os.closerange(rep + 1, 65536)
    _enter_limits(timeout, UID, GID, wdir)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    gc.enable()
    _harness(
        mode,
        program.decode("utf-8", "replace"),
        tests.decode("utf-8", "replace"),
        entry.decode(),
        rep,
        nonce,
    )


def _run_steps(
    steps: "Sequence[Step]",
    box: "list[Any]",
    done: "LockType",
    set_sentinel: "Callable[[], LockType]",
    catch: "type[BaseException]",
) -> None:
    """Entry point of the one thread all user code of a job runs in.

    It is the bottom frame of that thread, so user code walking `f_back` ends here and never
    reaches the harness (which runs on the main thread, holding the nonce and the report pipe).
    It has no free variables; what it can leak is its own arguments. It hands the harness this
    thread's sentinel (a lock the runtime releases once the thread is gone), runs the steps (a
    tuple: user code cannot drop one) in order until one raises, then appends exactly one
    outcome to `box`: (steps completed, exception or None, traceback locations).
    """
    box.append(set_sentinel())
    completed = 0
    try:
        for fn, args in steps:
            fn(*args)
            completed += 1
    except catch as e:
        where = []
        tb = e.__traceback__
        while tb is not None:
            where.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno))
            tb = tb.tb_next
        box.append((completed, e, where))
    else:
        box.append((completed, None, None))
    finally:
        done.release()


def _call_check(namespace: "dict[str, Any]", entry: "str") -> None:
    if entry not in namespace:
        raise NameError(f"the program does not define `{entry}`")
    namespace["check"](namespace[entry])


def _harness(
    mode: "str", program: "str", tests: "str", entry: "str", rep: "int", nonce: "bytes"
) -> "NoReturn":
    import _thread

    # Everything used after user code starts is bound here, as locals of this frame: user code
    # may rebind builtins and this module's globals, but cannot reach a frame of the main thread
    # (see `audit`) and so cannot read or change these.
    # (`monotonic`, `str_` and `repr_` are captured with the rest on purpose, unused for now.)
    write, exit_, sleep, monotonic = os.write, os._exit, time.sleep, time.monotonic  # noqa: F841
    start_thread, new_lock, thread_count = (
        _thread.start_new_thread,
        _thread.allocate_lock,
        _thread._count,
    )
    # (`_thread._set_sentinel` is a private CPython function typeshed does not list.)
    get_ident, set_sentinel = _thread.get_ident, _thread._set_sentinel  # type: ignore[attr-defined]
    main_thread = get_ident()
    run_steps, call_check, separate_thread = _run_steps, _call_check, HARNESS_THREAD
    exec_, compile_, str_, type_, len_ = exec, compile, str, type, len  # noqa: F841
    isinstance_, repr_ = isinstance, repr  # noqa: F841
    BaseException_, MemoryError_, SystemExit_, AssertionError_ = (
        BaseException,
        MemoryError,
        SystemExit,
        AssertionError,
    )
    SyntaxError_, ValueError_, RecursionError_ = SyntaxError, ValueError, RecursionError
    RuntimeError_, frozenset_ = RuntimeError, frozenset
    streams = (sys.stdout, sys.stderr)
    sys_ = sys
    denied_everywhere = _DENIED_EVENTS
    # Frame objects are refused on the main thread only when user code runs elsewhere.
    denied_on_main = frozenset_(("sys._getframe", "object.__getattr__") if HARNESS_THREAD else ())
    cap = _DETAIL_CAP
    test_lines = tests.splitlines()

    def report(status: "str", detail: "str" = "") -> "NoReturn":
        # Nothing the program printed, no exit status and no exception can stand in for this
        # line: it carries the per-run nonce, which only this thread's frames hold.
        for stream in (sys_.stdout, sys_.stderr, *streams):
            try:
                stream.flush()
            except BaseException_:  # the program may have broken its streams
                pass
        line = nonce + b" " + status.encode() + b" " + detail[:cap].encode("utf-8", "replace")
        try:
            write(rep, line.replace(b"\n", b"\\n") + b"\n")
        finally:
            exit_(0)

    def audit(event: "str", args: "tuple[Any, ...]") -> None:
        # Best-effort hardening of the in-process harness. Anywhere: no tracers, no other audit
        # hooks, no walking the heap, no native code (and no /proc to read memory through: the
        # sandbox mounts an empty one). On the main
        # thread (the harness, and finalizers or stream methods it may trigger): no frame
        # objects at all, so nothing reaches this frame's locals.
        if event in denied_everywhere or event.startswith("ctypes."):
            raise RuntimeError_(f"{event} is not allowed in the cgpo sandbox")
        if event in denied_on_main and get_ident() == main_thread:
            raise RuntimeError_(f"{event} is not allowed here in the cgpo sandbox")

    def run(steps: "Sequence[Step]") -> "tuple[int, BaseException | None, Any]":
        """Runs the steps on a fresh thread; waits until every thread (the program's own
        included) has finished; returns (steps completed, exception or None, locations)."""
        box: list[Any] = []
        done = new_lock()
        done.acquire()
        if separate_thread:
            start_thread(run_steps, (steps, box, done, set_sentinel, BaseException_))
            done.acquire()
            box[0].acquire()  # the thread is gone (user code may release it early: see below)
        else:
            run_steps(steps, box, done, new_lock, BaseException_)
        while thread_count():  # threads the program started, or a lock released early
            sleep(0.0002)
        if len_(box) != 2:
            report("runtime_error", "the harness's result slot was tampered with")
        return box[1]

    def describe(e: "BaseException") -> "str":
        try:
            return f"{type_(e).__name__}: {e}"[:cap]
        except BaseException_:
            return type_(e).__name__

    def failed(e: "BaseException", where: "list[tuple[str, int]]", phase: "str") -> "NoReturn":
        if isinstance_(e, MemoryError_):
            report("memory", describe(e))
        if isinstance_(e, SystemExit_):
            # (`isinstance_`, a captured alias, does not narrow `e` for mypy.)
            if mode == "io" and (e.code is None or e.code == 0):  # type: ignore[attr-defined]
                report("ran")
            suffix = " before the tests ran" if phase == "program" and mode == "tests" else ""
            report("runtime_error", f"{phase} raised SystemExit({e.code!r})"[:cap] + suffix)  # type: ignore[attr-defined]
        if phase == "program" and isinstance_(e, SyntaxError_):
            report("syntax_error", describe(e))
        if phase != "program" and isinstance_(e, AssertionError_):
            line = "assertion failed"
            for filename, lineno in where:
                if filename == "<tests>" and 0 < lineno <= len_(test_lines):
                    line = test_lines[lineno - 1].strip()
            msg = describe(e).partition(": ")[2]
            report("fail", line + (f" ({msg})" if msg else ""))
        report("runtime_error", describe(e))

    try:
        code = compile_(program, "<program>", "exec")
    except (SyntaxError_, ValueError_) as e:
        lineno = getattr(e, "lineno", None)
        report("syntax_error", f"{type_(e).__name__}: {getattr(e, 'msg', e)} (line {lineno})")
    except MemoryError_:
        report("memory", "MemoryError while compiling")
    except RecursionError_:
        report("syntax_error", "RecursionError: the program is nested too deeply to compile")
    tcode = None
    if mode == "tests":
        try:
            tcode = compile_(tests, "<tests>", "exec")
        except (SyntaxError_, ValueError_, RecursionError_) as e:
            report("sandbox_error", f"the tests do not compile: {e}")
    # The program gets a fresh __main__ module (not the zygote's); the tests later get a copy of
    # the builtins taken now, so rebinding builtins in the program does not reach them.
    main_module = type_(sys_)("__main__")
    namespace = main_module.__dict__
    namespace["__builtins__"] = builtins
    pristine_builtins = dict(builtins.__dict__)
    sys_.modules["__main__"] = main_module
    steps: list[Step] = [(exec_, (code, namespace))]
    phases = ["program"]
    if mode == "tests":
        steps.append((namespace.__setitem__, ("__builtins__", pristine_builtins)))
        steps.append((exec_, (tcode, namespace)))
        phases += ["tests", "tests"]
        if entry:
            steps.append((call_check, (namespace, entry)))
            phases.append("check")
    steps = tuple(steps)  # type: ignore[assignment]  # the same name, now a tuple
    sys_.addaudithook(audit)
    completed, error, where = run(steps)
    if error is not None:
        failed(error, where, phases[completed] if completed < len_(phases) else "tests")
    if completed != len_(steps):
        report("runtime_error", "the harness's steps were tampered with")
    report("ran" if mode == "io" else "pass")


# ----------------------------------------------------------------------------------------------
# Safe mode ("calls"): the program and the tests in two processes. The tests' process holds the
# test code, the expected values and the report pipe, runs no program code and is out of the
# program's reach (another uid, or not dumpable; seccomp forbids ptrace). It calls the
# program's functions through the program's process; arguments and return values cross as JSON
# of builtin types only, so nothing the program defines (an always-equal object, a patched
# module, a frame) ever exists in the process that computes the verdict.

_MESSAGE_CAP = 64 << 20  # bytes of one message; a larger return value is an error
_DATA_CAP = 1 << 20  # bytes of the program's module-level data copied to the tests
_NESTING_CAP = 500


class _NotPlain(Exception):
    """A value that is not plain data (see `_to_plain`)."""


class _ProgramEnded(BaseException):
    """The program cannot answer a call (it exited, raised SystemExit, returned an object that
    is not plain data, broke the protocol): ends the tests with `status`. A BaseException, so
    a test's `except Exception` does not swallow it."""

    def __init__(self, status: "str", detail: "str") -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class _TestsNotPlain(BaseException):
    """The tests pass something that is not plain data to the program: the judge cannot decide
    this sample in safe mode (sandbox_error)."""


def _to_plain(value: "Any", depth: "int" = 0) -> "Any":
    """Builtin-typed data as JSON-ready values: lists stay lists; tuples, dicts (any hashable
    plain keys), sets, frozensets, bytes and complex numbers become one-key tagged objects.
    Exact types only: a subclass (an int whose `__eq__` is always true) is not plain data."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if depth > _NESTING_CAP:
        raise _NotPlain(f"nested deeper than {_NESTING_CAP} levels")
    depth += 1
    if kind is list:
        return [_to_plain(v, depth) for v in value]
    if kind is tuple:
        return {"t": [_to_plain(v, depth) for v in value]}
    if kind is dict:
        return {"d": [[_to_plain(k, depth), _to_plain(v, depth)] for k, v in value.items()]}
    if kind is set:
        return {"s": [_to_plain(v, depth) for v in value]}
    if kind is frozenset:
        return {"f": [_to_plain(v, depth) for v in value]}
    if kind is bytes:
        return {"b": value.hex()}
    if kind is complex:
        return {"c": [value.real, value.imag]}
    raise _NotPlain(f"an object of type {kind.__name__!r}")


def _from_plain(value: "Any") -> "Any":
    """The inverse of `_to_plain` on `json.loads` output; raises ValueError/TypeError on
    anything else (the program's process may send any bytes)."""
    kind = type(value)
    if kind is list:
        return [_from_plain(v) for v in value]
    if kind is not dict:
        return value  # str, int, float, bool, None: all json.loads makes besides list and dict
    if len(value) != 1:
        raise ValueError("malformed tagged value")
    ((tag, body),) = value.items()
    if tag == "b" and type(body) is str:
        return bytes.fromhex(body)
    if type(body) is not list:
        raise ValueError("malformed tagged value")
    if tag == "t":
        return tuple(_from_plain(v) for v in body)
    if tag == "d":
        return {_from_plain(k): _from_plain(v) for k, v in body}
    if tag == "s":
        return {_from_plain(v) for v in body}
    if tag == "f":
        return frozenset(_from_plain(v) for v in body)
    if tag == "c" and len(body) == 2 and all(type(x) in (int, float) for x in body):
        return complex(body[0], body[1])
    raise ValueError("malformed tagged value")


def _send(fd: "int", message: "object") -> None:
    _send_raw(fd, json.dumps(message, separators=(",", ":")).encode())


def _send_raw(fd: "int", data: "bytes") -> None:
    data = struct.pack("<I", len(data)) + data
    while data:
        data = data[os.write(fd, data) :]


def _recv_exact(fd: "int", n: "int") -> "bytes | None":
    chunks = []
    while n:
        b = os.read(fd, min(n, 1 << 20))
        if not b:
            return None
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def _recv(fd: "int") -> "Any":
    """One message, or None at end of input; ValueError if it exceeds the cap."""
    head = _recv_exact(fd, 4)
    if head is None:
        return None
    (n,) = struct.unpack("<I", head)
    if n > _MESSAGE_CAP:
        raise ValueError(f"a message of {n} bytes (the limit is {_MESSAGE_CAP})")
    data = _recv_exact(fd, n)
    return None if data is None else json.loads(data)


def _flush_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # the program may have broken its streams
            pass


def _describe(e: "BaseException") -> "str":
    try:
        return f"{type(e).__name__}: {e}"[:_DETAIL_CAP]
    except BaseException:  # a broken __str__
        return type(e).__name__


def _program_child(
    program: "bytes",
    wdir: "str",
    out_fd: "int",
    err_fd: "int",
    calls_r: "int",
    answers_w: "int",
    others: "tuple[int, ...]",
    timeout: "float",
) -> None:
    """The untrusted side: runs the program, then answers calls until the tests' side closes."""
    _join_cgroup()
    for fd in others:
        os.close(fd)
    null = os.open("/dev/null", os.O_RDONLY)
    calls, answers = _std_fds(null, out_fd, err_fd, (calls_r, answers_w))
    _enter_limits(timeout, UID, GID, wdir)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)
    gc.enable()
    _serve_calls(program.decode("utf-8", "replace"), calls, answers)


def _load_program(source: "str") -> "tuple[Any, list[str] | None]":
    """Compiles and runs the program in a fresh __main__; returns its namespace, or the
    message that tells the tests' side why it cannot be called."""
    try:
        code = compile(source, "<program>", "exec")
    except (SyntaxError, ValueError) as e:
        where = f" (line {e.lineno})" if isinstance(e, SyntaxError) else ""
        return None, ["error", "syntax_error", f"{type(e).__name__}: {getattr(e, 'msg', e)}{where}"]
    except MemoryError:
        return None, ["error", "memory", "MemoryError while compiling"]
    except RecursionError:
        return None, ["error", "syntax_error", "RecursionError: nested too deeply to compile"]
    main_module = type(sys)("__main__")
    namespace = main_module.__dict__
    namespace["__builtins__"] = builtins
    sys.modules["__main__"] = main_module
    try:
        exec(code, namespace)
    except MemoryError as e:
        return None, ["error", "memory", _describe(e)]
    except (SystemExit, KeyboardInterrupt) as e:
        detail = (
            f"program raised {type(e).__name__}({getattr(e, 'code', '')!r}) before the tests ran"
        )
        return None, ["error", "runtime_error", detail[:_DETAIL_CAP]]
    except BaseException as e:  # anything the program raises is its error
        return None, ["error", "runtime_error", _describe(e)]
    return namespace, None


def _serve_calls(source: "str", calls: "int", answers: "int") -> "NoReturn":
    server = os.getpid()
    namespace, failure = _load_program(source)
    _flush_streams()
    if os.getpid() != server:
        os._exit(0)  # a child the program forked ran on to here: only the server answers
    if failure is not None:
        _send(answers, failure)
        os._exit(0)
    names: dict[str, Any] = {}
    data_left = _DATA_CAP
    for name, value in list(namespace.items()):
        if name.startswith("__"):
            continue
        if isinstance(value, type(sys)):
            names[name] = ["module", getattr(value, "__name__", "")]
        elif callable(value):
            names[name] = None
        else:
            try:
                plain = _to_plain(value)
                data_left -= len(json.dumps(plain))
            except (_NotPlain, RecursionError, ValueError):
                continue  # a class instance: the tests cannot use it in safe mode
            if data_left >= 0:
                names[name] = [plain]
    _send(answers, ["ready", names])
    while True:
        request = _recv(calls)
        if request is None:
            os._exit(0)
        name, args, kwargs = _from_plain(request)
        try:
            value = namespace[name](*args, **kwargs)
        except BaseException as e:  # reported to the tests as the call's outcome
            try:
                message = str(e)[:_DETAIL_CAP]
            except BaseException:  # a broken __str__
                message = ""
            answer: list[Any] = ["raise", type(e).__name__, message]
        else:
            try:
                answer = ["ok", _to_plain(value)]
                if any(type(a) in _MUTABLE for a in args):
                    # In-place changes to list/dict/set arguments go back to the tests' objects.
                    answer.append([_to_plain(a) if type(a) in _MUTABLE else None for a in args])
            except (_NotPlain, RecursionError) as e:
                answer = ["not_plain", str(e)]
        _flush_streams()
        if os.getpid() != server:
            os._exit(0)
        _send(answers, answer)


def _tests_child(
    tests: "bytes",
    entry: "bytes",
    answers_r: "int",
    calls_w: "int",
    rep_w: "int",
    nonce: "bytes",
    timeout: "float",
    others: "tuple[int, ...]",
) -> None:
    """The trusted side: its own uid (or undumpable), no program code, and the report pipe."""
    _join_cgroup()
    for fd in others:
        os.close(fd)
    null = os.open("/dev/null", os.O_RDWR)
    answers, calls, rep = _std_fds(null, null, null, (answers_r, calls_w, rep_w))
    _enter_limits(timeout, TESTS_UID, TESTS_UID, "/")
    # Not dumpable: a process of the same uid (levels userns and minimal) cannot read or write
    # this one's memory or descriptors through /proc.
    _LIBC.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)
    gc.enable()
    _run_tests(tests.decode("utf-8", "replace"), entry.decode(), answers, calls, rep, nonce)


def _program_exception(name: "str", message: "str") -> "BaseException":
    """The exception a call raises in the tests when the program's function raised `name`:
    the builtin exception of that name (so `except ValueError` and AssertionError work), or a
    fresh Exception subclass of that name; never anything of the program's own."""
    found = getattr(builtins, name, None)
    if isinstance(found, type) and issubclass(found, BaseException):
        # SystemExit, KeyboardInterrupt, ...; and StopIteration, which would silently end a
        # `map`/`all` loop of the tests (`all(map(check_one, cases))` would hold vacuously).
        if not issubclass(found, Exception) or issubclass(
            found, (StopIteration, StopAsyncIteration)
        ):
            return _ProgramEnded("runtime_error", f"the program raised {name}({message!r})")
        try:
            return found(message)
        except Exception:  # an exception type with required arguments
            return Exception(f"{name}: {message}")
    safe_name = name if isinstance(name, str) and name.isidentifier() else "Exception"
    return type(safe_name, (Exception,), {})(message)


def _remote(name: "str", calls: "int", answers: "int") -> "Callable[..., Any]":
    """A stand-in for the program's callable `name` in the tests' namespace."""

    def call(*args: "Any", **kwargs: "Any") -> "Any":
        try:
            request = json.dumps([name, _to_plain(args), _to_plain(kwargs)], separators=(",", ":"))
        except (_NotPlain, RecursionError, ValueError) as e:
            raise _TestsNotPlain(f"the tests pass {e} to `{name}`") from None
        data = request.encode()
        try:
            _send_raw(calls, data)
            answer = _recv(answers)
        except (OSError, ValueError) as e:
            raise _ProgramEnded("runtime_error", f"calling `{name}`: {e}") from None
        if answer is None:
            raise _ProgramEnded("runtime_error", f"the program's process ended during `{name}`")
        try:
            kind = answer[0]
            if kind == "ok":
                if len(answer) > 2:
                    _update_in_place(args, answer[2])
                return _from_plain(answer[1])
            if kind == "raise":
                error = _program_exception(str(answer[1]), str(answer[2]))
            elif kind == "not_plain":
                error = _ProgramEnded(
                    "runtime_error",
                    f"`{name}` returned {answer[1]}: only plain data (None, bool, int, float, "
                    "complex, str, bytes, list, tuple, dict, set, frozenset) is compared in "
                    "safe mode",
                )
            else:
                raise ValueError(kind)
        except (ValueError, TypeError, IndexError, KeyError, RecursionError) as e:
            raise _ProgramEnded("runtime_error", f"malformed answer from `{name}`: {e}") from None
        raise error

    call.__name__ = call.__qualname__ = name
    return call


_MUTABLE = (list, dict, set)


def _update_in_place(args: "tuple[Any, ...]", changed: "Any") -> None:
    """Gives the tests' list/dict/set arguments the contents the call left in its copies (plain
    data), as if the function had run on the tests' own objects."""
    if type(changed) is not list or len(changed) != len(args):
        raise ValueError("malformed argument update")
    # Same lengths (checked above); no `strict=`, which this interpreter may predate.
    for original, new in zip(args, changed):  # noqa: B905
        if type(original) not in _MUTABLE or new is None:
            continue
        value = _from_plain(new)
        if type(value) is not type(original) or value == original:
            continue
        if type(original) is list:
            original[:] = value
        else:
            original.clear()
            original.update(value)


def _run_tests(
    tests: "str", entry: "str", answers: "int", calls: "int", rep: "int", nonce: "bytes"
) -> "NoReturn":
    def report(status: "str", detail: "str" = "") -> "NoReturn":
        line = (
            nonce + b" " + status.encode() + b" " + detail[:_DETAIL_CAP].encode("utf-8", "replace")
        )
        try:
            os.write(rep, line.replace(b"\n", b"\\n") + b"\n")
        finally:
            os._exit(0)

    try:
        code = compile(tests, "<tests>", "exec")
    except (SyntaxError, ValueError, RecursionError) as e:
        report("sandbox_error", f"the tests do not compile: {e}")
    try:
        ready = _recv(answers)
    except (OSError, ValueError) as e:
        report("runtime_error", f"the program's process broke the protocol: {e}")
    if ready is None:
        report(
            "runtime_error",
            "the program's process exited before the tests ran (sys.exit/os._exit in the program?)",
        )
    try:
        if ready[0] == "error":
            status = ready[1] if ready[1] in ("syntax_error", "memory") else "runtime_error"
            report(status, str(ready[2]))
        if ready[0] != "ready" or type(ready[1]) is not dict:
            raise ValueError("no greeting")
        namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        for name, value in ready[1].items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"bad name {name!r}")
            if hasattr(builtins, name) and name != entry:
                # A program's `abs` or `len` must not replace the builtin the tests call.
                continue
            if value is None:
                namespace[name] = _remote(name, calls, answers)
            elif len(value) == 2 and value[0] == "module":
                # The tests' own copy of a module the program imported (only one already
                # loaded here: the program picks no module to import into this process).
                if value[1] in sys.modules:
                    namespace[name] = sys.modules[value[1]]
            else:
                namespace[name] = _from_plain(value[0])
    except (ValueError, TypeError, IndexError, KeyError, RecursionError) as e:
        report("runtime_error", f"the program's process broke the protocol: {e}")
    test_lines = tests.splitlines()
    try:
        exec(code, namespace)
        if entry:
            if not callable(namespace.get(entry)) or entry not in ready[1]:
                raise NameError(f"the program does not define `{entry}`")
            namespace["check"](namespace[entry])
    except _ProgramEnded as e:
        report(e.status, e.detail)
    except _TestsNotPlain as e:
        report(
            "sandbox_error",
            f"{e}; tests that need the program's objects run with test_mode='inprocess'",
        )
    except MemoryError as e:
        report("memory", _describe(e))
    except AssertionError as e:
        line = "assertion failed"
        tb = e.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == "<tests>" and 0 < tb.tb_lineno <= len(test_lines):
                line = test_lines[tb.tb_lineno - 1].strip()
            tb = tb.tb_next
        msg = _describe(e).partition(": ")[2]
        report("fail", line + (f" ({msg})" if msg else ""))
    except BaseException as e:  # the tests raised: the program is not right
        report("runtime_error", _describe(e))
    report("pass")


_DENIED_EVENTS = frozenset(
    "sys.addaudithook sys.settrace sys.setprofile sys._current_frames gc.get_objects "
    "gc.get_referrers gc.get_referents".split()
)


def _warm_threads() -> None:
    # The first thread a process starts pays for glibc's and CPython's thread setup; paying it
    # here once, before any fork, keeps it out of every job (user code runs on threads).
    import _thread

    done = _thread.allocate_lock()
    done.acquire()
    box: list[Any] = []
    _thread.start_new_thread(_run_steps, ((), box, done, _thread._set_sentinel, Exception))  # type: ignore[attr-defined]
    done.acquire()
    box[0].acquire()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # One zygote per core, each pinned to its own: a job's hand-over between its two threads
    # then stays on one run queue instead of waiting for a busy second core.
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[int(_CFG["slot"]) % len(cpus)]})
    _warm_threads()
    os.makedirs(WORK_ROOT, mode=0o755, exist_ok=True)
    gc.collect()
    gc.freeze()  # forked children then do not touch (and copy) the zygote's heap in their GCs
    _write_frame([b"ready", b"%d" % os.getpid()])
    counter = 0
    while True:
        counter += 1
        _serve_one(counter)


main()
