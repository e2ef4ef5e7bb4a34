//! The resources berth writes to the cgroup files itself, and the checks that run before
//! anything is written ([`check`]).
//!
//! cgroups-rs writes cpu shares, quota, period, realtime, cpus and mems, v1 memory, pids, block
//! IO throttles and v1 device rules. Berth writes what cgroups-rs does not know or gets wrong:
//! cpu `idle` and `burst`, v2 memory (runc's semantics: swap untouched unless set, a
//! reservation on its own), block IO weights (v1's BFQ files, v2's conversion), hugepage
//! limits, network, `useHierarchy`, `rdma` and `unified`.

mod check;

use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::CGROUP_ROOT;
use crate::error::{Error, Result};

pub use check::cgroups_rs_error;

/// Where the container's cgroup files are: under `/sys/fs/cgroup/<relative>` on a pure v2
/// host, under `/sys/fs/cgroup/<controller>/<relative>` on v1 and hybrid hosts.
#[derive(Debug, Clone, Copy)]
pub struct CgroupDirs<'a> {
    /// The host is pure cgroup v2.
    pub v2: bool,
    /// The container's cgroup path, relative to each hierarchy's root.
    pub relative: &'a str,
}

impl<'a> CgroupDirs<'a> {
    /// The files of the cgroup at `path` (`/a/b` or `a/b`).
    pub fn new(v2: bool, path: &'a str) -> CgroupDirs<'a> {
        CgroupDirs {
            v2,
            relative: path.trim_start_matches('/'),
        }
    }

    /// The file `file` of `controller` (the controller matters on v1 only).
    pub fn file(&self, controller: &str, file: &str) -> PathBuf {
        self.dir(controller).join(file)
    }

    /// The cgroup's directory in the hierarchy of `controller` (v2: the one directory).
    fn dir(&self, controller: &str) -> PathBuf {
        let root = Path::new(CGROUP_ROOT);
        if self.v2 {
            root.join(self.relative)
        } else {
            root.join(controller).join(self.relative)
        }
    }

    /// The one cgroup directory of a pure v2 host.
    pub fn v2_dir(&self) -> Option<PathBuf> {
        self.v2.then(|| Path::new(CGROUP_ROOT).join(self.relative))
    }

    /// Whether the cgroup (once created) has `controller`: on v1 its hierarchy is mounted, on
    /// v2 it is enabled for the cgroup (listed in its `cgroup.controllers`).
    pub fn has_controller(&self, controller: &str) -> bool {
        if self.v2 {
            std::fs::read_to_string(self.file(controller, "cgroup.controllers"))
                .is_ok_and(|list| list.split_whitespace().any(|c| c == controller))
        } else {
            self.dir(controller).is_dir()
        }
    }
}

/// Checks `resources` against this host before anything is written (see [`check`]), and
/// returns what cgroups-rs is given: without the fields [`apply`] writes.
pub fn for_cgroups_rs(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<LinuxResources> {
    check::check(resources, dirs)?;
    let mut rest = resources.clone();
    if let Some(blkio) = resources.block_io() {
        let mut blkio = blkio.clone();
        blkio
            .set_weight(None)
            .set_leaf_weight(None)
            .set_weight_device(None);
        rest.set_block_io(Some(blkio));
    }
    if dirs.v2 {
        // v2 has no realtime files: check() refused realtime values there.
        if let Some(mut cpu) = resources.cpu().clone() {
            cpu.set_realtime_runtime(None).set_realtime_period(None);
            rest.set_cpu(Some(cpu));
        }
        rest.set_memory(None);
    }
    rest.set_hugepage_limits(None).set_network(None);
    Ok(rest)
}

/// Writes what cgroups-rs was not given (see [`for_cgroups_rs`]). `unified` comes last: its raw
/// keys override the fields.
pub fn apply(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    apply_cpu(resources, dirs)?;
    apply_memory(resources, dirs)?;
    apply_blkio(resources, dirs)?;
    apply_hugepages(resources, dirs)?;
    apply_network(resources, dirs)?;
    apply_rdma(resources, dirs)?;
    apply_unified(resources, dirs)
}

/// Writes `value` to the existing cgroup file `file` for the config field `field`. A missing
/// file is the host lacking the feature, not a file to create.
fn write(field: &str, file: &Path, value: &str) -> Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|e| {
            let reason = if e.kind() == std::io::ErrorKind::NotFound {
                format!("this host has no {} for the cgroup", file.display())
            } else {
                format!("write \"{value}\" to {}: {e}", file.display())
            };
            Error::config(field, reason)
        })
}

/// `v1` on a v1 or hybrid host, `v2` on a pure v2 one.
fn by_layout<T>(dirs: CgroupDirs<'_>, v1: T, v2: T) -> T {
    if dirs.v2 {
        v2
    } else {
        v1
    }
}

/// `-1` is "max" in the v2 files.
fn v2_value(value: i64) -> String {
    if value == -1 {
        "max".to_string()
    } else {
        value.to_string()
    }
}

fn apply_cpu(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    let Some(cpu) = resources.cpu() else {
        return Ok(());
    };
    let burst_file = dirs.file("cpu", by_layout(dirs, "cpu.cfs_burst_us", "cpu.max.burst"));
    // The kernel offers cpu.idle on v2, and on v1 since Linux 5.15.
    let idle_file = dirs.file("cpu", "cpu.idle");
    // Zero is the default: a host without the file has it already.
    let wanted = |file: &Path, nonzero: bool| nonzero || file.exists();
    if let Some(burst) = cpu.burst().filter(|b| wanted(&burst_file, *b != 0)) {
        write("linux.resources.cpu.burst", &burst_file, &burst.to_string())?;
    }
    if let Some(idle) = cpu.idle().filter(|i| wanted(&idle_file, *i != 0)) {
        write("linux.resources.cpu.idle", &idle_file, &idle.to_string())?;
    }
    Ok(())
}

/// v1: `memory.use_hierarchy` (the rest is cgroups-rs's). v2: the memory fields as runc writes
/// them: `memory.swap.max` (swap minus limit) only when swap is set, `memory.max`, and the
/// reservation as `memory.low`, also on its own.
fn apply_memory(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    let Some(memory) = resources.memory() else {
        return Ok(());
    };
    if !dirs.v2 {
        if let Some(on) = memory.use_hierarchy() {
            let file = dirs.file("memory", "memory.use_hierarchy");
            write(
                "linux.resources.memory.useHierarchy",
                &file,
                if on { "1" } else { "0" },
            )
            .map_err(|e| match e {
                Error::InvalidConfig { field, reason } if !on => Error::config(
                    field,
                    format!("{reason} (this kernel's memory cgroups are always hierarchical)"),
                ),
                e => e,
            })?;
        }
        return Ok(());
    }
    if let Some(swap) = check::v2_swap(memory, dirs)? {
        let file = dirs.file("memory", "memory.swap.max");
        // Without swap accounting there is nothing to limit: "max" and "0" change nothing.
        if file.exists() || !matches!(swap.as_str(), "max" | "0") {
            write("linux.resources.memory.swap", &file, &swap)?;
        }
    }
    let fields = [
        ("linux.resources.memory.limit", "memory.max", memory.limit()),
        (
            "linux.resources.memory.reservation",
            "memory.low",
            memory.reservation(),
        ),
    ];
    for (field, file, value) in fields {
        if let Some(value) = value.filter(|v| *v != 0) {
            write(field, &dirs.file("memory", file), &v2_value(value))?;
        }
    }
    Ok(())
}

/// Block IO weights, as runc writes them.
///
/// v1: `blkio.weight`, or `blkio.bfq.weight` where only BFQ offers one; per device
/// `blkio.weight_device` or `blkio.bfq.weight_device`; leaf weights only where the kernel still
/// has them (CFQ, gone since Linux 5.0).
///
/// v2: `io.bfq.weight` where BFQ is in use, else `io.weight` with the value converted from
/// 10..1000 to 1..10000; per device `io.bfq.weight` (without BFQ runc ignores them, and so does
/// berth, with a warning from [`check`]); v2 has no leaf weights.
fn apply_blkio(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    let Some(blkio) = resources.block_io() else {
        return Ok(());
    };
    // v2: BFQ's weight file, when BFQ is loaded.
    let bfq = Some(dirs.file("io", "io.bfq.weight")).filter(|f| dirs.v2 && f.exists());
    // v1: the plain file, else BFQ's, else the plain one (so that the error names it).
    let v1_file = |plain: &str, bfq: &str| {
        let (plain, bfq) = (dirs.file("blkio", plain), dirs.file("blkio", bfq));
        if !plain.exists() && bfq.exists() {
            bfq
        } else {
            plain
        }
    };
    if let Some(weight) = blkio.weight() {
        let field = "linux.resources.blockIO.weight";
        match (&bfq, dirs.v2) {
            (Some(bfq), _) => write(field, bfq, &format!("default {weight}"))?,
            (None, true) => {
                let converted = 1 + (u64::from(weight).saturating_sub(10)) * 9999 / 990;
                let file = dirs.file("io", "io.weight");
                write(field, &file, &format!("default {converted}"))?;
            }
            (None, false) => {
                let file = v1_file("blkio.weight", "blkio.bfq.weight");
                write(field, &file, &weight.to_string())?;
            }
        }
    }
    if let Some(leaf) = blkio.leaf_weight().filter(|_| !dirs.v2) {
        let file = dirs.file("blkio", "blkio.leaf_weight");
        write(
            "linux.resources.blockIO.leafWeight",
            &file,
            &leaf.to_string(),
        )?;
    }
    let field = "linux.resources.blockIO.weightDevice";
    for device in blkio.weight_device().iter().flatten() {
        let id = format!("{}:{}", device.major(), device.minor());
        if let Some(weight) = device.weight() {
            let file = match (&bfq, dirs.v2) {
                (Some(bfq), _) => Some(bfq.clone()),
                (None, true) => None,
                (None, false) => Some(v1_file("blkio.weight_device", "blkio.bfq.weight_device")),
            };
            if let Some(file) = file {
                write(field, &file, &format!("{id} {weight}"))?;
            }
        }
        if let Some(leaf) = device.leaf_weight().filter(|_| !dirs.v2) {
            let file = dirs.file("blkio", "blkio.leaf_weight_device");
            write(field, &file, &format!("{id} {leaf}"))?;
        }
    }
    Ok(())
}

/// `hugetlb.<size>.limit_in_bytes` (v1) or `hugetlb.<size>.max` (v2) for each page size.
fn apply_hugepages(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    for limit in resources.hugepage_limits().iter().flatten() {
        let size = limit.page_size();
        let name = if dirs.v2 {
            format!("hugetlb.{size}.max")
        } else {
            format!("hugetlb.{size}.limit_in_bytes")
        };
        let file = dirs.file("hugetlb", &name);
        if !file.exists() {
            return Err(Error::config(
                "linux.resources.hugepageLimits",
                format!("page size \"{size}\" is not one this host offers (no {name})"),
            ));
        }
        write(
            "linux.resources.hugepageLimits",
            &file,
            &limit.limit().to_string(),
        )?;
    }
    Ok(())
}

/// v1 `net_cls.classid` and `net_prio.ifpriomap` (v2 has neither: see [`check`]).
fn apply_network(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    let Some(network) = resources.network().as_ref().filter(|_| !dirs.v2) else {
        return Ok(());
    };
    if let Some(class_id) = network.class_id() {
        let file = dirs.file("net_cls", "net_cls.classid");
        write(
            "linux.resources.network.classID",
            &file,
            &class_id.to_string(),
        )?;
    }
    for priority in network.priorities().iter().flatten() {
        let file = dirs.file("net_prio", "net_prio.ifpriomap");
        let line = format!("{} {}", priority.name(), priority.priority());
        write("linux.resources.network.priorities", &file, &line)?;
    }
    Ok(())
}

/// `rdma.max`, one line per device.
fn apply_rdma(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    for (device, limits) in resources.rdma().iter().flatten() {
        let mut line = device.clone();
        if let Some(handles) = limits.hca_handles() {
            line.push_str(&format!(" hca_handle={handles}"));
        }
        if let Some(objects) = limits.hca_objects() {
            line.push_str(&format!(" hca_object={objects}"));
        }
        write(
            "linux.resources.rdma",
            &dirs.file("rdma", "rdma.max"),
            &line,
        )?;
    }
    Ok(())
}

/// Raw cgroup v2 files (the keys were checked to be plain file names).
fn apply_unified(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    let Some(dir) = dirs.v2_dir() else {
        return Ok(());
    };
    for (key, value) in resources.unified().iter().flatten() {
        write("linux.resources.unified", &dir.join(key), value)?;
    }
    Ok(())
}
