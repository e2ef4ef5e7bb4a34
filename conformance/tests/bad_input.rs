//! Invalid bundles and ids: the runtime MUST generate an error and "leave the state of the
//! environment as if the operation were never attempted" (runtime.md Errors). Each case
//! checks: non-zero exit, a ONE-line message on stderr (for berth: naming the field), no
//! container state, no process, no mount (the `Ctx` leak check) and no cgroup.

use conformance::*;
use serde_json::{json, Value};

/// A valid config whose process would run for a long time, tagged with `token` in its
/// argv so that a leftover process can be found.
pub(crate) fn config(token: &str, f: impl FnOnce(&mut Value)) -> Value {
    edit_json(&probe_spec(&["sleep", "1000", token]), f)
}

/// `create` of a bundle with this config.json text: asserts the failure, the one-line error
/// and that nothing is left behind; returns the output for wording checks.
#[track_caller]
pub(crate) fn rejected(ctx: &Ctx, config_text: &str, token: &str) -> Output {
    let bundle = ctx.raw_bundle(config_text);
    create_rejected(ctx, &bundle, &ctx.new_id(), token, None)
}

/// `create` of `bundle` as `id` fails with a one-line error (unless the runtime is runc and
/// `runc_multi_line` says why runc prints more) and leaves nothing behind.
#[track_caller]
fn create_rejected(
    ctx: &Ctx,
    bundle: &std::path::Path,
    id: &str,
    token: &str,
    runc_multi_line: Option<&str>,
) -> Output {
    let out = ctx.rt(&["create", "--bundle", &bundle.display().to_string(), id]);
    let multi_line = out.stderr.trim().lines().count() > 1;
    match runc_multi_line {
        Some(why) if multi_line && skip_for_runc(why) => {
            out.failed();
        }
        _ => {
            out.one_line_error();
        }
    }
    ctx.assert_gone(id);
    assert_eq!(
        ctx.rt(&["list", "-q"]).ok().stdout.trim(),
        "",
        "no container listed"
    );
    let leftovers = processes_with_arg(token);
    assert!(leftovers.is_empty(), "processes left behind: {leftovers:?}");
    out
}

/// Host pids whose argv contains `arg`.
fn processes_with_arg(arg: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == arg.as_bytes()))
        })
        .collect()
}

#[test]
fn malformed_json() {
    let ctx = Ctx::new("bad-json");
    let text = config("tok-bad-json", |_| {}).to_string();
    let out = rejected(&ctx, &text[..text.len() / 2], "tok-bad-json");
    out.error_names_field("config.json", "runc prints only the JSON parser's message");
}

#[test]
fn missing_config_json() {
    let ctx = Ctx::new("no-config");
    let bundle = ctx.mkdir("bundle");
    bundle_fixtures::build_rootfs(&bundle.join("rootfs")).unwrap();
    let out = create_rejected(&ctx, &bundle, &ctx.new_id(), "tok-no-config", None);
    out.error_names_field("config.json", "runc says `open config.json: no such file`");
}

/// config.md: a runtime supporting 1.x is "not compatible" with a 2.0.0 bundle.
#[test]
fn unsupported_oci_version() {
    if skip_for_runc("runc 1.1 accepts any ociVersion, 2.0.0 included") {
        return;
    }
    let ctx = Ctx::new("bad-version");
    let c = config("tok-version", |v| v["ociVersion"] = "2.0.0".into());
    rejected(&ctx, &c.to_string(), "tok-version").error_names_field("ociVersion", "");
}

/// config.md Root: "A directory MUST exist at the path declared by the field."
#[test]
fn missing_rootfs() {
    let ctx = Ctx::new("no-rootfs");
    let c = config("tok-rootfs", |v| {
        v["root"]["path"] = "does-not-exist".into()
    });
    rejected(&ctx, &c.to_string(), "tok-rootfs").error_names_field(
        "root.path",
        "runc says `invalid rootfs: stat …: no such file`",
    );
}

/// config-linux.md Namespaces: duplicated types MUST be an error.
#[test]
fn duplicate_namespace() {
    let ctx = Ctx::new("dup-ns");
    let c = config("tok-dup-ns", |v| {
        v["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "pid"}));
    });
    rejected(&ctx, &c.to_string(), "tok-dup-ns").error_names_field(
        "namespaces",
        "runc says `malformed spec file: duplicated ns`",
    );
}

/// config-linux.md Namespaces: a `path` that is not a namespace of `type` MUST be an error.
#[test]
fn namespace_path_of_wrong_type() {
    let ctx = Ctx::new("ns-wrong-type");
    let pid = ctx.spawn_helper("sleep", &["60"]);
    let c = config("tok-ns-type", |v| {
        for n in v["linux"]["namespaces"].as_array_mut().unwrap() {
            if n["type"] == "network" {
                n["path"] = format!("/proc/{pid}/ns/ipc").into();
            }
        }
    });
    let bundle = ctx.raw_bundle(&c.to_string());
    let why = "runc 1.1 prints three lines (two `level=fatal` from nsexec, then the error)";
    create_rejected(&ctx, &bundle, &ctx.new_id(), "tok-ns-type", Some(why)).error_names_field(
        "namespaces",
        "runc says `failed to setns into net namespace`",
    );
}

/// A mount destination that climbs out of the rootfs with `..` must never reach the host;
/// berth refuses it.
#[test]
fn mount_destination_escaping_with_dotdot() {
    let ctx = Ctx::new("dotdot");
    let escaped = ctx.dir().join("escaped");
    let dest = format!("/../../../../../..{}", escaped.display());
    let c = config("tok-dotdot", |v| {
        v["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": dest, "type": "tmpfs", "source": "tmpfs"}));
    });
    let bundle = ctx.raw_bundle(&c.to_string());
    let id = ctx.new_id();
    let out = ctx.rt(&["create", "--bundle", &bundle.display().to_string(), &id]);
    assert!(
        !escaped.exists(),
        "the runtime created {} on the host",
        escaped.display()
    );
    assert!(
        mounts_under(&escaped).is_empty(),
        "a mount escaped to the host"
    );
    if skip_for_runc("runc 1.1 resolves `..` inside the rootfs (securejoin) and mounts there") {
        return;
    }
    drop(out);
    let out = create_rejected(&ctx, &bundle, &ctx.new_id(), "tok-dotdot", None);
    out.error_names_field("destination", "");
}

/// config.md Process: cwd "MUST be an absolute path".
#[test]
fn relative_cwd() {
    let ctx = Ctx::new("relative-cwd");
    let c = config("tok-cwd", |v| v["process"]["cwd"] = "relative/dir".into());
    rejected(&ctx, &c.to_string(), "tok-cwd").error_names_field("cwd", "runc says `Cwd must be …`");
}

/// config.md Process: args needs at least one entry.
#[test]
fn empty_args() {
    let ctx = Ctx::new("empty-args");
    let c = config("tok-args", |v| v["process"]["args"] = json!([]));
    rejected(&ctx, &c.to_string(), "tok-args").error_names_field("args", "");
}

/// config.md rlimits: a type that cannot be mapped MUST be an error.
#[test]
fn unknown_rlimit() {
    let ctx = Ctx::new("bad-rlimit");
    let c = config("tok-rlimit", |v| {
        v["process"]["rlimits"] = json!([{"type": "RLIMIT_BERTH", "soft": 1, "hard": 1}]);
    });
    rejected(&ctx, &c.to_string(), "tok-rlimit")
        .error_names_field("rlimits", "runc says `wrong rlimit value: RLIMIT_BERTH`");
}

/// config.md rlimits: duplicated types MUST be an error.
#[test]
fn duplicate_rlimit() {
    if skip_for_runc("runc 1.1 applies both duplicated rlimits (the last one wins)") {
        return;
    }
    let ctx = Ctx::new("dup-rlimit");
    let c = config("tok-dup-rlimit", |v| {
        // Decreasing, so that applying both in turn would succeed: only a check rejects it.
        v["process"]["rlimits"] = json!([
            {"type": "RLIMIT_NOFILE", "soft": 200, "hard": 200},
            {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 100},
        ]);
    });
    rejected(&ctx, &c.to_string(), "tok-dup-rlimit").error_names_field("rlimits", "");
}

/// runtime.md Create: an id that "is not valid in any other way" MUST be an error; a path-like
/// id must not create anything outside `--root`.
#[test]
fn invalid_container_id() {
    let ctx = Ctx::new("bad-id");
    let bundle = ctx.bundle(&probe_spec(&["sleep", "1000", "tok-bad-id"]));
    for id in ["../escaped-id", "a/b", ""] {
        let out = ctx.rt(&["create", "--bundle", &bundle.display().to_string(), id]);
        out.one_line_error();
        assert!(
            !ctx.dir().join("escaped-id").exists(),
            "state written outside --root"
        );
    }
    assert_eq!(ctx.rt(&["list", "-q"]).ok().stdout.trim(), "");
    assert!(processes_with_arg("tok-bad-id").is_empty());
}

/// config.md apparmorProfile / selinuxLabel: a label berth cannot apply (on this host: no
/// AppArmor, no SELinux) is an error naming the field, not a silent unconfined container.
#[test]
fn lsm_label_that_cannot_be_applied() {
    let ctx = Ctx::new("lsm-label");
    let c = config("tok-apparmor", |v| {
        v["process"]["apparmorProfile"] = "berth-test-profile".into();
    });
    if std::path::Path::new("/sys/kernel/security/apparmor").exists() {
        note("lsm_label: this host has AppArmor; the error case is not reachable: skipped");
        return;
    }
    rejected(&ctx, &c.to_string(), "tok-apparmor")
        .error_names_field("apparmorProfile", "runc says the host has no AppArmor");
}
