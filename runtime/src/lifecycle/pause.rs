//! `pause` and `resume`: freeze and thaw every process of a container.

use crate::error::{Error, Result};
use crate::resources::ContainerCgroup;
use crate::state::{Status, Store};

/// Freezes a running container.
pub fn pause(store: &Store, id: &str) -> Result<()> {
    let mut container = super::live(store, id)?;
    match container.status {
        Status::Running => {}
        Status::Paused => return Err(Error::InvalidState("container already paused".to_string())),
        _ => return Err(Error::NotRunning),
    }
    ContainerCgroup::open(&container.state.cgroup_path)?.freeze(true)?;
    container.state.status = Status::Paused;
    container.dir.save(&container.state)
}

/// Thaws a paused container.
pub fn resume(store: &Store, id: &str) -> Result<()> {
    let mut container = super::live(store, id)?;
    if container.status != Status::Paused {
        return Err(Error::InvalidState("container not paused".to_string()));
    }
    ContainerCgroup::open(&container.state.cgroup_path)?.freeze(false)?;
    container.state.status = Status::Running;
    container.dir.save(&container.state)
}
