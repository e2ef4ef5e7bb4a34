//! Rootless containers: the runtime run by an unprivileged user (uid 65534 here) creates a
//! user namespace mapping container root to that user (`spec --rootless`'s layout), without
//! cgroups when nothing needs one, and runs the container with its own pid namespace. Also
//! with a time namespace, which a runtime creates from a process of its own after the user
//! namespace (berth: an intermediate process), so that the caller must write the id maps of a
//! process that has not yet run the container's setup.

use conformance::*;
use serde_json::json;
use std::os::unix::fs::chown;

/// The unprivileged user the runtime runs as.
const NOBODY: u32 = 65534;

#[test]
fn rootless_run_as_an_unprivileged_user() {
    let ctx = Ctx::new("rootless_run");
    // The state root must be the user's; the bundle only readable.
    chown(ctx.root(), Some(NOBODY), Some(NOBODY)).expect("chown the state root");
    let spec = bundle_fixtures::rootless_spec(&[PROBE, "report"], NOBODY, NOBODY);
    let bundle = ctx.bundle(&spec);
    let id = ctx.new_id();
    let out = ctx
        .cmd(&["run", "--bundle", &bundle.display().to_string(), &id])
        .as_user(NOBODY, NOBODY)
        .output();
    let report = out.json();
    assert_eq!(report["uid"]["effective"], 0, "root inside");
    assert_eq!(
        report["uid_map"],
        serde_json::json!([format!("0 {NOBODY} 1")])
    );
    assert_eq!(report["pid"], 1, "its own pid namespace");
    ctx.assert_gone(&id);
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
    let ctx = Ctx::new("rootless_time");
    chown(ctx.root(), Some(NOBODY), Some(NOBODY)).expect("chown the state root");
    let spec = edit(
        &bundle_fixtures::rootless_spec(&[PROBE, "report"], NOBODY, NOBODY),
        |v| {
            let namespaces = v["linux"]["namespaces"].as_array_mut().unwrap();
            namespaces.push(json!({"type": "time"}));
        },
    );
    let bundle = ctx.bundle(&spec);
    let id = ctx.new_id();
    let out = ctx
        .cmd(&["run", "--bundle", &bundle.display().to_string(), &id])
        .as_user(NOBODY, NOBODY)
        .output();
    let report = out.json();
    assert_eq!(report["uid"]["effective"], 0, "root inside");
    assert_eq!(report["uid_map"], json!([format!("0 {NOBODY} 1")]));
    assert_eq!(report["pid"], 1, "its own pid namespace");
    assert_ne!(
        report["namespaces"]["time"].as_str(),
        Some(host_ns("time").as_str()),
        "its own time namespace"
    );
    ctx.assert_gone(&id);
}
