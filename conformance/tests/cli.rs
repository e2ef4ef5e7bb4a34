//! runc's CLI beyond the lifecycle: `list`, `spec`, `--log`/`--log-format json`.

use conformance::*;
use oci_spec::runtime::Spec;

/// `list` as a table, as `-f json` (state objects) and `-q` (ids only).
#[test]
fn list_formats() {
    let ctx = Ctx::new("list");
    // Before any container: `-q` prints nothing, `-f json` an empty list (runc: `null`).
    assert_eq!(ctx.rt(&["list", "-q"]).ok().stdout.trim(), "");
    let empty = ctx.rt(&["list", "-f", "json"]).json();
    assert!(
        empty.is_null() || empty.as_array().is_some_and(|a| a.is_empty()),
        "list -f json without containers: {empty}"
    );

    let bundle = ctx.bundle(&probe_spec(&["sleep", "60"]));
    let created = ctx.create(&bundle);
    let running = ctx.create(&bundle);
    ctx.rt(&["start", &running.id]).ok();
    let want = [
        (&created.id, "created", ctx.state(&created.id).pid()),
        (&running.id, "running", ctx.state(&running.id).pid()),
    ];

    let table = ctx.rt(&["list"]).ok().stdout.clone();
    let mut rows = table.lines();
    let header: Vec<&str> = rows.next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    );
    let rows: Vec<Vec<&str>> = rows.map(|r| r.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 2, "two rows in:\n{table}");
    for (id, status, pid) in &want {
        let row = rows
            .iter()
            .find(|r| r.first() == Some(&id.as_str()))
            .unwrap_or_else(|| panic!("no row for {id} in:\n{table}"));
        assert_eq!(row.len(), 6, "row {row:?}");
        assert_eq!(row[1], pid.to_string());
        assert_eq!(row[2], *status);
        assert_eq!(row[3], bundle.display().to_string());
        assert!(is_rfc3339(row[4]), "CREATED {:?}", row[4]);
        assert_eq!(row[5], "root");
    }

    let json = ctx.rt(&["list", "-f", "json"]).json();
    let entries = json.as_array().expect("list -f json is an array");
    assert_eq!(entries.len(), 2);
    for (id, status, pid) in &want {
        let e = entries
            .iter()
            .find(|e| e["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} missing from {json}"));
        let s = parse_state(e.clone()).expect("list entry is a valid state");
        assert_eq!(s.raw["status"], *status);
        assert_eq!(s.pid(), *pid);
    }

    let quiet = ctx.rt(&["list", "-q"]).ok().stdout.clone();
    let mut ids: Vec<&str> = quiet.lines().collect();
    ids.sort();
    let mut expected = vec![created.id.as_str(), running.id.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
}

/// `spec` writes a config.json that parses and runs, and refuses to overwrite one.
#[test]
fn spec_writes_a_runnable_config() {
    let ctx = Ctx::new("spec");
    let dir = ctx.mkdir("specdir");
    ctx.cmd(&["spec"]).cwd(&dir).output().ok();
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).expect("spec wrote config.json");
    let spec = Spec::load(&path).expect("the generated config.json parses");
    assert_eq!(
        spec.root().as_ref().expect("root").path().to_str(),
        Some("rootfs")
    );
    assert!(spec.process().is_some() && spec.linux().is_some());

    ctx.cmd(&["spec"])
        .cwd(&dir)
        .output()
        .failed()
        .stderr_has("exists");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "config.json unchanged"
    );

    // With a rootfs it runs: runc's default process is an interactive `sh`, so only the
    // terminal is turned off (stdin is /dev/null: sh exits 0 at once).
    bundle_fixtures::build_rootfs(&dir.join("rootfs")).expect("rootfs");
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["process"]["terminal"] = false.into();
    std::fs::write(&path, v.to_string()).unwrap();
    ctx.run(&dir).1.code_is(0);
}

/// `--log FILE --log-format json`: an error appends one JSON object
/// `{"level":"error","msg":...,"time":...}` line to FILE, keeping what was there.
#[test]
fn log_format_json() {
    let ctx = Ctx::new("log-json");
    let log = ctx.dir().join("runtime.log");
    std::fs::write(&log, "previous line\n").unwrap();
    let id = ctx.new_id();
    let log_arg = log.display().to_string();
    ctx.cmd(&["state", &id])
        .global(&["--log", &log_arg, "--log-format", "json"])
        .output()
        .failed();
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("previous line"),
        "the log is appended to"
    );
    let errors: Vec<serde_json::Value> = lines
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line {l:?}: {e}")))
        .filter(|v: &serde_json::Value| v["level"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "one error line in {text:?}");
    let e = &errors[0];
    assert!(
        e["msg"]
            .as_str()
            .is_some_and(|m| m.contains("does not exist")),
        "{e}"
    );
    assert!(e["time"].as_str().is_some_and(is_rfc3339), "{e}");
}

/// features.md: `features` prints the Features structure, which oci-spec's types parse;
/// ociVersionMin <= ociVersionMax, both 1.x; the Linux part names the namespaces and the
/// seccomp support the runtime has, and mountOptions are plain option names.
#[test]
fn features_structure() {
    let ctx = Ctx::new("features");
    let out = ctx.rt(&["features"]);
    out.ok();
    let features: oci_spec::runtime::Features =
        serde_json::from_str(&out.stdout).expect("features parse as oci-spec's Features");
    assert!(features.oci_version_min().starts_with("1."));
    assert!(features.oci_version_max().starts_with("1."));
    let version = |v: &str| -> Vec<u32> {
        v.split(['.', '-'])
            .take(3)
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    assert!(version(features.oci_version_min()) <= version(features.oci_version_max()));
    let options = features.mount_options().clone().expect("mountOptions");
    for name in ["ro", "nosuid", "rbind", "rprivate"] {
        assert!(options.iter().any(|o| o == name), "{name} in {options:?}");
    }
    let linux = features.linux().clone().expect("linux features");
    let namespaces = linux.namespaces().clone().expect("namespaces");
    assert!(namespaces.len() >= 7, "{namespaces:?}");
    let seccomp = linux.seccomp().clone().expect("seccomp features");
    assert_eq!(seccomp.enabled(), &Some(true));
    let actions = seccomp.actions().clone().expect("seccomp actions");
    assert!(actions.contains(&oci_spec::runtime::LinuxSeccompAction::ScmpActErrno));
    if skip_for_runc("runc 1.1's features predate rro, idmapped mounts and runtime-spec 1.3") {
        return;
    }
    for name in ["rro", "idmap", "ridmap"] {
        assert!(options.iter().any(|o| o == name), "{name}: {options:?}");
    }
    let idmap = linux
        .mount_extensions()
        .clone()
        .and_then(|m| m.idmap().clone());
    assert_eq!(
        idmap.and_then(|i| *i.enabled()),
        Some(true),
        "mountExtensions.idmap.enabled"
    );
    let hooks = features.hooks().clone().expect("hooks");
    assert_eq!(hooks.len(), 6, "every hook kind: {hooks:?}");
    assert_eq!(features.oci_version_max(), "1.3.0");
}
