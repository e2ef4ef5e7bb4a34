//! The resources cgroups-rs does not write, written to the cgroup files directly: `unified`
//! (raw cgroup v2 files), `rdma`, cpu `idle` and `burst`; and the values it would silently
//! ignore, refused instead.

use std::path::Path;

use oci_spec::runtime::LinuxResources;

use crate::error::{Error, Result};

/// Where the container's cgroup files are.
#[derive(Debug, Clone, Copy)]
pub enum CgroupDirs<'a> {
    /// Pure cgroup v2: the one directory.
    V2(&'a Path),
    /// cgroup v1 (or hybrid): the container's path under each controller's mount.
    V1 {
        /// Where the controllers are mounted (`/sys/fs/cgroup`).
        root: &'a Path,
        /// The container's path, relative.
        relative: &'a str,
    },
}

impl CgroupDirs<'_> {
    fn file(&self, controller: &str, file: &str) -> std::path::PathBuf {
        match self {
            CgroupDirs::V2(dir) => dir.join(file),
            CgroupDirs::V1 { root, relative } => root.join(controller).join(relative).join(file),
        }
    }
}

/// Applies what cgroups-rs leaves out.
pub fn apply(resources: &LinuxResources, dirs: CgroupDirs<'_>) -> Result<()> {
    check_memory(resources)?;
    apply_cpu(resources, dirs)?;
    let v2_dir = match dirs {
        CgroupDirs::V2(dir) => Some(dir),
        CgroupDirs::V1 { .. } => None,
    };
    apply_v2_only(resources, v2_dir)
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
        let file = match dirs {
            CgroupDirs::V2(_) => dirs.file("cpu", "cpu.max.burst"),
            CgroupDirs::V1 { .. } => dirs.file("cpu", "cpu.cfs_burst_us"),
        };
        write("linux.resources.cpu.burst", &file, burst.to_string())?;
    }
    if let Some(idle) = cpu.idle() {
        match dirs {
            CgroupDirs::V2(_) => write(
                "linux.resources.cpu.idle",
                &dirs.file("cpu", "cpu.idle"),
                idle.to_string(),
            )?,
            CgroupDirs::V1 { .. } if idle != 0 => {
                return Err(Error::config(
                    "linux.resources.cpu.idle",
                    "needs cgroup v2, and this host's cpu controller is on v1",
                ))
            }
            CgroupDirs::V1 { .. } => {}
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
