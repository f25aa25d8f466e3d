//! A cgroup per worker that every process of a job joins: it caps the run's total memory
//! (`memory.max`; v1 `memory.limit_in_bytes` and `memory.memsw.limit_in_bytes`) and its task
//! count (`pids.max`), whatever the job does: many processes, memfd or tmpfs files all count.
//!
//! The cgroup is made under this process's own cgroup (so the caller's limits still apply) in
//! the cgroup v2 hierarchy when it offers the memory and pids controllers there, else in the v1
//! `memory` (and `pids`) hierarchies. Without a writable hierarchy (not root, no delegation, or
//! a v2 cgroup that holds processes and so cannot enable controllers for children) there is no
//! run cap: `CodeJudge.run_memory_cap` is then `None` and only the per-process limits hold.
//!
//! The job's processes join by writing "0" to descriptors of `cgroup.procs` opened here, before
//! the zygote's root filesystem goes read-only.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Which hierarchy carries the caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    V1,
    V2,
}

impl CgroupVersion {
    pub fn name(self) -> &'static str {
        match self {
            CgroupVersion::V1 => "cgroup v1",
            CgroupVersion::V2 => "cgroup v2",
        }
    }
}

/// One worker's job cgroup; removed when dropped (after its processes are gone).
pub struct JobCgroup {
    pub version: CgroupVersion,
    dirs: Vec<PathBuf>,
    /// `cgroup.procs` of each directory, open for writing.
    pub procs: Vec<File>,
    /// `memory.events` (v2) or `memory.oom_control` (v1): its `oom_kill` line counts the
    /// processes the kernel killed for memory.
    pub events: File,
}

struct Mount {
    root: String,
    point: PathBuf,
    fstype: String,
    options: String,
}

fn mounts() -> io::Result<Vec<Mount>> {
    let text = fs::read_to_string("/proc/self/mountinfo")?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            Some(Mount {
                root: unescape(left.get(3)?),
                point: PathBuf::from(unescape(left.get(4)?)),
                fstype: right.first()?.to_string(),
                options: right.get(2).unwrap_or(&"").to_string(),
            })
        })
        .collect())
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// This process's directory in a hierarchy: its cgroup path seen through the mount's root.
fn own_dir(mount: &Mount, path: &str) -> Option<PathBuf> {
    let rel = if mount.root == "/" {
        path
    } else {
        path.strip_prefix(mount.root.as_str())?
    };
    let dir = mount.point.join(rel.trim_start_matches('/'));
    dir.is_dir().then_some(dir)
}

fn write(path: &Path, value: &str) -> io::Result<()> {
    fs::write(path, value)
}

fn open_procs(dir: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.procs"))
}

impl JobCgroup {
    /// Creates the cgroup `name` with the caps; `None` where no hierarchy allows it.
    pub fn create(name: &str, memory_bytes: u64, max_tasks: u64) -> Option<JobCgroup> {
        let cgroups = fs::read_to_string("/proc/self/cgroup").ok()?;
        let mounts = mounts().ok()?;
        let mut partial = JobCgroup::empty()?;
        let made = partial
            .try_v2(&cgroups, &mounts, name, memory_bytes, max_tasks)
            .or_else(|_| {
                partial.remove();
                partial.try_v1(&cgroups, &mounts, name, memory_bytes, max_tasks)
            });
        match made {
            Ok(()) => Some(partial),
            Err(_) => {
                partial.remove();
                None
            }
        }
    }

    fn empty() -> Option<JobCgroup> {
        Some(JobCgroup {
            version: CgroupVersion::V1,
            dirs: Vec::new(),
            procs: Vec::new(),
            events: File::open("/dev/null").ok()?,
        })
    }

    fn try_v2(
        &mut self,
        cgroups: &str,
        mounts: &[Mount],
        name: &str,
        memory_bytes: u64,
        max_tasks: u64,
    ) -> io::Result<()> {
        let path = cgroups
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .ok_or_else(|| io::Error::other("no cgroup v2 membership"))?;
        let parent = mounts
            .iter()
            .filter(|m| m.fstype == "cgroup2")
            .find_map(|m| own_dir(m, path))
            .ok_or_else(|| io::Error::other("no cgroup v2 mount"))?;
        let available = fs::read_to_string(parent.join("cgroup.controllers"))?;
        if !["memory", "pids"]
            .iter()
            .all(|c| available.split_whitespace().any(|a| a == *c))
        {
            return Err(io::Error::other("cgroup v2 lacks memory or pids"));
        }
        let enabled = fs::read_to_string(parent.join("cgroup.subtree_control"))?;
        if !["memory", "pids"]
            .iter()
            .all(|c| enabled.split_whitespace().any(|a| a == *c))
        {
            // Fails (EBUSY) when the parent holds processes: the "no internal processes" rule.
            write(&parent.join("cgroup.subtree_control"), "+memory +pids")?;
        }
        let dir = parent.join(name);
        fs::create_dir(&dir)?;
        self.version = CgroupVersion::V2;
        self.dirs.push(dir.clone());
        write(&dir.join("memory.max"), &memory_bytes.to_string())?;
        // No swap, where the kernel has it: otherwise pages past the cap go to swap.
        let _ = write(&dir.join("memory.swap.max"), "0");
        write(&dir.join("pids.max"), &max_tasks.to_string())?;
        self.events = File::open(dir.join("memory.events"))?;
        self.procs.push(open_procs(&dir)?);
        Ok(())
    }

    fn try_v1(
        &mut self,
        cgroups: &str,
        mounts: &[Mount],
        name: &str,
        memory_bytes: u64,
        max_tasks: u64,
    ) -> io::Result<()> {
        let dir_of = |controller: &str| -> Option<PathBuf> {
            let path = cgroups.lines().find_map(|l| {
                let mut parts = l.splitn(3, ':');
                let (_, names, path) = (parts.next()?, parts.next()?, parts.next()?);
                names.split(',').any(|n| n == controller).then_some(path)
            })?;
            mounts
                .iter()
                .filter(|m| m.fstype == "cgroup" && m.options.split(',').any(|o| o == controller))
                .find_map(|m| own_dir(m, path))
        };
        let memory = dir_of("memory").ok_or_else(|| io::Error::other("no v1 memory cgroup"))?;
        let pids = dir_of("pids").ok_or_else(|| io::Error::other("no v1 pids cgroup"))?;
        self.version = CgroupVersion::V1;
        for (parent, settings) in [
            (
                memory,
                vec![
                    ("memory.limit_in_bytes", memory_bytes.to_string()),
                    // memory + swap: no escape into swap (absent without swap accounting).
                    ("memory.memsw.limit_in_bytes", memory_bytes.to_string()),
                ],
            ),
            (pids, vec![("pids.max", max_tasks.to_string())]),
        ] {
            let dir = parent.join(name);
            fs::create_dir(&dir)?;
            self.dirs.push(dir.clone());
            for (file, value) in settings {
                let target = dir.join(file);
                if file == "memory.memsw.limit_in_bytes" && !target.exists() {
                    continue;
                }
                write(&target, &value)?;
            }
            self.procs.push(open_procs(&dir)?);
        }
        self.events = File::open(self.dirs[0].join("memory.oom_control"))?;
        Ok(())
    }

    fn remove(&mut self) {
        self.procs.clear();
        // A job's processes may still be on their way out right after the zygote's exit.
        let deadline = Instant::now() + Duration::from_secs(2);
        for dir in self.dirs.drain(..).rev() {
            while fs::remove_dir(&dir).is_err() && dir.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

impl Drop for JobCgroup {
    fn drop(&mut self) {
        self.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_dir_strips_the_mount_root() {
        let m = Mount {
            root: "/a".into(),
            point: PathBuf::from("/"),
            fstype: "cgroup2".into(),
            options: String::new(),
        };
        assert_eq!(own_dir(&m, "/b/c"), None); // not under the mount's root
        assert_eq!(own_dir(&m, "/a"), Some(PathBuf::from("/")));
        assert_eq!(unescape("a\\040b"), "a b");
    }

    #[test]
    fn a_cgroup_caps_memory_when_root() {
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        let name = format!("cgpo-test-{}", std::process::id());
        if let Some(cg) = JobCgroup::create(&name, 64 << 20, 16) {
            assert_eq!(
                cg.procs.len(),
                if cg.version == CgroupVersion::V1 {
                    2
                } else {
                    1
                }
            );
            let dirs = cg.dirs.clone();
            drop(cg);
            assert!(dirs.iter().all(|d| !d.exists()));
        }
    }
}
