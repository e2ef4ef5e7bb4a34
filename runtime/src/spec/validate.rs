//! The checks a configuration must pass before berth creates anything for it.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Process, Spec};

use crate::error::{Error, Result};

/// Validates `spec` for a container of the bundle at `bundle`; returns the absolute rootfs path.
pub fn validate(spec: &Spec, bundle: &Path) -> Result<PathBuf> {
    check_version(spec.version())?;
    let rootfs = check_root(spec, bundle)?;
    check_process(spec)?;
    check_mounts(spec)?;
    check_linux(spec)?;
    Ok(rootfs)
}

fn check_version(version: &str) -> Result<()> {
    let major = version.split('.').next().unwrap_or_default();
    if major != "1" {
        return Err(Error::config(
            "ociVersion",
            format!("unsupported version \"{version}\": berth implements runtime-spec 1.x"),
        ));
    }
    Ok(())
}

fn check_root(spec: &Spec, bundle: &Path) -> Result<PathBuf> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| Error::config("root", "required on Linux"))?;
    let rootfs = bundle.join(root.path());
    match std::fs::metadata(&rootfs) {
        Ok(m) if m.is_dir() => Ok(rootfs),
        Ok(_) => Err(Error::config(
            "root.path",
            format!("{} is not a directory", rootfs.display()),
        )),
        Err(e) => Err(Error::config(
            "root.path",
            format!("{}: {e}", rootfs.display()),
        )),
    }
}

fn check_process(spec: &Spec) -> Result<()> {
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::config("process", "required to create a container"))?;
    validate_process(process)
}

/// The runtime-spec's requirements on a process: a program, absolute `cwd`, each rlimit once;
/// and an LSM label only where berth can honour it (nowhere yet: the error says whether the
/// host lacks the LSM or berth does).
pub fn validate_process(process: &Process) -> Result<()> {
    let lsm_requests = [
        (
            "process.apparmorProfile",
            process.apparmor_profile(),
            "/sys/kernel/security/apparmor",
            "AppArmor",
        ),
        (
            "process.selinuxLabel",
            process.selinux_label(),
            "/sys/fs/selinux/enforce",
            "SELinux",
        ),
    ];
    for (field, requested, marker, lsm) in lsm_requests {
        if requested.as_deref().is_some_and(|p| !p.is_empty()) {
            let reason = if Path::new(marker).exists() {
                format!("applying {lsm} labels is not supported by berth yet")
            } else {
                format!("this host has no {lsm}")
            };
            return Err(Error::config(field, reason));
        }
    }
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::config("process.args", "must name a program to run"));
    }
    let mut seen = Vec::new();
    for rlimit in process.rlimits().iter().flatten() {
        if seen.contains(&rlimit.typ()) {
            return Err(Error::config(
                "process.rlimits",
                format!("{:?} is listed twice", rlimit.typ()),
            ));
        }
        seen.push(rlimit.typ());
    }
    if !process.cwd().is_absolute() {
        return Err(Error::config(
            "process.cwd",
            format!("\"{}\" must be an absolute path", process.cwd().display()),
        ));
    }
    Ok(())
}

fn check_mounts(spec: &Spec) -> Result<()> {
    for (i, mount) in spec.mounts().iter().flatten().enumerate() {
        let destination = mount.destination();
        let field = format!("mounts[{i}].destination");
        // A relative destination is deprecated but allowed: it is relative to "/" (config.md).
        if escapes_root(&Path::new("/").join(destination)) {
            return Err(Error::config(
                field,
                format!(
                    "\"{}\" climbs out of the root filesystem",
                    destination.display()
                ),
            ));
        }
    }
    Ok(())
}

/// True when `..` components take `path` above `/`.
fn escapes_root(path: &Path) -> bool {
    let mut depth = 0i32;
    for component in path.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

fn check_linux(spec: &Spec) -> Result<()> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let mut seen = HashSet::new();
    for ns in linux.namespaces().iter().flatten() {
        if !seen.insert(ns.typ()) {
            return Err(Error::config(
                "linux.namespaces",
                format!("namespace type \"{}\" is listed twice", ns.typ()),
            ));
        }
        if let Some(path) = ns.path() {
            if !path.is_absolute() {
                return Err(Error::config(
                    "linux.namespaces",
                    format!(
                        "path \"{}\" of the {} namespace must be absolute",
                        path.display(),
                        ns.typ()
                    ),
                ));
            }
        }
    }
    let has = |t: LinuxNamespaceType| seen.contains(&t);
    let new_user_ns = linux
        .namespaces()
        .iter()
        .flatten()
        .any(|ns| ns.typ() == LinuxNamespaceType::User && ns.path().is_none());
    let has_mappings = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if new_user_ns && !has_mappings {
        return Err(Error::config(
            "linux.uidMappings",
            "required when a new user namespace is created",
        ));
    }
    if has_mappings && !has(LinuxNamespaceType::User) {
        return Err(Error::config(
            "linux.uidMappings",
            "set, but no user namespace is configured",
        ));
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(Error::config(
            "hostname",
            "cannot be set without a private UTS namespace",
        ));
    }
    for key in linux.sysctl().iter().flat_map(|s| s.keys()) {
        check_sysctl(key, &has)?;
    }
    Ok(())
}

/// A sysctl may be set only when it belongs to a namespace the container has its own of.
fn check_sysctl(key: &str, has: &dyn Fn(LinuxNamespaceType) -> bool) -> Result<()> {
    let needed = if key.starts_with("net.") {
        LinuxNamespaceType::Network
    } else if key.starts_with("fs.mqueue.")
        || [
            "kernel.msgmax",
            "kernel.msgmnb",
            "kernel.msgmni",
            "kernel.sem",
        ]
        .contains(&key)
        || [
            "kernel.shmall",
            "kernel.shmmax",
            "kernel.shmmni",
            "kernel.shm_rmid_forced",
        ]
        .contains(&key)
    {
        LinuxNamespaceType::Ipc
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        LinuxNamespaceType::Uts
    } else {
        return Err(Error::config(
            "linux.sysctl",
            format!("\"{key}\" is not namespaced and cannot be set for a container"),
        ));
    };
    if !has(needed) {
        return Err(Error::config(
            "linux.sysctl",
            format!("\"{key}\" needs a private {needed} namespace"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn climbing_above_root_is_detected() {
        assert!(escapes_root(Path::new("/../etc")));
        assert!(escapes_root(Path::new("/a/../../etc")));
        assert!(!escapes_root(Path::new("/a/../etc")));
        assert!(!escapes_root(Path::new("/proc")));
    }

    #[test]
    fn major_version_two_is_refused() {
        assert!(check_version("1.2.0").is_ok());
        let err = check_version("2.0.0").unwrap_err().to_string();
        assert!(err.starts_with("ociVersion:"), "{err}");
    }

    #[test]
    fn unnamespaced_sysctl_is_refused() {
        let all = |_| true;
        assert!(check_sysctl("net.ipv4.ip_forward", &all).is_ok());
        assert!(check_sysctl("vm.swappiness", &all).is_err());
        let none = |_| false;
        assert!(check_sysctl("kernel.shmmax", &none).is_err());
    }
}
