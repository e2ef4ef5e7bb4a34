//! config.md `process.terminal` and runc's `--console-socket`: the runtime makes a
//! pseudo-terminal inside the container, its peer is the process's stdio, controlling terminal
//! and `/dev/console`, and its master goes to the console socket (`SCM_RIGHTS`) or, for a
//! foreground `run`/`exec` without one, is relayed by the runtime. Asking for a terminal that
//! nobody can hold, or a socket without a terminal, is an error.

use conformance::*;
use serde_json::json;
use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What the container reports about its terminal, then it echoes one line typed into it.
const REPORT: &str = "echo tty=$(tty); set -- $(ls -lL /dev/console); echo console=$5$6; \
    read line; echo got=$line";

fn terminal_spec(script: &str) -> oci_spec::runtime::Spec {
    edit(&sh_spec(script), |v| v["process"]["terminal"] = json!(true))
}

/// A console socket in the test dir; its path.
fn console_socket(ctx: &Ctx) -> (UnixListener, PathBuf) {
    let path = ctx.dir().join("console.sock");
    (
        UnixListener::bind(&path).expect("bind the console socket"),
        path,
    )
}

/// Reads from the terminal master until `want` shows up (or fails after 10 s).
fn read_until(master: &mut std::fs::File, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    while !seen.contains(want) {
        assert!(
            Instant::now() < deadline,
            "no {want:?} on the terminal: {seen:?}"
        );
        match master.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buffer[..n])),
        }
    }
    seen
}

/// `create --console-socket`: the master arrives on the socket; the process's stdio is the
/// pty (`tty` names a /dev/pts device), /dev/console is that same device (136:N), and what is
/// typed into the master reaches the process.
#[test]
fn terminal_master_goes_to_the_console_socket() {
    let ctx = Ctx::new("terminal_socket");
    let (listener, path) = console_socket(&ctx);
    let receiver = std::thread::spawn(move || accept_fd(&listener));
    let bundle = ctx.bundle(&terminal_spec(REPORT));
    let id = ctx.new_id();
    ctx.rt(&[
        "create",
        "--console-socket",
        &path.display().to_string(),
        "--bundle",
        &bundle.display().to_string(),
        &id,
    ])
    .ok();
    let (_, master) = receiver.join().expect("the console socket got an fd");
    let mut master = std::fs::File::from(master);
    ctx.rt(&["start", &id]).ok();
    let seen = read_until(&mut master, "console=");
    let tty = seen
        .lines()
        .find_map(|l| l.trim().strip_prefix("tty="))
        .unwrap_or_else(|| panic!("tty= line: {seen:?}"))
        .to_string();
    let n = tty
        .strip_prefix("/dev/pts/")
        .unwrap_or_else(|| panic!("stdin is a pty: {tty}"));
    master.write_all(b"hello\n").unwrap();
    let seen = seen.clone() + &read_until(&mut master, "got=hello");
    assert!(
        seen.contains(&format!("console=136,{n}")),
        "/dev/console is the pty: {seen:?}"
    );
    ctx.wait_status(&id, oci_spec::runtime::ContainerState::Stopped);
    ctx.rt(&["delete", &id]).ok();
}

/// A foreground `run` without a console socket relays the terminal: the process's output comes
/// out on the runtime's stdout and its stdin goes in, and `run` exits with its status.
#[test]
fn terminal_foreground_run_relays_the_terminal() {
    let ctx = Ctx::new("terminal_run");
    let bundle = ctx.bundle(&terminal_spec(&format!("{REPORT}; exit 3")));
    let id = ctx.new_id();
    let out = ctx
        .cmd(&["run", "--bundle", &bundle.display().to_string(), &id])
        .stdin(b"typed\n")
        .in_terminal()
        .output();
    out.code_is(3);
    assert!(out.stdout.contains("tty=/dev/pts/"), "{:?}", out.stdout);
    assert!(out.stdout.contains("got=typed"), "{:?}", out.stdout);
}

/// `exec -t` gets a terminal of its own (another pts than the container's), relayed in the
/// foreground like `run`.
#[test]
fn terminal_exec_tty() {
    let ctx = Ctx::new("terminal_exec");
    let c = ctx.start_new(&sh_spec("sleep 100"));
    let out = ctx
        .cmd(&["exec", "-t", &c.id, "/bin/sh", "-c", "echo tty=$(tty)"])
        .in_terminal()
        .output();
    out.ok();
    assert!(out.stdout.contains("tty=/dev/pts/"), "{:?}", out.stdout);
}

/// A terminal for a detached process needs a console socket, and a console socket needs a
/// terminal: either mistake fails `create` with one line naming the problem, leaving nothing.
#[test]
fn terminal_requests_that_cannot_work_are_refused() {
    let ctx = Ctx::new("terminal_refused");
    let (id, out) = ctx.try_create(&ctx.bundle(&terminal_spec("true")));
    out.failed();
    assert!(out.stderr.contains("console"), "{}", out.stderr);
    ctx.assert_gone(&id);
    let (_listener, path) = console_socket(&ctx);
    let plain = ctx.bundle(&sh_spec("true"));
    let out = ctx.rt(&[
        "create",
        "--console-socket",
        &path.display().to_string(),
        "--bundle",
        &plain.display().to_string(),
        &id,
    ]);
    if skip_for_runc("runc 1.1 accepts a console socket without a terminal and ignores it") {
        ctx.rt(&["delete", "--force", &id]);
        return;
    }
    out.failed();
    assert!(out.stderr.contains("terminal"), "{}", out.stderr);
    ctx.assert_gone(&id);
}
