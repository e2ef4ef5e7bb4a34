//! config.md POSIX-platform hooks and runtime.md's lifecycle: each of the six kinds runs at its
//! step, in its namespace, in order, with the container's state on stdin and its own `args`
//! and `env`; a failing or timed-out create-time hook fails `create` and leaves nothing, a
//! failing poststart hook fails `start` and stops the container, a failing poststop hook is
//! only a warning.

use conformance::*;
use serde_json::{json, Value};
use std::path::Path;

/// Where the hooks write, as the container sees the test's log directory.
const INSIDE_LOG_DIR: &str = "/hooklog";

/// A hook running `/bin/sh -c SCRIPT` that appends one line to `log`: its kind, `$0`, the
/// `HOOK_ENV` variable, its mount namespace and the state it read on stdin.
fn logging_hook(kind: &str, log: &str) -> Value {
    let script = format!(
        "state=$(cat); echo \"{kind} $0 ${{HOOK_ENV:-unset}} $(readlink /proc/self/ns/mnt) $state\" >>{log}"
    );
    json!({"path": "/bin/sh", "args": [argv0(kind), "-c", script], "env": ["HOOK_ENV=yes"]})
}

/// The argv0 a hook of `kind` gets: its own name, but `sh` inside the container, whose busybox
/// picks the applet by argv0.
fn argv0(kind: &str) -> String {
    if kind == "startContainer" {
        "sh".to_string()
    } else {
        format!("argv0-{kind}")
    }
}

/// One logged hook call: kind, argv0, env, mount namespace, and the state JSON.
struct Call {
    kind: String,
    argv0: String,
    env: String,
    mnt_ns: String,
    state: Value,
}

fn calls(log: &Path) -> Vec<Call> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let mut parts = line.splitn(5, ' ');
            let mut next = || parts.next().unwrap_or_default().to_string();
            let (kind, argv0, env, mnt_ns) = (next(), next(), next(), next());
            let state = serde_json::from_str(&next()).unwrap_or_else(|e| panic!("{e}: {line}"));
            Call {
                kind,
                argv0,
                env,
                mnt_ns,
                state,
            }
        })
        .collect()
}

/// All six kinds: `create` runs prestart, createRuntime (runtime namespace) and createContainer
/// (container namespace) with status "creating"; `start` runs startContainer (container,
/// "created") then poststart (runtime, "running"); `delete` runs poststop (runtime, "stopped").
/// Every hook gets its args (argv0 included), only its env, and the container's pid.
#[test]
fn hooks_run_in_order_in_their_namespaces_with_the_state() {
    let ctx = Ctx::new("hooks_order");
    let log_dir = ctx.mkdir("hooklog");
    let host_log = log_dir.join("log").display().to_string();
    let inside_log = format!("{INSIDE_LOG_DIR}/log");
    let hooks = json!({
        "prestart": [logging_hook("prestart", &host_log)],
        "createRuntime": [logging_hook("createRuntime", &host_log)],
        "createContainer": [logging_hook("createContainer", &host_log)],
        "startContainer": [logging_hook("startContainer", &inside_log)],
        "poststart": [logging_hook("poststart", &host_log)],
        "poststop": [logging_hook("poststop", &host_log)],
    });
    let spec = with_mounts(
        &sh_spec("sleep 100"),
        json!([{"destination": INSIDE_LOG_DIR, "type": "bind",
                "source": log_dir.display().to_string(), "options": ["rbind", "rw"]}]),
    );
    let spec = edit(&spec, |v| v["hooks"] = hooks);
    let c = ctx.create(&ctx.bundle(&spec));
    let pid = ctx.state(&c.id).pid();
    let container_mnt = ns_of(&pid.to_string(), "mnt");
    let host_mnt = host_ns("mnt");
    let log = log_dir.join("log");
    let kinds = |calls: &[Call]| calls.iter().map(|c| c.kind.clone()).collect::<Vec<_>>();
    if skip_for_runc("runc 1.1 runs poststart hooks during create; runtime.md: after start") {
        ctx.rt(&["delete", "--force", &c.id]);
        return;
    }
    assert_eq!(
        kinds(&calls(&log)),
        ["prestart", "createRuntime", "createContainer"]
    );
    ctx.rt(&["start", &c.id]).ok();
    wait_for("poststart", std::time::Duration::from_secs(5), || {
        calls(&log).len() >= 5
    });
    ctx.rt(&["delete", "--force", &c.id]).ok();
    let calls = calls(&log);
    assert_eq!(
        kinds(&calls),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
    for call in &calls {
        let kind = call.kind.as_str();
        let in_container = matches!(kind, "createContainer" | "startContainer");
        let want_ns = if in_container {
            &container_mnt
        } else {
            &host_mnt
        };
        assert_eq!(&call.mnt_ns, want_ns, "{kind}'s mount namespace");
        assert_eq!(call.argv0, argv0(kind), "{kind}'s argv0");
        assert_eq!(call.env, "yes", "{kind}'s env");
        let want_status = match kind {
            "startContainer" => "created",
            "poststart" => "running",
            "poststop" => "stopped",
            _ => "creating",
        };
        assert_eq!(call.state["status"], json!(want_status), "{kind}'s state");
        assert_eq!(call.state["id"], json!(c.id), "{kind}'s state id");
        if kind != "poststop" {
            assert_eq!(call.state["pid"], json!(pid), "{kind}'s state pid");
        }
        assert_eq!(
            call.state["bundle"],
            json!(c.bundle.display().to_string()),
            "{kind}'s state bundle"
        );
    }
}

/// A failing createRuntime hook fails `create` with an error naming it and leaves nothing; a
/// hook exceeding its `timeout` is killed and fails `create` the same way.
#[test]
fn failing_or_slow_create_hooks_fail_create() {
    let ctx = Ctx::new("hooks_fail");
    let cases = [
        json!({"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}),
        json!({"path": "/bin/sh", "args": ["sh", "-c", "sleep 30"], "timeout": 1}),
    ];
    for (i, hook) in cases.into_iter().enumerate() {
        if i == 1 && skip_for_runc("runc 1.1 waits for a timed-out hook's output pipe to close") {
            continue;
        }
        let spec = edit(&sh_spec("true"), |v| {
            v["linux"]["cgroupsPath"] = json!(ctx.new_cgroups_path());
            v["hooks"] = json!({"createRuntime": [hook]});
        });
        let bundle = ctx.bundle(&spec);
        let started = std::time::Instant::now();
        let (id, out) = ctx.try_create(&bundle);
        out.failed();
        assert!(started.elapsed().as_secs() < 10, "the timeout was applied");
        if !is_runc() {
            assert!(
                out.stderr.contains("hooks.createRuntime[0]"),
                "names the hook: {}",
                out.stderr
            );
        }
        ctx.assert_gone(&id);
    }
}

/// runtime.md: a failing poststart hook is an error that stops the container (a later `delete`
/// destroys it); a failing poststop hook is a warning: `delete` succeeds and the container is
/// gone.
#[test]
fn failing_poststart_stops_the_container_failing_poststop_warns() {
    let ctx = Ctx::new("hooks_warn");
    let failing = json!([{"path": "/bin/sh", "args": ["sh", "-c", "exit 1"]}]);
    let spec = edit(&sh_spec("sleep 100"), |v| {
        v["hooks"] = json!({"poststart": failing, "poststop": failing});
    });
    if skip_for_runc("runc 1.1 runs poststart hooks during create, where a failure fails it") {
        return;
    }
    let c = ctx.create(&ctx.bundle(&spec));
    ctx.rt(&["start", &c.id])
        .failed()
        .stderr_has("hooks.poststart[0]");
    ctx.wait_status(&c.id, oci_spec::runtime::ContainerState::Stopped);
    ctx.rt(&["delete", &c.id]).ok();
    ctx.assert_gone(&c.id);
}
