//! Building the container's root filesystem: propagation, the rootfs bind, `mounts`, `/dev`,
//! masked and read-only paths, then `pivot_root` (or move + chroot) and `root.readonly`.

mod cgroups;
mod devices;
mod idmap;
mod masking;
mod mounts;
mod options;
pub mod paths;
mod pivot;

use std::path::Path;

use nix::mount::{mount, MsFlags};
use oci_spec::runtime::Spec;
use procfs::process::Process;

use crate::error::{Context, Error, Result};

pub use cgroups::HostCgroups;
pub use idmap::IdmappedMounts;
pub use options::is_recognized as is_mount_option;
pub use paths::RootDir;

/// What rootfs setup needs beyond the config.
#[derive(Debug)]
pub struct RootfsContext<'a> {
    /// The container's configuration.
    pub spec: &'a Spec,
    /// Absolute bundle path (relative bind sources start there).
    pub bundle: &'a Path,
    /// Absolute rootfs path.
    pub rootfs: &'a Path,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// The container runs in a user namespace of its own (no mknod).
    pub in_user_ns: bool,
    /// The container has a cgroup namespace of its own.
    pub own_cgroup_ns: bool,
    /// The host's cgroup hierarchies, read before entering the cgroup namespace.
    pub host_cgroups: &'a HostCgroups,
    /// The idmapped binds, made by the runtime.
    pub idmapped: &'a IdmappedMounts,
}

/// Everything up to (not including) the switch of `/`. Runs in the container's mount namespace.
pub fn prepare(ctx: &RootfsContext<'_>) -> Result<()> {
    let linux = ctx.spec.linux().as_ref();
    let propagation = match linux.and_then(|l| l.rootfs_propagation().as_deref()) {
        Some(name) => Some(options::parse_propagation(name).ok_or_else(|| {
            Error::config(
                "linux.rootfsPropagation",
                format!("unknown value \"{name}\""),
            )
        })?),
        None => None,
    };
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        propagation.unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC),
        None::<&str>,
    )
    .context("set propagation of /")?;
    // Unless `/` was made a recursive slave, the rootfs bind below could propagate to the host
    // (and pivot_root refuses a shared parent).
    if propagation.is_some() {
        make_parent_mount_slave(ctx.rootfs)?;
    }
    mount(
        Some(ctx.rootfs),
        ctx.rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .context("bind rootfs")?;

    let root = RootDir::open(ctx.rootfs)?;
    let config_mounts = ctx.spec.mounts().as_deref().unwrap_or_default();
    mounts::mount_all(
        &root,
        config_mounts,
        ctx.bundle,
        ctx.host_cgroups,
        ctx.own_cgroup_ns,
        ctx.idmapped,
    )?;
    let dev_is_bound = config_mounts
        .iter()
        .any(|m| m.destination() == Path::new("/dev") && mounts::is_bind(m));
    if !dev_is_bound {
        let devices = linux
            .and_then(|l| l.devices().as_deref())
            .unwrap_or_default();
        devices::populate(&root, devices, ctx.in_user_ns)?;
    }
    if let Some(process) = ctx.spec.process() {
        root.create_dir_all(process.cwd())
            .map_err(|e| Error::config("process.cwd", e.to_string()))?;
    }
    if let Some(linux) = linux {
        masking::mask(&root, linux.masked_paths().as_deref().unwrap_or_default())?;
        masking::make_readonly(&root, linux.readonly_paths().as_deref().unwrap_or_default())?;
    }
    Ok(())
}

/// Switches `/` to the prepared rootfs and applies `root.readonly` and `rootfsPropagation`.
pub fn enter(ctx: &RootfsContext<'_>) -> Result<()> {
    if ctx.no_pivot {
        pivot::move_into(ctx.rootfs)?;
    } else {
        pivot::pivot_into(ctx.rootfs)?;
    }
    if ctx
        .spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        pivot::make_root_readonly()?;
    }
    let propagation = ctx
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
        .and_then(options::parse_propagation);
    if let Some(flags) = propagation {
        mount(None::<&str>, "/", None::<&str>, flags, None::<&str>)
            .context("linux.rootfsPropagation: apply to /")?;
    }
    Ok(())
}

/// Makes the mount holding the rootfs directory (the parent of the rootfs bind) a slave: no
/// longer shared, so nothing propagates back to the host and pivot_root accepts it, while mount
/// events from the host still arrive, as `slave` propagation promises.
fn make_parent_mount_slave(rootfs: &Path) -> Result<()> {
    let mounts = Process::myself()
        .and_then(|p| p.mountinfo())
        .map_err(|e| Error::Setup(format!("read mountinfo: {e}")))?;
    let parent = mounts
        .iter()
        .filter(|m| rootfs.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.as_os_str().len())
        .map_or_else(|| "/".into(), |m| m.mount_point.clone());
    mount(
        None::<&str>,
        &parent,
        None::<&str>,
        MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .with_context(|| format!("make {} a slave mount", parent.display()))
}
