//! Cgroups: where a container's processes are accounted, limited, frozen and found. One
//! interface over cgroup v1, v2 and hybrid hosts (the layout is detected at run time by
//! cgroups-rs); `linux.resources` is written by cgroups-rs's OCI conversion.

mod device_filter;
mod devices;
mod direct;
mod path;
mod unset;

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use cgroups_rs::fs::{hierarchies, Cgroup};
use cgroups_rs::stats::{CpuAcctStats, CpuThrottlingStats};
use cgroups_rs::systemd::utils::expand_slice;
use cgroups_rs::{CgroupPid, CgroupStats, FreezerState, FsManager, Manager, SystemdManager};
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxResources};

use crate::error::{Error, Result};
use crate::sys;

/// Where the cgroup hierarchies are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

pub use devices::complete_device_rules;
pub use path::cgroup_path;

/// The cgroup of one container.
pub struct ContainerCgroup {
    /// As recorded in the container's state: a cgroup path (`/a/b`) or, with the systemd
    /// driver, a unit (`slice:prefix:name`).
    name: String,
    /// The cgroup's path from each hierarchy's root, e.g. `/a/b` or `/system.slice/x.scope`.
    path: String,
    manager: FsManager,
    /// With the systemd driver: the transient unit systemd creates the cgroup for.
    unit: Option<SystemdManager<'static>>,
}

impl std::fmt::Debug for ContainerCgroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerCgroup")
            .field("name", &self.name)
            .field("path", &self.path)
            .finish()
    }
}

impl ContainerCgroup {
    /// The cgroup named `name` (see [`cgroup_path`]); nothing is created yet. An empty name
    /// is a container without a cgroup (rootless, with no limits to apply).
    pub fn open(name: &str) -> Result<ContainerCgroup> {
        if name.is_empty() {
            return Err(Error::InvalidState(
                "the container has no cgroup: it was created rootless, without limits".to_string(),
            ));
        }
        let error = |e: &dyn std::fmt::Display| cgroup_error(name, "open", e);
        let (path, unit) = if name.starts_with('/') {
            (name.to_string(), None)
        } else {
            let unit = SystemdManager::new(name).map_err(|e| error(&e))?;
            let slice = expand_slice(unit.slice()).map_err(|e| error(&e))?;
            let path = Path::new("/").join(slice).join(unit.unit());
            (path.to_string_lossy().into_owned(), Some(unit))
        };
        // cgroups-rs joins the path onto each hierarchy's mount point: it must be relative.
        let relative = path.trim_start_matches('/');
        if relative.is_empty() {
            return Err(error(&"the root cgroup cannot be a container's"));
        }
        let manager = FsManager::new(relative).map_err(|e| error(&e))?;
        Ok(ContainerCgroup {
            name: name.to_string(),
            path,
            manager,
            unit,
        })
    }

    /// On a pure cgroup v2 host with the cgroupfs driver: creates the cgroup and opens its
    /// directory, for cloning the container process straight into it (`CLONE_INTO_CGROUP`).
    pub fn clone_target(&self) -> Result<Option<File>> {
        let dirs = self.dirs();
        let Some(dir) = dirs.v2_dir().filter(|_| self.unit.is_none()) else {
            return Ok(None);
        };
        Cgroup::load(Box::new(hierarchies::V2::new()), dirs.relative)
            .create()
            .map_err(|e| cgroup_error(&self.name, "create", e))?;
        let file = File::open(&dir).map_err(|e| cgroup_error(&self.name, "open", e))?;
        Ok(Some(file))
    }

    /// Creates the cgroup (with systemd: starts its unit), moves `pid` into it and applies
    /// `resources`.
    pub fn place(&mut self, pid: Pid, resources: Option<&LinuxResources>) -> Result<()> {
        let cgroup_pid = CgroupPid::from(pid.as_raw() as u64);
        match &mut self.unit {
            Some(unit) => {
                unit.add_proc(cgroup_pid)
                    .map_err(|e| cgroup_error(&self.name, "start systemd unit", e))?;
                self.wait_for_member(pid)?;
            }
            None => self
                .manager
                .add_proc(cgroup_pid)
                .map_err(|e| cgroup_error(&self.name, "add process", e))?,
        }
        if let Some(resources) = resources {
            self.set(resources)?;
        }
        Ok(())
    }

    /// `exec --cgroup`: moves `pid` into existing sub-cgroups of this cgroup, each given as
    /// `PATH` (every controller) or `CONTROLLER[,CONTROLLER]:PATH` (v1 only), as runc does.
    pub fn place_in_subcgroups(&self, pid: Pid, specs: &[String]) -> Result<()> {
        let dirs = self.dirs();
        for spec in specs {
            let (controllers, sub) = match spec.split_once(':') {
                Some((list, sub)) => (list.split(',').map(str::to_string).collect(), sub),
                None => (Vec::new(), spec.as_str()),
            };
            let sub = Path::new(sub);
            let clean = sub
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !clean || sub.as_os_str().is_empty() {
                return Err(Error::config(
                    "--cgroup",
                    format!("\"{spec}\": the sub-cgroup must be a relative path without \"..\""),
                ));
            }
            if dirs.v2 && !controllers.is_empty() {
                return Err(Error::config(
                    "--cgroup",
                    format!("\"{spec}\": cgroup v2 has one hierarchy; give the path alone"),
                ));
            }
            // Without controllers: every hierarchy the container's cgroup is in.
            let all = controllers.is_empty();
            let controllers = if all {
                self.manager.paths().keys().cloned().collect()
            } else {
                controllers
            };
            let mut targets: Vec<_> = controllers
                .iter()
                .map(|c| dirs.file(c, ""))
                .filter(|dir| !all || dir.is_dir())
                .map(|dir| std::fs::canonicalize(&dir).unwrap_or(dir).join(sub))
                .collect();
            targets.sort();
            targets.dedup();
            for target in targets {
                if !target.is_dir() {
                    return Err(Error::config(
                        "--cgroup",
                        format!("sub-cgroup {} does not exist", target.display()),
                    ));
                }
                let procs = target.join("cgroup.procs");
                std::fs::write(&procs, pid.to_string()).map_err(|e| {
                    cgroup_error(
                        &self.name,
                        &format!("--cgroup: write {}", procs.display()),
                        e,
                    )
                })?;
            }
        }
        Ok(())
    }

    /// systemd moves a new unit's process asynchronously: waits until `pid` is in the cgroup.
    fn wait_for_member(&self, pid: Pid) -> Result<()> {
        for _ in 0..CGROUP_WAIT_ATTEMPTS {
            if self.pids()?.contains(&pid) {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Err(cgroup_error(
            &self.name,
            "start systemd unit",
            format!("systemd did not move process {pid} into the unit's cgroup"),
        ))
    }

    /// Applies `resources` to the cgroup, zeros that mean "unset" left out (see [`unset`]).
    /// With systemd, the unit's properties are set too, so systemd keeps the same limits.
    pub fn set(&mut self, resources: &LinuxResources) -> Result<()> {
        let resources = &unset::without_unset_zeros(resources);
        self.check_before_update(resources)?;
        if let Some(unit) = &mut self.unit {
            unit.set(resources)
                .map_err(|e| cgroup_error(&self.name, "systemd unit properties", e))?;
        }
        // Built from the fields, not `self.dirs()`: `self.manager` is borrowed mutably below.
        let dirs = direct::CgroupDirs::new(self.manager.v2(), &self.path);
        let v2_dir = dirs.v2_dir();
        let mut rest = direct::for_cgroups_rs(resources, dirs)?;
        // v2 has no devices files: the rules become an eBPF program instead.
        let v2_devices = match (&v2_dir, rest.devices().clone()) {
            (Some(dir), Some(rules)) => {
                rest.set_devices(None);
                Some((dir, rules))
            }
            _ => None,
        };
        self.manager
            .set(&rest)
            .map_err(|e| direct::cgroups_rs_error(&self.name, e))?;
        if let Some((dir, rules)) = v2_devices {
            self.attach_device_filter(dir, &rules)?;
        }
        direct::apply(resources, dirs)
    }

    /// `memory.checkBeforeUpdate`: a new limit below the current usage is refused.
    fn check_before_update(&self, resources: &LinuxResources) -> Result<()> {
        let Some(memory) = resources.memory() else {
            return Ok(());
        };
        let Some(limit) = memory.limit().filter(|l| *l > 0) else {
            return Ok(());
        };
        if !memory.check_before_update().unwrap_or(false) {
            return Ok(());
        }
        let usage = self.stats().memory.memory.map_or(0, |m| m.usage);
        if (limit as u64) < usage {
            return Err(Error::config(
                "linux.resources.memory.checkBeforeUpdate",
                format!("the new limit {limit} is below the current usage {usage}"),
            ));
        }
        Ok(())
    }

    /// Loads `rules` as a device program, attaches it, then detaches the ones it replaces.
    fn attach_device_filter(&self, dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<()> {
        let error = |what: &str, e: std::io::Error| {
            cgroup_error(
                &self.name,
                "linux.resources.devices",
                format!("{what}: {e}"),
            )
        };
        let program = sys::bpf::load_device_program(&device_filter::compile(rules))
            .map_err(|e| error("load eBPF device program", e))?;
        let cgroup = std::fs::File::open(dir).map_err(|e| error("open cgroup", e))?;
        sys::bpf::attach_device_program(cgroup.as_fd(), program.as_fd())
            .map_err(|e| error("attach eBPF device program", e))?;
        sys::bpf::detach_device_programs_except(cgroup.as_fd(), program.as_fd())
            .map_err(|e| error("detach replaced device programs", e))
    }

    /// Where this cgroup's files are.
    fn dirs(&self) -> direct::CgroupDirs<'_> {
        direct::CgroupDirs::new(self.manager.v2(), &self.path)
    }

    /// Host pids of every process in the cgroup.
    pub fn pids(&self) -> Result<Vec<Pid>> {
        let pids = self
            .manager
            .pids()
            .map_err(|e| cgroup_error(&self.name, "list processes", e))?;
        Ok(pids
            .into_iter()
            .map(|p| Pid::from_raw(p.pid as i32))
            .collect())
    }

    /// Freezes (`true`) or thaws (`false`) every process in the cgroup.
    pub fn freeze(&self, frozen: bool) -> Result<()> {
        let state = if frozen {
            FreezerState::Frozen
        } else {
            FreezerState::Thawed
        };
        self.manager
            .freeze(state)
            .map_err(|e| cgroup_error(&self.name, "freezer", e))
    }

    /// Usage counters of the cgroup. On v2, CPU usage and throttling come from `cpu.stat`,
    /// which cgroups-rs does not read.
    pub fn stats(&self) -> CgroupStats {
        let mut stats = self.manager.stats();
        if let Some(cpu_stat) = self
            .dirs()
            .v2_dir()
            .and_then(|d| std::fs::read_to_string(d.join("cpu.stat")).ok())
        {
            let field = |name: &str| keyed_value(&cpu_stat, name).unwrap_or(0);
            stats.cpu.cpu_acct = Some(CpuAcctStats {
                user_usage: field("user_usec") * 1000,
                system_usage: field("system_usec") * 1000,
                total_usage: field("usage_usec") * 1000,
                usage_percpu: Vec::new(),
            });
            stats.cpu.cpu_throttling = Some(CpuThrottlingStats {
                periods: field("nr_periods"),
                throttled_periods: field("nr_throttled"),
                throttled_time: field("throttled_usec") * 1000,
            });
        }
        stats
    }

    /// How many times the kernel's OOM killer has killed a process of this cgroup.
    pub fn oom_kills(&self) -> Option<u64> {
        let dirs = self.dirs();
        let file = if dirs.v2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        let text = std::fs::read_to_string(dirs.file("memory", file)).ok()?;
        keyed_value(&text, "oom_kill")
    }

    /// Removes the cgroup (its processes must be gone); with systemd, stops its unit first.
    pub fn destroy(mut self) -> Result<()> {
        if let Some(unit) = &mut self.unit {
            unit.destroy()
                .map_err(|e| cgroup_error(&self.name, "stop systemd unit", e))?;
        }
        self.manager
            .destroy()
            .map_err(|e| cgroup_error(&self.name, "remove", e))
    }
}

/// [`ContainerCgroup::open`], or `None` for a container without a cgroup (an empty name).
pub fn open_if_any(name: &str) -> Result<Option<ContainerCgroup>> {
    (!name.is_empty())
        .then(|| ContainerCgroup::open(name))
        .transpose()
}

/// Starts a process of a container whose cgroup is `cgroup`, if it has one: `spawn` is given
/// the directory to clone the process into ([`ContainerCgroup::clone_target`]) and the function
/// that puts the process in the cgroup, `place` (nothing without a cgroup).
pub fn spawn_in_cgroup<T>(
    mut cgroup: Option<&mut ContainerCgroup>,
    place: impl Fn(&mut ContainerCgroup, Pid) -> Result<()>,
    spawn: impl FnOnce(Option<BorrowedFd<'_>>, &mut dyn FnMut(Pid) -> Result<()>) -> Result<T>,
) -> Result<T> {
    let clone_target = match &cgroup {
        Some(cgroup) => cgroup.clone_target()?,
        None => None,
    };
    spawn(clone_target.as_ref().map(File::as_fd), &mut |pid| {
        cgroup
            .as_deref_mut()
            .map_or(Ok(()), |cgroup| place(cgroup, pid))
    })
}

/// Removes a container's cgroup once its processes are gone. Killed processes leave their
/// cgroup a moment after they die, so an `EBUSY` is retried for a while.
pub fn remove_cgroup(cgroup: ContainerCgroup) -> Result<()> {
    for _ in 0..CGROUP_WAIT_ATTEMPTS {
        match cgroup.pids() {
            Ok(pids) if !pids.is_empty() => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            _ => break,
        }
    }
    cgroup.destroy()
}

/// How many 10 ms waits are allowed for processes to enter or leave a cgroup.
const CGROUP_WAIT_ATTEMPTS: usize = 500;

/// The value of `key` in a flat keyed cgroup file (`key value` lines, e.g. `cpu.stat`).
fn keyed_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok())?
    })
}

fn cgroup_error(path: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Cgroup {
        path: path.to_string(),
        reason: format!("{what}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::keyed_value;

    #[test]
    fn keyed_values_match_whole_keys() {
        let oom_control = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(keyed_value(oom_control, "oom_kill"), Some(3));
        assert_eq!(keyed_value(oom_control, "oom_kill_disable"), Some(0));
        assert_eq!(keyed_value("usage_usec 1500\n", "user_usec"), None);
    }
}
