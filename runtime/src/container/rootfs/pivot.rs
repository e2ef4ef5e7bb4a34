//! Making the prepared rootfs the container's `/`.

use std::path::Path;

use nix::fcntl::OFlag;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, chroot, pivot_root};

use super::mounts::current_flags;
use crate::error::{Context, Result};

/// `pivot_root` into `rootfs` and detach the old root.
pub fn pivot_into(rootfs: &Path) -> Result<()> {
    chdir(rootfs).context("chdir to rootfs")?;
    // With new and old root both ".", the old root ends up stacked under the new one.
    pivot_root(".", ".").context("pivot_root")?;
    // Make sure unmounting the old root never propagates back to the host.
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .context("make old root a slave")?;
    umount2(".", MntFlags::MNT_DETACH).context("detach old root")?;
    chdir("/").context("chdir to /")
}

/// `--no-pivot`: move the rootfs mount over `/` and chroot into it.
pub fn move_into(rootfs: &Path) -> Result<()> {
    chdir(rootfs).context("chdir to rootfs")?;
    mount(
        Some(rootfs),
        "/",
        None::<&str>,
        MsFlags::MS_MOVE,
        None::<&str>,
    )
    .context("move rootfs to /")?;
    chroot(".").context("chroot")?;
    chdir("/").context("chdir to /")
}

/// `root.readonly`: remount `/` read-only, keeping its other flags.
pub fn make_root_readonly() -> Result<()> {
    let root =
        nix::fcntl::open("/", OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).context("open /")?;
    let flags = current_flags(&root)? | MsFlags::MS_RDONLY;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags,
        None::<&str>,
    )
    .context("root.readonly: remount / read-only")
}
