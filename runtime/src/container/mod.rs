//! Building a container: the parent side (`spawn`) clones the container process, which sets
//! itself up (`init`) while the two talk over one typed `channel`; `exec` adds a process to a
//! running container the same way.

mod channel;
mod exec;
mod init;
mod kernel_params;
pub mod namespaces;
mod process;
mod rootfs;
pub mod seccomp;
mod spawn;
pub mod terminal;

use std::os::fd::OwnedFd;

use crate::spec::Bundle;
use namespaces::NamespacePlan;

pub use exec::{spawn_exec, ExecSetup, Execed};
pub use rootfs::{is_mount_option, IdmappedMounts};
pub use spawn::{spawn, Spawned};

/// Everything the container process needs to set itself up; the child gets a copy when cloned.
#[derive(Debug)]
pub struct ContainerSetup<'a> {
    /// Container id (names the session keyring).
    pub id: &'a str,
    /// The validated bundle.
    pub bundle: &'a Bundle,
    /// Namespaces to create and join.
    pub namespaces: NamespacePlan,
    /// The exec fifo, opened read-write: the container process blocks reading it until `start`.
    pub exec_fifo: OwnedFd,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// `--no-new-keyring`.
    pub no_new_keyring: bool,
    /// How many fds from 3 up stay open in the container (`--preserve-fds` plus `LISTEN_FDS`).
    pub preserved_fds: u32,
    /// Environment added to `process.env` (socket activation variables).
    pub extra_env: Vec<String>,
    /// The compiled `linux.seccomp` profile, if any.
    pub seccomp: Option<seccomp::Program>,
    /// berth-init's image (`--init`), close-on-exec: exec'd instead of the user's program,
    /// which it then runs.
    pub init: Option<OwnedFd>,
    /// The idmapped binds of `mounts`, made by the runtime for the process to attach.
    pub idmapped: IdmappedMounts,
}
