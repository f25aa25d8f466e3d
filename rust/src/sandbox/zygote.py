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
#   request: mode ("tests" | "io"), timeout_ms, program, tests, entry_point, stdin
#   reply:   status, detail, stdout, stderr, elapsed_us
# Statuses: pass, fail, ran (io mode: exited 0, Rust compares stdout), timeout, memory,
# runtime_error, syntax_error, sandbox_error.
import builtins
import gc
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

import traceback  # noqa: E402

_CFG = dict(kv.split("=", 1) for kv in sys.argv[1:])
MEMORY = int(_CFG["memory"])
NPROC = int(_CFG["nproc"])
FSIZE = int(_CFG["fsize"])
NOFILE = int(_CFG["nofile"])
CAPTURE = int(_CFG["capture"])
UID = int(_CFG["uid"])  # -1: keep the current uid (user-namespace and fallback modes)
GID = int(_CFG["gid"])
IS_INIT = os.getpid() == 1
WORK_ROOT = _CFG["workroot"]

_IN = 0
_OUT = 1
_DETAIL_CAP = 2000


def _read_exact(n):
    chunks = []
    while n:
        b = os.read(_IN, n)
        if not b:
            os._exit(0)  # Rust closed the pipe: shut down
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def _read_frame():
    (count,) = struct.unpack("<I", _read_exact(4))
    fields = []
    for _ in range(count):
        (n,) = struct.unpack("<I", _read_exact(4))
        fields.append(_read_exact(n))
    return fields


def _write_frame(fields):
    parts = [struct.pack("<I", len(fields))]
    for f in fields:
        parts.append(struct.pack("<I", len(f)))
        parts.append(f)
    data = b"".join(parts)
    while data:
        data = data[os.write(_OUT, data) :]


def _kill_everything(pid):
    """Kills the job and everything it started, then reaps it all.

    As PID 1 of its own namespace the zygote can reach every descendant with kill(-1), double
    forked daemons and setsid escapees included; a pending SIGKILL also aborts any fork in flight,
    so one pass cannot miss a fork bomb's newest child. Outside a PID namespace (fallback mode)
    kill(-1) would hit the whole machine, so there only the job's process group is killed.
    """
    pause = 0.0001
    while True:
        try:
            if IS_INIT:
                os.kill(-1, signal.SIGKILL)
            else:
                os.killpg(pid, signal.SIGKILL)
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


def _rmtree(path):
    try:
        os.rmdir(path)  # the common case: the job left its directory empty
        return
    except OSError:
        pass
    # A hostile job may leave unreadable or read-only directories behind (at level userns the
    # zygote has no capability to override modes): make them accessible first.
    try:
        os.chmod(path, 0o700, follow_symlinks=False)
    except OSError:
        pass
    for root, dirs, files in os.walk(path, topdown=True, followlinks=False):
        for d in dirs:
            try:
                os.chmod(os.path.join(root, d), 0o700, follow_symlinks=False)
            except OSError:
                pass
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


def _wipe(root):
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


def _open_unlinked(path, data=b""):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    if data:
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    os.unlink(path)
    return fd


def _serve_one(counter):
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
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            _child(mode, program, tests, entry, wdir, out_fd, err_fd, in_fd, rep_w, nonce, timeout)
        finally:
            os._exit(70)
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
    _kill_everything(pid)
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
    except OSError:
        dirty = True
    st, detail = _verdict(mode, report, status, timed_out, stderr, timeout)
    _write_frame(
        [st.encode(), detail.encode("utf-8", "replace"), stdout, stderr, b"%d" % (elapsed * 1e6)]
    )
    if dirty:
        # Something the job left could not be removed: end this zygote (its private /tmp goes
        # with it) rather than let the next job see it; Rust starts a fresh one.
        os._exit(0)


def _read_report(fd, nonce):
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


def _signame(sig):
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _verdict(mode, report, status, timed_out, stderr, timeout):
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


def _child(mode, program, tests, entry, wdir, out_fd, err_fd, in_fd, rep_w, nonce, timeout):
    os.setsid()
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
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = int(timeout) + 1  # the wall clock usually fires first; this stops a spinning job alone
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE, FSIZE))
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    resource.setrlimit(resource.RLIMIT_NPROC, (NPROC, NPROC))
    if UID >= 0:
        os.setgroups([])
        os.setgid(GID)
        os.setuid(UID)
    os.chdir(wdir)
    os.umask(0o077)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    gc.enable()
    _harness(mode, program.decode("utf-8", "replace"), tests.decode("utf-8", "replace"),
             entry.decode(), rep, nonce)


def _harness(mode, program, tests, entry, rep, nonce):
    write = os.write
    exit_ = os._exit
    stdout, stderr = sys.stdout, sys.stderr
    open_hook = [True]

    def report(status, detail=""):
        # Runs only after all user code has returned; nothing the program printed or any exit
        # status it chose can stand in for this line, which carries the per-run nonce.
        open_hook[0] = False
        for stream in (sys.stdout, sys.stderr, stdout, stderr):
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001 - the program may have broken its streams
                pass
        line = nonce + b" " + status.encode() + b" " + detail[:_DETAIL_CAP].encode("utf-8", "replace")
        try:
            write(rep, line.replace(b"\n", b"\\n") + b"\n")
        finally:
            exit_(0)

    def audit(event, args):
        # Best-effort hardening of the in-process harness: user code may not install tracers or
        # other audit hooks, walk the heap, or load native code to read the harness's memory.
        if open_hook[0] and (event in _DENIED_EVENTS or event.startswith("ctypes.")):
            raise RuntimeError(f"{event} is not allowed in the cgpo sandbox")

    try:
        code = compile(program, "<program>", "exec")
    except (SyntaxError, ValueError) as e:
        lineno = getattr(e, "lineno", None)
        report("syntax_error", f"{type(e).__name__}: {getattr(e, 'msg', e)} (line {lineno})")
    except MemoryError:
        report("memory", "MemoryError while compiling")
    except RecursionError:
        report("syntax_error", "RecursionError: the program is nested too deeply to compile")
    tcode = None
    if mode == "tests":
        try:
            tcode = compile(tests, "<tests>", "exec")
        except (SyntaxError, ValueError, RecursionError) as e:
            report("sandbox_error", f"the tests do not compile: {e}")
    sys.addaudithook(audit)
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(code, namespace)
    except SystemExit as e:
        if mode == "io" and (e.code is None or e.code == 0):
            report("ran")
        report("runtime_error", f"the program raised SystemExit({e.code!r})" + (
            " before the tests ran" if mode == "tests" else ""))
    except BaseException as e:  # noqa: BLE001
        report(*_classify(e, program))
    if mode == "io":
        report("ran")
    try:
        exec(tcode, namespace)
        if entry:
            if entry not in namespace:
                report("runtime_error", f"the program does not define `{entry}`")
            namespace["check"](namespace[entry])
    except AssertionError as e:
        open_hook[0] = False
        report("fail", _failing_test(e, tests))
    except BaseException as e:  # noqa: BLE001
        report(*_classify(e, program, during_tests=True))
    report("pass")


_DENIED_EVENTS = frozenset(
    "sys.addaudithook sys.settrace sys.setprofile sys._current_frames gc.get_objects "
    "gc.get_referrers gc.get_referents".split()
)


def _classify(e, program, during_tests=False):
    name = type(e).__name__
    msg = f"{name}: {e}"[:_DETAIL_CAP]
    if isinstance(e, MemoryError):
        return "memory", msg
    if isinstance(e, SystemExit):
        return "runtime_error", f"SystemExit({e.code!r}) raised during the tests"
    if isinstance(e, SyntaxError) and not during_tests:
        return "syntax_error", msg
    return "runtime_error", msg


def _failing_test(e, tests):
    lines = tests.splitlines()
    where = ""
    try:
        for fs in traceback.extract_tb(e.__traceback__):
            if fs.filename == "<tests>" and fs.lineno and fs.lineno <= len(lines):
                where = lines[fs.lineno - 1].strip()
    except BaseException:  # noqa: BLE001
        pass
    msg = str(e)
    return (where or "assertion failed") + (f" ({msg})" if msg else "")


def main():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.makedirs(WORK_ROOT, mode=0o755, exist_ok=True)
    gc.collect()
    gc.freeze()  # forked children then do not touch (and copy) the zygote's heap in their GCs
    _write_frame([b"ready", b"%d" % os.getpid()])
    counter = 0
    while True:
        counter += 1
        _serve_one(counter)


main()
