//! `maskedPaths` and `readonlyPaths`: hiding and freezing parts of the container's view.

use std::os::fd::OwnedFd;
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{fstat, SFlag};

use super::mounts::attach_bind;
use super::paths::{fd_path, RootDir};
use crate::error::{Context, Error, Result};

/// Masks each path: an empty read-only tmpfs over directories, the host's /dev/null over files.
/// Paths that do not exist are skipped.
pub fn mask(root: &RootDir, paths: &[String]) -> Result<()> {
    for path in paths {
        let context = || format!("maskedPaths: {path}");
        let Some(target) = resolve_existing(root, path).with_context(context)? else {
            continue;
        };
        let is_dir = SFlag::from_bits_truncate(fstat(&target).with_context(context)?.st_mode)
            .contains(SFlag::S_IFDIR);
        if is_dir {
            mount(
                Some("tmpfs"),
                &fd_path(&target),
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None::<&str>,
            )
        } else {
            // The host's /dev/null, not the container's: the rootfs cannot redirect it.
            mount(
                Some("/dev/null"),
                &fd_path(&target),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
        }
        .with_context(context)?;
    }
    Ok(())
}

/// Makes each path a read-only bind mount of itself (with the mounts below it), keeping its
/// other flags.
pub fn make_readonly(root: &RootDir, paths: &[String]) -> Result<()> {
    for path in paths {
        let context = || format!("readonlyPaths: {path}");
        let Some(target) = resolve_existing(root, path).with_context(context)? else {
            continue;
        };
        attach_bind(&fd_path(&target), &target, true, MsFlags::MS_RDONLY)
            .map_err(|e| Error::config("readonlyPaths", format!("{path}: {e}")))?;
    }
    Ok(())
}

/// Resolves `path` inside the root; `None` when it does not exist (such paths are skipped).
fn resolve_existing(root: &RootDir, path: &str) -> nix::Result<Option<OwnedFd>> {
    match root.resolve(Path::new(path)) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}
