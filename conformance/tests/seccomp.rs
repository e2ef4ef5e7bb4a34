//! config-linux.md Seccomp: profiles filter the container's syscalls, checked from inside with
//! `berth-probe syscall NR ARGS...` (the errno each call gets) and /proc/self/status; the
//! listener of a notifying profile reaches a seccomp agent with the container process state;
//! Docker's default profile denies `unshare` and `mount` while ordinary programs run.

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use conformance::*;
use oci_spec::runtime::{ContainerState, Spec};
use serde_json::{json, Value};

use crate::bad_input;

const EXDEV: i32 = libc::EXDEV;

/// `spec` with `linux.seccomp` set to `profile`.
fn with_seccomp(spec: &Spec, profile: Value) -> Spec {
    edit(spec, |v| v["linux"]["seccomp"] = profile)
}

/// Docker's default profile (the bundle-fixtures copy), edited by `f`.
fn docker_profile(f: impl FnOnce(&mut Value)) -> Value {
    let mut profile: Value =
        serde_json::from_str(bundle_fixtures::DOCKER_DEFAULT_SECCOMP).expect("fixture JSON");
    f(&mut profile);
    profile
}

/// Probe arguments making syscall `nr` with `args`.
fn syscall(nr: libc::c_long, args: &[u64]) -> Vec<String> {
    ["syscall".to_string(), nr.to_string()]
        .into_iter()
        .chain(args.iter().map(|a| a.to_string()))
        .collect()
}

/// Runs one probe call per entry of `calls` in one container and returns their lines.
fn run_calls(ctx: &Ctx, profile: Value, calls: &[Vec<String>]) -> Vec<Value> {
    let calls: Vec<Vec<&str>> = calls
        .iter()
        .map(|c| c.iter().map(String::as_str).collect())
        .collect();
    let refs: Vec<&[&str]> = calls.iter().map(Vec::as_slice).collect();
    ctx.run_probes(&with_seccomp(&probes_spec(&refs), profile), refs.len())
}

/// The errno name a probe `syscall` line reports, or "ok".
fn outcome(line: &Value) -> String {
    match line["errno"].as_str() {
        Some(errno) => errno.to_string(),
        None => {
            assert!(line["ret"].is_i64(), "a syscall line: {line}");
            "ok".to_string()
        }
    }
}

/// SCMP_ACT_ERRNO with a custom errnoRet, SCMP_ACT_TRACE without a tracer (the kernel answers
/// ENOSYS), and the filter as /proc/self/status shows it.
#[test]
fn errno_ret_and_trace_without_a_tracer() {
    let ctx = Ctx::new("seccomp-errno");
    let lines = run_calls(
        &ctx,
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": EXDEV},
                {"names": ["getsid"], "action": "SCMP_ACT_TRACE"},
                {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO"},
            ]
        }),
        &[
            syscall(libc::SYS_getpgid, &[0]),
            syscall(libc::SYS_getsid, &[0]),
            syscall(libc::SYS_getpriority, &[0, 0]),
            vec!["report".to_string()],
        ],
    );
    assert_eq!(outcome(&lines[0]), "EXDEV");
    assert_eq!(outcome(&lines[1]), "ENOSYS");
    assert_eq!(outcome(&lines[2]), "EPERM", "errnoRet defaults to EPERM");
    assert_eq!(lines[3]["seccomp"], 2, "Seccomp: 2 (filter mode)");
    assert_eq!(lines[3]["seccomp_filters"], 1);
}

/// defaultErrnoRet is what every syscall without a rule gets.
#[test]
fn default_errno_ret() {
    let ctx = Ctx::new("seccomp-default-errno");
    let profile = docker_profile(|p| p["defaultErrnoRet"] = EXDEV.into());
    let lines = run_calls(
        &ctx,
        profile,
        &[
            syscall(libc::SYS_unshare, &[0]),
            syscall(libc::SYS_getpid, &[]),
        ],
    );
    assert_eq!(outcome(&lines[0]), "EXDEV");
    assert_eq!(outcome(&lines[1]), "ok");
}

/// Rules conditional on an argument, one comparison operator per syscall (EXDEV when the rule
/// matches); each is called with a value that matches and one that does not, which then
/// reaches the kernel (ESRCH for a pid that does not exist, EINVAL for a bad policy or which).
#[test]
fn argument_conditions() {
    let ctx = Ctx::new("seccomp-args");
    let rule = |name: &str, op: &str, value: u64, value_two: Option<u64>| {
        let mut arg = json!({"index": 0, "value": value, "op": op});
        if let Some(v) = value_two {
            arg["valueTwo"] = v.into();
        }
        json!({"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": EXDEV, "args": [arg]})
    };
    let profile = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            rule("getpgid", "SCMP_CMP_EQ", 5000, None),
            rule("getsid", "SCMP_CMP_NE", 5000, None),
            rule("sched_getscheduler", "SCMP_CMP_LT", 5000, None),
            rule("sched_get_priority_max", "SCMP_CMP_LE", 100, None),
            rule("sched_get_priority_min", "SCMP_CMP_GE", 100, None),
            rule("getpriority", "SCMP_CMP_GT", 100, None),
            rule("ioprio_get", "SCMP_CMP_MASKED_EQ", 0xff0, Some(0x120)),
        ]
    });
    let cases: [(libc::c_long, u64, u64, &str); 7] = [
        (libc::SYS_getpgid, 5000, 5001, "ESRCH"),
        (libc::SYS_getsid, 5001, 5000, "ESRCH"),
        (libc::SYS_sched_getscheduler, 4999, 5000, "ESRCH"),
        (libc::SYS_sched_get_priority_max, 100, 101, "EINVAL"),
        (libc::SYS_sched_get_priority_min, 100, 99, "EINVAL"),
        (libc::SYS_getpriority, 101, 100, "EINVAL"),
        (libc::SYS_ioprio_get, 0x123, 0x223, "EINVAL"),
    ];
    let calls: Vec<Vec<String>> = cases
        .iter()
        .flat_map(|(nr, hit, miss, _)| [syscall(*nr, &[*hit, 0]), syscall(*nr, &[*miss, 0])])
        .collect();
    let lines = run_calls(&ctx, profile, &calls);
    for (i, (nr, hit, miss, kernel)) in cases.iter().enumerate() {
        assert_eq!(outcome(&lines[2 * i]), "EXDEV", "syscall {nr}({hit})");
        assert_eq!(outcome(&lines[2 * i + 1]), *kernel, "syscall {nr}({miss})");
    }
}

/// SCMP_ACT_KILL_PROCESS and SCMP_ACT_KILL end the process by SIGSYS: `run` exits 128 + 31.
#[test]
fn kill_actions_end_the_process_by_sigsys() {
    let ctx = Ctx::new("seccomp-kill");
    for action in ["SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL"] {
        let spec = with_seccomp(
            &probe_spec(&["syscall", &libc::SYS_getpgid.to_string(), "0"]),
            json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["getpgid"], "action": action}]
            }),
        );
        let (_, out) = ctx.run(&ctx.bundle(&spec));
        out.code_is(128 + libc::SIGSYS);
        assert_eq!(out.stdout.trim(), "", "{action}: the call never returned");
    }
}

/// SCMP_ACT_LOG lets the call through: `unshare(0)`, which Docker's profile denies, succeeds.
#[test]
fn log_lets_the_call_through() {
    let ctx = Ctx::new("seccomp-log");
    let profile = docker_profile(|p| {
        p["syscalls"]
            .as_array_mut()
            .unwrap()
            .push(json!({"names": ["unshare"], "action": "SCMP_ACT_LOG"}));
    });
    let lines = run_calls(&ctx, profile, &[syscall(libc::SYS_unshare, &[0])]);
    assert_eq!(outcome(&lines[0]), "ok");
}

/// A name this architecture has no syscall for is skipped, not an error.
#[test]
fn unknown_syscall_names_are_skipped() {
    let ctx = Ctx::new("seccomp-unknown");
    let lines = run_calls(
        &ctx,
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["berth_no_such_syscall", "_llseek", "getpgid"],
                          "action": "SCMP_ACT_ERRNO", "errnoRet": EXDEV}]
        }),
        &[syscall(libc::SYS_getpgid, &[0])],
    );
    assert_eq!(outcome(&lines[0]), "EXDEV");
}

/// Without noNewPrivileges, the kernel only takes a filter from a process with CAP_SYS_ADMIN:
/// the runtime must load it before the process becomes uid 1000 without capabilities.
#[test]
fn loaded_without_no_new_privileges_for_an_unprivileged_user() {
    let ctx = Ctx::new("seccomp-no-nnp");
    let spec = edit(
        &probes_spec(&[&["syscall", &libc::SYS_unshare.to_string(), "0"], &[]]),
        |v| {
            v["process"]["noNewPrivileges"] = false.into();
            v["process"]["user"] = json!({"uid": 1000, "gid": 1000});
            v["linux"]["seccomp"] = docker_profile(|_| {});
        },
    );
    let lines = ctx.run_probes(&spec, 2);
    assert_eq!(outcome(&lines[0]), "EPERM");
    assert_eq!(lines[1]["no_new_privs"], 0);
    assert_eq!(lines[1]["uid"]["effective"], 1000);
    assert_eq!(lines[1]["seccomp"], 2);
}

/// Docker's default profile: with CAP_SYS_ADMIN granted, so that only the filter stands in the
/// way, `unshare` and `mount` fail with EPERM while sh, ls, echo and cat work. Without the
/// profile the same container can unshare and mount.
#[test]
fn docker_default_profile() {
    let ctx = Ctx::new("seccomp-docker");
    let script = format!(
        "echo hello && ls / >/dev/null && cat /etc/passwd >/dev/null && echo ordinary=ok; \
         unshare -m true 2>/dev/null; echo unshare=$?; \
         mount -t tmpfs none /tmp 2>/dev/null; echo mount=$?; \
         {PROBE} syscall {} {}; {PROBE} syscall {} 0 0 0 0 0",
        libc::SYS_unshare,
        libc::CLONE_NEWNS,
        libc::SYS_mount,
    );
    let spec = with_capability(&sh_spec(&script), "CAP_SYS_ADMIN");
    let (_, plain) = ctx.run(&ctx.bundle(&spec));
    plain.ok();
    assert!(
        plain.stdout.contains("unshare=0\nmount=0\n"),
        "{}",
        plain.stdout
    );

    let (_, out) = ctx.run(&ctx.bundle(&with_seccomp(&spec, docker_profile(|_| {}))));
    out.ok();
    let text = &out.stdout;
    assert!(text.starts_with("hello\nordinary=ok\n"), "{text}");
    for command in ["unshare", "mount"] {
        let status = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{command}=")))
            .unwrap_or_else(|| panic!("no {command} status: {text}"));
        assert_ne!(status, "0", "{command} succeeded under the profile: {text}");
    }
    let lines = json_lines(text);
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(outcome(&lines[0]), "EPERM", "unshare(CLONE_NEWNS)");
    assert_eq!(outcome(&lines[1]), "EPERM", "mount");
}

/// Podman's default profile as Debian's containers-common installs it, given as it is (with
/// CAP_SYS_ADMIN granted, as above). Its `includes`/`excludes` (by capability, architecture)
/// are the engine's to resolve: not runtime-spec fields, runc ignores them, and so every rule
/// applies, a syscall allowed by one rule and denied by a later one staying allowed
/// (libseccomp: the first rule for any arguments is the only one). So: sh, ls, echo, cat work;
/// `unshare` and `mount` are allowed (unlike Docker's profile, Podman's leaves them to the
/// capabilities); an unlisted syscall (`add_key`) gets `defaultErrnoRet` 38 (ENOSYS);
/// `kexec_load` its rule's EPERM; `setns` and the audit netlink socket, allowed first and denied
/// later, are allowed.
#[test]
fn podman_default_profile() {
    const PODMAN_PROFILE: &str = "/usr/share/containers/seccomp.json";
    let ctx = Ctx::new("seccomp-podman");
    let text = std::fs::read_to_string(PODMAN_PROFILE).unwrap_or_else(|e| {
        panic!("{PODMAN_PROFILE}: {e} (apt-get install podman, which brings containers-common)")
    });
    let profile: Value = serde_json::from_str(&text).expect("Podman's profile is JSON");
    let script = format!(
        "echo hello && ls / >/dev/null && cat /etc/passwd >/dev/null && echo ordinary=ok; \
         unshare -m true 2>/dev/null; echo unshare=$?; \
         mount -t tmpfs none /tmp 2>/dev/null; echo mount=$?; \
         {PROBE} syscall {} 0 0 0 0 0; {PROBE} syscall {} 0 0 0 0; \
         {PROBE} syscall {} 0 0; {PROBE} syscall {} {} {} {}",
        libc::SYS_add_key,
        libc::SYS_kexec_load,
        libc::SYS_setns,
        libc::SYS_socket,
        libc::AF_NETLINK,
        libc::SOCK_RAW,
        libc::NETLINK_AUDIT,
    );
    let spec = with_capability(&sh_spec(&script), "CAP_SYS_ADMIN");
    let (_, out) = ctx.run(&ctx.bundle(&with_seccomp(&spec, profile)));
    out.ok();
    let text = &out.stdout;
    assert!(
        text.starts_with("hello\nordinary=ok\nunshare=0\nmount=0\n"),
        "{text}"
    );
    let lines = json_lines(text);
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(outcome(&lines[0]), "ENOSYS", "add_key: defaultErrnoRet");
    assert_eq!(outcome(&lines[1]), "EPERM", "kexec_load: errnoRet 1");
    assert_eq!(
        outcome(&lines[2]),
        "EINVAL",
        "setns(0, 0) reaches the kernel"
    );
    assert_eq!(outcome(&lines[3]), "ok", "the audit socket is allowed");
}

/// What a seccomp agent got: the container process state and a description of the fd.
struct AgentReport {
    state: Value,
    fd_link: String,
    notified: (i32, u64),
}

/// A seccomp agent listening at `<test dir>/agent.sock`: it takes one connection, reads the
/// container process state and the listener fd, then answers the first notification with
/// `errno`.
fn start_agent(ctx: &Ctx, errno: i32) -> (PathBuf, JoinHandle<Result<AgentReport, String>>) {
    let path = ctx.dir().join("agent.sock");
    let listener = UnixListener::bind(&path).expect("bind the agent socket");
    listener.set_nonblocking(true).expect("non-blocking accept");
    let handle = std::thread::spawn(move || agent(&listener, errno));
    (path, handle)
}

fn agent(listener: &UnixListener, errno: i32) -> Result<AgentReport, String> {
    let deadline = Instant::now() + CMD_TIMEOUT;
    let mut stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => return Err(format!("accept: {e}")),
        }
    };
    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
    let (mut payload, fds) = receive_fds(&stream)?;
    stream
        .read_to_end(&mut payload)
        .map_err(|e| format!("read the rest: {e}"))?;
    let state: Value = serde_json::from_slice(&payload)
        .map_err(|e| format!("container process state is not JSON ({e}): {payload:?}"))?;
    let Ok([fd]) = <[OwnedFd; 1]>::try_from(fds) else {
        return Err("expected exactly one fd".to_string());
    };
    let fd_link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map(|l| l.display().to_string())
        .unwrap_or_default();
    let notified = answer_notification(&fd, errno, deadline)?;
    Ok(AgentReport {
        state,
        fd_link,
        notified,
    })
}

/// Waits for one notification on the listener and answers it with `-errno`; returns the
/// syscall number and first argument it was about.
fn answer_notification(fd: &OwnedFd, errno: i32, deadline: Instant) -> Result<(i32, u64), String> {
    let mut poll = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let wait_ms = deadline
        .saturating_duration_since(Instant::now())
        .as_millis() as i32;
    // SAFETY: one valid pollfd for the duration of the call.
    if unsafe { libc::poll(&mut poll, 1, wait_ms) } != 1 {
        return Err("no notification came".to_string());
    }
    // SAFETY: seccomp_notif is plain integers; the kernel wants it zeroed before RECV.
    let mut notif: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: RECV fills the seccomp_notif we pass, which lives across the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut notif) } < 0 {
        return Err(format!("NOTIF_RECV: {}", std::io::Error::last_os_error()));
    }
    let mut resp = libc::seccomp_notif_resp {
        id: notif.id,
        val: 0,
        error: -errno,
        flags: 0,
    };
    // SAFETY: SEND reads the seccomp_notif_resp we pass, which lives across the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &mut resp) } < 0 {
        return Err(format!("NOTIF_SEND: {}", std::io::Error::last_os_error()));
    }
    Ok((notif.data.nr, notif.data.args[0]))
}

/// SCMP_ACT_NOTIFY with listenerPath: during create the agent gets one connection with the
/// listener fd (SCM_RIGHTS) and the container process state (fds ["seccompFd"], the
/// container's pid, listenerMetadata, the state); after start, the notified syscall waits
/// for the agent's answer.
#[test]
fn notify_hands_the_listener_to_the_agent() {
    let ctx = Ctx::new("seccomp-notify");
    let (socket, agent) = start_agent(&ctx, EXDEV);
    let spec = with_seccomp(
        &probes_spec(&[&["syscall", &libc::SYS_getpgid.to_string(), "4242"], &[]]),
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": socket,
            "listenerMetadata": "berth-conformance",
            "syscalls": [{"names": ["getpgid"], "action": "SCMP_ACT_NOTIFY"}]
        }),
    );
    let bundle = ctx.bundle(&spec);
    let c = ctx.create(&bundle);
    let pid = ctx.state(&c.id).pid();
    ctx.rt(&["start", &c.id]).ok();
    let lines = c.wait_json_lines(2);
    ctx.wait_status(&c.id, ContainerState::Stopped);
    let report = agent.join().expect("agent thread").expect("agent");

    assert_eq!(outcome(&lines[0]), "EXDEV", "the agent's answer");
    assert_eq!(lines[1]["seccomp"], 2);
    assert_eq!(report.notified, (libc::SYS_getpgid as i32, 4242));
    assert_eq!(report.fd_link, "anon_inode:seccomp notify");
    let s = &report.state;
    assert!(s["ociVersion"].is_string(), "{s}");
    assert_eq!(s["fds"], json!(["seccompFd"]), "{s}");
    assert_eq!(s["pid"], pid, "{s}");
    assert_eq!(s["metadata"], "berth-conformance", "{s}");
    assert_eq!(s["state"]["id"], c.id.as_str(), "{s}");
    assert_eq!(s["state"]["pid"], pid, "{s}");
    assert_eq!(s["state"]["status"], "creating", "{s}");
    let bundle = std::fs::canonicalize(&bundle).unwrap();
    assert_eq!(s["state"]["bundle"], bundle.display().to_string(), "{s}");
    assert!(s["state"]["ociVersion"].is_string(), "{s}");
}

/// Invalid profiles: one-line errors naming the field, and nothing left behind (no state,
/// process, mount or cgroup); also an agent socket that cannot be reached.
#[test]
fn invalid_profiles_are_rejected_without_a_trace() {
    let ctx = Ctx::new("seccomp-invalid");
    let not_a_socket = ctx.dir().join("no-agent.sock");
    let cases = [
        (
            json!({"defaultAction": "SCMP_ACT_BERTH"}),
            "linux.seccomp.defaultAction",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpgid"],
                "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BERTH"}]}]}),
            "linux.seccomp.syscalls[0].args[0].op",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpgid"],
                "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
            "linux.seccomp.syscalls[0].args[0].index",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": not_a_socket,
                "syscalls": [{"names": ["getpgid"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.listenerPath",
        ),
    ];
    for (i, (profile, field)) in cases.into_iter().enumerate() {
        let token = format!("tok-seccomp-{i}");
        let c = bad_input::config(&token, |v| {
            v["linux"]["seccomp"] = profile;
            // The base config's ambient set warns at every run: only the error may be printed.
            v["process"]["capabilities"]["ambient"] = json!([]);
        });
        bad_input::rejected(&ctx, &c.to_string(), &token)
            .error_names_field(field, "runc's error does not name the config field");
    }
    assert!(!not_a_socket.exists());
}

/// A process started by `exec` gets the container's filter too (runc's behaviour: the profile
/// belongs to the container, not only to its first process).
#[test]
fn exec_process_gets_the_filter() {
    let ctx = Ctx::new("seccomp-exec");
    let profile = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": EXDEV}]
    });
    let c = ctx.start_new(&with_seccomp(&probe_spec(&["sleep", "100"]), profile));
    let mut args = vec!["exec".to_string(), c.id.clone(), PROBE.to_string()];
    args.extend(syscall(libc::SYS_getpgid, &[0]));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let line = ctx.rt(&args).json();
    assert_eq!(outcome(&line), "EXDEV");
    let report = ctx.rt(&["exec", &c.id, PROBE, "report"]).json();
    assert_eq!(report["seccomp"], 2, "Seccomp: 2 for the exec'd process");
}
