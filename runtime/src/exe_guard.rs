//! The CVE-2019-5736 defence. A process that enters a container while its executable is the
//! host's berth binary could have that binary reopened through `/proc/<pid>/exe` (or run again
//! through a `#!/proc/self/exe` script at execve) and overwritten from inside. Before berth
//! creates or enters a container it therefore re-executes itself from a sealed, read-only
//! in-memory copy: whatever the container reaches through /proc is that copy, which nothing can
//! write to, and never the file on the host.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;

use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};

use crate::error::{Context, Error, Result};

const SEALS: SealFlag = SealFlag::F_SEAL_SEAL
    .union(SealFlag::F_SEAL_SHRINK)
    .union(SealFlag::F_SEAL_GROW)
    .union(SealFlag::F_SEAL_WRITE);

/// Returns when berth already runs from a sealed copy; otherwise replaces the process with one
/// (same arguments and environment) and does not return.
pub fn ensure_sealed_copy() -> Result<()> {
    let exe = File::open("/proc/self/exe").context("open /proc/self/exe")?;
    if fcntl(&exe, FcntlArg::F_GET_SEALS)
        .is_ok_and(|seals| SealFlag::from_bits_truncate(seals).contains(SEALS))
    {
        return Ok(());
    }
    let copy = memfd_create(
        c"berth",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )
    .context("memfd_create")?;
    let mut copy = File::from(copy);
    std::io::copy(&mut &exe, &mut copy).context("copy berth into memory")?;
    fcntl(&copy, FcntlArg::F_ADD_SEALS(SEALS)).context("seal in-memory berth")?;
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
            .map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat())
            .collect(),
    )?;
    let err = nix::unistd::fexecve(copy.as_fd(), &args, &env).unwrap_err();
    Err(err).context("re-execute from the sealed copy")
}
