//! The resources cgroups-rs does not write: `unified` (raw cgroup v2 files) and `rdma`.

use std::path::Path;

use oci_spec::runtime::LinuxResources;

use crate::error::{Error, Result};

/// Writes `unified` and `rdma` into the v2 cgroup directory `dir`. On a host without a v2
/// hierarchy for the container (`dir` is `None`) asking for either is an error.
pub fn apply(resources: &LinuxResources, dir: Option<&Path>) -> Result<()> {
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
