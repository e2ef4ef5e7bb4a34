//! berth-init: a tiny init for containers. It runs one program as its child, forwards the
//! signals it gets to that program, reaps every zombie that is reparented to it, and exits
//! with the program's status.
//!
//! ```text
//! berth-init [-g] [-s] [-e CODE]... [--grace SECS] [--] PROGRAM [ARGS...]
//! ```
//!
//! `berth run --init` (or the `io.berth.init` annotation) makes it the container's pid 1
//! without putting it in the container's filesystem; Docker's `--init` with `init-path`
//! pointing at it bind-mounts it at `/sbin/docker-init` and runs `/sbin/docker-init -- CMD`.
//!
//! * The program runs in a process group of its own, which takes the terminal on stdin when
//!   that is berth-init's controlling terminal (so an interactive shell keeps job control).
//! * Signals: every signal berth-init can catch goes to the program (`-g`: to its process
//!   group): SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGTSTP,
//!   SIGTTIN, SIGTTOU, SIGALRM, SIGPIPE, SIGURG, SIGIO, SIGPWR, SIGPROF, SIGVTALRM, SIGXCPU,
//!   SIGXFSZ, SIGSTKFLT and the real-time signals. Not forwarded: SIGCHLD (berth-init's own:
//!   it reaps), SIGKILL and SIGSTOP (nobody can catch them), the signals of a fault of
//!   berth-init itself (SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGSEGV, SIGSYS, SIGTRAP) and the two
//!   real-time signals glibc keeps for itself (32 and 33).
//! * Exit status: the program's, or 128+N when signal N killed it; `-e CODE` turns CODE into
//!   0 (e.g. `-e 143` for a program that SIGTERM ends). Its own failures: 2 for a bad command
//!   line, 126 when the program cannot be executed, 127 when it is not found, 1 when it
//!   cannot fork.
//! * Options ([`options`]): `-g` signals the whole process group, `-s` makes berth-init a child
//!   subreaper when it is not pid 1, `--grace SECS` SIGKILLs the program (or group) SECS
//!   seconds after forwarding a SIGTERM to it if it is still running. The environment sets
//!   them too: `TINI_KILL_PROCESS_GROUP` and `TINI_SUBREAPER` (set to anything), and
//!   `BERTH_INIT_GRACE=SECS`.
//!
//! Size: a release build has no Rust standard library (`no_std` whenever panics abort, as the
//! release profile says): only `core`, the libc crate and glibc, linked statically, so the
//! binary is about as small as a static glibc program can be. Debug and test builds link std
//! as usual.

#![cfg_attr(panic = "abort", no_std)]
#![cfg_attr(not(test), no_main)]

mod options;
mod sys;

use core::ffi::{c_char, c_int};
use core::time::Duration;

use options::{Command, Error, ExitCodes, Options};

const VERSION: &str = concat!("berth-init version ", env!("CARGO_PKG_VERSION"), "\n");

const USAGE_LINE: &str =
    "usage: berth-init [-g] [-s] [-e CODE]... [--grace SECS] [--] PROGRAM [ARGS...]\n";

const HELP: &str = "
Runs PROGRAM as its child, forwards signals to it, reaps zombies, and exits with
PROGRAM's exit status (128+N when signal N killed it).

  -g            forward signals to PROGRAM's whole process group
  -s            be a child subreaper when not pid 1 (orphans are reparented here)
  -e CODE       exit 0 when PROGRAM's status is CODE (repeatable)
  --grace SECS  SIGKILL PROGRAM if it still runs SECS seconds after a forwarded SIGTERM
  -h, --help    print this help
  --version     print the version

Environment: TINI_KILL_PROCESS_GROUP (set: -g), TINI_SUBREAPER (set: -s),
BERTH_INIT_GRACE=SECS (--grace SECS).
";

const STDOUT: c_int = 1;
const STDERR: c_int = 2;

/// Panics abort: there is nothing to unwind to, and no std to print a message.
#[cfg(panic = "abort")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    sys::write_all(STDERR, &[b"berth-init: internal error\n"]);
    sys::exit_child(1)
}

// Without std, nothing else names the C library to the linker.
#[cfg(all(panic = "abort", target_feature = "crt-static"))]
#[link(name = "c", kind = "static", modifiers = "-bundle")]
#[link(name = "gcc_eh", kind = "static", modifiers = "-bundle")]
#[link(name = "gcc", kind = "static", modifiers = "-bundle")]
#[link(name = "c", kind = "static", modifiers = "-bundle")]
extern "C" {}

// The same for a dynamically linked build.
#[cfg(all(panic = "abort", not(target_feature = "crt-static")))]
#[link(name = "c")]
extern "C" {}

/// The C entry point (there is no std runtime to call a Rust `main`). In the unit tests the
/// harness brings its own.
#[cfg_attr(not(test), no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: the C runtime calls main with its argc and argv.
    let argv = unsafe { sys::Argv::from_main(argc, argv) };
    run(&argv)
}

fn run(argv: &sys::Argv) -> c_int {
    match options::parse(|i| argv.get(i + 1), sys::getenv) {
        Ok(Command::Run { options, program }) => supervise(argv, program + 1, &options),
        Ok(Command::Help) => {
            sys::write_all(STDOUT, &[USAGE_LINE.as_bytes(), HELP.as_bytes()]);
            0
        }
        Ok(Command::Version) => {
            sys::write_all(STDOUT, &[VERSION.as_bytes()]);
            0
        }
        Err(e) => {
            let what: [&[u8]; 3] = match e {
                Error::Unknown(arg) => [b"unknown option ", arg.to_bytes(), b""],
                Error::MissingValue(option) => [option.as_bytes(), b" needs a value", b""],
                Error::BadValue(option, value) => {
                    [option.as_bytes(), b": bad value ", value.to_bytes()]
                }
                Error::NoProgram => [b"no program to run", b"", b""],
            };
            sys::write_all(STDERR, &[b"berth-init: ", what[0], what[1], what[2], b"\n"]);
            sys::write_all(STDERR, &[USAGE_LINE.as_bytes()]);
            2
        }
    }
}

/// Starts the program and serves as its init until it exits; returns berth-init's exit status.
fn supervise(argv: &sys::Argv, program: usize, options: &Options) -> c_int {
    // Blocked first: from here on no signal can end berth-init before it is forwarded.
    let (handled, inherited_mask) = sys::block_signals();
    sys::reset_signal_actions();
    if sys::getpid() != 1 {
        let subreaper = if options.subreaper {
            sys::set_child_subreaper()
        } else {
            Err(0)
        };
        if let Err(errno) = subreaper {
            let why: &[u8] = match errno {
                0 => b"no -s",
                errno => sys::strerror(errno).to_bytes(),
            };
            let warning = b"berth-init: not pid 1 and not a subreaper (";
            let rest = b"): orphans will not be reaped here\n";
            sys::write_all(STDERR, &[warning, why, rest]);
        }
    }
    let child = match sys::fork() {
        Ok(Some(pid)) => pid,
        Ok(None) => start(argv, program, &inherited_mask),
        Err(errno) => {
            sys::write_all(
                STDERR,
                &[
                    b"berth-init: fork: ",
                    sys::strerror(errno).to_bytes(),
                    b"\n",
                ],
            );
            return 1;
        }
    };
    // The child does this too; whichever comes first, the group exists before the first
    // signal is forwarded to it.
    sys::new_process_group(child);
    let target = if options.kill_group { -child } else { child };
    let mut kill_at: Option<Duration> = None;
    loop {
        let timeout = kill_at.map(|at| at.saturating_sub(sys::now()));
        match sys::wait_signal(&handled, timeout) {
            Some(libc::SIGCHLD) => {}
            Some(signal) => {
                sys::kill(target, signal);
                if signal == libc::SIGTERM && kill_at.is_none() {
                    kill_at = options.grace.map(|grace| sys::now() + grace);
                }
            }
            None => {
                if kill_at.is_some_and(|at| sys::now() >= at) {
                    sys::kill(target, libc::SIGKILL);
                    kill_at = None;
                }
            }
        }
        while let Some((pid, status)) = sys::reap() {
            if pid == child {
                return exit_status(status, &options.success_codes);
            }
        }
    }
}

/// The forked child: takes its own process group (and the terminal), restores the signal mask
/// berth-init started with, and becomes the program.
fn start(argv: &sys::Argv, program: usize, mask: &sys::SigSet) -> ! {
    sys::new_process_group(0);
    sys::take_terminal();
    sys::set_signal_mask(mask);
    let errno = argv.exec_from(program);
    let name = argv.get(program).map_or(&b""[..], |p| p.to_bytes());
    let reason = sys::strerror(errno).to_bytes();
    sys::write_all(STDERR, &[b"berth-init: exec ", name, b": ", reason, b"\n"]);
    sys::exit_child(if errno == libc::ENOENT { 127 } else { 126 })
}

/// berth-init's exit status for the program's wait status.
fn exit_status(status: c_int, success: &ExitCodes) -> c_int {
    let code = if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    };
    match u8::try_from(code) {
        Ok(code) if success.contains(code) => 0,
        _ => code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_is_the_code_or_128_plus_the_signal() {
        let none = ExitCodes::default();
        assert_eq!(exit_status(42 << 8, &none), 42);
        assert_eq!(exit_status(0, &none), 0);
        assert_eq!(exit_status(libc::SIGTERM, &none), 143);
        assert_eq!(exit_status(libc::SIGKILL | 0x80, &none), 137, "core dumped");
    }

    #[test]
    fn success_codes_apply_to_signal_deaths_too() {
        let Ok(Command::Run { options, .. }) = options::parse(
            |i| [c"-e", c"143", c"-e", c"3", c"x"].get(i).copied(),
            |_| None,
        ) else {
            panic!("not a run");
        };
        assert_eq!(exit_status(libc::SIGTERM, &options.success_codes), 0);
        assert_eq!(exit_status(3 << 8, &options.success_codes), 0);
        assert_eq!(exit_status(4 << 8, &options.success_codes), 4);
    }
}
