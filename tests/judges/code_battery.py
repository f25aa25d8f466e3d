"""The hostile battery for the code judge, as plain data (no pytest import).

Used by test_code_hostile.py in-process (as the test user) and by run_code_battery.py under an
unprivileged uid. Each case is a program (a ``str.format`` template over the context made by
:func:`make_context`), test code, and the statuses it may get. The function under test is always
``f(x) = x + 1``; a hostile program that still defines it correctly and survives its own
mischief passes, which shows the mischief changed nothing.
"""

from __future__ import annotations

import os
import socket
import sysconfig
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

GOOD = "def f(x):\n    return x + 1\n"
TESTS = "assert f(1) == 2\nassert f(41) == 42\n"
ZYGOTE_SIGNATURE = b"# cgpo sandbox zygote"
#: uids the `full` level runs jobs as (rust/src/sandbox/pool.rs JOB_UID_BASE).
JOB_UID_BASE = 2_100_000_000


@dataclass(frozen=True)
class Case:
    name: str
    program: str
    expected: tuple[str, ...]
    tests: str = TESTS
    #: Run FOLLOWUP next on the same worker: it must pass and find nothing this case planted.
    followup: bool = False
    entry_point: str | None = None
    #: Statuses in in-process mode (test_mode="inprocess"), where they differ from safe mode.
    inprocess: tuple[str, ...] | None = None

    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"tests": self.tests}
        if self.entry_point is not None:
            meta["entry_point"] = self.entry_point
        return meta


CASES = [
    Case("infinite_loop", "while True:\n    pass\n" + GOOD, ("timeout",)),
    Case("sleep_forever", "import time\ntime.sleep(10**6)\n" + GOOD, ("timeout",)),
    Case(
        "fork_bomb",
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        ("timeout",),
    ),
    Case(
        # The process limit stops the forks; the program then goes on and passes.
        "fork_bomb_counted",
        "import os, time\nn = 0\ntry:\n    while n < 100000:\n        if os.fork() == 0:\n"
        "            time.sleep(1000)\n            os._exit(0)\n        n += 1\n"
        "except OSError:\n    pass\nprint('forks', n)\n" + GOOD,
        ("pass",),
    ),
    Case("memory_bomb", "x = [0] * 10**10\n" + GOOD, ("memory",)),
    Case(
        "memory_bomb_growing",
        "chunks = []\nwhile True:\n    chunks.append(bytearray(10**8))\n",
        # Touching the pages up to the limit takes a while on a loaded machine.
        ("memory", "timeout"),
    ),
    Case(
        "huge_output",
        "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n",
        ("runtime_error", "timeout"),
    ),
    Case(
        "huge_output_then_correct",
        "import sys\nfor _ in range(100):\n    sys.stdout.write('y' * 10000)\n" + GOOD,
        ("pass",),
    ),
    Case(
        "write_outside_workdir",
        "import os\nhit = []\nfor d in {write_dirs!r}:\n    p = os.path.join(d, {probe!r})\n"
        "    try:\n        with open(p, 'w') as fh:\n            fh.write('x')\n"
        "        hit.append(p)\n"
        "    except OSError:\n        pass\nprint('WROTE', hit)\n" + GOOD,
        ("pass",),
    ),
    Case(
        "connect_tcp_listener",
        "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\n" + GOOD,
        ("runtime_error",),
    ),
    Case(
        "udp_and_unix_sockets",
        "import socket\nfor fam, kind, addr in [(socket.AF_INET, socket.SOCK_DGRAM, ('127.0.0.1', "
        "{udp_port})), (socket.AF_UNIX, socket.SOCK_STREAM, {unix_path!r})]:\n"
        "    try:\n        s = socket.socket(fam, kind)\n        s.connect(addr)\n"
        "        s.send(b'leak')\n        print('CONNECTED', addr)\n"
        "    except OSError as e:\n        print('blocked', e)\n" + GOOD,
        ("pass",),
    ),
    Case(
        "read_host_environment",
        "import os\nseen = [repr(dict(os.environ))]\nfor pid in os.listdir('/proc') + "
        "[str({host_pid})]:\n    try:\n"
        "        with open('/proc/' + pid + '/environ', 'rb') as fh:\n"
        "            seen.append(repr(fh.read()))\n    except OSError:\n        pass\n"
        "print('\\n'.join(seen))\n" + GOOD,
        ("pass",),
    ),
    Case(
        "read_etc_shadow",
        "print(open('/etc/shadow').read())\n" + GOOD,
        ("runtime_error",),
    ),
    Case(
        "double_forked_daemon",
        "import os, sys\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        os.execv(sys.executable, [sys.executable, '-c', 'import time; "
        "time.sleep(1000)', {marker!r}])\n    os._exit(0)\n" + GOOD,
        ("pass",),
    ),
    Case(
        # At level userns the tests' process has the program's uid, so kill(-1) ends it too:
        # the run fails (never passes without its tests).
        "kill_parent_and_everyone",
        "import os, signal\nfor pid in (os.getppid(), 1, -1):\n    try:\n"
        "        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\n" + GOOD,
        ("pass", "runtime_error"),
        inprocess=("pass",),
    ),
    Case(
        "kill_own_process_group",
        "import os, signal\nos.killpg(0, signal.SIGKILL)\n" + GOOD,
        ("runtime_error",),
    ),
    Case("early_sys_exit", "import sys\nsys.exit(0)\n" + GOOD, ("runtime_error",)),
    Case("early_os_exit", "import os\nos._exit(0)\n" + GOOD, ("runtime_error",)),
    Case(
        "exit_inside_the_tested_function",
        "def f(x):\n    import sys\n    sys.exit(0)\n",
        ("runtime_error",),
    ),
    Case(
        "keyboard_interrupt",
        "raise KeyboardInterrupt\n" + GOOD,
        ("runtime_error",),
    ),
    Case(
        "print_passed",
        "print('passed')\nprint('PASS')\nimport sys\nsys.stdout.flush()\nimport os\nos._exit(0)\n",
        ("runtime_error",),
    ),
    Case(
        "forge_report_on_every_fd",
        "import os\nfor fd in range(3, 1024):\n    for line in (b'pass\\n', b'ok pass\\n'):\n"
        "        try:\n            os.write(fd, line)\n        except OSError:\n            pass\n"
        "os._exit(0)\n",
        ("runtime_error",),
    ),
    Case(
        # Safe mode: a tracer in the program's process sees no test; in-process it is refused.
        "tamper_with_tracing",
        "import sys\nsys.settrace(lambda *a: None)\n" + GOOD,
        ("pass",),
        inprocess=("runtime_error",),
    ),
    Case(
        "rebind_builtins_exec",
        "import builtins\nbuiltins.exec = lambda *a, **k: None\ndef f(x):\n    return 0\n",
        ("fail",),
    ),
    Case(
        "patch_the_harness_module",
        "import sys\nm = sys.modules['__main__']\nfor name in dir(m):\n"
        "    if callable(getattr(m, name)):\n"
        "        setattr(m, name, lambda *a, **k: ('pass', ''))\nraise ValueError('x')\n",
        ("runtime_error",),
    ),
    Case(
        "walk_frames_to_the_harness",
        "import sys\nfr = sys._getframe(0)\nwhile fr is not None:\n"
        "    for v in [*fr.f_locals.values(), *fr.f_globals.values()]:\n"
        "        if callable(v) and getattr(v, '__name__', '') in ('report', '_harness'):\n"
        "            try:\n                v('pass')\n            except BaseException:\n"
        "                pass\n    fr = fr.f_back\ndef f(x):\n    return 0\n",
        ("fail",),
    ),
    Case(
        # Safe mode: the thread cannot touch the verdict and dies with the run; in-process
        # mode waits for every thread before a result counts.
        "leave_a_thread_running",
        "import threading, time\nthreading.Thread(target=time.sleep, args=(1000,), daemon=True)"
        ".start()\n" + GOOD,
        ("pass",),
        inprocess=("timeout",),
    ),
    Case(
        # User code runs off the main thread, where signal.signal raises: the signals are
        # ignored in a shell instead, which is then killed like anything else.
        "ignore_signals",
        "import os, signal\ntry:\n    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "except ValueError:\n    pass\n"
        "os.system(\"trap '' TERM INT HUP XCPU; while :; do :; done\")\n" + GOOD,
        ("timeout",),
    ),
    Case(
        "deep_recursion",
        "def r(n):\n    return r(n + 1)\nr(0)\n" + GOOD,
        ("runtime_error",),
    ),
    Case(
        "deep_recursion_raised_limit",
        "import sys\nsys.setrecursionlimit(10**8)\ndef r(n):\n    return r(n + 1) + 1\nr(0)\n"
        + GOOD,
        # 3.11 keeps Python frames off the C stack: the frames fill the memory limit first, or
        # the clock runs out while they do.
        ("runtime_error", "memory", "timeout"),
    ),
    Case(
        "plant_files_and_ipc_for_the_next_job",
        "import os\nfor p in ('/tmp/' + {probe!r}, {probe!r}, '../' + {probe!r}):\n    try:\n"
        "        open(p, 'w').write('x')\n    except OSError:\n        pass\n"
        "for d in ('/tmp', '.'):\n    try:\n        os.chmod(d, 0)\n    except OSError:\n"
        "        pass\nos.system('ipcmk -M 4096 -Q 2>/dev/null')\n" + GOOD,
        ("pass",),
        followup=True,
    ),
    Case(
        "close_stdout_and_stderr",
        "import os, sys\nsys.stdout.close()\nos.close(1)\nos.close(2)\n" + GOOD,
        ("pass",),
    ),
]

# Issue 16: what a program can see of the host's filesystem (levels full and userns).
FILESYSTEM_CASES = [
    Case(
        # Every readable regular file outside the system directories and the interpreter's own.
        "enumerate_the_filesystem",
        "import os, sys\nallowed = ('/usr', '/bin', '/sbin', '/lib', '/etc', '/dev', '/proc', "
        "'/tmp', sys.base_prefix, sys.prefix)\nseen = []\nfor top in os.listdir('/'):\n"
        "    for root, dirs, files in os.walk('/' + top):\n"
        "        if root.startswith(allowed):\n            dirs[:] = []\n            continue\n"
        "        for name in files:\n            p = os.path.join(root, name)\n"
        "            if os.path.isfile(p) and os.access(p, os.R_OK):\n"
        "                seen.append(p)\nprint('VISIBLE', len(seen), seen[:20])\n" + GOOD,
        ("pass",),
    ),
    Case(
        # The caller's data: a file next to the tests (the checkout), one in a host temp dir.
        "read_the_callers_data_files",
        "for p in {data_files!r}:\n    try:\n        print(open(p).read())\n"
        "    except OSError as e:\n        print('blocked', type(e).__name__)\n" + GOOD,
        ("pass",),
    ),
]


# Issue 18: wrong programs (f(x) = 0 or no real f) that fooled the in-process harness. In safe
# mode (the default) the tests and the verdict live in another process, so each must fail.
FORGERY_CASES = [
    Case(
        # stdout/stderr objects whose flush() the harness calls: the first raises an exception
        # the program keeps (its traceback then holds the caller's frame), the second starts a
        # thread that reads that frame's locals and writes `<nonce> pass` to the report pipe.
        "forge_report_via_flush_and_thread",
        "import os, sys, threading\n"
        "def forge(exc):\n    tb = exc.__traceback__\n    while tb is not None:\n"
        "        loc = tb.tb_frame.f_locals\n        if 'nonce' in loc and 'rep' in loc:\n"
        "            os.write(loc['rep'], loc['nonce'] + b' pass\\n')\n        tb = tb.tb_next\n"
        "class Flusher:\n    def __init__(self, real):\n        self.real, self.n = real, 0\n"
        "        self.exc = RuntimeError('keep')\n"
        "    def write(self, s):\n        return self.real.write(s)\n"
        "    def flush(self):\n        self.n += 1\n        if self.n == 1:\n"
        "            raise self.exc\n        if self.n == 2:\n"
        "            t = threading.Thread(target=forge, args=(self.exc,))\n"
        "            t.start()\n            t.join()\n"
        "sys.stdout, sys.stderr = Flusher(sys.stdout), Flusher(sys.stderr)\n"
        "def f(x):\n    return 0\n",
        ("fail",),
    ),
    Case(
        # A thread rewrites any result list it finds in the frames below the program (the
        # in-process step runner's `box`) once the harness has filled it.
        "rewrite_the_result_list_from_a_thread",
        "import sys, threading, time\nfound = []\nfr = sys._getframe()\nwhile fr is not None:\n"
        "    for v in list(fr.f_locals.values()):\n        if type(v) is list:\n"
        "            found.append((v, fr.f_locals.get('steps', ())))\n    fr = fr.f_back\n"
        "def tamper():\n    end = time.time() + 1\n    while time.time() < end:\n"
        "        for box, steps in found:\n            if len(box) == 2:\n"
        "                box[1] = (len(steps), None, None)\n        time.sleep(0.0005)\n"
        "threading.Thread(target=tamper).start()\n"
        "def f(x):\n    return 0\n",
        ("fail", "timeout"),
    ),
    Case(
        "always_equal_object",
        "class E:\n    def __eq__(self, other):\n        return True\n"
        "    def __ne__(self, other):\n        return False\n    __hash__ = None\n"
        "def f(x):\n    return E()\n",
        ("runtime_error",),
    ),
    Case(
        "always_equal_int_subclass",
        "class I(int):\n    def __eq__(self, other):\n        return True\n"
        "    __hash__ = int.__hash__\ndef f(x):\n    return I(0)\n",
        ("runtime_error",),
    ),
    Case(
        "always_equal_inside_a_container",
        "class E:\n    __eq__ = lambda s, o: True\n    __class__ = int\n"
        "def f(x):\n    return [E()]\n",
        ("runtime_error",),
        tests="assert f(1) == [2]\n",
    ),
    Case(
        "patch_math_isclose_and_fabs",
        "import math, operator, builtins\nmath.isclose = lambda *a, **k: True\n"
        "math.fabs = lambda x: 0.0\noperator.eq = lambda a, b: True\n"
        "builtins.abs = lambda x: 0\ndef f(x):\n    return 0.0\n",
        ("fail",),
        tests="import math\nassert math.isclose(f(1.0), 2.0)\n"
        "assert math.fabs(f(1.0) - 2.0) < 1e-9\nassert abs(f(1.0) - 2.0) < 1e-9\n",
    ),
    Case(
        # Reads the expected value out of the calling test's bytecode.
        "read_the_expected_constant_from_the_caller",
        "import sys, dis\ndef f(x):\n    fr = sys._getframe(1)\n"
        "    for ins in dis.get_instructions(fr.f_code):\n"
        "        if ins.offset > fr.f_lasti and ins.opname == 'LOAD_CONST':\n"
        "            return ins.argval\n    return None\n",
        ("fail",),
    ),
    Case(
        "read_the_expected_value_from_the_callers_locals",
        "import sys\ndef f(x):\n    fr = sys._getframe(1)\n    while fr is not None:\n"
        "        for v in fr.f_locals.values():\n"
        "            if type(v) is int and v == x + 1:\n                return v\n"
        "        fr = fr.f_back\n    return None\n",
        ("fail",),
        tests="expected = 2\nassert f(1) == expected\n",
    ),
    Case(
        # Module-level functions named like the builtins the tests call.
        "shadow_the_builtins_the_tests_use",
        "def abs(x):\n    return 0\ndef round(x, n=0):\n    return 2.0\n"
        "def f(x):\n    return 0.0\n",
        ("fail",),
        tests="assert abs(f(1.0) - 2.0) < 1e-9\nassert round(f(1.0), 3) == 2.0\n",
    ),
    Case(
        # StopIteration from the function ends the tests' map() early: all() holds vacuously.
        "stop_iteration_ends_the_tests_loop",
        "def f(x):\n    raise StopIteration\n",
        ("runtime_error",),
        tests="assert all(map(lambda x: f(x) == x + 1, [1, 2, 3]))\n",
    ),
    Case(
        "always_equal_through_check_candidate",
        "class E:\n    __eq__ = lambda s, o: True\ndef inc(x):\n    return E()\n",
        ("runtime_error",),
        tests="def check(candidate):\n    assert candidate(1) == 2\n",
        entry_point="inc",
    ),
]


FOLLOWUP = (
    "import os, sys\nfor root, dirs, files in os.walk('/tmp'):\n    if {probe!r} in files:\n"
    "        print('PLANTED', root)\nsys.stdout.flush()\nos.system('ipcs -m -q 2>/dev/null')\n"
    + GOOD
)


def run_case(judge: Any, case: Case, ctx: dict[str, Any]) -> tuple[str, str, list[str]]:
    """Runs a case (and its follow-up); returns its status, detail and breaches."""
    from cgpo.judges import Sample

    result = judge.explain([Sample("", render(case, ctx), case.metadata())])[0]
    found = breaches(case, ctx, result.details["stdout"])
    if case.followup:
        # One-sample calls always run on the first worker: the same zygote as the case.
        program = FOLLOWUP.format(probe=ctx["probe"])
        after = judge.explain([Sample("", program, {"tests": TESTS})])[0]
        if after.reason != "pass":
            found.append(f"the next job got {after.reason}: {after.details['detail']}")
        if "PLANTED" in after.details["stdout"] or "0x" in after.details["stdout"]:
            found.append(f"the next job saw what this one left: {after.details['stdout']!r}")
    return result.reason, result.details["detail"], found


@contextmanager
def make_context() -> Iterator[dict[str, Any]]:
    """Listeners, a secret, directories to probe; yields the template context."""
    marker = f"cgpo-battery-{uuid.uuid4().hex}"
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    tcp.settimeout(0.2)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.2)
    with tempfile.TemporaryDirectory(prefix="cgpo-battery-") as host_dir:
        os.chmod(host_dir, 0o777)
        unix_path = os.path.join(host_dir, "listener.sock")
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.bind(unix_path)
        os.chmod(unix_path, 0o777)
        unix.listen(8)
        unix.settimeout(0.2)
        data_files = []
        for directory in (os.path.dirname(os.path.abspath(__file__)), host_dir):
            path = os.path.join(directory, f".{marker}.data")
            try:
                with open(path, "w") as fh:
                    fh.write(f"gold answers {marker}-data")
            except OSError:
                continue  # as `nobody`, the checkout is not writable
            os.chmod(path, 0o644)
            data_files.append(path)
        write_dirs = [
            "/tmp",
            "/var/tmp",
            "/dev/shm",
            os.getcwd(),
            host_dir,
            sysconfig.get_paths()["purelib"],
        ]
        ctx = {
            "marker": marker,
            "probe": marker + ".probe",
            "port": tcp.getsockname()[1],
            "udp_port": udp.getsockname()[1],
            "unix_path": unix_path,
            "host_pid": os.getpid(),
            "write_dirs": [d for d in write_dirs if os.path.isdir(d)],
            "secret": f"cgpo-secret-{uuid.uuid4().hex}",
            "data_files": data_files,
            "_sockets": (tcp, udp, unix),
        }
        old = os.environ.get("CGPO_BATTERY_SECRET")
        os.environ["CGPO_BATTERY_SECRET"] = ctx["secret"]
        try:
            yield ctx
        finally:
            if old is None:
                del os.environ["CGPO_BATTERY_SECRET"]
            else:
                os.environ["CGPO_BATTERY_SECRET"] = old
            for s in (tcp, udp, unix):
                s.close()
            for path in data_files:
                os.unlink(path)


def render(case: Case, ctx: dict[str, Any]) -> str:
    return case.program.format(**{k: v for k, v in ctx.items() if not k.startswith("_")})


def breaches(case: Case, ctx: dict[str, Any], stdout: str) -> list[str]:
    """Everything a case may have leaked or left behind on the host, as messages."""
    found = []
    tcp, udp, unix = ctx["_sockets"]
    for name, listener in (("tcp", tcp), ("unix", unix)):
        try:
            conn, _ = listener.accept()
            conn.close()
            found.append(f"something connected to the {name} listener")
        except OSError:
            pass
    try:
        udp.recvfrom(100)
        found.append("a UDP datagram arrived")
    except OSError:
        pass
    for d in ctx["write_dirs"]:
        p = os.path.join(d, ctx["probe"])
        if os.path.exists(p):
            os.unlink(p)
            found.append(f"wrote {p}")
    if ctx["secret"] in stdout:
        found.append("read the host's secret environment variable")
    if "root:" in stdout:
        found.append("read /etc/shadow")
    if f"{ctx['marker']}-data" in stdout:
        found.append("read the caller's data files")
    if "VISIBLE" in stdout and not stdout.split("VISIBLE", 1)[1].startswith(" 0 "):
        found.append(f"saw host files: {stdout.split('VISIBLE', 1)[1][:300]}")
    found.extend(
        f"left process {pid} running: {_cmdline(str(pid))[:80]!r} {_state(str(pid))}"
        for pid in leftover_processes(ctx["marker"])
    )
    return found


def _cmdline(pid: str) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def _state(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return f"state={fields[0]} ppid={fields[1]}"
    except OSError:
        return "gone"


def _real_uid(pid: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def _parent(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[1]
    except OSError:
        return "0"


def _descends_from_me(pid: str) -> bool:
    me = str(os.getpid())
    for _ in range(64):
        pid = _parent(pid)
        if pid == me:
            return True
        if pid in ("0", "1"):
            return False
    return False


def leftover_processes(marker: str) -> list[int]:
    """Processes carrying the case's marker, or running as a sandbox job uid (level `full`) under
    this process's zygotes (other judges on the host may be running jobs right now)."""
    left = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        if marker.encode() in _cmdline(pid) or (
            _real_uid(pid) >= JOB_UID_BASE and _descends_from_me(pid)
        ):
            left.append(int(pid))
    return left


def zygote_processes(uid: int | None = None) -> list[int]:
    """Host pids of this process's live zygotes and their jobs (they all carry the zygote's
    source in argv), optionally only those running as ``uid``."""
    return [
        int(pid)
        for pid in os.listdir("/proc")
        if pid.isdigit()
        and ZYGOTE_SIGNATURE in _cmdline(pid)
        and (uid is None or _real_uid(pid) == uid)
        and _descends_from_me(pid)
    ]
