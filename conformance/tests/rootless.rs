//! Rootless containers: the runtime run by an unprivileged user (uid 65534 here) creates a
//! user namespace mapping container root to that user (`spec --rootless`'s layout), without
//! cgroups when nothing needs one, and runs the container with its own pid namespace. Also
//! with a time namespace, which a runtime creates from a process of its own after the user
//! namespace (berth: an intermediate process), so that the caller must write the id maps of a
//! process that has not yet run the container's setup. And a created rootless container's
//! process, dumpable until its maps are written, is not dumpable once they are.

use conformance::*;
use oci_spec::runtime::Spec;
use serde_json::json;
use std::os::unix::fs::chown;
use std::os::unix::process::CommandExt;

/// The unprivileged user the runtime runs as.
const NOBODY: u32 = 65534;

/// A test sandbox whose state root belongs to the unprivileged user (the bundles stay only
/// readable to it).
fn rootless_ctx(name: &str) -> Ctx {
    let ctx = Ctx::new(name);
    chown(ctx.root(), Some(NOBODY), Some(NOBODY)).expect("chown the state root");
    ctx
}

/// The rootless fixture spec running the probe's report.
fn rootless_probe_spec() -> Spec {
    bundle_fixtures::rootless_spec(&[PROBE, "report"], NOBODY, NOBODY)
}

/// `run` of `spec` as the unprivileged user; checks the report's rootless layout (root inside,
/// mapped to the user; its own pid namespace) and that nothing is left, and returns it.
fn run_rootless(ctx: &Ctx, spec: &Spec) -> serde_json::Value {
    let bundle = ctx.bundle(spec);
    let id = ctx.new_id();
    let out = ctx
        .cmd(&["run", "--bundle", &bundle.display().to_string(), &id])
        .as_user(NOBODY, NOBODY)
        .output();
    let report = out.json();
    assert_eq!(report["uid"]["effective"], 0, "root inside");
    assert_eq!(report["uid_map"], json!([format!("0 {NOBODY} 1")]));
    assert_eq!(report["pid"], 1, "its own pid namespace");
    ctx.assert_gone(&id);
    report
}

#[test]
fn rootless_run_as_an_unprivileged_user() {
    let ctx = rootless_ctx("rootless_run");
    run_rootless(&ctx, &rootless_probe_spec());
}

/// The same with a time namespace of its own. An unprivileged runtime can write the id maps only
/// while the process in the new user namespace is dumpable (else its /proc files are root's), so
/// the process must stay dumpable until then, and become non-dumpable right after. Here the
/// maps are written once the user namespace exists, after the process's first steps, so a
/// runtime that turned it non-dumpable too early fails every time (without a time namespace,
/// only when it loses the race with its parent's write).
#[test]
fn rootless_run_with_a_time_namespace() {
    if skip_for_runc("runc 1.1.5 predates time namespaces") {
        return;
    }
    let ctx = rootless_ctx("rootless_time");
    let spec = edit(&rootless_probe_spec(), |v| {
        let namespaces = v["linux"]["namespaces"].as_array_mut().unwrap();
        namespaces.push(json!({"type": "time"}));
    });
    let report = run_rootless(&ctx, &spec);
    assert_ne!(
        report["namespaces"]["time"].as_str(),
        Some(host_ns("time").as_str()),
        "its own time namespace"
    );
}

/// How many rootless containers [`rootless_created_process_is_not_dumpable`] creates: the
/// runtime's child races its parent's writes of the id maps (a child that decided to turn
/// non-dumpable after seeing its uid map written made the gid map unwritable, one create in
/// ten or so failed), so one create is not enough.
const CREATES: usize = 16;

/// A `create`d rootless container's process (the runtime's own until `start`) had to be
/// dumpable while its unprivileged parent wrote its id maps; afterwards it must be non-dumpable
/// again (CVE-2016-9962), or any process of the same host user could read its memory, its
/// environment or ptrace it before it runs the user's program. Its owner, seen from the host,
/// is the unprivileged user, who also owns its user namespace: for that user only the dumpable
/// flag stands between it and the process's `/proc/PID/environ`, which the probe, run on the
/// host as that user, must fail to open, for each of [`CREATES`] created containers.
#[test]
fn rootless_created_process_is_not_dumpable() {
    let ctx = rootless_ctx("rootless_not_dumpable");
    let bundle = ctx.bundle(&rootless_probe_spec());
    let bundle_arg = bundle.display().to_string();
    let mut created = Vec::new();
    for _ in 0..CREATES {
        let id = ctx.new_id();
        ctx.cmd(&["create", "--bundle", &bundle_arg, &id])
            .as_user(NOBODY, NOBODY)
            .output()
            .ok();
        let state = ctx.state(&id);
        assert_eq!(state.status(), oci_spec::runtime::ContainerState::Created);
        let pid = state.pid();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("its status");
        for field in ["Uid:", "Gid:"] {
            let ids: Vec<u32> = status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
                .split_whitespace()
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(
                ids, [NOBODY; 4],
                "{field} of the created process seen from the host: the unprivileged user's"
            );
        }
        created.push((id, format!("/proc/{pid}/environ")));
    }
    // The probe of the bundle's rootfs, run on the host as the same user.
    let probe = bundle.join("rootfs").join(PROBE.trim_start_matches('/'));
    let out = std::process::Command::new(&probe)
        .arg("access")
        .args(created.iter().map(|(_, environ)| environ))
        .uid(NOBODY)
        .gid(NOBODY)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the probe on the host as the unprivileged user");
    assert!(out.status.success(), "host probe: {out:?}");
    let lines = json_lines(&String::from_utf8_lossy(&out.stdout));
    for (id, _) in &created {
        ctx.cmd(&["delete", "--force", id])
            .as_user(NOBODY, NOBODY)
            .output()
            .ok();
        ctx.assert_gone(id);
    }
    for (_, environ) in &created {
        let r = access_of(&lines[0], environ);
        assert_eq!(r["exists"], true, "the created process's {environ}: {r}");
        if r["read"] == "ok"
            && skip_for_runc(
                "runc 1.1.5 leaves a created rootless container's process dumpable: its host \
                 user reads its /proc/PID/environ before `start`",
            )
        {
            return;
        }
        assert_ne!(
            r["read"], "ok",
            "the created rootless container's process is dumpable: its host user (uid \
             {NOBODY}, the owner of its user namespace) opens its {environ}: {r}"
        );
    }
}
