//! Which namespaces a container creates and which it joins, and the calls that do it.

use std::fs::File;
use std::path::PathBuf;

use nix::sched::{setns, CloneFlags};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Context, Result};

/// The namespace layout of one container.
#[derive(Debug, Clone)]
pub struct NamespacePlan {
    /// Namespaces to create. The cgroup namespace is not here: see `create_cgroup`.
    pub create: CloneFlags,
    /// Create a cgroup namespace, which the container process does itself once it sits in its
    /// cgroup, so that the namespace's root is that cgroup.
    pub create_cgroup: bool,
    /// Namespaces to join by path, the user namespace first.
    pub join: Vec<(CloneFlags, PathBuf)>,
}

/// The clone flag of a namespace type.
pub fn clone_flag(typ: LinuxNamespaceType) -> CloneFlags {
    match typ {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

impl NamespacePlan {
    /// Reads `linux.namespaces`.
    pub fn from_spec(spec: &Spec) -> NamespacePlan {
        let mut plan = NamespacePlan {
            create: CloneFlags::empty(),
            create_cgroup: false,
            join: Vec::new(),
        };
        let namespaces = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
        for ns in namespaces.into_iter().flatten() {
            let flag = clone_flag(ns.typ());
            match ns.path() {
                Some(path) => plan.join.push((flag, path.clone())),
                None if flag == CloneFlags::CLONE_NEWCGROUP => plan.create_cgroup = true,
                None => plan.create |= flag,
            }
        }
        plan.join
            .sort_by_key(|(flag, _)| *flag != CloneFlags::CLONE_NEWUSER);
        plan
    }

    /// True when the container gets a namespace of this kind of its own, created or joined.
    pub fn has(&self, flag: CloneFlags) -> bool {
        self.create.contains(flag)
            || (flag == CloneFlags::CLONE_NEWCGROUP && self.create_cgroup)
            || self.join.iter().any(|(f, _)| *f == flag)
    }

    /// True when this namespace is joined by path.
    pub fn joins(&self, flag: CloneFlags) -> bool {
        self.join.iter().any(|(f, _)| *f == flag)
    }

    /// Joining namespaces (which must precede creating a user namespace) and time namespaces
    /// (whose offsets apply to children only) need a short-lived intermediate process; everything
    /// else is created by one `clone3`.
    pub fn needs_intermediate(&self) -> bool {
        !self.join.is_empty() || self.create.contains(clone_flag(LinuxNamespaceType::Time))
    }

    /// Joins every namespace listed by path. All are opened before any is entered, since
    /// entering the mount namespace changes what the paths mean.
    pub fn join_all(&self) -> Result<()> {
        let files = self
            .join
            .iter()
            .map(|(flag, path)| {
                File::open(path)
                    .with_context(|| format!("linux.namespaces: open {}", path.display()))
                    .map(|file| (*flag, file, path))
            })
            .collect::<Result<Vec<_>>>()?;
        for (flag, file, path) in files {
            setns(&file, flag)
                .with_context(|| format!("linux.namespaces: join {}", path.display()))?;
        }
        Ok(())
    }
}
