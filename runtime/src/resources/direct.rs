//! The resources cgroups-rs does not write, written to the cgroup files directly: `unified`
//! (raw cgroup v2 files), `rdma`, cpu `idle` and `burst`; and the values it would silently
//! ignore, refused instead.

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::CGROUP_ROOT;
use crate::error::{Error, Result};

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
        let root = Path::new(CGROUP_ROOT);
        if self.v2 {
            root.join(self.relative).join(file)
        } else {
            root.join(controller).join(self.relative).join(file)
        }
    }

    /// The one cgroup directory of a pure v2 host.
    pub fn v2_dir(&self) -> Option<PathBuf> {
        self.v2.then(|| Path::new(CGROUP_ROOT).join(self.relative))
    }
}

/// Applies what cgroups-rs leaves out (see [`for_cgroups_rs`] for what it is not given).
pub fn apply(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    check_memory(resources)?;
    apply_cpu(resources, dirs)?;
    apply_blkio_weight(resources, dirs)?;
    apply_use_hierarchy(resources, dirs)?;
    apply_v2_only(resources, dirs.v2_dir().as_deref())
}

/// What cgroups-rs is given: the block IO weight is written here instead (cgroups-rs knows
/// neither v1's BFQ file nor v2's conversion).
pub fn for_cgroups_rs(resources: &LinuxResources) -> LinuxResources {
    let mut rest = resources.clone();
    if let Some(blkio) = resources.block_io() {
        let mut blkio = blkio.clone();
        blkio.set_weight(None);
        rest.set_block_io(Some(blkio));
    }
    rest
}

/// Block IO weight, as runc writes it. v1: `blkio.weight`, or `blkio.bfq.weight` where only BFQ
/// offers one. v2: `io.bfq.weight` where BFQ is in use, else `io.weight` with the value
/// converted from 10..1000 to 1..10000.
fn apply_blkio_weight(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    let Some(weight) = resources.block_io().as_ref().and_then(|b| b.weight()) else {
        return Ok(());
    };
    let (file, value) = if !dirs.v2 {
        {
            let plain = dirs.file("blkio", "blkio.weight");
            let file = if plain.exists() {
                plain
            } else {
                dirs.file("blkio", "blkio.bfq.weight")
            };
            (file, weight.to_string())
        }
    } else {
        {
            let bfq = dirs.file("io", "io.bfq.weight");
            if bfq.exists() {
                (bfq, format!("default {weight}"))
            } else {
                let converted = 1 + (u64::from(weight).saturating_sub(10)) * 9999 / 990;
                (dirs.file("io", "io.weight"), format!("default {converted}"))
            }
        }
    };
    std::fs::write(&file, &value).map_err(|e| {
        Error::config(
            "linux.resources.blockIO.weight",
            format!("write {value} to {}: {e}", file.display()),
        )
    })
}

/// v1 `memory.use_hierarchy` (v2 is always hierarchical).
fn apply_use_hierarchy(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    let Some(on) = resources
        .memory()
        .and_then(|m| m.use_hierarchy())
        .filter(|_| !dirs.v2)
    else {
        return Ok(());
    };
    let file = dirs.file("memory", "memory.use_hierarchy");
    let value = if on { "1" } else { "0" };
    std::fs::write(&file, value).map_err(|e| {
        Error::config(
            "linux.resources.memory.useHierarchy",
            format!("write {value} to {}: {e}", file.display()),
        )
    })
}

fn check_memory(resources: &LinuxResources) -> Result<()> {
    if let Some(swappiness) = resources.memory().and_then(|m| m.swappiness()) {
        if swappiness > 100 {
            return Err(Error::config(
                "linux.resources.memory.swappiness",
                format!("{swappiness} is out of range (0-100)"),
            ));
        }
    }
    Ok(())
}

fn apply_cpu(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    let Some(cpu) = resources.cpu() else {
        return Ok(());
    };
    let write = |field: &str, file: &std::path::Path, value: String| {
        std::fs::write(file, &value)
            .map_err(|e| Error::config(field, format!("write {value} to {}: {e}", file.display())))
    };
    if let Some(burst) = cpu.burst() {
        let file = if dirs.v2 {
            dirs.file("cpu", "cpu.max.burst")
        } else {
            dirs.file("cpu", "cpu.cfs_burst_us")
        };
        write("linux.resources.cpu.burst", &file, burst.to_string())?;
    }
    if let Some(idle) = cpu.idle() {
        if dirs.v2 {
            write(
                "linux.resources.cpu.idle",
                &dirs.file("cpu", "cpu.idle"),
                idle.to_string(),
            )?;
        } else if idle != 0 {
            return Err(Error::config(
                "linux.resources.cpu.idle",
                "needs cgroup v2, and this host's cpu controller is on v1",
            ));
        }
    }
    Ok(())
}

/// Writes `unified` and `rdma` into the v2 cgroup directory `dir`. On a host without a v2
/// hierarchy for the container (`dir` is `None`) asking for either is an error.
fn apply_v2_only(resources: &LinuxResources, dir: Option<&Path>) -> Result<()> {
    let unified = resources.unified().as_ref().filter(|u| !u.is_empty());
    let rdma = resources.rdma().as_ref().filter(|r| !r.is_empty());
    if unified.is_none() && rdma.is_none() {
        return Ok(());
    }
    let Some(dir) = dir else {
        let field = if unified.is_some() { "unified" } else { "rdma" };
        return Err(Error::config(
            format!("linux.resources.{field}"),
            "needs cgroup v2, and this host's controllers are on v1",
        ));
    };
    let write = |field: &str, file: &str, value: &str| {
        // Keys name files of the cgroup itself: no path separators, no dot-dot.
        if file.contains('/') || file.starts_with('.') {
            return Err(Error::config(
                field,
                format!("\"{file}\" is not a cgroup file name"),
            ));
        }
        std::fs::write(dir.join(file), value)
            .map_err(|e| Error::config(field, format!("write {file}={value}: {e}")))
    };
    for (key, value) in unified.into_iter().flatten() {
        write("linux.resources.unified", key, value)?;
    }
    for (device, limits) in rdma.into_iter().flatten() {
        let mut line = device.clone();
        if let Some(handles) = limits.hca_handles() {
            line.push_str(&format!(" hca_handle={handles}"));
        }
        if let Some(objects) = limits.hca_objects() {
            line.push_str(&format!(" hca_object={objects}"));
        }
        write("linux.resources.rdma", "rdma.max", &line)?;
    }
    Ok(())
}
