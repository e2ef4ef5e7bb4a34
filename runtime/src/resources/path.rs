//! `linux.cgroupsPath` semantics.

use std::path::{Component, Path};

use oci_spec::runtime::Spec;

use crate::error::{Error, Result};

/// The container's cgroup path, relative to the root of each hierarchy.
///
/// An absolute `cgroupsPath` is taken as is. A relative one is placed under the hierarchy
/// root (the "runtime-determined location" config-linux.md allows). Without one, the container
/// gets `/berth-<id>`. `systemd` (`--systemd-cgroup`, `slice:prefix:name` paths) is refused
/// with the reason, since berth does not drive systemd yet.
pub fn cgroup_path(spec: &Spec, id: &str, systemd: bool) -> Result<String> {
    let configured = spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref())
        .filter(|p| !p.as_os_str().is_empty());
    if systemd {
        let reason = if Path::new("/run/systemd/system").exists() {
            "the systemd cgroup driver is not supported yet; run without --systemd-cgroup"
        } else {
            "this host does not run systemd; run without --systemd-cgroup"
        };
        return Err(Error::config("--systemd-cgroup", reason));
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
        assert!(cgroup_path(&spec_with(None), "c1", true).is_err());
    }
}
