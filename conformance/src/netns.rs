//! A network namespace of the test's own, so that network tests never touch the machine's
//! interfaces, addresses or firewall. Network namespaces belong to threads: entering one
//! changes only the calling test thread, and every process it spawns (the runtime, its hooks,
//! `ip`, `iptables`) starts inside it, as does every socket it opens.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Command;

/// The calling thread's own network namespace, left again on drop (the namespace then goes
/// away with everything in it, unless something still holds it).
pub struct TestNetns {
    original: OwnedFd,
}

impl TestNetns {
    /// Moves the calling thread into a new network namespace with loopback up.
    pub fn enter() -> TestNetns {
        let original: OwnedFd = File::open("/proc/thread-self/ns/net")
            .expect("open the thread's network namespace")
            .into();
        // SAFETY: unshare takes flags by value; CLONE_NEWNET affects only the calling thread.
        assert_eq!(
            unsafe { libc::unshare(libc::CLONE_NEWNET) },
            0,
            "unshare(CLONE_NEWNET)"
        );
        let netns = TestNetns { original };
        netns.run("ip", &["link", "set", "lo", "up"]);
        netns
    }

    /// Runs `program` with `args` in the namespace, asserts success and returns its stdout.
    #[track_caller]
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let out = Command::new(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The names of the namespace's network interfaces.
    pub fn links(&self) -> Vec<String> {
        self.run("ip", &["-o", "link", "show"])
            .lines()
            .filter_map(|line| line.split(": ").nth(1))
            .map(|name| name.split('@').next().unwrap_or(name).to_string())
            .collect()
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        // SAFETY: setns takes a valid namespace fd and flags by value.
        let back = unsafe { libc::setns(self.original.as_raw_fd(), libc::CLONE_NEWNET) };
        if back != 0 {
            // The thread cannot be trusted with the machine's network any more.
            eprintln!("setns back to the original network namespace failed; aborting");
            std::process::abort();
        }
    }
}
