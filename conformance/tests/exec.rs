//! runc's `exec`: a new process in a running container joins every namespace and the cgroup
//! of the container's process, gets config.json's process with the flags' overrides (or the
//! whole `--process` JSON), and its exit status becomes `exec`'s; `-d` returns at once with
//! `--pid-file` written. Stdio reaches the process unchanged and no other fd does.

use conformance::*;
use serde_json::{json, Value};

/// A running container whose process sleeps (the probe's `sleep`), in its own cgroup.
fn sleeping_container(ctx: &Ctx) -> Container {
    let spec = edit(&probe_spec(&["sleep", "100"]), |v| {
        v["linux"]["cgroupsPath"] = json!(ctx.new_cgroups_path());
        v["process"]["env"] = json!(["PATH=/bin", "FROM_CONFIG=1", "OVERRIDDEN=old"]);
    });
    ctx.start_new(&spec)
}

/// `exec ID [flags] -- probe report`, parsed.
#[track_caller]
fn exec_report(ctx: &Ctx, id: &str, flags: &[&str]) -> Value {
    let mut args = vec!["exec"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[id, PROBE, "report"]);
    ctx.rt(&args).json()
}

/// The namespaces (as `/proc/<pid>/ns` links read) and `/proc/<pid>/cgroup` lines of `pid`.
fn namespaces_and_cgroup(pid: i32) -> (Value, Vec<String>) {
    let ns = |name: &str| {
        std::fs::read_link(format!("/proc/{pid}/ns/{name}"))
            .map(|l| l.display().to_string())
            .unwrap_or_default()
    };
    let namespaces = json!({
        "cgroup": ns("cgroup"), "ipc": ns("ipc"), "mnt": ns("mnt"), "net": ns("net"),
        "pid": ns("pid"), "user": ns("user"), "uts": ns("uts"),
    });
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    (namespaces, cgroup.lines().map(str::to_string).collect())
}

/// The process joins the container's namespaces (each one, compared by inode with the
/// container process's) and its cgroup in every hierarchy, and sees the container's pid 1.
#[test]
fn exec_joins_namespaces_and_cgroup() {
    let ctx = Ctx::new("exec_join");
    let c = sleeping_container(&ctx);
    let init = ctx.state(&c.id).pid();
    let r = exec_report(&ctx, &c.id, &[]);
    let (namespaces, cgroup) = namespaces_and_cgroup(init);
    for (name, want) in namespaces.as_object().unwrap() {
        assert_eq!(&r["namespaces"][name], want, "namespace {name}");
    }
    let seen: Vec<String> = serde_json::from_value(r["cgroup"].clone()).unwrap();
    assert_eq!(seen, cgroup, "/proc/self/cgroup of the exec'd process");
    assert_ne!(
        r["pid"],
        json!(1),
        "the exec'd process is not the container's init"
    );
    assert_eq!(
        r["ppid"],
        json!(0),
        "its parent is outside the container's pid namespace"
    );
}

/// The flags override config.json's process: args, env (added, replacing the same name),
/// cwd, uid:gid, additional gids, capabilities added, no_new_privs.
#[test]
fn exec_flags_override_the_process() {
    let ctx = Ctx::new("exec_flags");
    let c = sleeping_container(&ctx);
    let flags = [
        "-e",
        "ADDED=yes",
        "-e",
        "OVERRIDDEN=new",
        "--cwd",
        "/tmp",
        "-u",
        "1234:5678",
        "-g",
        "42",
        "--cap",
        "CAP_SYS_ADMIN",
        "--no-new-privs",
    ];
    let r = exec_report(&ctx, &c.id, &flags);
    let env: Vec<String> = serde_json::from_value(r["env"].clone()).unwrap();
    for want in ["PATH=/bin", "FROM_CONFIG=1", "ADDED=yes", "OVERRIDDEN=new"] {
        assert!(env.iter().any(|e| e == want), "{want} in {env:?}");
    }
    assert!(
        !env.iter().any(|e| e == "OVERRIDDEN=old"),
        "replaced: {env:?}"
    );
    assert_eq!(r["cwd"], json!("/tmp"));
    assert_eq!(r["uid"]["effective"], json!(1234));
    assert_eq!(r["gid"]["effective"], json!(5678));
    assert_eq!(r["groups"], json!([42]));
    assert_eq!(r["no_new_privs"], json!(1));
    // CAP_SYS_ADMIN is bit 21; a non-root uid keeps only what it was given: bounding.
    let bounding = u64::from_str_radix(r["caps"]["bounding"].as_str().unwrap(), 16).unwrap();
    assert_ne!(bounding & (1 << 21), 0, "CAP_SYS_ADMIN in the bounding set");
}

/// `--process FILE` is the whole process (config.md's `process`), config.json's is ignored.
#[test]
fn exec_process_json() {
    let ctx = Ctx::new("exec_process_json");
    let c = sleeping_container(&ctx);
    let process = json!({
        "args": [PROBE, "report"],
        "env": ["ONLY=this"],
        "cwd": "/etc",
        "user": {"uid": 7, "gid": 8},
        "noNewPrivileges": true,
    });
    let file = ctx.dir().join("process.json");
    std::fs::write(&file, process.to_string()).unwrap();
    let r = ctx
        .rt(&["exec", "--process", &file.display().to_string(), &c.id])
        .json();
    let env: Vec<String> = serde_json::from_value(r["env"].clone()).unwrap();
    assert!(env.contains(&"ONLY=this".to_string()), "{env:?}");
    assert!(!env.iter().any(|e| e.starts_with("FROM_CONFIG")), "{env:?}");
    assert_eq!(r["cwd"], json!("/etc"));
    assert_eq!(r["uid"]["effective"], json!(7));
    assert_eq!(r["gid"]["effective"], json!(8));
    assert_eq!(r["no_new_privs"], json!(1));
}

/// A foreground exec exits with the process's status, 128+N when signal N killed it.
#[test]
fn exec_exit_status_is_the_process_status() {
    let ctx = Ctx::new("exec_status");
    let c = sleeping_container(&ctx);
    ctx.rt(&["exec", &c.id, "/bin/sh", "-c", "exit 7"])
        .code_is(7);
    ctx.rt(&["exec", &c.id, "/bin/sh", "-c", "kill -TERM $$"])
        .code_is(128 + 15);
}

/// stdin, stdout and stderr given to `exec` are the process's; no other fd is open in it,
/// and `--preserve-fds N` passes exactly fds 3 .. 3+N-1.
#[test]
fn exec_stdio_and_fds() {
    let ctx = Ctx::new("exec_stdio");
    let c = sleeping_container(&ctx);
    let out = ctx
        .cmd(&["exec", &c.id, "/bin/sh", "-c", "cat; echo to-stderr >&2"])
        .stdin(b"from stdin\n")
        .output();
    out.ok();
    assert_eq!(out.stdout, "from stdin\n");
    assert!(out.stderr.contains("to-stderr"), "{}", out.stderr);
    let r = exec_report(&ctx, &c.id, &[]);
    let fds: Vec<&String> = r["fds"].as_object().unwrap().keys().collect();
    assert_eq!(fds, ["0", "1", "2"], "open fds: {}", r["fds"]);
    let extra = std::fs::File::create(ctx.dir().join("extra.txt")).unwrap();
    let out = ctx
        .cmd(&["exec", "--preserve-fds", "1", &c.id, PROBE, "report"])
        .extra_fds(vec![extra.into()])
        .output();
    let r = out.json();
    let fds: Vec<&String> = r["fds"].as_object().unwrap().keys().collect();
    assert_eq!(fds, ["0", "1", "2", "3"], "open fds: {}", r["fds"]);
}

/// `exec -d --pid-file F` returns while the process runs; F holds its host pid, which is in
/// the container's cgroup (`ps --format json` lists it).
#[test]
fn exec_detached_writes_the_pid_file() {
    let ctx = Ctx::new("exec_detach");
    let c = sleeping_container(&ctx);
    let pid_file = ctx.dir().join("exec.pid");
    ctx.rt(&[
        "exec",
        "-d",
        "--pid-file",
        &pid_file.display().to_string(),
        &c.id,
        PROBE,
        "sleep",
        "100",
    ])
    .ok();
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("pid file written")
        .trim()
        .parse()
        .expect("a pid");
    ctx.remember_pid(pid);
    let listed: Vec<i32> =
        serde_json::from_value(ctx.rt(&["ps", "--format", "json", &c.id]).json()).unwrap();
    assert!(listed.contains(&pid), "{pid} in {listed:?}");
    ctx.rt(&["delete", "--force", &c.id]).ok();
    ctx.assert_gone(&c.id);
}

/// exec needs a running container: an unknown id "does not exist", a stopped container is
/// refused, and a paused one too unless `--ignore-paused`.
#[test]
fn exec_needs_a_running_container() {
    let ctx = Ctx::new("exec_states");
    ctx.rt(&["exec", "no-such-container", "/bin/true"])
        .failed()
        .stderr_has("does not exist");
    let c = sleeping_container(&ctx);
    ctx.rt(&["pause", &c.id]).ok();
    ctx.rt(&["exec", &c.id, "/bin/true"])
        .failed()
        .stderr_has("paused");
    ctx.rt(&["resume", &c.id]).ok();
    ctx.rt(&["kill", &c.id, "KILL"]).ok();
    ctx.wait_status(&c.id, oci_spec::runtime::ContainerState::Stopped);
    let out = ctx.rt(&["exec", &c.id, "/bin/true"]);
    out.failed();
    assert!(
        out.stderr.contains("not running") || out.stderr.contains("stopped"),
        "{}",
        out.stderr
    );
}

/// A program that does not exist in the container is a one-line error naming it, non-zero.
#[test]
fn exec_missing_program_is_an_error() {
    let ctx = Ctx::new("exec_missing");
    let c = sleeping_container(&ctx);
    let out = ctx.rt(&["exec", &c.id, "/no/such/program"]);
    out.failed();
    assert!(out.stderr.contains("/no/such/program"), "{}", out.stderr);
}
