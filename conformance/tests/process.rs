//! config.md Process: args, env, cwd, user, umask, rlimits, capabilities, noNewPrivileges,
//! oomScoreAdj, and the stdio and file descriptors the process gets.

use conformance::*;
use serde_json::{json, Value};
use std::os::fd::OwnedFd;

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_string())
        .collect()
}

/// `n` fds open on fresh files named `fd-<i>.txt` in the test dir.
fn files_as_fds(ctx: &Ctx, n: usize) -> Vec<OwnedFd> {
    (0..n)
        .map(|i| {
            let f = std::fs::File::create(ctx.dir().join(format!("fd-{i}.txt"))).unwrap();
            OwnedFd::from(f)
        })
        .collect()
}

/// process.args, env and cwd reach the program exactly; the runtime's own environment does
/// not leak in (runc adds only HOME when env lacks it).
#[test]
fn args_env_cwd() {
    let ctx = Ctx::new("args-env-cwd");
    let args = [PROBE, "report", "--sysctl", "kernel.hostname"];
    let env = ["PATH=/bin", "A=1", "B=two words", "EMPTY="];
    let spec = edit(&probe_spec(&[]), |v| {
        v["process"]["args"] = json!(args);
        v["process"]["env"] = json!(env);
        v["process"]["cwd"] = "/tmp".into();
    });
    let bundle = ctx.bundle(&spec);
    let id = ctx.new_id();
    let r = ctx
        .cmd(&["run", "--bundle", &bundle.display().to_string(), &id])
        .env("CONFORMANCE_RUNTIME_ONLY", "leak")
        .output()
        .json();
    assert_eq!(strings(&r["argv"]), args);
    let inside = strings(&r["env"]);
    for e in env {
        assert!(
            inside.iter().any(|i| i == e),
            "{e:?} missing from {inside:?}"
        );
    }
    for i in &inside {
        assert!(
            env.contains(&i.as_str()) || i.starts_with("HOME="),
            "unexpected env {i:?}"
        );
    }
    assert_eq!(r["cwd"], "/tmp");
}

/// A cwd that does not exist in the rootfs is created (as runc does).
#[test]
fn missing_cwd_is_created() {
    let ctx = Ctx::new("cwd-created");
    let mut spec = probe_spec(&[]);
    spec.process_mut()
        .as_mut()
        .unwrap()
        .set_cwd("/does/not/exist".into());
    let bundle = ctx.bundle(&spec);
    let r = ctx.run(&bundle).1.json();
    assert_eq!(r["cwd"], "/does/not/exist");
    assert!(bundle.join("rootfs/does/not/exist").is_dir());
}

/// process.user: uid, gid (real, effective and saved) and additionalGids.
#[test]
fn user_ids_and_groups() {
    let ctx = Ctx::new("user");
    let spec = edit(&probe_spec(&[]), |v| {
        v["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20]});
    });
    let r = ctx.run_probe(&spec);
    for set in ["real", "effective", "saved"] {
        assert_eq!(r["uid"][set], 1000, "{set} uid");
        assert_eq!(r["gid"][set], 1000, "{set} gid");
    }
    let mut groups: Vec<u64> = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    groups.sort();
    assert_eq!(groups, [10, 20]);
}

/// process.user.umask is applied.
#[test]
fn umask_is_applied() {
    let ctx = Ctx::new("umask");
    let spec = edit(&probe_spec(&[]), |v| {
        v["process"]["user"]["umask"] = 0o027.into()
    });
    assert_eq!(ctx.run_probe(&spec)["umask"], 0o027);
}

/// config.md User: "If unspecified, the umask should not be changed from the calling process'
/// umask."
#[test]
fn umask_unset_is_inherited() {
    if skip_for_runc("runc 1.1 sets umask 0022 when process.user.umask is unset") {
        return;
    }
    let ctx = Ctx::new("umask-inherited");
    let bundle = ctx.bundle(&probe_spec(&[]));
    let id = ctx.new_id();
    let r = ctx
        .cmd(&["run", "--bundle", &bundle.display().to_string(), &id])
        .umask(0o077)
        .output()
        .json();
    assert_eq!(r["umask"], 0o077);
}

/// config.md rlimits: soft and hard values MUST match (within this host's hard NOFILE 20000).
#[test]
fn rlimits() {
    let ctx = Ctx::new("rlimits");
    let limits = [
        ("RLIMIT_NOFILE", 123, 456),
        ("RLIMIT_CORE", 1024, 2048),
        ("RLIMIT_MSGQUEUE", 4096, 8192),
    ];
    let spec = edit(&probe_spec(&[]), |v| {
        v["process"]["rlimits"] = limits
            .iter()
            .map(|(t, soft, hard)| json!({"type": t, "soft": soft, "hard": hard}))
            .collect();
    });
    let r = ctx.run_probe(&spec);
    for (t, soft, hard) in limits {
        assert_eq!(r["rlimits"][t], json!({"soft": soft, "hard": hard}), "{t}");
    }
}

/// process.noNewPrivileges sets (or leaves unset) the no_new_privs bit.
#[test]
fn no_new_privileges() {
    let ctx = Ctx::new("nnp");
    for (nnp, want) in [(true, 1), (false, 0)] {
        let mut spec = probe_spec(&[]);
        spec.process_mut()
            .as_mut()
            .unwrap()
            .set_no_new_privileges(Some(nnp));
        assert_eq!(
            ctx.run_probe(&spec)["no_new_privs"],
            want,
            "noNewPrivileges {nnp}"
        );
    }
}

const BOUNDING: [&str; 5] = [
    "CAP_CHOWN",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];
const PERMITTED: [&str; 4] = [
    "CAP_CHOWN",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETUID",
];
const EFFECTIVE: [&str; 2] = ["CAP_CHOWN", "CAP_KILL"];
const INHERITABLE: [&str; 2] = ["CAP_KILL", "CAP_NET_BIND_SERVICE"];
const AMBIENT: [&str; 1] = ["CAP_NET_BIND_SERVICE"];

fn caps_spec(uid: u32) -> oci_spec::runtime::Spec {
    edit(&probe_spec(&[]), |v| {
        v["process"]["user"] = json!({"uid": uid, "gid": uid});
        v["process"]["noNewPrivileges"] = true.into();
        v["process"]["capabilities"] = json!({
            "bounding": BOUNDING, "permitted": PERMITTED, "effective": EFFECTIVE,
            "inheritable": INHERITABLE, "ambient": AMBIENT,
        });
    })
}

fn assert_caps(r: &Value, want: [(&str, u64); 5]) {
    for (set, mask) in want {
        assert_eq!(
            caps(r, set),
            mask,
            "{set}: got {:#x}, want {mask:#x}",
            caps(r, set)
        );
    }
}

/// process.capabilities, seen after execve(2) as root with noNewPrivileges: bounding,
/// inheritable and ambient are as configured; permitted is as configured (root's execve
/// recomputes it as bounding|inheritable|ambient, capped by no_new_privs to the old permitted
/// set), and effective becomes permitted (root's execve raises it).
#[test]
fn capabilities_root() {
    let ctx = Ctx::new("caps-root");
    let r = ctx.run_probe(&caps_spec(0));
    assert_caps(
        &r,
        [
            ("bounding", cap_mask(&BOUNDING)),
            ("inheritable", cap_mask(&INHERITABLE)),
            ("ambient", cap_mask(&AMBIENT)),
            ("permitted", cap_mask(&PERMITTED)),
            ("effective", cap_mask(&PERMITTED)),
        ],
    );
}

/// The same sets for uid 1000: a non-root execve keeps only the ambient set in permitted and
/// effective, which shows the ambient set really was raised.
#[test]
fn capabilities_non_root() {
    let ctx = Ctx::new("caps-user");
    let r = ctx.run_probe(&caps_spec(1000));
    assert_caps(
        &r,
        [
            ("bounding", cap_mask(&BOUNDING)),
            ("inheritable", cap_mask(&INHERITABLE)),
            ("ambient", cap_mask(&AMBIENT)),
            ("permitted", cap_mask(&AMBIENT)),
            ("effective", cap_mask(&AMBIENT)),
        ],
    );
}

/// config.md capabilities: a name that cannot be mapped "MUST be logged as a warning";
/// runtimes "SHOULD NOT fail". The known names still apply.
#[test]
fn unknown_capability_is_a_warning() {
    let ctx = Ctx::new("caps-unknown");
    let config = edit_json(&probe_spec(&[]), |v| {
        for set in ["bounding", "effective", "permitted"] {
            v["process"]["capabilities"][set] = json!(["CAP_KILL", "CAP_BERTH_BOGUS"]);
        }
        v["process"]["capabilities"]["ambient"] = json!([]);
    });
    let bundle = ctx.raw_bundle(&config.to_string());
    let r = ctx.run(&bundle).1.json();
    assert_eq!(caps(&r, "bounding"), cap_mask(&["CAP_KILL"]));
    assert_eq!(caps(&r, "effective"), cap_mask(&["CAP_KILL"]));
}

/// `runc spec`'s own default lists the ambient capabilities without inheritable ones, so they
/// "cannot be granted": a warning, not a failure (config.md capabilities); ambient stays empty.
#[test]
fn ungrantable_ambient_capabilities_are_a_warning() {
    let ctx = Ctx::new("caps-ambient");
    let spec = probe_spec(&[]);
    let caps_cfg = spec
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .as_ref()
        .unwrap();
    assert!(caps_cfg.inheritable().as_ref().is_none_or(|i| i.is_empty()));
    assert!(caps_cfg.ambient().as_ref().is_some_and(|a| !a.is_empty()));
    let r = ctx.run_probe(&spec);
    let runc_default = cap_mask(&["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    assert_eq!(caps(&r, "ambient"), 0);
    assert_eq!(caps(&r, "bounding"), runc_default);
    assert_eq!(caps(&r, "effective"), runc_default);
}

/// process.oomScoreAdj is set when given, and the runtime's own value is kept otherwise
/// ("MUST NOT change").
#[test]
fn oom_score_adj() {
    let ctx = Ctx::new("oom");
    let mut spec = probe_spec(&[]);
    spec.process_mut()
        .as_mut()
        .unwrap()
        .set_oom_score_adj(Some(500));
    assert_eq!(ctx.run_probe(&spec)["oom_score_adj"], 500);

    let bundle = ctx.bundle(&probe_spec(&[]));
    let id = ctx.new_id();
    let r = ctx
        .cmd(&["run", "--bundle", &bundle.display().to_string(), &id])
        .oom_score_adj(123)
        .output()
        .json();
    assert_eq!(
        r["oom_score_adj"], 123,
        "unset oomScoreAdj keeps the runtime's value"
    );
}

/// stdin, stdout and stderr of a foreground `run` are the caller's.
#[test]
fn stdio_reaches_the_caller() {
    let ctx = Ctx::new("stdio");
    let bundle = ctx.bundle(&sh_spec(
        r#"read line; echo "out:$line"; echo "err:$line" >&2; exit 7"#,
    ));
    let id = ctx.new_id();
    let out = ctx
        .cmd(&["run", "--bundle", &bundle.display().to_string(), &id])
        .stdin(b"hello\n")
        .output();
    out.code_is(7);
    assert_eq!(out.stdout, "out:hello\n");
    assert!(
        out.stderr.lines().any(|l| l == "err:hello"),
        "stderr: {:?}",
        out.stderr
    );
}

/// Only fds 0, 1, 2 are open in the container, even when the runtime inherited more.
#[test]
fn only_stdio_fds_inside() {
    let ctx = Ctx::new("fds");
    let bundle = ctx.bundle(&probe_spec(&[]));
    let id = ctx.new_id();
    let r = ctx
        .cmd(&["run", "--bundle", &bundle.display().to_string(), &id])
        .extra_fds(files_as_fds(&ctx, 2))
        .output()
        .json();
    assert_eq!(fd_numbers(&r), [0, 1, 2], "fds: {}", r["fds"]);
}

/// `--preserve-fds N` passes fds 3..3+N to the process.
#[test]
fn preserve_fds() {
    let ctx = Ctx::new("preserve-fds");
    let bundle = ctx.bundle(&probe_spec(&[]));
    let id = ctx.new_id();
    let r = ctx
        .cmd(&[
            "run",
            "--preserve-fds",
            "2",
            "--bundle",
            &bundle.display().to_string(),
            &id,
        ])
        .extra_fds(files_as_fds(&ctx, 3))
        .output()
        .json();
    assert_eq!(fd_numbers(&r), [0, 1, 2, 3, 4], "fds: {}", r["fds"]);
    for (fd, name) in [("3", "fd-0.txt"), ("4", "fd-1.txt")] {
        let target = r["fds"][fd].as_str().unwrap_or_default();
        assert!(
            target.ends_with(name),
            "fd {fd} is {target:?}, want …/{name}"
        );
    }
}

/// Socket activation: with LISTEN_FDS=N (and LISTEN_PID = its pid) in the runtime's
/// environment, fds 3..3+N are passed on and the process gets LISTEN_FDS=N, LISTEN_PID=1.
#[test]
fn listen_fds_are_passed() {
    let ctx = Ctx::new("listen-fds");
    let bundle = ctx.bundle(&probe_spec(&[]));
    let id = ctx.new_id();
    let r = ctx
        .cmd(&["run", "--bundle", &bundle.display().to_string(), &id])
        .extra_fds(files_as_fds(&ctx, 2))
        .listen_fds()
        .output()
        .json();
    assert_eq!(fd_numbers(&r), [0, 1, 2, 3, 4], "fds: {}", r["fds"]);
    let env = strings(&r["env"]);
    for e in ["LISTEN_FDS=2", "LISTEN_PID=1"] {
        assert!(env.iter().any(|i| i == e), "{e} missing from {env:?}");
    }
}

/// runc's session keyring: by default the container process joins a new session keyring named
/// after the container (so it cannot reach the caller's keys); with `--no-new-keyring` it keeps
/// the caller's.
#[test]
fn session_keyring_is_new_unless_no_new_keyring() {
    let ctx = Ctx::new("keyring");
    let bundle = ctx.bundle(&probe_spec(&[]));
    let keyring = |flags: &[&str]| {
        let id = ctx.new_id();
        let mut args = vec!["run"];
        args.extend_from_slice(flags);
        let bundle_arg = bundle.display().to_string();
        args.extend_from_slice(&["--bundle", &bundle_arg, &id]);
        let report = ctx.rt(&args).json();
        let description = report["session_keyring"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        (id, description)
    };
    let (id, own) = keyring(&[]);
    assert!(own.starts_with("keyring;"), "a session keyring: {own}");
    assert!(own.ends_with(&id), "named after the container: {own}");
    let (id, kept) = keyring(&["--no-new-keyring"]);
    assert!(!kept.ends_with(&id), "the caller's keyring is kept: {kept}");
}
