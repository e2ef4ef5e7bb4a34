//! `linux.cgroupsPath` semantics.

use std::path::{Component, Path};

use oci_spec::runtime::Spec;

use crate::error::{Error, Result};

/// The container's cgroup: a path relative to the root of each hierarchy, or with the systemd
/// driver (`--systemd-cgroup`) a `slice:prefix:name` unit, or "" (none) for an unprivileged
/// caller whose container sets no limits.
///
/// An absolute `cgroupsPath` is taken as is. A relative one is placed under the hierarchy
/// root (the "runtime-determined location" config-linux.md allows). Without one, the container
/// gets `/berth-<id>`, or with systemd `system.slice:berth:<id>` (the scope
/// `berth-<id>.scope` in `system.slice`), as runc does with its own name.
pub fn cgroup_path(spec: &Spec, id: &str, systemd: bool) -> Result<String> {
    if !nix::unistd::geteuid().is_root() && !systemd && !has_limits(spec) {
        // Rootless, as runc without a delegated cgroup: no cgroup at all when nothing needs one.
        return Ok(String::new());
    }
    let configured = spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref())
        .filter(|p| !p.as_os_str().is_empty());
    if systemd {
        if !Path::new("/run/systemd/system").exists() {
            return Err(Error::config(
                "--systemd-cgroup",
                "this host does not run systemd; run without --systemd-cgroup",
            ));
        }
        return systemd_unit(configured.map(|p| p.to_string_lossy()).as_deref(), id);
    }
    let Some(configured) = configured else {
        return Ok(format!("/berth-{id}"));
    };
    let mut clean = String::new();
    for component in configured.components() {
        match component {
            Component::Normal(name) => {
                clean.push('/');
                clean.push_str(&name.to_string_lossy());
            }
            Component::ParentDir => {
                return Err(Error::config(
                    "linux.cgroupsPath",
                    format!("\"{}\" must not contain \"..\"", configured.display()),
                ))
            }
            _ => {}
        }
    }
    if clean.is_empty() {
        return Err(Error::config(
            "linux.cgroupsPath",
            "names the root cgroup, which a container cannot own",
        ));
    }
    Ok(clean)
}

/// True when `linux.resources` asks for anything beyond the default device rules.
fn has_limits(spec: &Spec) -> bool {
    let Some(resources) = spec.linux().as_ref().and_then(|l| l.resources().as_ref()) else {
        return false;
    };
    let mut without_devices = resources.clone();
    without_devices.set_devices(None);
    without_devices != oci_spec::runtime::LinuxResources::default()
}

/// A `slice:prefix:name` unit for the systemd driver, checked as systemd will take it.
fn systemd_unit(configured: Option<&str>, id: &str) -> Result<String> {
    let Some(configured) = configured else {
        return Ok(format!("system.slice:berth:{id}"));
    };
    let invalid = |reason: &str| {
        Error::config(
            "linux.cgroupsPath",
            format!("\"{configured}\" with --systemd-cgroup: {reason}"),
        )
    };
    let [slice, _prefix, name] = configured.split(':').collect::<Vec<_>>()[..] else {
        return Err(invalid("expected slice:prefix:name"));
    };
    if !slice.is_empty() && !slice.ends_with(".slice") {
        return Err(invalid("the slice must end in \".slice\""));
    }
    if configured.contains('/') || name.is_empty() {
        return Err(invalid(
            "the unit name must be non-empty and contain no \"/\"",
        ));
    }
    // An empty slice means systemd's default, as runc reads it.
    Ok(if slice.is_empty() {
        format!("system.slice{configured}")
    } else {
        configured.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxBuilder;

    fn spec_with(path: Option<&str>) -> Spec {
        let mut spec = Spec::default();
        let mut linux = LinuxBuilder::default().build().unwrap();
        linux.set_cgroups_path(path.map(Into::into));
        spec.set_linux(Some(linux));
        spec
    }

    #[test]
    fn paths() {
        assert_eq!(
            cgroup_path(&spec_with(None), "c1", false).unwrap(),
            "/berth-c1"
        );
        assert_eq!(
            cgroup_path(&spec_with(Some("/a/b")), "c1", false).unwrap(),
            "/a/b"
        );
        assert_eq!(
            cgroup_path(&spec_with(Some("a//b/")), "c1", false).unwrap(),
            "/a/b"
        );
        assert!(cgroup_path(&spec_with(Some("/a/../b")), "c1", false).is_err());
        assert!(cgroup_path(&spec_with(Some("/")), "c1", false).is_err());
    }

    #[test]
    fn systemd_units() {
        let systemd_runs = Path::new("/run/systemd/system").exists();
        assert_eq!(
            cgroup_path(&spec_with(None), "c1", true).is_ok(),
            systemd_runs
        );
        assert_eq!(systemd_unit(None, "c1").unwrap(), "system.slice:berth:c1");
        assert_eq!(
            systemd_unit(Some(":cri:c1"), "c1").unwrap(),
            "system.slice:cri:c1"
        );
        for bad in [
            "/a/b",
            "a.slice:x",
            "nope:x:y",
            "a.slice:x:",
            "a.slice:x:y/z",
        ] {
            assert!(systemd_unit(Some(bad), "c1").is_err(), "{bad}");
        }
    }
}
