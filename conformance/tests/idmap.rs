//! config.md Mounts: idmapped bind mounts (`uidMappings`/`gidMappings` on a mount, options
//! `idmap` and `ridmap`). Host dirs of the test, with files owned by host ids, are bound into
//! real containers; the probe reads the owners inside and creates files whose owners the test
//! reads on the host. runc 1.1.5 predates idmapped mounts (it ignores the fields).

use conformance::*;
use oci_spec::runtime::Spec;
use serde_json::{json, Value};
use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

const RUNC_LACKS_IDMAP: &str = "runc 1.1.5 predates idmapped mounts (uidMappings, idmap, ridmap)";

/// The host uid/gid container root maps to in the user namespace tests.
const USERNS_BASE: u32 = 100_000;

/// A host dir of the test, world-writable and holding `owned`, both owned by `uid`:`uid` (the
/// kernel refuses writes into a dir whose owner a mount's mapping leaves unmapped).
fn host_dir(ctx: &Ctx, name: &str, uid: u32) -> PathBuf {
    let dir = ctx.mkdir(name);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    chown(&dir, Some(uid), Some(uid)).unwrap();
    let file = dir.join("owned");
    std::fs::write(&file, "x").unwrap();
    chown(&file, Some(uid), Some(uid)).unwrap();
    dir
}

/// A mapping list of one range.
fn range(container: u32, host: u32, size: u32) -> Value {
    json!([{"containerID": container, "hostID": host, "size": size}])
}

/// (uid, gid) of a probe `access` entry.
#[track_caller]
fn owner_inside(access: &Value, path: &str) -> (u64, u64) {
    let v = access_of(access, path);
    assert_eq!(v["exists"], true, "{path}: {v}");
    (v["uid"].as_u64().unwrap(), v["gid"].as_u64().unwrap())
}

/// (uid, gid) of a host file.
#[track_caller]
fn owner_on_host(path: &Path) -> (u64, u64) {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (u64::from(meta.uid()), u64::from(meta.gid()))
}

/// Runs the probe calls of [`calls`] and returns their two JSON lines. Every mount point is in
/// the image already: root of a user namespace cannot create one in a rootfs of host root's.
fn run_probes(ctx: &Ctx, spec: &Spec) -> (Value, Value) {
    let bundle = ctx.bundle(spec);
    for m in spec.mounts().iter().flatten() {
        let point = m.destination().strip_prefix("/").unwrap_or(m.destination());
        std::fs::create_dir_all(bundle.join("rootfs").join(point)).unwrap();
    }
    let out = ctx.run(&bundle).1;
    let lines = json_lines(&out.ok().stdout);
    (lines[0].clone(), lines[1].clone())
}

fn calls<'a>(read: &[&'a str], create: &[&'a str]) -> Vec<Vec<&'a str>> {
    let mut access = vec!["access"];
    access.extend_from_slice(read);
    let mut touch = vec!["touch"];
    touch.extend_from_slice(create);
    vec![access, touch]
}

fn as_slices<'a>(calls: &'a [Vec<&'a str>]) -> Vec<&'a [&'a str]> {
    calls.iter().map(Vec::as_slice).collect()
}

/// A container in a user namespace of its own mapping 0-65535 to host 100000-165535 (no
/// network namespace: `/sys` is bound from the host), running the probe calls.
fn userns_spec(calls: &[&[&str]]) -> Spec {
    let args = probes_spec(calls)
        .process()
        .as_ref()
        .and_then(|p| p.args().clone())
        .expect("probe args");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    edit(
        &bundle_fixtures::rootless_spec(&args, USERNS_BASE, USERNS_BASE),
        |v| {
            v["linux"]["uidMappings"] = range(0, USERNS_BASE, 65536);
            v["linux"]["gidMappings"] = range(0, USERNS_BASE, 65536);
        },
    )
}

/// In a container with a user namespace (0 -> 100000, 65536 ids): a bind with its own
/// mappings (container 1000 -> host 100000) shows a host file of 1000 as root's and stores
/// root's new file as 1000; `idmap` without mappings takes the container's (a file of 1000 is
/// 1000 inside, root's new file is 0 on the host); a plain bind shows 1000 as the overflow id.
#[test]
fn idmapped_bind_in_a_user_namespace() {
    if skip_for_runc(RUNC_LACKS_IDMAP) {
        return;
    }
    let ctx = Ctx::new("idmap-userns");
    let (explicit, implied, plain) = (
        host_dir(&ctx, "explicit", 1000),
        host_dir(&ctx, "implied", 1000),
        host_dir(&ctx, "plain", 1000),
    );
    let calls = calls(
        &["/explicit/owned", "/implied/owned", "/plain/owned"],
        &["/explicit/made", "/implied/made", "/plain/made"],
    );
    let spec = with_mounts(
        &userns_spec(&as_slices(&calls)),
        json!([
            {"destination": "/explicit", "type": "bind", "source": explicit,
             "options": ["bind", "idmap"],
             "uidMappings": range(1000, USERNS_BASE, 65536),
             "gidMappings": range(1000, USERNS_BASE, 65536)},
            {"destination": "/implied", "type": "bind", "source": implied,
             "options": ["rbind", "idmap"]},
            {"destination": "/plain", "type": "bind", "source": plain, "options": ["bind"]},
        ]),
    );
    let (access, touch) = run_probes(&ctx, &spec);
    assert_eq!(owner_inside(&access, "/explicit/owned"), (0, 0));
    assert_eq!(owner_inside(&access, "/implied/owned"), (1000, 1000));
    assert_eq!(owner_inside(&access, "/plain/owned"), (65534, 65534));
    for made in ["/explicit/made", "/implied/made", "/plain/made"] {
        assert_eq!(touch[made], "ok", "{made}: {touch}");
    }
    assert_eq!(owner_on_host(&explicit.join("made")), (1000, 1000));
    assert_eq!(owner_on_host(&implied.join("made")), (0, 0));
    let base = u64::from(USERNS_BASE);
    assert_eq!(owner_on_host(&plain.join("made")), (base, base));
    // The mapping belongs to the mounts inside: the host files keep their owners.
    assert_eq!(owner_on_host(&explicit.join("owned")), (1000, 1000));
}

/// Without a user namespace in the container (the spec requires one only for `idmap` without
/// mappings): container 0 -> host 2000 makes a host file of 7 show as 2007, and the file user
/// 2005 creates lands on the host as 5.
#[test]
fn idmapped_bind_without_a_user_namespace() {
    if skip_for_runc(RUNC_LACKS_IDMAP) {
        return;
    }
    let ctx = Ctx::new("idmap-no-userns");
    let shared = host_dir(&ctx, "shared", 7);
    let calls = calls(&["/mapped/owned", "/plain/owned"], &["/mapped/made"]);
    let spec = edit(
        &with_mounts(
            &probes_spec(&as_slices(&calls)),
            json!([
                {"destination": "/mapped", "type": "bind", "source": shared,
                 "options": ["bind"],
                 "uidMappings": range(0, 2000, 1000), "gidMappings": range(0, 2000, 1000)},
                {"destination": "/plain", "type": "bind", "source": shared, "options": ["bind"]},
            ]),
        ),
        |v| v["process"]["user"] = json!({"uid": 2005, "gid": 2005}),
    );
    let (access, touch) = run_probes(&ctx, &spec);
    assert_eq!(owner_inside(&access, "/mapped/owned"), (2007, 2007));
    assert_eq!(owner_inside(&access, "/plain/owned"), (7, 7));
    assert_eq!(touch["/mapped/made"], "ok", "{touch}");
    assert_eq!(owner_on_host(&shared.join("made")), (5, 5));
}

/// `rbind` of a host dir with a host bind mount below it: `ridmap` maps the mount below too,
/// `idmap` only the top one (config.md: "the mapping is applied recursively").
#[test]
fn ridmap_maps_the_mounts_below_and_idmap_only_the_bind() {
    if skip_for_runc(RUNC_LACKS_IDMAP) {
        return;
    }
    let ctx = Ctx::new("idmap-recursive");
    let outer = host_dir(&ctx, "outer", 1000);
    let inner = host_dir(&ctx, "inner", 1000);
    ctx.host_bind(&inner, &outer.join("sub"));
    let paths = [
        "/idmap/owned",
        "/idmap/sub/owned",
        "/ridmap/owned",
        "/ridmap/sub/owned",
    ];
    let spec = with_mounts(
        &probe_spec(&[&["access"][..], &paths[..]].concat()),
        json!([
            {"destination": "/idmap", "type": "bind", "source": outer,
             "options": ["rbind", "idmap"],
             "uidMappings": range(0, 2000, 65536), "gidMappings": range(0, 2000, 65536)},
            {"destination": "/ridmap", "type": "bind", "source": outer,
             "options": ["rbind", "ridmap"],
             "uidMappings": range(0, 2000, 65536), "gidMappings": range(0, 2000, 65536)},
        ]),
    );
    let access = ctx.run_probe(&spec);
    assert_eq!(owner_inside(&access, "/idmap/owned"), (3000, 3000));
    assert_eq!(
        owner_inside(&access, "/idmap/sub/owned"),
        (1000, 1000),
        "idmap leaves the mount below unmapped"
    );
    assert_eq!(owner_inside(&access, "/ridmap/owned"), (3000, 3000));
    assert_eq!(owner_inside(&access, "/ridmap/sub/owned"), (3000, 3000));
}

/// Refused with a one-line error naming the field, nothing left behind: mappings on a tmpfs
/// mount, uidMappings without gidMappings, `idmap` without mappings in a container without a
/// user namespace, and a source whose filesystem cannot be idmapped (a host ramfs).
#[test]
fn idmapped_mount_requests_that_cannot_work_are_refused() {
    if skip_for_runc(RUNC_LACKS_IDMAP) {
        return;
    }
    let ctx = Ctx::new("idmap-refused");
    let dir = host_dir(&ctx, "dir", 1000);
    let ramfs = ctx.dir().join("ramfs");
    ctx.host_fs("ramfs", &ramfs);
    let maps = range(0, 2000, 1000);
    let cases = [
        (
            json!({"destination": "/t", "type": "tmpfs", "source": "tmpfs",
                   "uidMappings": maps, "gidMappings": maps}),
            "uidMappings",
            "bind mounts only",
        ),
        (
            json!({"destination": "/t", "type": "bind", "source": dir, "options": ["bind"],
                   "uidMappings": maps}),
            "gidMappings",
            "required along with uidMappings",
        ),
        (
            json!({"destination": "/t", "type": "bind", "source": dir,
                   "options": ["bind", "idmap"]}),
            "options",
            "needs a user namespace",
        ),
        (
            json!({"destination": "/t", "type": "bind", "source": ramfs, "options": ["bind"],
                   "uidMappings": maps, "gidMappings": maps}),
            "source",
            "does not support idmapped mounts",
        ),
    ];
    for (mount, field, reason) in cases {
        let spec = with_mounts(&probe_spec(&["report"]), json!([mount]));
        let index = spec.mounts().as_ref().unwrap().len() - 1;
        let (id, out) = ctx.run(&ctx.bundle(&spec));
        let line = out.failed().one_line_error().to_string();
        let field = format!("mounts[{index}].{field}");
        assert!(line.contains(&field), "{field} not named: {line}");
        assert!(line.contains(reason), "{reason:?} not said: {line}");
        if field.ends_with("source") {
            assert!(line.contains(&ramfs.display().to_string()), "{line}");
        }
        ctx.assert_gone(&id);
    }
    assert_eq!(owner_on_host(&dir.join("owned")), (1000, 1000));
}
