//! The CVE-2019-5736 defence. A process that enters a container while its executable is the
//! host's berth binary could have that binary reopened through `/proc/<pid>/exe` (or run again
//! through a `#!/proc/self/exe` script at execve) and overwritten from inside. So before berth
//! creates or enters a container it makes sure its executable cannot be written through
//! `/proc`, re-executing itself once if needed:
//!
//! 1. through a detached read-only bind mount of itself (`open_tree` + `mount_setattr`): the
//!    executable is then reachable only through a mount that is read-only, in no namespace, and
//!    gone once berth has re-executed, so nothing can remount it writable. Nothing is copied;
//! 2. where that is refused (no `CAP_SYS_ADMIN`, old kernels), from a sealed in-memory copy.
//!
//! berth-init, which `--init` runs as the container's pid 1, is protected the same way
//! ([`protected_image`]).

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{fcntl, open, FcntlArg, OFlag, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::stat::Mode;
use nix::sys::statvfs::{fstatvfs, FsFlags};

use crate::error::{Context, Error, Result};
use crate::sys::{self, mount_attr, MountAttr};

const SEALS: SealFlag = SealFlag::F_SEAL_SEAL
    .union(SealFlag::F_SEAL_SHRINK)
    .union(SealFlag::F_SEAL_GROW)
    .union(SealFlag::F_SEAL_WRITE);

/// Where the first execution tells the re-executed one the host path of berth's executable,
/// which its /proc/self/exe no longer names.
const EXE_PATH_VAR: &str = "BERTH_EXE_PATH";

/// Returns when berth's executable is already unwritable through /proc; otherwise replaces the
/// process with a protected one (same arguments and environment, plus `BERTH_EXE_PATH`) and
/// does not return.
pub fn ensure_protected_exe() -> Result<()> {
    let exe = open(
        "/proc/self/exe",
        OFlag::O_PATH | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("open /proc/self/exe")?;
    let read_only = fstatvfs(&exe).is_ok_and(|s| s.flags().contains(FsFlags::ST_RDONLY));
    if read_only || is_sealed_copy() {
        return Ok(());
    }
    let image = protected_image(c"/proc/self/exe", c"berth")?;
    let path = std::fs::read_link("/proc/self/exe").context("readlink /proc/self/exe")?;
    let (args, env) = current_argv_env(&path)?;
    let err = nix::unistd::fexecve(image.as_fd(), &args, &env).unwrap_err();
    Err(err).context("re-execute berth from a protected image")
}

/// The host path of berth's executable, also once it runs from a protected image.
pub fn exe_path() -> Result<PathBuf> {
    match std::env::var_os(EXE_PATH_VAR) {
        Some(path) => Ok(PathBuf::from(path)),
        None => std::fs::read_link("/proc/self/exe").context("readlink /proc/self/exe"),
    }
}

/// An image of the executable at `path` that nothing can write, as an fd to execute: a
/// detached read-only bind mount of it, or where that is refused, a sealed in-memory copy
/// (called `name`).
pub fn protected_image(path: &CStr, name: &CStr) -> Result<OwnedFd> {
    read_only_view(path).or_else(|_| sealed_copy(path, name))
}

/// A detached, read-only bind mount of the executable.
fn read_only_view(path: &CStr) -> Result<OwnedFd> {
    let tree = sys::open_tree_clone(path, false).context("open_tree")?;
    let read_only = MountAttr {
        attr_set: mount_attr::RDONLY | mount_attr::NOSUID | mount_attr::NODEV,
        ..MountAttr::default()
    };
    sys::mount_setattr(tree.as_fd(), &read_only, false).context("mount_setattr")?;
    Ok(tree)
}

fn is_sealed_copy() -> bool {
    File::open("/proc/self/exe").is_ok_and(|exe| {
        fcntl(&exe, FcntlArg::F_GET_SEALS)
            .is_ok_and(|seals| SealFlag::from_bits_truncate(seals).contains(SEALS))
    })
}

/// A sealed in-memory copy of the executable.
fn sealed_copy(path: &CStr, name: &CStr) -> Result<OwnedFd> {
    let path = Path::new(OsStr::from_bytes(path.to_bytes()));
    let exe = File::open(path).with_context(|| format!("open {}", path.display()))?;
    let copy = memfd_create(name, MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)
        .context("memfd_create")?;
    let mut copy = File::from(copy);
    std::io::copy(&mut &exe, &mut copy)
        .with_context(|| format!("copy {} into memory", path.display()))?;
    fcntl(&copy, FcntlArg::F_ADD_SEALS(SEALS)).context("seal the in-memory copy")?;
    Ok(copy.into())
}

/// This process's arguments, and its environment with `BERTH_EXE_PATH=exe`.
fn current_argv_env(exe: &Path) -> Result<(Vec<CString>, Vec<CString>)> {
    let to_cstrings = |items: Vec<Vec<u8>>| -> Result<Vec<CString>> {
        items
            .into_iter()
            .map(|item| {
                CString::new(item).map_err(|_| Error::config("argv", "contains a NUL byte"))
            })
            .collect()
    };
    let args = to_cstrings(std::env::args_os().map(|a| a.as_bytes().to_vec()).collect())?;
    let env = to_cstrings(
        std::env::vars_os()
            .filter(|(k, _)| k != EXE_PATH_VAR)
            .chain([(EXE_PATH_VAR.into(), exe.as_os_str().to_owned())])
            .map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat())
            .collect(),
    )?;
    Ok((args, env))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn sealed_copy_holds_the_file_and_cannot_be_written() {
        let copy = File::from(sealed_copy(c"/proc/self/exe", c"test-copy").unwrap());
        let original = std::fs::metadata("/proc/self/exe").unwrap().len();
        assert_eq!(copy.metadata().unwrap().len(), original);
        assert!((&copy).write_all(b"x").is_err());
        assert!(copy.set_len(1).is_err());
    }
}
