//! Performing config.json's `mounts`, in order, onto fds resolved inside the rootfs.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::SFlag;
use nix::sys::statvfs::{fstatvfs, FsFlags};
use oci_spec::runtime::Mount;

use super::cgroups::HostCgroups;
use super::idmap::IdmappedMounts;
use super::options::{self, MountOptions};
use super::paths::{fd_path, Node, RootDir};
use crate::error::{Context, Error, Result};
use crate::sys::{self, mount_attr, MountAttr};

/// Flags that a bind mount takes only after it exists.
pub(super) const BIND_FLAGS: MsFlags = MsFlags::MS_RDONLY
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

/// Mounts every entry of `mounts` inside `root`. Relative bind sources are taken from `bundle`;
/// idmapped binds come ready-made in `idmapped`.
pub fn mount_all(
    root: &RootDir,
    mounts: &[Mount],
    bundle: &Path,
    cgroups: &HostCgroups,
    own_cgroup_ns: bool,
    idmapped: &IdmappedMounts,
) -> Result<()> {
    for (i, m) in mounts.iter().enumerate() {
        let describe = || {
            format!(
                "mounts[{i}] ({} on {})",
                m.typ().as_deref().unwrap_or("bind"),
                m.destination().display()
            )
        };
        let mounted = match idmapped.take(i) {
            Some(tree) => attach_detached(root, tree, m),
            None => mount_one(root, m, bundle, cgroups, own_cgroup_ns),
        };
        mounted.map_err(|e| match e {
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

/// Attaches a bind mount made beforehand (detached, flags set) at `m`'s destination.
fn attach_detached(root: &RootDir, tree: OwnedFd, m: &Mount) -> Result<()> {
    let opts = options::parse(m.options().as_deref().unwrap_or_default());
    let metadata = nix::sys::stat::fstat(&tree).context("stat bind source")?;
    let is_dir = SFlag::from_bits_truncate(metadata.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR;
    let target = root.create(m.destination(), if is_dir { Node::Dir } else { Node::File })?;
    sys::move_mount(tree.as_fd(), target.as_fd()).context("bind")?;
    finish_mount(&tree, &opts)
}

/// The host path a bind mount's `source` names.
pub(super) fn bind_source(m: &Mount, bundle: &Path) -> Result<PathBuf> {
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
    if !needs_finishing(opts) {
        return Ok(());
    }
    // A filesystem mounted by mount(2) has no handle of its own: look it up again.
    let mounted = root.resolve(m.destination()).context("reopen mount")?;
    finish_mount(&mounted, opts)
}

/// Binds the host path `source` onto `destination` inside the root, with the flags a bind
/// mount takes only after it exists.
pub fn bind(root: &RootDir, source: &Path, destination: &Path, opts: &MountOptions) -> Result<()> {
    let metadata =
        std::fs::metadata(source).with_context(|| format!("bind source {}", source.display()))?;
    let node = if metadata.is_dir() {
        Node::Dir
    } else {
        Node::File
    };
    let target = root.create(destination, node)?;
    let recursive = opts.flags.contains(MsFlags::MS_REC);
    let mounted = attach_bind(source, &target, recursive, opts.flags & BIND_FLAGS)?;
    finish_mount(&mounted, opts)
}

/// Binds `source` (a path, or `/proc/self/fd/N`) onto what `target` refers to, with the mounts
/// below it when `recursive`, and `flags` set on the new mount while it is still detached
/// (`open_tree`, `mount_setattr`, `move_mount`: Linux 5.12). Returns the attached mount. Nothing
/// is looked up by path once `target` is open, so a destination swapped meanwhile
/// (CVE-2021-30465) can redirect neither the mount nor its flags.
pub fn attach_bind(
    source: &Path,
    target: &OwnedFd,
    recursive: bool,
    flags: MsFlags,
) -> Result<OwnedFd> {
    let tree = detached_bind(source, recursive, flags)?;
    sys::move_mount(tree.as_fd(), target.as_fd()).context("bind")?;
    Ok(tree)
}

/// A new bind mount of `source` (with the mounts below it when `recursive`) attached nowhere
/// yet, with `flags` set on it.
pub(super) fn detached_bind(source: &Path, recursive: bool, flags: MsFlags) -> Result<OwnedFd> {
    let path = std::ffi::CString::new(source.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::config("mounts.source", "contains a NUL byte"))?;
    let tree = sys::open_tree_clone(&path, recursive).context("bind")?;
    let attr = mount_attr_of(flags);
    if attr != MountAttr::default() {
        let set = sys::mount_setattr(tree.as_fd(), &attr, false);
        match set {
            // A mount locked with its access-time mode (in a user namespace) keeps it.
            Err(e) if e.raw_os_error() == Some(libc::EPERM) && attr.attr_clr != 0 => {
                let keep_atime = MountAttr {
                    attr_set: attr.attr_set & !mount_attr::ATIME_MASK,
                    attr_clr: 0,
                    ..attr
                };
                sys::mount_setattr(tree.as_fd(), &keep_atime, false)
            }
            other => other,
        }
        .context("set bind mount flags")?;
    }
    Ok(tree)
}

/// The `mount_setattr` form of per-mount flags: each one set, and the access-time mode
/// replaced when one is given.
fn mount_attr_of(flags: MsFlags) -> MountAttr {
    let bits = [
        (MsFlags::MS_RDONLY, mount_attr::RDONLY),
        (MsFlags::MS_NOSUID, mount_attr::NOSUID),
        (MsFlags::MS_NODEV, mount_attr::NODEV),
        (MsFlags::MS_NOEXEC, mount_attr::NOEXEC),
        (MsFlags::MS_NODIRATIME, mount_attr::NODIRATIME),
    ];
    let atime_modes = [
        (MsFlags::MS_NOATIME, mount_attr::NOATIME),
        (MsFlags::MS_STRICTATIME, mount_attr::STRICTATIME),
        (MsFlags::MS_RELATIME, mount_attr::RELATIME),
    ];
    let mut attr = MountAttr::default();
    for (flag, bit) in bits {
        if flags.contains(flag) {
            attr.attr_set |= bit;
        }
    }
    if let Some((_, mode)) = atime_modes.iter().find(|(flag, _)| flags.contains(*flag)) {
        attr.attr_clr |= mount_attr::ATIME_MASK;
        attr.attr_set |= mode;
    }
    attr
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

/// Whether `opts` ask for anything once the mount exists (see [`finish_mount`]).
fn needs_finishing(opts: &MountOptions) -> bool {
    !opts.propagation.is_empty() || opts.recursive != MountAttr::default()
}

/// Applies what is set on a mount after it exists to `mounted`: recursive attributes and
/// propagation.
fn finish_mount(mounted: &OwnedFd, opts: &MountOptions) -> Result<()> {
    if opts.recursive != MountAttr::default() {
        sys::mount_setattr(mounted.as_fd(), &opts.recursive, true)
            .context("set recursive mount attributes")?;
    }
    for flags in &opts.propagation {
        mount(
            None::<&str>,
            &fd_path(mounted),
            None::<&str>,
            *flags,
            None::<&str>,
        )
        .context("set propagation")?;
    }
    Ok(())
}
