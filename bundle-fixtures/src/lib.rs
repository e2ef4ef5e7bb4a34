//! Reproducible OCI test bundles for berth's tests, demos and benchmarks.
//!
//! A bundle is a directory with `config.json` and `rootfs/`. The rootfs is built only from
//! Debian's `busybox-static` and berth's own static `berth-probe`:
//!
//! ```text
//! rootfs/bin/busybox            copy of /bin/busybox (installed with apt-get if missing)
//! rootfs/bin/<applet>           -> busybox, for every name `busybox --list` prints
//! rootfs/bin/berth-probe        the probe (see `src/bin/berth-probe.rs` for what it reports)
//! rootfs/etc/passwd, etc/group  root (0) and nobody (1000)
//! rootfs/{proc,sys,dev,tmp,root} empty directories (tmp is 1777)
//! ```
//!
//! The API is three steps: take [`base_spec`] (or [`rootless_spec`]), mutate it, then
//! [`create_bundle`] (rootfs + config) or [`write_config`] (config only, to rewrite it).
//!
//! ```no_run
//! let dir = std::path::Path::new("/tmp/my-bundle");
//! let mut spec = bundle_fixtures::base_spec(&["/bin/berth-probe"]);
//! spec.set_hostname(Some("probe".into()));
//! bundle_fixtures::create_bundle(dir, &spec).unwrap();
//! ```
//!
//! The probe is found by [`probe_path`]: `$BERTH_PROBE`, else a STATIC `berth-probe` next to
//! the current executable or in the workspace's `target/` directories (the newest wins).

use anyhow::{bail, Context, Result};
use oci_spec::runtime::Spec;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Where the probe lives inside every fixture rootfs.
pub const PROBE_IN_ROOTFS: &str = "/bin/berth-probe";

/// Host path of the busybox binary copied into fixtures (Debian's `busybox-static`).
pub const HOST_BUSYBOX: &str = "/bin/busybox";

/// Docker's default seccomp profile as the `linux.seccomp` object dockerd puts in an amd64
/// container's config.json when the container has Docker's default capabilities
/// (`seccomp/docker-default.json`, written for berth after moby's `profiles/seccomp`):
/// `SCMP_ACT_ERRNO` (EPERM) by default, a long allow list, `socket` without `AF_VSOCK`, five
/// `personality` values, `clone` without namespace flags and `clone3` failing with ENOSYS.
/// Everything else (`unshare`, `mount`, `setns`, `kexec_load`, `keyctl`, `bpf`, ...) is denied
/// by its absence.
pub const DOCKER_DEFAULT_SECCOMP: &str = include_str!("../seccomp/docker-default.json");

/// The `config.json` the fixtures start from: `runc spec` (runc 1.1) with `terminal: false`,
/// a writable root (tests write into it; set `root.readonly` to test that), hostname `berth`,
/// and without the `/sys/fs/cgroup` mount. `process.args` is replaced by the caller's.
const BASE_CONFIG: &str = r#"{
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": false},
  "hostname": "berth",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                   {"type": "mount"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                    "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}"#;

/// The base spec (see the module doc) running `args`.
pub fn base_spec(args: &[&str]) -> Spec {
    let mut spec: Spec = serde_json::from_str(BASE_CONFIG).expect("BASE_CONFIG is a valid spec");
    if let Some(p) = spec.process_mut() {
        p.set_args(Some(args.iter().map(|a| a.to_string()).collect()));
    }
    spec
}

/// Like `runc spec --rootless`: [`base_spec`] plus a user namespace mapping container root to
/// `uid`/`gid`, no network namespace, no cgroup resources, devpts without `gid=5`, and `/sys`
/// bind-mounted from the host (a user namespace cannot mount sysfs without its own netns).
pub fn rootless_spec(args: &[&str], uid: u32, gid: u32) -> Spec {
    let mut v: serde_json::Value = serde_json::to_value(base_spec(args)).expect("serialize spec");
    let linux = &mut v["linux"];
    linux["namespaces"] = serde_json::json!([
        {"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "user"}
    ]);
    linux["uidMappings"] = serde_json::json!([{"containerID": 0, "hostID": uid, "size": 1}]);
    linux["gidMappings"] = serde_json::json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    linux
        .as_object_mut()
        .expect("linux object")
        .remove("resources");
    for m in v["mounts"].as_array_mut().expect("mounts array") {
        match m["destination"].as_str() {
            Some("/dev/pts") => m["options"]
                .as_array_mut()
                .expect("options")
                .retain(|o| o != "gid=5"),
            Some("/sys") => {
                m["type"] = "none".into();
                m["source"] = "/sys".into();
                m["options"] = serde_json::json!(["rbind", "nosuid", "noexec", "nodev", "ro"]);
            }
            _ => {}
        }
    }
    serde_json::from_value(v).expect("rootless spec is valid")
}

/// Writes `dir/config.json` (creating `dir`), pretty-printed.
pub fn write_config(dir: &Path, spec: &Spec) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("config.json");
    let json = serde_json::to_string_pretty(spec)?;
    std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))
}

/// Builds `dir/rootfs` (see the module doc) and writes `dir/config.json` from `spec`.
/// `spec.root.path` should stay `rootfs`.
pub fn create_bundle(dir: &Path, spec: &Spec) -> Result<()> {
    build_rootfs(&dir.join("rootfs"))?;
    write_config(dir, spec)
}

/// Creates the fixture root filesystem at `rootfs` (which must not exist yet or be empty).
pub fn build_rootfs(rootfs: &Path) -> Result<()> {
    let busybox = busybox()?;
    let probe = probe_path()?;
    for d in ["bin", "etc", "proc", "sys", "dev", "tmp", "root"] {
        std::fs::create_dir_all(rootfs.join(d))
            .with_context(|| format!("creating {}", rootfs.join(d).display()))?;
    }
    set_mode(rootfs, 0o755)?;
    set_mode(&rootfs.join("tmp"), 0o1777)?;
    set_mode(&rootfs.join("root"), 0o700)?;
    let bin = rootfs.join("bin");
    copy_executable(&busybox.path, &bin.join("busybox"))?;
    copy_executable(&probe, &bin.join("berth-probe"))?;
    for applet in &busybox.applets {
        let link = bin.join(applet);
        if !link.exists() {
            symlink("busybox", &link).with_context(|| format!("linking {}", link.display()))?;
        }
    }
    let etc = rootfs.join("etc");
    std::fs::write(
        etc.join("passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:1000:1000:nobody:/nonexistent:/bin/false\n",
    )?;
    std::fs::write(etc.join("group"), "root:x:0:\nnobody:x:1000:\n")?;
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {:o} {}", mode, path.display()))
}

fn copy_executable(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    set_mode(to, 0o755)
}

struct Busybox {
    path: PathBuf,
    applets: Vec<String>,
}

/// The host busybox and its applet list, computed once per process.
fn busybox() -> Result<&'static Busybox> {
    static BUSYBOX: OnceLock<std::result::Result<Busybox, String>> = OnceLock::new();
    BUSYBOX
        .get_or_init(|| load_busybox().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn load_busybox() -> Result<Busybox> {
    let path = PathBuf::from(HOST_BUSYBOX);
    if !path.exists() {
        eprintln!(
            "bundle-fixtures: {HOST_BUSYBOX} is missing; installing Debian's busybox-static \
             with apt-get (needs root)"
        );
        let ok = Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "busybox-static"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok || !path.exists() {
            bail!(
                "{HOST_BUSYBOX} not found and `apt-get install busybox-static` failed; \
                 install it by hand (apt-get update && apt-get install busybox-static)"
            );
        }
    }
    let out = Command::new(&path)
        .arg("--list")
        .output()
        .with_context(|| format!("running {HOST_BUSYBOX} --list"))?;
    if !out.status.success() {
        bail!("{HOST_BUSYBOX} --list failed: {}", out.status);
    }
    let applets = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "busybox" && !a.contains('/'))
        .map(str::to_string)
        .collect();
    Ok(Busybox { path, applets })
}

/// Locates a statically linked `berth-probe`: `$BERTH_PROBE` if set, else the newest static
/// one next to the current executable (or its parent dir, for test binaries in `deps/`) or in
/// the workspace's `target/{x86_64-unknown-linux-gnu/release,release,debug}` (or under
/// `$CARGO_TARGET_DIR`).
pub fn probe_path() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("BERTH_PROBE") {
        let p = PathBuf::from(p);
        if !p.is_file() {
            bail!("BERTH_PROBE={} does not exist", p.display());
        }
        if !is_static_elf(&p)? {
            bail!(
                "BERTH_PROBE={} is dynamically linked; it must be static to run in the \
                 busybox rootfs (build it with `make build`)",
                p.display()
            );
        }
        return Ok(p);
    }
    let candidates = probe_candidates();
    let mut dynamic = Vec::new();
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    for c in candidates.iter().filter(|c| c.is_file()) {
        if !is_static_elf(c).unwrap_or(false) {
            dynamic.push(c.display().to_string());
            continue;
        }
        let mtime = std::fs::metadata(c)
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH);
        if best.as_ref().is_none_or(|(t, _)| mtime > *t) {
            best = Some((mtime, c.clone()));
        }
    }
    match best {
        Some((_, p)) => Ok(p),
        None => bail!(
            "no static berth-probe found (looked at: {}{}); run `make build` or set BERTH_PROBE \
             to a static berth-probe",
            candidates
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if dynamic.is_empty() {
                String::new()
            } else {
                format!("; dynamically linked, unusable: {}", dynamic.join(", "))
            }
        ),
    }
}

fn probe_candidates() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.extend(exe_dir.parent().map(Path::to_path_buf));
        dirs.push(exe_dir);
    }
    let mut targets: Vec<PathBuf> = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    targets.push(workspace_root().join("target"));
    for t in targets {
        for sub in ["x86_64-unknown-linux-gnu/release", "release", "debug"] {
            dirs.push(t.join(sub));
        }
    }
    let mut out: Vec<PathBuf> = Vec::new();
    for d in dirs {
        let p = d.join("berth-probe");
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// The cargo workspace this crate was built in (parent of `bundle-fixtures/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bundle-fixtures has a parent dir")
        .to_path_buf()
}

/// True if `path` is an ELF64 executable without a PT_INTERP program header (no dynamic loader).
pub fn is_static_elf(path: &Path) -> Result<bool> {
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let u16_at = |o: usize| {
        data.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |o: usize| {
        data.get(o..o + 4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    };
    let u64_at = |o: usize| {
        data.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
    };
    if data.get(0..5) != Some(b"\x7fELF\x02") {
        bail!("{} is not an ELF64 file", path.display());
    }
    const PT_INTERP: u32 = 3;
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        bail!("{} has a truncated ELF header", path.display());
    };
    for i in 0..phnum {
        match u32_at(phoff + i * phentsize) {
            Some(PT_INTERP) => return Ok(false),
            Some(_) => {}
            None => bail!("{} has truncated program headers", path.display()),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxNamespaceType;

    #[test]
    fn base_spec_is_runc_like() {
        let spec = base_spec(&["/bin/true"]);
        let p = spec.process().as_ref().unwrap();
        assert_eq!(p.args().as_ref().unwrap(), &vec!["/bin/true".to_string()]);
        assert_eq!(p.terminal(), Some(false));
        let dests: Vec<_> = spec
            .mounts()
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| m.destination().display().to_string())
            .collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/dev/shm",
                "/dev/mqueue",
                "/sys"
            ]
        );
        let ns = spec
            .linux()
            .as_ref()
            .unwrap()
            .namespaces()
            .as_ref()
            .unwrap();
        assert_eq!(ns.len(), 5);
    }

    #[test]
    fn rootless_spec_maps_root_and_drops_netns() {
        let spec = rootless_spec(&["sh"], 1000, 1001);
        let linux = spec.linux().as_ref().unwrap();
        let types: Vec<LinuxNamespaceType> = linux
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .map(|n| n.typ())
            .collect();
        assert!(types.contains(&LinuxNamespaceType::User), "{types:?}");
        assert!(!types.contains(&LinuxNamespaceType::Network), "{types:?}");
        assert_eq!(linux.uid_mappings().as_ref().unwrap()[0].host_id(), 1000);
        assert_eq!(linux.gid_mappings().as_ref().unwrap()[0].host_id(), 1001);
        assert!(linux.resources().is_none());
    }

    #[test]
    fn host_busybox_is_static() {
        assert!(is_static_elf(Path::new(HOST_BUSYBOX)).unwrap());
        assert!(!is_static_elf(Path::new("/usr/bin/env")).unwrap());
    }
}
