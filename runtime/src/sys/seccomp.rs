//! Loading a classic BPF seccomp filter with `seccomp(2)`. seccompiler's own loader cannot pass
//! the flags berth needs (`SECCOMP_FILTER_FLAG_NEW_LISTENER`, `LOG`, `SPEC_ALLOW`, ...), and it
//! sets no_new_privs itself, which is the configuration's decision, not the loader's.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use seccompiler::sock_filter;

/// Installs `filter` on the calling thread with `SECCOMP_SET_MODE_FILTER` and `flags`
/// (`SECCOMP_FILTER_FLAG_*`). With `SECCOMP_FILTER_FLAG_NEW_LISTENER` the kernel returns the
/// notification listener, a close-on-exec fd; otherwise `None`.
///
/// The caller must have no_new_privs set or `CAP_SYS_ADMIN` in its user namespace.
pub fn load_filter(filter: &[sock_filter], flags: libc::c_ulong) -> io::Result<Option<OwnedFd>> {
    let len =
        u16::try_from(filter.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let program = libc::sock_fprog {
        len,
        // seccompiler's `sock_filter` is `#[repr(C)]` with the same four fields (u16, u8, u8,
        // u32) as the kernel's, so the two types share one layout.
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `program` points to `len` initialised instructions that outlive the call; the
    // kernel only copies them (copy_from_user) and never writes through the pointer.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &program as *const libc::sock_fprog,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    if flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER == 0 {
        // Without a listener, a positive value is a thread that TSYNC could not synchronise.
        return match ret {
            0 => Ok(None),
            tid => Err(io::Error::other(format!(
                "thread {tid} cannot be synchronised (SECCOMP_FILTER_FLAG_TSYNC)"
            ))),
        };
    }
    // SAFETY: with NEW_LISTENER the return value is a fresh fd that nothing else owns.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as RawFd) }))
}
