//! What runs before any cgroup file is written, and the names of the fields errors are about.
//!
//! A value this host cannot apply is an error naming its field (`linux.resources.cpu.idle`,
//! ...). The exceptions are the fields runc's cgroup driver accepts and ignores: kernel memory
//! everywhere, and on cgroup v2 the v1-only knobs (swappiness, disableOOMKiller, useHierarchy
//! off, leaf and per-device block IO weights without BFQ, network). Berth ignores those too,
//! so that configs made for runc keep working, but says so in a warning.

use std::path::Path;

use cgroups_rs::fs::error::ErrorKind;
use oci_spec::runtime::{LinuxMemory, LinuxResources};

use super::CgroupDirs;
use crate::error::{Error, Result};
use crate::logging;

/// Checks `resources` against this host (see the module doc).
pub fn check(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    check_realtime(resources, dirs)?;
    if let Some(memory) = resources.memory() {
        check_memory(memory, dirs)?;
    }
    warn_blkio(resources, dirs);
    check_controllers(resources, dirs)?;
    check_unified(resources, dirs)
}

/// Warns that `field` is ignored, and why.
fn ignored(field: &str, why: &str) {
    logging::warn(&format!("{field}: ignored (as runc does): {why}"));
}

/// Real-time group scheduling exists on v1 only, and only in kernels built with it.
fn check_realtime(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    let Some(cpu) = resources.cpu() else {
        return Ok(());
    };
    let runtime = cpu.realtime_runtime().is_some();
    let period = cpu.realtime_period().is_some();
    if !(runtime || period) || dirs.file("cpu", "cpu.rt_runtime_us").exists() {
        return Ok(());
    }
    let field = if runtime {
        "linux.resources.cpu.realtimeRuntime"
    } else {
        "linux.resources.cpu.realtimePeriod"
    };
    let reason = if dirs.v2 {
        "real-time group scheduling is a cgroup v1 feature, and this host has cgroup v2"
    } else {
        "this kernel has no real-time group scheduling (CONFIG_RT_GROUP_SCHED)"
    };
    Err(Error::config(field, reason))
}

fn check_memory(memory: &LinuxMemory, dirs: CgroupDirs<'_>) -> Result<()> {
    if let Some(swappiness) = memory.swappiness().filter(|s| *s > 100) {
        return Err(Error::config(
            "linux.resources.memory.swappiness",
            format!("{swappiness} is out of range (0-100)"),
        ));
    }
    if memory.kernel().is_some() || memory.kernel_tcp().is_some() {
        ignored(
            "linux.resources.memory.kernel and kernelTCP",
            "kernel memory limits are deprecated, and gone from newer kernels",
        );
    }
    if !dirs.v2 {
        return match (memory.limit(), memory.swap()) {
            (Some(limit), Some(swap)) if limit > 0 && swap > 0 && swap < limit => {
                Err(swap_below_limit(swap, limit))
            }
            _ => Ok(()),
        };
    }
    if memory.swappiness().is_some() {
        ignored(
            "linux.resources.memory.swappiness",
            "cgroup v2 has no per-cgroup swappiness",
        );
    }
    if memory.disable_oom_killer() == Some(true) {
        ignored(
            "linux.resources.memory.disableOOMKiller",
            "cgroup v2 cannot turn the OOM killer off",
        );
    }
    if memory.use_hierarchy() == Some(false) {
        ignored(
            "linux.resources.memory.useHierarchy",
            "cgroup v2 is always hierarchical",
        );
    }
    v2_swap(memory, dirs).map(drop)
}

fn swap_below_limit(swap: i64, limit: i64) -> Error {
    Error::config(
        "linux.resources.memory.swap",
        format!("{swap} is below memory.limit {limit} (swap limits memory plus swap)"),
    )
}

/// What v2's `memory.swap.max` gets, as runc converts it: `swap` is memory plus swap, v2
/// limits swap alone, so it is swap minus limit ("max" for -1, nothing when unset). Without a
/// limit in `memory` (`update --memory-swap`), the limit in force counts.
pub fn v2_swap(memory: &LinuxMemory, dirs: CgroupDirs<'_>) -> Result<Option<String>> {
    let swap = memory.swap().unwrap_or(0);
    let limit = match memory.limit().filter(|l| *l != 0) {
        Some(limit) => limit,
        None if swap > 0 => current_v2_limit(dirs),
        None => 0,
    };
    Ok(match (limit, swap) {
        (-1, 0) | (_, -1) => Some("max".to_string()),
        (_, 0) => None,
        (-1, swap) => Some(swap.to_string()),
        (limit, _) if limit <= 0 => {
            return Err(Error::config(
                "linux.resources.memory.swap",
                "needs memory.limit on cgroup v2, where it becomes swap minus limit",
            ))
        }
        (limit, swap) if swap < limit => return Err(swap_below_limit(swap, limit)),
        (limit, swap) => Some((swap - limit).to_string()),
    })
}

/// The cgroup's `memory.max`; 0 when unlimited (no limit to subtract swap from).
fn current_v2_limit(dirs: CgroupDirs<'_>) -> i64 {
    std::fs::read_to_string(dirs.file("memory", "memory.max"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// v2 has no leaf weights, and per-device weights only with BFQ.
fn warn_blkio(resources: &LinuxResources, dirs: CgroupDirs<'_>) {
    let Some(blkio) = resources.block_io().as_ref().filter(|_| dirs.v2) else {
        return;
    };
    let devices = blkio.weight_device().clone().unwrap_or_default();
    // A zero per-device leaf weight asks v1 to drop the device's rule: nothing to ignore on v2.
    let device_leaf_weight = devices
        .iter()
        .any(|d| d.leaf_weight().is_some_and(|w| w != 0));
    if blkio.leaf_weight().is_some() || device_leaf_weight {
        ignored(
            "linux.resources.blockIO.leafWeight",
            "cgroup v2 has no leaf weights",
        );
    }
    if devices.iter().any(|d| d.weight().is_some()) && !dirs.file("io", "io.bfq.weight").exists() {
        ignored(
            "linux.resources.blockIO.weightDevice",
            "cgroup v2 has per-device weights only with the BFQ I/O scheduler, and it is not loaded",
        );
    }
}

/// The fields that need a controller the host may not have. Network on v2 is ignored.
fn check_controllers(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    let network = resources.network().clone().unwrap_or_default();
    let network_set = network.class_id().is_some() || network.priorities().is_some();
    if dirs.v2 && network_set {
        ignored(
            "linux.resources.network",
            "cgroup v2 has no net_cls or net_prio controller",
        );
    }
    let needs = [
        (
            "linux.resources.hugepageLimits",
            "hugetlb",
            resources
                .hugepage_limits()
                .as_ref()
                .is_some_and(|l| !l.is_empty()),
        ),
        (
            "linux.resources.network.classID",
            "net_cls",
            !dirs.v2 && network.class_id().is_some(),
        ),
        (
            "linux.resources.network.priorities",
            "net_prio",
            !dirs.v2 && network.priorities().as_ref().is_some_and(|p| !p.is_empty()),
        ),
        (
            "linux.resources.rdma",
            "rdma",
            resources.rdma().as_ref().is_some_and(|r| !r.is_empty()),
        ),
    ];
    for (field, controller, wanted) in needs {
        if wanted && !dirs.has_controller(controller) {
            let how = if dirs.v2 {
                "enabled for the cgroup"
            } else {
                "mounted"
            };
            return Err(Error::config(
                field,
                format!("this host has no {controller} cgroup controller {how}"),
            ));
        }
    }
    Ok(())
}

/// `unified` needs a v2 host, and its keys must name files of the cgroup itself.
fn check_unified(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    let Some(unified) = resources.unified().as_ref().filter(|u| !u.is_empty()) else {
        return Ok(());
    };
    let field = "linux.resources.unified";
    if !dirs.v2 {
        return Err(Error::config(
            field,
            "needs cgroup v2, and this host's controllers are on v1",
        ));
    }
    match unified
        .keys()
        .find(|k| k.contains('/') || k.starts_with('.'))
    {
        Some(key) => Err(Error::config(
            field,
            format!("\"{key}\" is not a cgroup file name"),
        )),
        None => Ok(()),
    }
}

/// An error of cgroups-rs writing `linux.resources`, with the config field named when the file
/// tells which.
pub fn cgroups_rs_error(path: &str, e: cgroups_rs::manager::Error) -> Error {
    if let cgroups_rs::manager::Error::Cgroupfs(fs) = &e {
        if let ErrorKind::WriteFailed(file, value) = fs.kind() {
            let name = Path::new(file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Some(field) = field_of(&name, value) {
                let cause = std::error::Error::source(fs)
                    .map(|c| c.to_string())
                    .unwrap_or_default();
                let reason = if value == "[CREATE FILE]" {
                    format!("this host has no {file} for the cgroup")
                } else {
                    format!("write \"{value}\" to {name}: {cause}")
                };
                return Error::config(field, reason);
            }
        }
    }
    Error::Cgroup {
        path: path.to_string(),
        reason: format!("linux.resources: {e}"),
    }
}

/// The config field that cgroups-rs writes to the cgroup file `file` (v2's `io.max` lines tell
/// the throttle by their key).
fn field_of(file: &str, value: &str) -> Option<&'static str> {
    Some(match file {
        "cpu.shares" | "cpu.weight" => "linux.resources.cpu.shares",
        "cpu.cfs_quota_us" | "cpu.max" => "linux.resources.cpu.quota",
        "cpu.cfs_period_us" => "linux.resources.cpu.period",
        "cpu.rt_runtime_us" => "linux.resources.cpu.realtimeRuntime",
        "cpu.rt_period_us" => "linux.resources.cpu.realtimePeriod",
        "cpuset.cpus" => "linux.resources.cpu.cpus",
        "cpuset.mems" => "linux.resources.cpu.mems",
        "memory.limit_in_bytes" => "linux.resources.memory.limit",
        "memory.memsw.limit_in_bytes" => "linux.resources.memory.swap",
        "memory.soft_limit_in_bytes" => "linux.resources.memory.reservation",
        "memory.oom_control" => "linux.resources.memory.disableOOMKiller",
        "memory.swappiness" => "linux.resources.memory.swappiness",
        "pids.max" => "linux.resources.pids.limit",
        "blkio.throttle.read_bps_device" => "linux.resources.blockIO.throttleReadBpsDevice",
        "blkio.throttle.write_bps_device" => "linux.resources.blockIO.throttleWriteBpsDevice",
        "blkio.throttle.read_iops_device" => "linux.resources.blockIO.throttleReadIOPSDevice",
        "blkio.throttle.write_iops_device" => "linux.resources.blockIO.throttleWriteIOPSDevice",
        "io.max" => {
            let key = value.split_whitespace().nth(1)?.split('=').next()?;
            match key {
                "rbps" => "linux.resources.blockIO.throttleReadBpsDevice",
                "wbps" => "linux.resources.blockIO.throttleWriteBpsDevice",
                "riops" => "linux.resources.blockIO.throttleReadIOPSDevice",
                "wiops" => "linux.resources.blockIO.throttleWriteIOPSDevice",
                _ => return None,
            }
        }
        "devices.allow" | "devices.deny" => "linux.resources.devices",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_files() {
        assert_eq!(
            field_of("cpu.rt_runtime_us", "5"),
            Some("linux.resources.cpu.realtimeRuntime")
        );
        assert_eq!(
            field_of("io.max", "7:0 wiops=200"),
            Some("linux.resources.blockIO.throttleWriteIOPSDevice")
        );
        assert_eq!(field_of("io.max", "7:0"), None);
        assert_eq!(field_of("cgroup.procs", "1"), None);
    }
}
