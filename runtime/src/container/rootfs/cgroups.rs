//! The `cgroup` mount inside a container: cgroup2 itself where the host is pure v2 and the
//! container has its own cgroup namespace; otherwise a tmpfs holding a bind mount of the
//! container's own cgroup directory from each host hierarchy (v1 and hybrid hosts), as runc does.

use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};
use procfs::process::Process;

use super::mounts::bind;
use super::options::MountOptions;
use super::paths::{fd_path, Node, RootDir};
use crate::error::{Context, Error, Result};

/// One hierarchy the process belongs to, as seen from the host.
#[derive(Debug, Clone)]
struct Hierarchy {
    /// Name under the container's cgroup mount (`memory`, `cpu,cpuacct`, `unified`, ...).
    name: String,
    /// The process's cgroup directory in the host's mount of this hierarchy.
    host_dir: PathBuf,
}

/// The host's cgroup hierarchies and this process's place in them, read before the process
/// enters a cgroup namespace (which would hide the host paths).
#[derive(Debug, Clone, Default)]
pub struct HostCgroups {
    hierarchies: Vec<Hierarchy>,
    pure_v2: bool,
}

impl HostCgroups {
    /// Reads /proc/self/cgroup and /proc/self/mountinfo.
    pub fn read() -> Result<HostCgroups> {
        let me = Process::myself().map_err(proc_error)?;
        let memberships = me.cgroups().map_err(proc_error)?;
        let mounts = me.mountinfo().map_err(proc_error)?;
        let mut host = HostCgroups::default();
        for m in mounts.iter() {
            let controllers: Vec<&str> = match m.fs_type.as_str() {
                "cgroup2" => Vec::new(),
                "cgroup" => m
                    .super_options
                    .iter()
                    .filter_map(|(k, v)| match (k.as_str(), v) {
                        ("rw" | "ro", None) => None,
                        (name, None) => Some(name),
                        ("name", Some(name)) => Some(name.as_str()),
                        _ => None,
                    })
                    .collect(),
                _ => continue,
            };
            if m.fs_type == "cgroup2" && m.mount_point == Path::new("/sys/fs/cgroup") {
                host.pure_v2 = true;
            }
            let membership = memberships.0.iter().find(|c| {
                if controllers.is_empty() {
                    c.hierarchy == 0
                } else {
                    controllers.iter().all(|ctl| {
                        c.controllers
                            .iter()
                            .any(|have| have == ctl || have.strip_prefix("name=") == Some(ctl))
                    })
                }
            });
            let (Some(membership), Some(name)) = (membership, m.mount_point.file_name()) else {
                continue;
            };
            // The cgroup path is relative to the hierarchy's root; the mount may show a subtree.
            let Ok(relative) = Path::new(&membership.pathname).strip_prefix(&m.root) else {
                continue;
            };
            host.hierarchies.push(Hierarchy {
                name: name.to_string_lossy().into_owned(),
                host_dir: m.mount_point.join(relative),
            });
        }
        Ok(host)
    }

    /// Mounts the container's view of its cgroups at `destination`.
    pub fn mount(
        &self,
        root: &RootDir,
        destination: &Path,
        opts: &MountOptions,
        own_cgroup_ns: bool,
    ) -> Result<()> {
        let flags = opts.flags | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        if self.pure_v2 {
            if own_cgroup_ns {
                let target = root.create(destination, Node::Dir)?;
                return mount(
                    Some("cgroup2"),
                    &fd_path(&target),
                    Some("cgroup2"),
                    flags,
                    None::<&str>,
                )
                .context("mount cgroup2");
            }
            let own = self.hierarchies.first().ok_or_else(no_cgroup)?;
            let bind_opts = MountOptions {
                flags: flags | MsFlags::MS_BIND,
                ..MountOptions::default()
            };
            return bind(root, &own.host_dir, destination, &bind_opts);
        }
        let target = root.create(destination, Node::Dir)?;
        mount(
            Some("tmpfs"),
            &fd_path(&target),
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("mode=755"),
        )
        .context("mount tmpfs for cgroups")?;
        let bind_opts = MountOptions {
            flags: flags | MsFlags::MS_BIND,
            ..MountOptions::default()
        };
        for hierarchy in &self.hierarchies {
            bind(
                root,
                &hierarchy.host_dir,
                &destination.join(&hierarchy.name),
                &bind_opts,
            )?;
        }
        if flags.contains(MsFlags::MS_RDONLY) {
            let mounted = root.resolve(destination).context("reopen cgroup tmpfs")?;
            mount(
                None::<&str>,
                &fd_path(&mounted),
                None::<&str>,
                MsFlags::MS_REMOUNT | flags,
                Some("mode=755"),
            )
            .context("remount cgroup tmpfs read-only")?;
        }
        Ok(())
    }
}

fn no_cgroup() -> Error {
    Error::Setup("cgroup mount: this process belongs to no cgroup2 hierarchy".to_string())
}

fn proc_error(e: procfs::ProcError) -> Error {
    Error::Io {
        context: "read /proc/self".to_string(),
        source: std::io::Error::other(e.to_string()),
    }
}
