//! Path handling inside the container's root filesystem. Every lookup goes through `openat2`
//! with `RESOLVE_IN_ROOT`, so symlinks and `..` can never lead out of the rootfs; the results are
//! `O_PATH` fds that mounts are then made onto (via `/proc/self/fd/N`), so a path swapped after
//! the check cannot redirect them.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, readlinkat, AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstatat, mkdirat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};

use crate::error::{Context, Result};

/// The path through which a mount call reaches exactly the file behind `fd`.
pub fn fd_path(fd: &impl AsRawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// A handle on the root of the container's filesystem.
#[derive(Debug)]
pub struct RootDir {
    fd: OwnedFd,
}

/// What to create at a missing mount destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// A directory.
    Dir,
    /// An empty regular file (for binding a file).
    File,
}

impl RootDir {
    /// Opens the root directory at the host path `path`.
    pub fn open(path: &Path) -> Result<RootDir> {
        let fd = nix::fcntl::open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("open root filesystem {}", path.display()))?;
        Ok(RootDir { fd })
    }

    fn openat2(&self, path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        openat2(self.fd.as_fd(), path, how)
    }

    /// Resolves `path` (following symlinks, inside the root) to an `O_PATH` fd.
    pub fn resolve(&self, path: &Path) -> nix::Result<OwnedFd> {
        self.openat2(path, OFlag::O_PATH)
    }

    /// Makes sure `path` exists as a `node`, creating missing parents (mode 0755), and returns
    /// an `O_PATH` fd on it.
    pub fn create(&self, path: &Path, node: Node) -> Result<OwnedFd> {
        if let Ok(fd) = self.resolve(path) {
            return Ok(fd);
        }
        let parent = self.create_dir_all(path.parent().unwrap_or(Path::new("/")))?;
        if let Some(name) = path.file_name() {
            make_at(&parent, name, node).with_context(|| format!("create {}", path.display()))?;
        }
        self.resolve(path)
            .with_context(|| format!("open {}", path.display()))
    }

    /// Makes sure `path` exists as a file of its own and returns an `O_PATH` fd on it, never
    /// following its last component: a symlink there is replaced by an empty file, so that a
    /// mount onto the result cannot be redirected to wherever the symlink pointed.
    pub fn create_file_unfollowed(&self, path: &Path) -> Result<OwnedFd> {
        let context = || format!("create {}", path.display());
        let parent = self.create_dir_all(path.parent().unwrap_or(Path::new("/")))?;
        let name = path
            .file_name()
            .ok_or(Errno::EINVAL)
            .with_context(context)?;
        let existing = fstatat(parent.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW);
        if existing
            .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK)
        {
            unlinkat(parent.as_fd(), name, UnlinkatFlags::NoRemoveDir).with_context(context)?;
        }
        make_at(&parent, name, Node::File).with_context(context)?;
        openat(
            parent.as_fd(),
            name,
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("open {}", path.display()))
    }

    /// Creates the directory `path` and its parents inside the root. A symlink on the way is
    /// followed, and what it points to is created inside the root too.
    pub fn create_dir_all(&self, path: &Path) -> Result<OwnedFd> {
        let mut pending: Vec<OsString> = normal_components(path);
        pending.reverse();
        let mut prefix = PathBuf::from("/");
        let mut dir = self.resolve(&prefix).context("open root filesystem")?;
        let mut links_followed = 0;
        while let Some(name) = pending.pop() {
            if name == ".." {
                prefix.pop();
                dir = self.resolve(&prefix).context("resolve ..")?;
                continue;
            }
            let candidate = prefix.join(&name);
            match self.resolve(&candidate) {
                Ok(fd) => {
                    prefix = candidate;
                    dir = fd;
                    continue;
                }
                Err(Errno::ENOENT) => {}
                Err(e) => return Err(e).with_context(|| format!("open {}", candidate.display())),
            }
            match mkdirat(
                dir.as_fd(),
                name.as_os_str(),
                Mode::from_bits_truncate(0o755),
            ) {
                Ok(()) => {
                    dir = self
                        .resolve(&candidate)
                        .with_context(|| format!("open {}", candidate.display()))?;
                    prefix = candidate;
                }
                // A dangling symlink: go on from where it points, inside the root.
                Err(Errno::EEXIST) => {
                    links_followed += 1;
                    if links_followed > MAX_SYMLINKS {
                        return Err(Errno::ELOOP)
                            .with_context(|| format!("create {}", path.display()));
                    }
                    let target = readlinkat(dir.as_fd(), name.as_os_str())
                        .with_context(|| format!("read link {}", candidate.display()))?;
                    let target = Path::new(&target);
                    if target.is_absolute() {
                        prefix = PathBuf::from("/");
                        dir = self.resolve(&prefix).context("open root filesystem")?;
                    }
                    pending.extend(normal_components(target).into_iter().rev());
                }
                Err(e) => return Err(e).with_context(|| format!("create {}", candidate.display())),
            }
        }
        Ok(dir)
    }
}

/// Creates `name` in `parent` as a `node` unless something is there already (a symlink there is
/// not followed).
fn make_at(parent: &OwnedFd, name: &OsStr, node: Node) -> nix::Result<()> {
    let made = match node {
        Node::Dir => mkdirat(parent.as_fd(), name, Mode::from_bits_truncate(0o755)),
        Node::File => openat(
            parent.as_fd(),
            name,
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o644),
        )
        .map(drop),
    };
    match made {
        Err(Errno::EEXIST) => Ok(()),
        other => other,
    }
}

/// How many symlinks a path may pass through, as the kernel allows.
const MAX_SYMLINKS: usize = 40;

/// The named components of `path`, `..` included, `.` and `/` dropped.
fn normal_components(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}
