//! runtime.md: the lifecycle (create, start, state, kill, delete) and the `run` shortcut.

use conformance::*;
use oci_spec::runtime::ContainerState::{Created, Running, Stopped};
use std::time::Duration;

/// runtime.md Lifecycle steps 1-12: `create` builds the container but MUST NOT run the user
/// program; `start` runs it in the same container process; it is `stopped` once it exits;
/// `start` on a container that is not `created` fails without effect; `delete` removes it.
#[test]
fn create_start_stop_delete() {
    let ctx = Ctx::new("create-start");
    // The user program leaves a mark in the rootfs, then waits for SIGTERM.
    let bundle = ctx.bundle(&sh_spec(&format!("touch /started && exec {PROBE} signals")));
    let marker = bundle.join("rootfs/started");

    let c = ctx.create(&bundle);
    let s = ctx.state(&c.id);
    assert_eq!(s.status(), Created);
    let pid = s.pid();
    assert!(
        alive(pid),
        "the container process {pid} must exist after create"
    );
    // Give a wrongly started program time to run: process.args MUST NOT be applied yet.
    std::thread::sleep(Duration::from_millis(300));
    assert!(!marker.exists(), "the user program ran before start");
    let s = ctx.state(&c.id);
    assert_eq!((s.status(), s.pid()), (Created, pid));
    assert!(
        alive(pid),
        "the created container process must wait, not exit"
    );

    ctx.rt(&["start", &c.id]).ok();
    wait_for("the user program's marker", Duration::from_secs(10), || {
        marker.exists()
    });
    assert_eq!(c.wait_json_lines(1)[0]["ready"], true);
    let s = ctx.state(&c.id);
    assert_eq!(
        (s.status(), s.pid()),
        (Running, pid),
        "same container process"
    );

    // start on a running container: an error, and no effect.
    ctx.rt(&["start", &c.id]).failed();
    let s = ctx.state(&c.id);
    assert_eq!((s.status(), s.pid()), (Running, pid));
    assert!(alive(pid));
    assert_eq!(
        c.json_lines().len(),
        1,
        "no signal was sent by the failed start"
    );

    ctx.rt(&["kill", &c.id, "TERM"]).ok();
    ctx.wait_status(&c.id, Stopped);
    assert!(!alive(pid), "stopped means the process has exited");
    // start on a stopped container: an error, and it stays stopped.
    ctx.rt(&["start", &c.id]).failed();
    assert_eq!(ctx.state(&c.id).status(), Stopped);

    ctx.rt(&["delete", &c.id]).ok();
    ctx.assert_gone(&c.id);
}

/// runtime.md State: the fields and their values for a created container, including
/// annotations from config.json and runc's extra fields (rootfs, created, owner).
#[test]
fn state_fields() {
    let ctx = Ctx::new("state-fields");
    let spec = edit(&probe_spec(&["sleep", "60"]), |v| {
        v["annotations"] = serde_json::json!({"org.example.berth": "conformance"});
    });
    let bundle = ctx.bundle(&spec);
    let c = ctx.create(&bundle);
    let s = ctx.state(&c.id);
    let raw = &s.raw;
    assert_eq!(raw["id"], c.id.as_str());
    assert_eq!(raw["status"], "created");
    assert_eq!(raw["bundle"], bundle.display().to_string());
    assert_eq!(raw["rootfs"], bundle.join("rootfs").display().to_string());
    assert_eq!(raw["annotations"]["org.example.berth"], "conformance");
    assert_eq!(raw["pid"].as_i64(), Some(s.pid() as i64));
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", s.pid())).unwrap_or_default();
    assert!(
        !cmdline.is_empty(),
        "state pid {} is not a live process",
        s.pid()
    );
    ctx.rt(&["delete", "--force", &c.id]).ok();
    ctx.assert_gone(&c.id);
}

/// runtime.md Kill: the default signal is SIGTERM; kill on a stopped container fails with
/// "container not running" and has no effect.
#[test]
fn kill_defaults_to_sigterm_and_fails_when_stopped() {
    let ctx = Ctx::new("kill-default");
    let c = ctx.start_new(&probe_spec(&["signals"]));
    c.wait_json_lines(1);
    ctx.rt(&["kill", &c.id]).ok();
    let lines = c.wait_json_lines(2);
    assert_eq!(
        lines[1]["signal"], "SIGTERM",
        "kill without a signal sends SIGTERM"
    );
    ctx.wait_status(&c.id, Stopped);
    for sig in [None, Some("KILL")] {
        let mut args = vec!["kill", c.id.as_str()];
        args.extend(sig);
        ctx.rt(&args).failed().stderr_has("container not running");
    }
    assert_eq!(ctx.state(&c.id).status(), Stopped);
    ctx.rt(&["delete", &c.id]).ok();
}

/// runc's `kill ID SIGNAL` accepts names with and without the SIG prefix and numbers.
#[test]
fn kill_signal_names_and_numbers() {
    let ctx = Ctx::new("kill-names");
    let c = ctx.start_new(&probe_spec(&["signals"]));
    c.wait_json_lines(1);
    let sends = [
        ("USR1", "SIGUSR1"),
        ("SIGUSR2", "SIGUSR2"),
        ("10", "SIGUSR1"),
        ("SIGHUP", "SIGHUP"),
        ("28", "SIGWINCH"),
        ("TERM", "SIGTERM"),
    ];
    for (i, (arg, want)) in sends.iter().enumerate() {
        ctx.rt(&["kill", &c.id, arg]).ok();
        let lines = c.wait_json_lines(i + 2);
        assert_eq!(lines[i + 1]["signal"], *want, "kill {arg}");
    }
    ctx.wait_status(&c.id, Stopped);
}

/// runtime.md Kill: a `created` container can be signalled; SIGKILL stops it.
#[test]
fn kill_created_container() {
    let ctx = Ctx::new("kill-created");
    let c = ctx.create(&ctx.bundle(&probe_spec(&["sleep", "60"])));
    let pid = ctx.state(&c.id).pid();
    ctx.rt(&["kill", &c.id, "KILL"]).ok();
    ctx.wait_status(&c.id, Stopped);
    assert!(!alive(pid));
    ctx.rt(&["delete", &c.id]).ok();
    ctx.assert_gone(&c.id);
}

/// runtime.md Operations: every operation on an unknown id is an error ("does not exist").
#[test]
fn unknown_container_id() {
    let ctx = Ctx::new("unknown-id");
    let id = ctx.new_id();
    for op in [
        vec!["state", &id],
        vec!["start", &id],
        vec!["kill", &id],
        vec!["kill", &id, "KILL"],
        vec!["delete", &id],
    ] {
        ctx.rt(&op).failed().stderr_has("does not exist");
    }
    // runc compatibility: `delete --force` of an unknown id succeeds (nothing to do).
    ctx.rt(&["delete", "--force", &id]).ok();
}

/// runtime.md Delete: deleting a running container fails and has no effect; runc's
/// `delete --force` kills it and deletes it.
#[test]
fn delete_running_fails_force_kills() {
    let ctx = Ctx::new("delete-running");
    let c = ctx.start_new(&probe_spec(&["sleep", "60"]));
    let s = ctx.wait_status(&c.id, Running);
    ctx.rt(&["delete", &c.id]).failed();
    let after = ctx.state(&c.id);
    assert_eq!((after.status(), after.pid()), (Running, s.pid()));
    assert!(
        alive(s.pid()),
        "a failed delete must not kill the container"
    );
    ctx.rt(&["delete", "--force", &c.id]).ok();
    wait_for(
        "the killed container process to exit",
        Duration::from_secs(5),
        || !alive(s.pid()),
    );
    ctx.assert_gone(&c.id);
}

/// runtime.md Delete: "Attempting to delete a container that is not stopped MUST have no
/// effect on the container and MUST generate an error" — a `created` one included.
#[test]
fn delete_created_fails() {
    if skip_for_runc("runc 1.1 `delete` destroys a created container without --force") {
        return;
    }
    let ctx = Ctx::new("delete-created");
    let c = ctx.create(&ctx.bundle(&probe_spec(&["sleep", "60"])));
    let pid = ctx.state(&c.id).pid();
    ctx.rt(&["delete", &c.id]).failed();
    let s = ctx.state(&c.id);
    assert_eq!((s.status(), s.pid()), (Created, pid));
    assert!(alive(pid));
}

/// runtime.md Create: an id that is not unique MUST be an error, and the existing container
/// is untouched.
#[test]
fn duplicate_id_fails() {
    let ctx = Ctx::new("duplicate-id");
    let bundle = ctx.bundle(&probe_spec(&["sleep", "60"]));
    let c = ctx.create(&bundle);
    let pid = ctx.state(&c.id).pid();
    let out = ctx.rt(&["create", "--bundle", &bundle.display().to_string(), &c.id]);
    out.failed().stderr_has("already exists");
    let s = ctx.state(&c.id);
    assert_eq!((s.status(), s.pid()), (Created, pid));
}

/// `run` in the foreground exits with the container process's exit status.
#[test]
fn run_exit_status() {
    let ctx = Ctx::new("run-exit");
    for code in [0, 3, 42] {
        let bundle = ctx.bundle(&probe_spec(&["exit", &code.to_string()]));
        let (id, out) = ctx.run(&bundle);
        out.code_is(code);
        // After `run` returns, the container is gone (runc deletes it).
        ctx.assert_gone(&id);
    }
}

/// `run` in the foreground exits with 128+N when the process is killed by signal N.
#[test]
fn run_killed_by_signal_exits_128_plus_n() {
    let ctx = Ctx::new("run-signal");
    let bundle = ctx.bundle(&probe_spec(&["sleep", "60"]));
    let id = ctx.new_id();
    let out = std::thread::scope(|s| {
        let run = s.spawn(|| ctx.rt(&["run", "--bundle", &bundle.display().to_string(), &id]));
        wait_for(
            "the foreground container to run",
            Duration::from_secs(10),
            || {
                let st = ctx.rt(&["state", &id]);
                st.success() && st.stdout.contains("\"running\"")
            },
        );
        ctx.state(&id);
        ctx.rt(&["kill", &id, "KILL"]).ok();
        run.join().expect("run thread")
    });
    out.code_is(128 + libc::SIGKILL);
    ctx.assert_gone(&id);
}

/// `run -d` returns once the container runs, leaving it `running`.
#[test]
fn run_detached() {
    let ctx = Ctx::new("run-detached");
    let bundle = ctx.bundle(&probe_spec(&["signals"]));
    let id = ctx.new_id();
    ctx.rt(&["run", "-d", "--bundle", &bundle.display().to_string(), &id])
        .ok();
    let s = ctx.state(&id);
    assert_eq!(s.status(), Running);
    assert!(alive(s.pid()));
    ctx.rt(&["kill", &id]).ok();
    ctx.wait_status(&id, Stopped);
    ctx.rt(&["delete", &id]).ok();
    ctx.assert_gone(&id);
}

/// `--pid-file` (create and run -d) holds the container process's host pid.
#[test]
fn pid_file() {
    let ctx = Ctx::new("pid-file");
    let bundle = ctx.bundle(&probe_spec(&["sleep", "60"]));
    for detached_run in [false, true] {
        let id = ctx.new_id();
        let pid_file = ctx.dir().join(format!("{id}.pid"));
        let pf = pid_file.display().to_string();
        let b = bundle.display().to_string();
        let args: Vec<&str> = if detached_run {
            vec!["run", "-d", "--pid-file", &pf, "--bundle", &b, &id]
        } else {
            vec!["create", "--pid-file", &pf, "--bundle", &b, &id]
        };
        ctx.rt(&args).ok();
        let text = std::fs::read_to_string(&pid_file).expect("pid file written");
        let pid: i32 = text.trim().parse().expect("pid file holds a number");
        assert_eq!(pid, ctx.state(&id).pid(), "pid file vs state ({args:?})");
        assert!(alive(pid));
        ctx.rt(&["delete", "--force", &id]).ok();
    }
}
