//! Thin wrappers over the C library. Every `unsafe` block of berth-init is here, each with the
//! reason it is sound; the rest of the crate is safe code.

use core::ffi::{c_char, c_int, CStr};
use core::mem::MaybeUninit;
use core::time::Duration;

use libc::pid_t;

/// The arguments `main` received.
#[derive(Clone, Copy)]
pub struct Argv {
    argv: *const *const c_char,
    argc: usize,
}

impl Argv {
    /// # Safety
    ///
    /// `argv` must hold `argc` pointers to NUL-terminated strings followed by a NULL pointer,
    /// all valid and unchanged for the rest of the process: what the C runtime gives `main`.
    pub unsafe fn from_main(argc: c_int, argv: *const *const c_char) -> Argv {
        Argv {
            argv,
            argc: usize::try_from(argc).unwrap_or(0),
        }
    }

    /// Argument `i`, None past the last.
    pub fn get(&self, i: usize) -> Option<&'static CStr> {
        // SAFETY: `i < argc`, and from_main's contract makes argv[i] a valid C string that
        // lives as long as the process.
        (i < self.argc).then(|| unsafe { CStr::from_ptr(*self.argv.add(i)) })
    }

    /// Replaces this process with the program named by argument `first`, given the arguments
    /// from `first` on and found on `PATH` like a shell does (`execvp`). Returns only on
    /// failure, with the errno.
    pub fn exec_from(&self, first: usize) -> c_int {
        if first >= self.argc {
            return libc::EINVAL;
        }
        // SAFETY: `first < argc`, so argv + first is a NULL-terminated array of valid C strings
        // (from_main's contract), and its first entry is the program.
        unsafe {
            let args = self.argv.add(first);
            libc::execvp(*args, args);
        }
        errno()
    }
}

fn errno() -> c_int {
    // SAFETY: glibc's errno location is a valid thread-local int for the calling thread.
    unsafe { *libc::__errno_location() }
}

/// The message for an errno.
pub fn strerror(errnum: c_int) -> &'static CStr {
    // SAFETY: glibc's strerror returns a valid C string that this single-threaded process does
    // not see changed before it is written out.
    unsafe { CStr::from_ptr(libc::strerror(errnum)) }
}

/// Writes `parts` to fd 2 (stderr) or 1 (stdout), ignoring errors: there is nowhere to report
/// them.
pub fn write_all(fd: c_int, parts: &[&[u8]]) {
    for part in parts {
        let mut rest = *part;
        while !rest.is_empty() {
            // SAFETY: the pointer and length describe `rest`, which outlives the call.
            let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
            match usize::try_from(n) {
                Ok(n) if n > 0 => rest = &rest[n..],
                _ if n < 0 && errno() == libc::EINTR => {}
                _ => return,
            }
        }
    }
}

/// A value of the environment.
pub fn getenv(name: &CStr) -> Option<&'static CStr> {
    // SAFETY: `name` is a valid C string; nothing in this process changes the environment, so
    // the returned string stays valid.
    let value = unsafe { libc::getenv(name.as_ptr()) };
    // SAFETY: a non-NULL result of getenv is a valid C string (see above).
    (!value.is_null()).then(|| unsafe { CStr::from_ptr(value) })
}

/// A set of signals.
pub struct SigSet(libc::sigset_t);

/// Signals berth-init never blocks: the ones raised by a fault of its own (blocking them would
/// hide a crash), besides SIGKILL and SIGSTOP, which cannot be blocked.
const FAULTS: [c_int; 7] = [
    libc::SIGABRT,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGSEGV,
    libc::SIGSYS,
    libc::SIGTRAP,
];

/// Blocks every signal but the faults, so that they queue until [`wait_signal`] takes them;
/// returns the blocked set and the mask that was in force before.
pub fn block_signals() -> (SigSet, SigSet) {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    let mut previous = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigfillset initialises `set`, sigdelset edits it, and sigprocmask reads it and
    // writes the previous mask into `previous`; with valid arguments none of them fails, so
    // both are initialised afterwards.
    unsafe {
        libc::sigfillset(set.as_mut_ptr());
        for signal in FAULTS {
            libc::sigdelset(set.as_mut_ptr(), signal);
        }
        libc::sigprocmask(libc::SIG_SETMASK, set.as_ptr(), previous.as_mut_ptr());
        (SigSet(set.assume_init()), SigSet(previous.assume_init()))
    }
}

/// Sets the signal mask.
pub fn set_signal_mask(mask: &SigSet) {
    // SAFETY: a valid, initialised set; the old mask is not asked for.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &mask.0, core::ptr::null_mut()) };
}

/// Puts every signal back to its default action. A signal ignored by whoever started us would
/// otherwise stay ignored: dropped instead of forwarded, and for SIGCHLD, children reaped by
/// the kernel before we see their status.
pub fn reset_signal_actions() {
    for signal in 1..=libc::SIGRTMAX() {
        // SAFETY: SIG_DFL installs no handler; the C library refuses the signals it reserves
        // and SIGKILL/SIGSTOP with EINVAL, which changes nothing.
        unsafe { libc::signal(signal, libc::SIG_DFL) };
    }
}

/// Waits for one of the blocked signals in `set`, at most `timeout` when given. Returns the
/// signal, or None when the time ran out or the wait was interrupted.
pub fn wait_signal(set: &SigSet, timeout: Option<Duration>) -> Option<c_int> {
    let timespec = timeout.map(|t| libc::timespec {
        tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let timeout_ptr = timespec
        .as_ref()
        .map_or(core::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: a valid set, no siginfo wanted (NULL), and a valid timespec or NULL (no limit).
    let signal = unsafe { libc::sigtimedwait(&set.0, core::ptr::null_mut(), timeout_ptr) };
    (signal > 0).then_some(signal)
}

/// The monotonic clock.
pub fn now() -> Duration {
    let mut ts = MaybeUninit::<libc::timespec>::uninit();
    // SAFETY: CLOCK_MONOTONIC always exists, so clock_gettime fills `ts`.
    let ts = unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, ts.as_mut_ptr());
        ts.assume_init()
    };
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// `fork(2)`: None in the child, the child's pid in the parent, the errno on failure.
pub fn fork() -> Result<Option<pid_t>, c_int> {
    // SAFETY: berth-init has a single thread, so the child gets a consistent copy of it.
    match unsafe { libc::fork() } {
        -1 => Err(errno()),
        0 => Ok(None),
        pid => Ok(Some(pid)),
    }
}

/// This process's pid.
pub fn getpid() -> pid_t {
    // SAFETY: getpid has no arguments and cannot fail.
    unsafe { libc::getpid() }
}

/// Makes `pid` the leader of a new process group (0: this process). Errors are ignored: the
/// parent and the child both call it, and the second call may find the child has exec'd.
pub fn new_process_group(pid: pid_t) {
    // SAFETY: setpgid takes two integers.
    unsafe { libc::setpgid(pid, pid) };
}

/// Makes this process's group the foreground group of the terminal on stdin, if stdin is our
/// controlling terminal (errors are ignored: usually it is not a terminal at all). The caller
/// keeps SIGTTOU blocked, so a background group may do this.
pub fn take_terminal() {
    // SAFETY: tcsetpgrp and getpgrp take and return integers.
    unsafe { libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpgrp()) };
}

/// Registers this process as a child subreaper: orphaned descendants are reparented to it.
pub fn set_child_subreaper() -> Result<(), c_int> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer argument.
    match unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong) } {
        0 => Ok(()),
        _ => Err(errno()),
    }
}

/// Sends `signal` to `pid` (a negative pid: to that process group). Errors are ignored: the
/// target may have just exited.
pub fn kill(pid: pid_t, signal: c_int) {
    // SAFETY: kill takes two integers.
    unsafe { libc::kill(pid, signal) };
}

/// Reaps one exited child without waiting: its pid and wait status, or None when no child has
/// exited (or there are no children).
pub fn reap() -> Option<(pid_t, c_int)> {
    let mut status = 0;
    // SAFETY: `status` is a valid int for waitpid to fill.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    (pid > 0).then_some((pid, status))
}

/// Ends a forked child at once, without the parent's exit handlers.
pub fn exit_child(code: c_int) -> ! {
    // SAFETY: _exit takes an int and never returns.
    unsafe { libc::_exit(code) }
}
