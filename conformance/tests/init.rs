//! berth-init, berth's own (runc has no `--init`): `run/create --init` and the `io.berth.init`
//! annotation make it the container's pid 1 without a file in the rootfs; it reaps orphans,
//! forwards signals, exits with the program's status (128+N after signal N) and leaves the
//! program what it would have had without it. Docker's `--init` (berth-init bind-mounted at
//! /sbin/docker-init, run as `/sbin/docker-init -- CMD`) and berth-init's options (`-g`,
//! `-s`, the grace period) are exercised that way.

use conformance::*;
use oci_spec::runtime::Spec;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The test's [`Ctx`], or None (and a skip note) when the runtime is runc, which has no
/// `--init`.
fn berth_ctx(name: &str) -> Option<Ctx> {
    (!skip_for_runc("runc has no --init")).then(|| Ctx::new(name))
}

/// The annotation that asks berth for berth-init.
const ANNOTATION: &str = "io.berth.init";

/// berth-init as `make build` leaves it: beside the runtime.
fn berth_init() -> PathBuf {
    let path = runtime().with_file_name("berth-init");
    assert!(path.is_file(), "{} is not built", path.display());
    path
}

fn with_annotation(spec: &Spec, value: &str) -> Spec {
    edit(spec, |v| v["annotations"] = json!({ ANNOTATION: value }))
}

/// `run --init` of `spec` in the foreground with a new id.
fn run_init(ctx: &Ctx, spec: &Spec) -> Output {
    let bundle = ctx.bundle(spec).display().to_string();
    ctx.rt(&["run", "--init", "--bundle", &bundle, &ctx.new_id()])
}

/// Runs `spec` in the foreground with `flags`, waits until `ready(pid)` holds for the
/// container's pid, sends `signal` with `kill`, and returns what `run` did.
fn run_and_kill(
    ctx: &Ctx,
    spec: &Spec,
    flags: &[&str],
    ready: impl Fn(i32) -> bool,
    signal: &str,
) -> Output {
    let bundle = ctx.bundle(spec).display().to_string();
    let id = ctx.new_id();
    let mut args = vec!["run"];
    args.extend_from_slice(flags);
    args.extend(["--bundle", &bundle, &id]);
    std::thread::scope(|s| {
        let run = s.spawn(|| ctx.rt(&args));
        wait_for("the container to run", Duration::from_secs(10), || {
            let st = ctx.rt(&["state", &id]);
            st.success() && st.stdout.contains("\"running\"")
        });
        let pid = ctx.state(&id).pid();
        wait_for("the program to be ready", Duration::from_secs(10), || {
            ready(pid)
        });
        ctx.rt(&["kill", &id, signal]).ok();
        run.join().expect("run thread")
    })
}

/// The single child of berth-init once it runs `comm` (after its exec), else None.
fn program_of(init_pid: i32, comm: &str) -> Option<i32> {
    match children_of(init_pid)[..] {
        [child] if proc_comm(child).as_deref() == Some(comm) => Some(child),
        _ => None,
    }
}

fn bit(signal: i32) -> u64 {
    1 << (signal - 1)
}

/// The program is pid 2, the child of berth-init (pid 1, `berth-init -- ARGS`), and sees what
/// it would see without it: same argv, env, ids, capabilities, seccomp, umask, cwd and limits,
/// and only fds 0-2 (berth-init's image, which berth held as an fd, is not among them).
#[test]
fn init_is_pid_1_and_the_program_sees_what_it_would_without_it() {
    let Some(ctx) = berth_ctx("init_transparent") else {
        return;
    };
    let spec = sh_spec(r#"tr '\0' ' ' </proc/1/cmdline; echo; exec /bin/berth-probe report"#);
    let with_init = run_init(&ctx, &spec);
    with_init.ok();
    let cmdline = with_init.stdout.lines().next().unwrap_or_default();
    assert!(
        cmdline.starts_with("berth-init -- /bin/sh -c "),
        "/proc/1/cmdline: {cmdline:?}"
    );
    let with_init = &json_lines(&with_init.stdout)[0];
    let without = ctx.run(&ctx.bundle(&spec)).1;
    let without = &json_lines(&without.stdout)[0];
    assert_eq!(
        (&with_init["pid"], &with_init["ppid"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(without["pid"], 1);
    let fds: Vec<&String> = with_init["fds"].as_object().expect("fds").keys().collect();
    assert_eq!(fds, ["0", "1", "2"], "{}", with_init["fds"]);
    for field in [
        "argv",
        "env",
        "uid",
        "gid",
        "groups",
        "caps",
        "no_new_privs",
        "seccomp",
        "umask",
        "cwd",
        "rlimits",
        "oom_score_adj",
    ] {
        assert_eq!(with_init[field], without[field], "{field}");
    }
}

/// The annotation asks for berth-init too, and the program's exit status is the container's.
#[test]
fn init_annotation_preserves_the_exit_code() {
    let Some(ctx) = berth_ctx("init_annotation") else {
        return;
    };
    let spec = with_annotation(&sh_spec("echo $$; exit 42"), "true");
    let out = ctx.run(&ctx.bundle(&spec)).1;
    out.code_is(42);
    assert_eq!(
        out.stdout.trim(),
        "2",
        "the program is pid 2 under berth-init"
    );
}

/// berth-init needs nothing in the rootfs: it works with `root.readonly`.
#[test]
fn init_works_with_a_read_only_rootfs() {
    let Some(ctx) = berth_ctx("init_readonly") else {
        return;
    };
    let spec = edit(
        &sh_spec(&format!("echo $$; {PROBE} touch /new-file")),
        |v| {
            v["root"]["readonly"] = true.into();
        },
    );
    let out = run_init(&ctx, &spec);
    out.ok();
    assert_eq!(out.stdout.lines().next(), Some("2"), "{}", out.stdout);
    assert_eq!(json_lines(&out.stdout)[1]["/new-file"], "EROFS");
}

/// Orphans are reparented to berth-init and reaped: none is left a zombie, where without it
/// (the program as pid 1, never calling wait) every one is.
#[test]
fn init_reaps_orphans() {
    let Some(ctx) = berth_ctx("init_orphans") else {
        return;
    };
    let spec = sh_spec("for i in 1 2 3; do (sleep 0.1 &); done; exec /bin/berth-probe sleep 60");
    let without = ctx.start_new(&spec);
    let pid = ctx.state(&without.id).pid();
    wait_for(
        "3 zombies under the program",
        Duration::from_secs(10),
        || {
            let children = children_of(pid);
            children
                .iter()
                .filter(|c| proc_state(**c) == Some('Z'))
                .count()
                == 3
        },
    );
    ctx.rt(&["delete", "--force", &without.id]).ok();

    let with_init = ctx.start_new(&with_annotation(&spec, "true"));
    let init_pid = ctx.state(&with_init.id).pid();
    // berth-init's children are the program and the orphans until it has reaped them all.
    wait_for(
        "berth-init to have reaped the orphans",
        Duration::from_secs(10),
        || program_of(init_pid, "berth-probe").is_some(),
    );
    ctx.rt(&["delete", "--force", &with_init.id]).ok();
}

/// berth-init holds only stdio (no fd of its own image is left after the exec), and its image,
/// which the container could reach as /proc/1/exe, cannot be opened for writing.
#[test]
fn init_holds_only_stdio_and_its_image_cannot_be_written() {
    let Some(ctx) = berth_ctx("init_image") else {
        return;
    };
    let c = ctx.start_new(&with_annotation(&probe_spec(&["sleep", "60"]), "true"));
    let pid = ctx.state(&c.id).pid();
    wait_for("the program to run", Duration::from_secs(10), || {
        program_of(pid, "berth-probe").is_some()
    });
    let mut fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("berth-init's fds")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    fds.sort();
    assert_eq!(fds, ["0", "1", "2"]);
    let exe = format!("/proc/{pid}/exe");
    let opened = std::fs::OpenOptions::new().write(true).open(&exe);
    assert!(opened.is_err(), "{exe} opened for writing");
    ctx.rt(&["delete", "--force", &c.id]).ok();
}

/// `kill TERM` reaches the program through berth-init, and `run` exits with the status the
/// program chose (its trap exits 42).
#[test]
fn init_forwards_sigterm_and_exits_with_the_program_status() {
    let Some(ctx) = berth_ctx("init_sigterm") else {
        return;
    };
    let spec = sh_spec(r#"trap "exit 42" TERM; while :; do sleep 0.1; done"#);
    let trapped =
        |pid| program_of(pid, "sh").is_some_and(|sh| signal_set(sh, "SigCgt") & bit(15) != 0);
    run_and_kill(&ctx, &spec, &["--init"], trapped, "TERM").code_is(42);
}

/// A signal the program does not handle kills it, and the container exits 128+N.
#[test]
fn init_untrapped_signal_gives_128_plus_n() {
    let Some(ctx) = berth_ctx("init_untrapped") else {
        return;
    };
    let spec = bundle_fixtures::base_spec(&["/bin/sleep", "60"]);
    let running = |pid| program_of(pid, "sleep").is_some();
    run_and_kill(&ctx, &spec, &["--init"], running, "HUP").code_is(128 + libc::SIGHUP);
}

/// The grace period (`BERTH_INIT_GRACE`, as `--grace`): a program that ignores SIGTERM is
/// SIGKILLed that many seconds after berth-init forwarded it.
#[test]
fn init_grace_period_kills_a_program_that_ignores_sigterm() {
    let Some(ctx) = berth_ctx("init_grace") else {
        return;
    };
    let spec = edit(
        &sh_spec(r#"trap "" TERM; while :; do sleep 0.1; done"#),
        |v| {
            v["process"]["env"]
                .as_array_mut()
                .expect("env")
                .push("BERTH_INIT_GRACE=1".into())
        },
    );
    let ignoring =
        |pid| program_of(pid, "sh").is_some_and(|sh| signal_set(sh, "SigIgn") & bit(15) != 0);
    let started = Instant::now();
    let out = run_and_kill(&ctx, &spec, &["--init"], ignoring, "TERM");
    out.code_is(128 + libc::SIGKILL);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "killed before the grace period"
    );
}

/// Docker's `--init`: berth-init bind-mounted read-only at /sbin/docker-init and run as
/// `/sbin/docker-init [OPTIONS] -- CMD`. With `-g` the signal reaches the whole process group:
/// here a probe under a shell that ignores SIGTERM, which reports berth-init (pid 1) as sender.
#[test]
fn docker_init_invocation_with_process_group() {
    let Some(ctx) = berth_ctx("init_docker") else {
        return;
    };
    let script = r#"trap "" TERM; /bin/berth-probe signals; echo "probe exited $?""#;
    let spec = docker_init_spec(&["/sbin/docker-init", "-g", "--", "/bin/sh", "-c", script]);
    let c = ctx.start_new(&spec);
    c.wait_json_lines(1);
    ctx.rt(&["kill", &c.id, "TERM"]).ok();
    ctx.wait_status(&c.id, oci_spec::runtime::ContainerState::Stopped);
    let lines = c.json_lines();
    assert_eq!(lines.len(), 2, "{}", c.stdout());
    assert_eq!(lines[1]["signal"], "SIGTERM");
    assert_eq!(lines[1]["sender_pid"], 1);
    assert!(c.stdout().ends_with("probe exited 0\n"), "{}", c.stdout());
    ctx.rt(&["delete", &c.id]).ok();
}

/// `-s` when berth-init is not pid 1: orphans of the program are reparented to it, not to the
/// container's pid 1.
#[test]
fn docker_init_subreaper_when_not_pid_1() {
    let Some(ctx) = berth_ctx("init_subreaper") else {
        return;
    };
    let spec = docker_init_spec(&[
        "/bin/sh",
        "-c",
        "/sbin/docker-init -s -- /bin/sh -c '(/bin/sleep 60 &); exec /bin/berth-probe sleep 60'; echo",
    ]);
    let c = ctx.start_new(&spec);
    let pid = ctx.state(&c.id).pid();
    let init = || program_of(pid, "docker-init");
    wait_for(
        "the orphan to reach berth-init",
        Duration::from_secs(10),
        || {
            init().is_some_and(|init| {
                let comms: Vec<Option<String>> =
                    children_of(init).into_iter().map(proc_comm).collect();
                comms.len() == 2 && comms.iter().all(|c| c.is_some())
            })
        },
    );
    let init = init().expect("docker-init under the shell");
    let mut comms: Vec<String> = children_of(init)
        .into_iter()
        .filter_map(proc_comm)
        .collect();
    comms.sort();
    assert_eq!(comms, ["berth-probe", "sleep"]);
    ctx.rt(&["delete", "--force", &c.id]).ok();
}

/// A spec running `args`, with berth-init bind-mounted read-only at /sbin/docker-init.
fn docker_init_spec(args: &[&str]) -> Spec {
    let source = berth_init().display().to_string();
    with_mounts(
        &bundle_fixtures::base_spec(args),
        json!([{"destination": "/sbin/docker-init", "type": "bind", "source": source,
                "options": ["bind", "ro"]}]),
    )
}

/// An annotation value other than "true"/"false", and an `--init-path` that is not there, are
/// one-line errors naming what is wrong, and leave nothing behind.
#[test]
fn init_requests_that_cannot_work_are_refused() {
    let Some(ctx) = berth_ctx("init_refused") else {
        return;
    };
    let (id, out) = ctx.try_create(&ctx.bundle(&with_annotation(&probe_spec(&[]), "yes")));
    let line = out.one_line_error();
    assert!(line.contains(ANNOTATION), "{line}");
    ctx.assert_gone(&id);

    let bundle = ctx.bundle(&probe_spec(&[])).display().to_string();
    let id = ctx.new_id();
    let missing = ctx.dir().join("no-such-berth-init").display().to_string();
    let args = [
        "run",
        "--init",
        "--init-path",
        &missing,
        "--bundle",
        &bundle,
        &id,
    ];
    let out = ctx.rt(&args);
    let line = out.one_line_error();
    assert!(
        line.contains("--init-path") && line.contains(&missing),
        "{line}"
    );
    ctx.assert_gone(&id);
}
