//! `process.terminal`: a pseudo-terminal made inside the container, from the container's own
//! devpts. Its peer becomes the process's controlling terminal and stdio (and, for the
//! container's first process, `/dev/console`); its master goes to the runtime, which hands it
//! to the `--console-socket` or relays it itself.

use std::fs::OpenOptions;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use nix::mount::{mount, MsFlags};
use nix::unistd::{dup2_stderr, dup2_stdin, dup2_stdout};

use super::rootfs::paths::{fd_path, RootDir};
use crate::error::{Context, Error, Result};
use crate::sys;

/// A new pseudo-terminal: the master (for the runtime) and its peer (for the process).
#[derive(Debug)]
pub struct Pty {
    /// The master side.
    pub master: OwnedFd,
    /// The terminal the process uses.
    pub peer: OwnedFd,
}

impl Pty {
    /// Opens a new pty from the `ptmx` node at `ptmx` (a path or `/proc/self/fd/N`).
    pub fn open(ptmx: &Path) -> Result<Pty> {
        let master: OwnedFd = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
            .open(ptmx)
            .context("process.terminal: open /dev/ptmx")?
            .into();
        let peer =
            sys::tty::open_peer(master.as_fd()).context("process.terminal: open the pty peer")?;
        Ok(Pty { master, peer })
    }

    /// Opens a new pty from the container's devpts (`/dev/ptmx` of the rootfs, resolved in it).
    pub fn open_in(root: &RootDir) -> Result<Pty> {
        let ptmx = root
            .resolve(Path::new("/dev/ptmx"))
            .context("process.terminal: find /dev/ptmx in the rootfs")?;
        Pty::open(&fd_path(&ptmx))
    }

    /// Binds the peer over `/dev/console` of the rootfs (created as an empty file if missing, and
    /// in place of a symlink there, which is never followed; anything but a file or character
    /// device there is refused).
    pub fn mount_console(&self, root: &RootDir) -> Result<()> {
        let target = root.create_file_unfollowed(Path::new("/dev/console"))?;
        let kind = std::fs::metadata(fd_path(&target))
            .context("process.terminal: stat /dev/console")?
            .file_type();
        if !(kind.is_file() || kind.is_char_device()) {
            return Err(Error::config(
                "process.terminal",
                "/dev/console in the rootfs is neither a file nor a device",
            ));
        }
        mount(
            Some(&fd_path(&self.peer)),
            &fd_path(&target),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .context("process.terminal: bind the pty over /dev/console")
    }

    /// Makes the peer the calling session leader's controlling terminal and its stdin, stdout
    /// and stderr; returns the master.
    pub fn attach(self) -> Result<OwnedFd> {
        sys::tty::set_controlling_terminal(self.peer.as_fd())
            .context("process.terminal: set the controlling terminal")?;
        dup2_stdin(&self.peer)
            .and_then(|()| dup2_stdout(&self.peer))
            .and_then(|()| dup2_stderr(&self.peer))
            .context("process.terminal: make the pty stdio")?;
        Ok(self.master)
    }
}
