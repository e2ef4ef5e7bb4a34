//! Thin wrappers over the few system calls that nix does not offer. Every `unsafe` block of
//! berth lives here, each with the reason it is sound.

pub mod bpf;
pub mod net;
pub mod seccomp;
pub mod tty;

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// Forks like `fork(2)` but through `clone3(2)`, so the child can start in new namespaces
/// (`flags` are `CLONE_NEW*` bits) and, given a cgroup v2 directory, in that cgroup
/// (`CLONE_INTO_CGROUP`). Returns `None` in the child and the child's pid in the parent.
///
/// The caller must be single-threaded: berth never starts threads, so the child gets a
/// consistent copy of the whole address space.
pub fn clone3_fork(flags: u64, cgroup: Option<BorrowedFd<'_>>) -> io::Result<Option<Pid>> {
    // clone3 without a stack behaves like fork: the child resumes here on a copy of our stack.
    let mut args: libc::clone_args = unsafe_zeroed_clone_args();
    args.flags = flags;
    if let Some(cgroup) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = cgroup.as_raw_fd() as u64;
    }
    args.exit_signal = libc::SIGCHLD as u64;
    // SAFETY: `args` is a valid, fully initialised clone_args of the size we pass; with no stack
    // given the kernel duplicates the (single-threaded) caller like fork(2) does.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut libc::clone_args,
            std::mem::size_of::<libc::clone_args>(),
        )
    };
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as i32))),
    }
}

/// `CLONE_INTO_CGROUP` (Linux 5.7), a 64-bit clone3 flag (libc's constant is an overflowing
/// `c_int`).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

fn unsafe_zeroed_clone_args() -> libc::clone_args {
    // SAFETY: clone_args is a plain C struct of integers, for which all-zero is the documented
    // "no options" value.
    unsafe { std::mem::zeroed() }
}

/// Opens a pidfd for `pid` (Linux 5.3+), a handle that cannot be confused with a reused pid.
pub fn pidfd_open(pid: Pid) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Takes ownership of fds this process just received with `SCM_RIGHTS`.
pub fn own_received_fds(fds: Vec<RawFd>) -> Vec<OwnedFd> {
    fds.into_iter()
        // SAFETY: the kernel installed each received fd in our table for this message alone;
        // nothing else refers to it yet.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect()
}

/// Sends `signal` to the process behind `pidfd`.
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signal: Signal) -> io::Result<()> {
    // SAFETY: a valid pidfd, a signal number, no siginfo (NULL) and no flags.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal as libc::c_int,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets the NIS domain name of the current UTS namespace.
pub fn setdomainname(name: &str) -> io::Result<()> {
    // SAFETY: the pointer and length describe `name`'s bytes, which outlive the call.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Marks every fd numbered `first` or above close-on-exec (Linux 5.11+).
pub fn cloexec_from(first: RawFd) -> io::Result<()> {
    close_range(first as u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC)
}

/// Closes every fd numbered `first` or above except those in `keep` (Linux 5.9+).
///
/// For a process about to set up or enter a container: whatever it inherited from the runtime
/// (the locked state directory, a cgroup directory, ...) would otherwise stay reachable
/// through `/proc/self/fd/N` until `execve`, as a working directory or a path to execute
/// (CVE-2024-21626); close-on-exec alone does not close them soon enough. The caller must not
/// use a closed fd again, nor drop its owner: the forked process leaves only by `execve` or
/// [`exit_child`].
pub fn close_fds_except(first: RawFd, keep: &[RawFd]) -> io::Result<()> {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter(|fd| **fd >= first)
        .map(|fd| *fd as u32)
        .collect();
    keep.sort_unstable();
    keep.dedup();
    let mut start = first as u32;
    for fd in keep {
        if fd > start {
            close_range(start, fd - 1, 0)?;
        }
        start = fd + 1;
    }
    close_range(start, u32::MAX, 0)
}

fn close_range(first: u32, last: u32, flags: u32) -> io::Result<()> {
    // SAFETY: close_range only closes or flags entries of our own fd table; no memory is
    // touched. Which fds may go is the callers' contract (see `close_fds_except`).
    let ret = unsafe { libc::close_range(first, last, flags as libc::c_int) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Puts every catchable signal back to its default disposition (ignored ones included, which
/// would otherwise survive `execve`; Rust itself ignores SIGPIPE).
pub fn reset_signal_dispositions() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet};
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for signal in Signal::iterator().filter(|s| !matches!(s, Signal::SIGKILL | Signal::SIGSTOP)) {
        // SAFETY: SIG_DFL installs no handler, so no code can run in signal context.
        let _ = unsafe { sigaction(signal, &default) };
    }
}

const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
const KEYCTL_SETPERM: libc::c_long = 5;
/// Possessor: all; user: view, read, link; group: search (runc's session keyring rights).
const SESSION_KEYRING_PERMISSIONS: libc::c_long = 0x3f1b_0000;

/// Joins a new session keyring called `name`, so the container does not share the caller's.
/// Kernels without keyrings (`ENOSYS`) are tolerated.
pub fn join_session_keyring(name: &str) -> io::Result<()> {
    let name =
        std::ffi::CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: keyctl with a valid NUL-terminated name; returns a key serial or -1.
    let key =
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    if key < 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ENOSYS) => Ok(()),
            _ => Err(err),
        };
    }
    // SAFETY: keyctl on the key serial just returned, with integer arguments only.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_SETPERM,
            key,
            SESSION_KEYRING_PERMISSIONS,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Ends a forked child at once, without running exit handlers or flushing stdio buffers that
/// belong to the parent's copy of the process.
pub fn exit_child(code: i32) -> ! {
    // SAFETY: _exit takes an int and never returns; it touches no Rust state.
    unsafe { libc::_exit(code) }
}

/// `struct mount_attr` of the kernel UAPI (libc does not carry it).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MountAttr {
    /// `MOUNT_ATTR_*` bits to set.
    pub attr_set: u64,
    /// `MOUNT_ATTR_*` bits to clear.
    pub attr_clr: u64,
    /// Propagation type (unused: berth sets propagation with mount(2)).
    pub propagation: u64,
    /// User namespace fd for `MOUNT_ATTR_IDMAP`.
    pub userns_fd: u64,
}

/// `MOUNT_ATTR_*` values from linux/mount.h.
pub mod mount_attr {
    /// Read-only.
    pub const RDONLY: u64 = 0x1;
    /// Ignore set-user-id bits.
    pub const NOSUID: u64 = 0x2;
    /// No device files.
    pub const NODEV: u64 = 0x4;
    /// No execution.
    pub const NOEXEC: u64 = 0x8;
    /// Mask of the access-time mode.
    pub const ATIME_MASK: u64 = 0x70;
    /// Relative access times (mode 0 in the mask).
    pub const RELATIME: u64 = 0x0;
    /// No access times.
    pub const NOATIME: u64 = 0x10;
    /// Strict access times.
    pub const STRICTATIME: u64 = 0x20;
    /// No directory access times.
    pub const NODIRATIME: u64 = 0x80;
    /// Map the ids of the mount's files through the user namespace `userns_fd`.
    pub const IDMAP: u64 = 0x0010_0000;
    /// Do not follow symlinks.
    pub const NOSYMFOLLOW: u64 = 0x0020_0000;
}

/// Changes the attributes of the mount at `fd`, and with `recursive` of every mount below it.
pub fn mount_setattr(fd: BorrowedFd<'_>, attr: &MountAttr, recursive: bool) -> io::Result<()> {
    let flags = libc::AT_EMPTY_PATH | if recursive { libc::AT_RECURSIVE } else { 0 };
    // SAFETY: `attr` is a valid mount_attr of the size passed; the path is an empty C string
    // used with AT_EMPTY_PATH so the call acts on `fd` itself.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags as libc::c_uint,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `open_tree(path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)`: a new bind mount of `path` (with
/// `recursive`, of the mounts below it too) that is attached nowhere, held only by the returned
/// fd.
pub fn open_tree_clone(path: &std::ffi::CStr, recursive: bool) -> io::Result<OwnedFd> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    let recursive = if recursive {
        libc::AT_RECURSIVE as libc::c_uint
    } else {
        0
    };
    // SAFETY: a valid C string path and flags; returns a new fd or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            path.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | recursive,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `move_mount(2)` of the mount `from` (e.g. a detached one from [`open_tree_clone`]) onto the
/// file or directory `to` refers to.
pub fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<()> {
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
    // SAFETY: two fds and empty C string paths, which with the *_EMPTY_PATH flags make the call
    // act on the fds themselves.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
