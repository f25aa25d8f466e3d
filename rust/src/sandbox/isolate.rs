//! Kernel isolation applied to a zygote between `fork` and `exec` (see [`Isolation`]).
//!
//! Everything here runs in the forked child of a possibly multi-threaded process, so it only
//! makes async-signal-safe system calls on memory prepared before the fork ([`Prepared`]).

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// How strongly executions are isolated; chosen once per sandbox, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Host root: new PID, network, mount, IPC and UTS namespaces; read-only root filesystem with
    /// a private tmpfs on /tmp and an empty /proc; seccomp filter; jobs run as an unprivileged uid.
    Full,
    /// Unprivileged host user: the same namespaces inside a new user namespace, every capability
    /// dropped; jobs keep the host user's uid (mapped to 0 inside, without capabilities).
    Userns,
    /// No namespaces available: seccomp filter, rlimits, a private session killed as a group,
    /// and (as root) an unprivileged uid. Writes to world-writable host directories and daemons
    /// that leave the session are NOT contained at this level.
    Minimal,
}

impl Isolation {
    pub fn name(self) -> &'static str {
        match self {
            Isolation::Full => "full",
            Isolation::Userns => "userns",
            Isolation::Minimal => "minimal",
        }
    }

    pub fn parse(s: &str) -> Option<Isolation> {
        match s {
            "full" => Some(Isolation::Full),
            "userns" => Some(Isolation::Userns),
            "minimal" => Some(Isolation::Minimal),
            _ => None,
        }
    }

    /// The levels worth trying for this process, strongest first.
    pub fn candidates() -> Vec<Isolation> {
        if unsafe { libc::geteuid() } == 0 {
            vec![Isolation::Full, Isolation::Userns, Isolation::Minimal]
        } else {
            vec![Isolation::Userns, Isolation::Minimal]
        }
    }
}

/// The top-level directories jobs see (read-only): the system's programs, libraries and
/// configuration, devices, and the private /proc and /tmp. Every other top-level directory
/// (`/root`, `/home`, `/work`, `/data`, `/opt`, `/srv`, `/mnt`, `/var`, `/run`, `/sys`, ...) is
/// hidden behind an empty tmpfs, and every top-level regular file behind `/dev/null`; the
/// interpreter's own directories inside a hidden one are mounted back read-only.
const VISIBLE_TOP: [&str; 11] = [
    "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "dev", "proc", "tmp",
];

/// Top-level directories and regular files to hide (symbolic links are left: they resolve
/// inside the tree, where their targets are hidden or visible on their own).
fn hidden_top_level() -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/") {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if VISIBLE_TOP.iter().any(|v| name.as_bytes() == v.as_bytes()) {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() => dirs.push(entry.path()),
                Ok(t) if t.is_file() => files.push(entry.path()),
                _ => {}
            }
        }
    }
    dirs.sort();
    files.sort();
    (dirs, files)
}

/// The interpreter binary behind `python` (a bare name, a virtualenv symlink or a launcher
/// script such as a pyenv shim), and the directories it reads from (its prefix and `sys.path`),
/// asked once from the interpreter itself. Those inside a hidden directory are mounted back
/// read-only.
pub fn probe_interpreter(python: &Path) -> io::Result<(PathBuf, Vec<PathBuf>)> {
    let out = std::process::Command::new(python)
        .args([
            "-I",
            "-S",
            "-c",
            "import sys\nfor p in [sys.executable, sys.base_prefix, sys.prefix, *sys.path]: print(p)",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{} -I -S failed ({})",
            python.display(),
            out.status
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let executable = std::fs::canonicalize(lines.next().unwrap_or_default())?;
    let dirs = lines
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_dir())
        .collect();
    Ok((executable, dirs))
}

/// A directory to mount back inside a hidden one, with the directories to create first.
struct Keep {
    path: CString,
    parents: Vec<CString>,
}

/// Strings and the seccomp program, built before `fork`.
pub struct Prepared {
    level: Isolation,
    uid_map: CString,
    gid_map: CString,
    tmpfs_opts: CString,
    hide: Vec<CString>,
    blank: Vec<CString>,
    keep: Vec<Keep>,
    filter: Vec<libc::sock_filter>,
}

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("paths have no NUL")
}

impl Prepared {
    pub fn new(level: Isolation, tmpfs_mb: u64, interpreter_dirs: &[PathBuf]) -> Prepared {
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let (hidden_dirs, hidden_files) = if level == Isolation::Minimal {
            (Vec::new(), Vec::new())
        } else {
            hidden_top_level()
        };
        let hide: Vec<&Path> = hidden_dirs.iter().map(PathBuf::as_path).collect();
        let mut keep_paths: Vec<&PathBuf> = interpreter_dirs
            .iter()
            .filter(|d| hide.iter().any(|h| d.starts_with(h) && d.as_path() != *h))
            .collect();
        keep_paths.sort();
        keep_paths.dedup();
        // A directory inside another kept one comes back with its parent.
        let kept = keep_paths.clone();
        keep_paths.retain(|d| !kept.iter().any(|o| *o != *d && d.starts_with(o)));
        let keep = keep_paths
            .into_iter()
            .map(|d| {
                let root = hide.iter().find(|h| d.starts_with(h)).expect("filtered");
                let mut parents = Vec::new();
                let mut cur = d.as_path();
                while let Some(parent) = cur.parent() {
                    if parent == *root {
                        break;
                    }
                    parents.push(cstr(parent));
                    cur = parent;
                }
                parents.reverse();
                parents.push(cstr(d));
                Keep {
                    path: cstr(d),
                    parents,
                }
            })
            .collect();
        Prepared {
            level,
            uid_map: CString::new(format!("0 {uid} 1\n")).expect("no NUL"),
            gid_map: CString::new(format!("0 {gid} 1\n")).expect("no NUL"),
            tmpfs_opts: CString::new(format!("size={tmpfs_mb}m,nr_inodes=16384,mode=0755"))
                .expect("no NUL"),
            hide: hide.into_iter().map(cstr).collect(),
            blank: hidden_files.iter().map(|p| cstr(p)).collect(),
            keep,
            filter: seccomp_filter(),
        }
    }

    /// Applies the isolation to the calling (freshly forked) process. For the namespace levels
    /// the process forks once more: the caller stays behind as a waiter (the process Rust holds
    /// and kills) and the returned-to process is PID 1 of the new PID namespace, which dies with
    /// the waiter (PDEATHSIG) and takes every process of the namespace with it.
    ///
    /// # Safety
    /// Only call between `fork` and `exec` (e.g. from `Command::pre_exec`).
    pub unsafe fn enter(&self) -> io::Result<()> {
        match self.level {
            Isolation::Full | Isolation::Userns => self.enter_namespaces()?,
            Isolation::Minimal => {
                // Own session: the zygote's jobs then never share the host's process group.
                if libc::setsid() < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        install_seccomp(&self.filter)
    }

    unsafe fn enter_namespaces(&self) -> io::Result<()> {
        let mut flags = libc::CLONE_NEWNS
            | libc::CLONE_NEWNET
            | libc::CLONE_NEWIPC
            | libc::CLONE_NEWUTS
            | libc::CLONE_NEWPID;
        if self.level == Isolation::Userns {
            flags |= libc::CLONE_NEWUSER;
        }
        check(libc::unshare(flags))?;
        if self.level == Isolation::Userns {
            write_file(c"/proc/self/setgroups", c"deny")?;
            write_file(c"/proc/self/uid_map", &self.uid_map)?;
            write_file(c"/proc/self/gid_map", &self.gid_map)?;
        }
        let pid = check(libc::fork())?;
        if pid > 0 {
            wait_and_exit(pid);
        }
        check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0))?;
        let null = std::ptr::null::<libc::c_char>();
        check(libc::mount(
            null,
            c"/".as_ptr(),
            null,
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ))?;
        // No procfs at all: an empty /proc hides the host's processes and environments, and
        // leaves no /proc/<pid>/mem through which a job could read the harness's memory.
        check(libc::mount(
            c"tmpfs".as_ptr(),
            c"/proc".as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            c"size=16k,nr_inodes=16,mode=0555".as_ptr().cast(),
        ))?;
        self.mask_homes()?;
        let attr = MountAttr {
            attr_set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID,
            attr_clr: 0,
            propagation: 0,
            userns_fd: 0,
        };
        check(libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            c"/".as_ptr(),
            libc::AT_RECURSIVE as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        ) as libc::c_int)?;
        check(libc::mount(
            c"tmpfs".as_ptr(),
            c"/tmp".as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            self.tmpfs_opts.as_ptr().cast(),
        ))?;
        if self.level == Isolation::Userns {
            drop_capabilities()?;
        }
        Ok(())
    }
}

impl Prepared {
    /// Covers the hidden top-level directories with empty read-only tmpfs mounts (and the
    /// top-level files with `/dev/null`), then mounts the
    /// interpreter's directories back at their own paths (detached copies taken beforehand with
    /// open_tree, since the originals vanish under the tmpfs).
    unsafe fn mask_homes(&self) -> io::Result<()> {
        let mut fds = [-1; 16];
        let keep = &self.keep[..self.keep.len().min(fds.len())];
        for (k, fd) in keep.iter().zip(fds.iter_mut()) {
            *fd = check(libc::syscall(
                libc::SYS_open_tree,
                libc::AT_FDCWD,
                k.path.as_ptr(),
                OPEN_TREE_CLONE
                    | libc::O_CLOEXEC as libc::c_uint
                    | libc::AT_RECURSIVE as libc::c_uint,
            ) as libc::c_int)?;
        }
        for dir in &self.hide {
            check(libc::mount(
                c"tmpfs".as_ptr(),
                dir.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                c"size=1m,mode=0755".as_ptr().cast(),
            ))?;
        }
        for file in &self.blank {
            check(libc::mount(
                c"/dev/null".as_ptr(),
                file.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            ))?;
        }
        for (k, fd) in keep.iter().zip(fds.iter()) {
            for p in &k.parents {
                if libc::mkdir(p.as_ptr(), 0o755) < 0 && *libc::__errno_location() != libc::EEXIST {
                    return Err(io::Error::last_os_error());
                }
            }
            check(libc::syscall(
                libc::SYS_move_mount,
                *fd,
                c"".as_ptr(),
                libc::AT_FDCWD,
                k.path.as_ptr(),
                MOVE_MOUNT_F_EMPTY_PATH,
            ) as libc::c_int)?;
            libc::close(*fd);
        }
        Ok(())
    }
}

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;

fn check<T: Copy + PartialOrd + Default>(ret: T) -> io::Result<T> {
    if ret < T::default() {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

unsafe fn write_file(path: &std::ffi::CStr, data: &std::ffi::CStr) -> io::Result<()> {
    let fd = check(libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC))?;
    let bytes = data.to_bytes();
    let n = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
    libc::close(fd);
    if n != bytes.len() as isize {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The waiter: closes everything it inherited (so `Command::spawn`, which waits for its exec
/// status pipe to close, returns once the zygote has exec'd), then mirrors the zygote's exit.
unsafe fn wait_and_exit(pid: libc::pid_t) -> ! {
    libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32);
    let mut status = 0;
    loop {
        let r = libc::waitpid(pid, &mut status, 0);
        if r == pid || (r < 0 && *libc::__errno_location() != libc::EINTR) {
            break;
        }
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    libc::_exit(code)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

unsafe fn drop_capabilities() -> io::Result<()> {
    for cap in 0..64 {
        // Stops at the first capability the kernel does not know (EINVAL).
        if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 {
            break;
        }
    }
    let header = CapHeader {
        version: 0x2008_0522,
        pid: 0,
    };
    let data = [CapData::default(); 2];
    check(libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) as i32)?;
    Ok(())
}

// --- seccomp ---------------------------------------------------------------------------------

const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JGE_K: u16 = 0x35;
const BPF_JSET_K: u16 = 0x45;
const BPF_RET_K: u16 = 0x06;
/// Offsets in `struct seccomp_data`.
const NR_OFFSET: u32 = 0;
const ARCH_OFFSET: u32 = 4;
const ARG0_OFFSET: u32 = 16;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

/// The namespace flags of clone(2): creating namespaces is how sandboxes get escaped from.
const CLONE_NEW_MASK: u32 = 0x7E02_0000;

/// System calls that fail with EPERM: the network (socket; socketpair stays, it reaches nothing),
/// other processes' memory, namespaces and mounts, IPC objects, and kernel facilities no test
/// needs.
fn denied_syscalls() -> Vec<libc::c_long> {
    let mut v = vec![
        libc::SYS_socket,
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_pidfd_getfd,
        libc::SYS_kcmp,
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_mount_setattr,
        libc::SYS_move_mount,
        libc::SYS_open_tree,
        libc::SYS_fsopen,
        libc::SYS_fsconfig,
        libc::SYS_fsmount,
        libc::SYS_fspick,
        libc::SYS_kexec_load,
        libc::SYS_kexec_file_load,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_userfaultfd,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_reboot,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_acct,
        libc::SYS_settimeofday,
        libc::SYS_clock_settime,
        libc::SYS_clock_adjtime,
        libc::SYS_adjtimex,
        libc::SYS_syslog,
        libc::SYS_vhangup,
        libc::SYS_quotactl,
        libc::SYS_process_madvise,
        // System V and POSIX IPC objects outlive the job in the worker's IPC namespace: a job
        // could leave messages for the next one.
        libc::SYS_shmget,
        libc::SYS_shmat,
        libc::SYS_shmctl,
        libc::SYS_msgget,
        libc::SYS_msgsnd,
        libc::SYS_msgrcv,
        libc::SYS_msgctl,
        libc::SYS_semget,
        libc::SYS_semop,
        libc::SYS_semtimedop,
        libc::SYS_semctl,
        libc::SYS_mq_open,
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend([libc::SYS_iopl, libc::SYS_ioperm]);
    v
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The BPF program: wrong architecture kills; x32 and the denied calls get EPERM; clone3 gets
/// ENOSYS (libc then falls back to clone, whose flags BPF can inspect); clone with a namespace
/// flag gets EPERM; everything else is allowed.
pub fn seccomp_filter() -> Vec<libc::sock_filter> {
    let eperm = SECCOMP_RET_ERRNO | libc::EPERM as u32;
    let mut f = vec![
        stmt(BPF_LD_W_ABS, ARCH_OFFSET),
        jump(BPF_JEQ_K, AUDIT_ARCH, 1, 0),
        stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS),
        stmt(BPF_LD_W_ABS, NR_OFFSET),
    ];
    #[cfg(target_arch = "x86_64")]
    {
        f.push(jump(BPF_JGE_K, 0x4000_0000, 0, 1));
        f.push(stmt(BPF_RET_K, eperm));
    }
    for nr in denied_syscalls() {
        f.push(jump(BPF_JEQ_K, nr as u32, 0, 1));
        f.push(stmt(BPF_RET_K, eperm));
    }
    f.push(jump(BPF_JEQ_K, libc::SYS_clone3 as u32, 0, 1));
    f.push(stmt(BPF_RET_K, SECCOMP_RET_ERRNO | libc::ENOSYS as u32));
    f.push(jump(BPF_JEQ_K, libc::SYS_clone as u32, 0, 3));
    f.push(stmt(BPF_LD_W_ABS, ARG0_OFFSET));
    f.push(jump(BPF_JSET_K, CLONE_NEW_MASK, 0, 1));
    f.push(stmt(BPF_RET_K, eperm));
    f.push(stmt(BPF_RET_K, SECCOMP_RET_ALLOW));
    f
}

unsafe fn install_seccomp(filter: &[libc::sock_filter]) -> io::Result<()> {
    check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    check(libc::prctl(
        libc::PR_SET_SECCOMP,
        libc::SECCOMP_MODE_FILTER,
        &prog as *const libc::sock_fprog,
        0,
        0,
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_jumps_stay_inside_the_program() {
        let f = seccomp_filter();
        for (i, ins) in f.iter().enumerate() {
            if ins.code & 0x07 == 0x05 {
                assert!(i + 1 + (ins.jt as usize) < f.len());
                assert!(i + 1 + (ins.jf as usize) < f.len());
            }
        }
        assert_eq!(f.last().unwrap().k, SECCOMP_RET_ALLOW);
    }

    #[test]
    fn level_names_round_trip() {
        for l in [Isolation::Full, Isolation::Userns, Isolation::Minimal] {
            assert_eq!(Isolation::parse(l.name()), Some(l));
        }
    }
}
