//! Idmapped bind mounts (config.md Mounts: `uidMappings`/`gidMappings`, options `idmap` and
//! `ridmap`). The runtime makes each one before the container exists, where it holds
//! CAP_SYS_ADMIN over the source's filesystem (a container in a user namespace of its own
//! does not): a detached bind of the source whose ids are mapped through a user namespace
//! (`open_tree`, `mount_setattr(MOUNT_ATTR_IDMAP)`). The container process only attaches it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxIdMapping, Mount, Spec};

use super::mounts::{bind_source, detached_bind, is_bind, BIND_FLAGS};
use super::options::{self, Idmap};
use crate::container::namespaces::NamespacePlan;
use crate::error::{Context, Error, Result};
use crate::sys::{self, mount_attr, MountAttr};

/// The idmapped binds of a container, by index in `mounts`, each detached and ready to attach.
#[derive(Debug, Default)]
pub struct IdmappedMounts {
    trees: RefCell<BTreeMap<usize, OwnedFd>>,
}

/// Where the ids of an idmapped mount are mapped: the mount's own mappings, or the container's
/// user namespace.
#[derive(Debug, PartialEq, Eq)]
enum Mapping<'a> {
    /// Rendered `uid_map` and `gid_map` for a user namespace made for the mount.
    Maps(String, String),
    /// The user namespace the container joins.
    Joined(&'a Path),
}

/// One idmapped bind, checked.
#[derive(Debug)]
struct Request<'a> {
    mapping: Mapping<'a>,
    /// `ridmap`: the mapping applies to the mounts below the bind too.
    recursive_map: bool,
}

impl IdmappedMounts {
    /// Checks the idmapped mounts of `spec` and makes them. Nothing is made for a container
    /// that joins a mount namespace (it performs no `mounts`).
    pub fn prepare(spec: &Spec, bundle: &Path) -> Result<IdmappedMounts> {
        let plan = NamespacePlan::from_spec(spec);
        let made = IdmappedMounts::default();
        if plan.joins(CloneFlags::CLONE_NEWNS) {
            return Ok(made);
        }
        let mut namespaces: Vec<(Mapping<'_>, OwnedFd)> = Vec::new();
        for (i, m) in spec.mounts().iter().flatten().enumerate() {
            let Some(request) = request_of(i, m, spec, &plan)? else {
                continue;
            };
            if !nix::unistd::geteuid().is_root() {
                return Err(Error::config(
                    format!("mounts[{i}]"),
                    "idmapped mounts need root (CAP_SYS_ADMIN over the source's filesystem)",
                ));
            }
            let userns = match namespaces.iter().position(|(m, _)| *m == request.mapping) {
                Some(known) => &namespaces[known].1,
                None => {
                    let fd = user_namespace(i, &request.mapping)?;
                    namespaces.push((request.mapping, fd));
                    &namespaces[namespaces.len() - 1].1
                }
            };
            let tree = idmapped_bind(i, m, bundle, userns, request.recursive_map)?;
            made.trees.borrow_mut().insert(i, tree);
        }
        Ok(made)
    }

    /// The fds the container process must keep until it mounts them.
    pub fn raw_fds(&self) -> Vec<RawFd> {
        self.trees
            .borrow()
            .values()
            .map(|fd| fd.as_raw_fd())
            .collect()
    }

    /// Hands over the bind made for `mounts[index]`, if it is idmapped.
    pub(super) fn take(&self, index: usize) -> Option<OwnedFd> {
        self.trees.borrow_mut().remove(&index)
    }
}

/// What `m` (`mounts[i]`) asks for, if it is idmapped; the spec's rules on the combination.
fn request_of<'a>(
    i: usize,
    m: &Mount,
    spec: &'a Spec,
    plan: &'a NamespacePlan,
) -> Result<Option<Request<'a>>> {
    let idmap = options::parse(m.options().as_deref().unwrap_or_default()).idmap;
    let (uids, gids) = (m.uid_mappings().as_deref(), m.gid_mappings().as_deref());
    if uids.is_none() && gids.is_none() && idmap.is_none() {
        return Ok(None);
    }
    let field = |name: &str| format!("mounts[{i}].{name}");
    if !is_bind(m) {
        let name = if uids.is_some() {
            "uidMappings"
        } else if gids.is_some() {
            "gidMappings"
        } else {
            "options"
        };
        return Err(Error::config(
            field(name),
            "idmapped mounts are bind mounts only (options bind or rbind)",
        ));
    }
    let mapping = match (uids, gids) {
        (Some(uids), Some(gids)) => Mapping::Maps(
            rendered(uids).ok_or_else(|| Error::config(field("uidMappings"), "empty"))?,
            rendered(gids).ok_or_else(|| Error::config(field("gidMappings"), "empty"))?,
        ),
        (Some(_), None) => {
            return Err(Error::config(
                field("gidMappings"),
                "required along with uidMappings",
            ))
        }
        (None, Some(_)) => {
            return Err(Error::config(
                field("uidMappings"),
                "required along with gidMappings",
            ))
        }
        (None, None) => container_mapping(spec, plan).map_err(|reason| {
            Error::config(
                field("options"),
                format!("idmap without uidMappings and gidMappings {reason}"),
            )
        })?,
    };
    Ok(Some(Request {
        mapping,
        recursive_map: idmap == Some(Idmap::Recursive),
    }))
}

/// The container's own user namespace mapping, for `idmap`/`ridmap` without mappings.
fn container_mapping<'a>(
    spec: &'a Spec,
    plan: &'a NamespacePlan,
) -> std::result::Result<Mapping<'a>, &'static str> {
    if let Some((_, path)) = plan
        .join
        .iter()
        .find(|(flag, _)| *flag == CloneFlags::CLONE_NEWUSER)
    {
        return Ok(Mapping::Joined(path));
    }
    if !plan.create.contains(CloneFlags::CLONE_NEWUSER) {
        return Err("needs a user namespace in the container");
    }
    let linux = spec.linux().as_ref();
    let uids = linux.and_then(|l| l.uid_mappings().as_deref());
    let gids = linux.and_then(|l| l.gid_mappings().as_deref());
    match (uids.and_then(rendered), gids.and_then(rendered)) {
        (Some(uids), Some(gids)) => Ok(Mapping::Maps(uids, gids)),
        _ => Err("needs linux.uidMappings and linux.gidMappings"),
    }
}

/// The `uid_map`/`gid_map` text of `maps`; `None` when there are none.
fn rendered(maps: &[LinuxIdMapping]) -> Option<String> {
    let text: String = maps
        .iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect();
    (!text.is_empty()).then_some(text)
}

/// An fd of a user namespace with `mapping` (for `mounts[i]`). A new one is held by a child
/// made for the purpose while its maps are written and the namespace is opened, then killed.
fn user_namespace(i: usize, mapping: &Mapping<'_>) -> Result<OwnedFd> {
    let (uid_map, gid_map) = match mapping {
        Mapping::Joined(path) => {
            return File::open(path)
                .map(OwnedFd::from)
                .with_context(|| format!("linux.namespaces: open {}", path.display()))
        }
        Mapping::Maps(uids, gids) => (uids, gids),
    };
    let child = sys::clone3_fork(CloneFlags::CLONE_NEWUSER.bits() as u64, None)
        .with_context(|| format!("mounts[{i}]: create a user namespace"))?;
    let Some(pid) = child else { hold_namespace() };
    let opened = write_maps(i, pid, uid_map, gid_map).and_then(|()| {
        File::open(format!("/proc/{pid}/ns/user"))
            .map(OwnedFd::from)
            .with_context(|| format!("mounts[{i}]: open the user namespace"))
    });
    crate::container::spawn::kill_all(std::iter::once(pid));
    opened
}

/// The holder child: waits to be killed, or dies with the runtime.
fn hold_namespace() -> ! {
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    loop {
        nix::unistd::pause();
    }
}

fn write_maps(i: usize, pid: Pid, uid_map: &str, gid_map: &str) -> Result<()> {
    for (file, field, text) in [
        ("uid_map", "uidMappings", uid_map),
        ("gid_map", "gidMappings", gid_map),
    ] {
        std::fs::write(format!("/proc/{pid}/{file}"), text).map_err(|e| {
            Error::config(format!("mounts[{i}].{field}"), format!("write {file}: {e}"))
        })?;
    }
    Ok(())
}

/// A detached bind of `m`'s source with its ids mapped through `userns` (below it too with
/// `recursive_map`) and `m`'s bind flags set.
fn idmapped_bind(
    i: usize,
    m: &Mount,
    bundle: &Path,
    userns: &OwnedFd,
    recursive_map: bool,
) -> Result<OwnedFd> {
    let source = bind_source(m, bundle)?;
    let opts = options::parse(m.options().as_deref().unwrap_or_default());
    let in_context = |e: Error| Error::Setup(format!("mounts[{i}]: {e}"));
    let recursive_tree = opts.flags.contains(nix::mount::MsFlags::MS_REC);
    let tree =
        detached_bind(&source, recursive_tree, opts.flags & BIND_FLAGS).map_err(in_context)?;
    let attr = MountAttr {
        attr_set: mount_attr::IDMAP,
        userns_fd: userns.as_raw_fd() as u64,
        ..MountAttr::default()
    };
    match sys::mount_setattr(tree.as_fd(), &attr, recursive_map) {
        Ok(()) => Ok(tree),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Err(Error::config(
            format!("mounts[{i}].source"),
            format!(
                "{}: its filesystem does not support idmapped mounts",
                source.display()
            ),
        )),
        Err(e) => Err(in_context(Error::Io {
            context: format!("idmap {}", source.display()),
            source: e,
        })),
    }
}
