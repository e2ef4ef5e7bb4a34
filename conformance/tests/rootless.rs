//! Rootless containers: the runtime run by an unprivileged user (uid 65534 here) creates a
//! user namespace mapping container root to that user (`spec --rootless`'s layout), without
//! cgroups when nothing needs one, and runs the container with its own pid namespace.

use conformance::*;
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
