//! Where berth keeps what it knows of each container: one directory per id under `--root`,
//! holding `state.json` (written atomically) and the `exec.fifo` that `start` opens.

mod liveness;
mod store;

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use liveness::{process_start_time, LiveProcess};
pub use store::{live_status, validate_id, ContainerDir, Store};

/// The runtime-spec `State` of a container (what hooks and seccomp agents receive).
pub fn oci_state(
    id: &str,
    status: oci_spec::runtime::ContainerState,
    pid: i32,
    bundle: &std::path::Path,
    annotations: Option<&HashMap<String, String>>,
) -> oci_spec::runtime::State {
    let mut state = oci_spec::runtime::StateBuilder::default()
        .version(crate::SPEC_VERSION)
        .id(id)
        .status(status)
        .pid(pid)
        .bundle(bundle.to_path_buf());
    if let Some(annotations) = annotations {
        state = state.annotations(annotations.clone());
    }
    state.build().expect("every state field is set")
}

/// The lifecycle status of a container, as runtime.md names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Being created.
    Creating,
    /// Created, waiting for `start`.
    Created,
    /// The user process runs.
    Running,
    /// Frozen by `pause`.
    Paused,
    /// The container process has exited.
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        };
        f.write_str(name)
    }
}

/// What berth records of a container, in `state.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerState {
    /// Container id.
    pub id: String,
    /// Status as last recorded; [`ContainerDir::status`] reconciles it with the live process.
    pub status: Status,
    /// Host pid of the container process.
    pub pid: i32,
    /// Start time of that process (field 22 of /proc/PID/stat), so a reused pid is not mistaken
    /// for it.
    pub pid_start_time: u64,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    /// Absolute rootfs path.
    pub rootfs: PathBuf,
    /// Creation time, RFC 3339.
    pub created: String,
    /// Annotations from the config.
    pub annotations: HashMap<String, String>,
    /// The container's cgroup, relative to each hierarchy's root.
    pub cgroup_path: String,
}

/// The `state` document, runc's shape: runtime.md's fields plus rootfs, created and owner.
#[derive(Debug, Serialize)]
pub struct StateReport<'a> {
    #[serde(rename = "ociVersion")]
    oci_version: &'static str,
    id: &'a str,
    pid: i32,
    status: Status,
    bundle: &'a PathBuf,
    rootfs: &'a PathBuf,
    created: &'a str,
    owner: String,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    annotations: &'a HashMap<String, String>,
}

impl ContainerState {
    /// The pid shown to users: 0 once the container has stopped, as runc shows it.
    pub fn reported_pid(&self, status: Status) -> i32 {
        if status == Status::Stopped {
            0
        } else {
            self.pid
        }
    }

    /// The report for `state` and `list`, given the live status.
    pub fn report(&self, status: Status) -> StateReport<'_> {
        StateReport {
            oci_version: crate::SPEC_VERSION,
            id: &self.id,
            pid: self.reported_pid(status),
            status,
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            owner: String::new(),
            annotations: &self.annotations,
        }
    }
}
