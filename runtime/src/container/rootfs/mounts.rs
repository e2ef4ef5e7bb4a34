//! Performing config.json's `mounts`, in order, onto fds resolved inside the rootfs.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::statvfs::{fstatvfs, FsFlags};
use oci_spec::runtime::Mount;

use super::cgroups::HostCgroups;
use super::options::{self, MountOptions};
use super::paths::{fd_path, Node, RootDir};
use crate::error::{Context, Error, Result};
use crate::sys::{self, MountAttr};

/// Flags that a bind remount may change.
const REMOUNT_FLAGS: MsFlags = MsFlags::MS_RDONLY
    .union(MsFlags::MS_NOSUID)
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC)
    .union(MsFlags::MS_NOATIME)
    .union(MsFlags::MS_NODIRATIME)
    .union(MsFlags::MS_RELATIME)
    .union(MsFlags::MS_STRICTATIME);

/// True when `m` is a bind mount (by type or by option).
pub fn is_bind(m: &Mount) -> bool {
    m.typ().as_deref() == Some("bind")
        || m.options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind")
}

/// Mounts every entry of `mounts` inside `root`. Relative bind sources are taken from `bundle`.
pub fn mount_all(
    root: &RootDir,
    mounts: &[Mount],
    bundle: &Path,
    cgroups: &HostCgroups,
    own_cgroup_ns: bool,
) -> Result<()> {
    for (i, m) in mounts.iter().enumerate() {
        let describe = || {
            format!(
                "mounts[{i}] ({} on {})",
                m.typ().as_deref().unwrap_or("bind"),
                m.destination().display()
            )
        };
        mount_one(root, m, bundle, cgroups, own_cgroup_ns).map_err(|e| match e {
            Error::Sys { context, source } => Error::Sys {
                context: format!("{}: {context}", describe()),
                source,
            },
            Error::Io { context, source } => Error::Io {
                context: format!("{}: {context}", describe()),
                source,
            },
            other => other,
        })?;
    }
    Ok(())
}

fn mount_one(
    root: &RootDir,
    m: &Mount,
    bundle: &Path,
    cgroups: &HostCgroups,
    own_cgroup_ns: bool,
) -> Result<()> {
    let opts = options::parse(m.options().as_deref().unwrap_or_default());
    let destination = m.destination();
    if is_bind(m) {
        let source = bind_source(m, bundle)?;
        return bind(root, &source, destination, &opts);
    }
    let typ = m.typ().as_deref().unwrap_or_default();
    match typ {
        "cgroup" | "cgroup2" => cgroups.mount(root, destination, &opts, own_cgroup_ns),
        "sysfs" => match mount_fs(root, m, &opts) {
            // Without a network namespace of its own, sysfs cannot be mounted: runc binds the host's.
            Err(Error::Sys {
                source: Errno::EPERM,
                ..
            }) => {
                let mut opts = opts;
                opts.flags |= MsFlags::MS_BIND | MsFlags::MS_REC;
                bind(root, Path::new("/sys"), destination, &opts)
            }
            other => other,
        },
        _ => mount_fs(root, m, &opts),
    }
}

fn bind_source(m: &Mount, bundle: &Path) -> Result<PathBuf> {
    let source = m
        .source()
        .as_ref()
        .ok_or_else(|| Error::config("mounts.source", "a bind mount needs a source"))?;
    Ok(if source.is_absolute() {
        source.clone()
    } else {
        bundle.join(source)
    })
}

/// Mounts a filesystem of `m`'s type on its destination.
fn mount_fs(root: &RootDir, m: &Mount, opts: &MountOptions) -> Result<()> {
    let target = root.create(m.destination(), Node::Dir)?;
    let source = m.source().as_deref().unwrap_or(Path::new("none"));
    mount(
        Some(source),
        &fd_path(&target),
        m.typ().as_deref(),
        opts.flags,
        Some(opts.data.as_str()).filter(|d| !d.is_empty()),
    )
    .context("mount")?;
    finish_mount(root, m.destination(), opts)
}

/// Binds the host path `source` onto `destination` inside the root, then applies the flags a
/// bind mount only takes on remount.
pub fn bind(root: &RootDir, source: &Path, destination: &Path, opts: &MountOptions) -> Result<()> {
    let metadata =
        std::fs::metadata(source).with_context(|| format!("bind source {}", source.display()))?;
    let node = if metadata.is_dir() {
        Node::Dir
    } else {
        Node::File
    };
    let target = root.create(destination, node)?;
    let bind_flags = MsFlags::MS_BIND | (opts.flags & MsFlags::MS_REC);
    mount(
        Some(source),
        &fd_path(&target),
        None::<&str>,
        bind_flags,
        None::<&str>,
    )
    .context("bind")?;
    let extra = opts.flags & REMOUNT_FLAGS;
    if !extra.is_empty() {
        // The fd above is the directory under the new mount: look the destination up again.
        let mounted = root.resolve(destination).context("reopen bind mount")?;
        remount_bind(&mounted, extra)?;
    }
    finish_mount(root, destination, opts)
}

/// Remounts the bind mount at `fd` with `flags`. When the kernel refuses to clear a flag the
/// mount is locked with (in a user namespace), those flags are kept.
pub fn remount_bind(fd: &OwnedFd, flags: MsFlags) -> Result<()> {
    let remount = |flags: MsFlags| {
        mount(
            None::<&str>,
            &fd_path(fd),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags,
            None::<&str>,
        )
    };
    match remount(flags) {
        Err(Errno::EPERM) => {
            let locked = current_flags(fd)?;
            remount(flags | locked).context("remount bind")
        }
        other => other.context("remount bind"),
    }
}

/// The per-mount flags the mount at `fd` has now (a remount must repeat the locked ones).
pub fn current_flags(fd: impl std::os::fd::AsFd) -> Result<MsFlags> {
    let current = fstatvfs(fd).context("statvfs")?.flags();
    let pairs = [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ];
    Ok(pairs
        .iter()
        .filter(|(st, _)| current.contains(*st))
        .fold(MsFlags::empty(), |acc, (_, ms)| acc | *ms))
}

/// Applies what is set on a mount after it exists: recursive attributes and propagation.
fn finish_mount(root: &RootDir, destination: &Path, opts: &MountOptions) -> Result<()> {
    let recursive = opts.recursive != MountAttr::default();
    if opts.propagation.is_empty() && !recursive {
        return Ok(());
    }
    let mounted = root.resolve(destination).context("reopen mount")?;
    if recursive {
        sys::mount_setattr(mounted.as_fd(), &opts.recursive, true)
            .context("set recursive mount attributes")?;
    }
    for flags in &opts.propagation {
        mount(
            None::<&str>,
            &fd_path(&mounted),
            None::<&str>,
            *flags,
            None::<&str>,
        )
        .context("set propagation")?;
    }
    Ok(())
}
