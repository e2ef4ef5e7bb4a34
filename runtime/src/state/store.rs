//! The state directory tree: `<root>/<id>/state.json`, one locked directory per container.

use std::fs::{self, DirBuilder, File};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use nix::unistd::Pid;

use super::{ContainerState, LiveProcess, Status};
use crate::error::{Context, Error, Result};

const STATE_FILE: &str = "state.json";
const EXEC_FIFO: &str = "exec.fifo";

/// The `--root` directory.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// The store at `root`; nothing is touched until a container is created.
    pub fn new(root: &Path) -> Store {
        Store {
            root: root.to_path_buf(),
        }
    }

    /// Reserves `id` for a new container and locks it. Fails if the id is taken.
    pub fn create(&self, id: &str) -> Result<ContainerDir> {
        validate_id(id)?;
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .with_context(|| format!("create state root {}", self.root.display()))?;
        let path = self.root.join(id);
        match DirBuilder::new().mode(0o711).create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(Error::AlreadyExists(id.to_string()))
            }
            Err(e) => return Err(e).with_context(|| format!("create {}", path.display())),
        }
        ContainerDir::lock(id, path)
    }

    /// Opens and locks an existing container.
    pub fn open_container(&self, id: &str) -> Result<ContainerDir> {
        validate_id(id)?;
        let dir = ContainerDir::lock(id, self.root.join(id))?;
        // Deleted while we waited for the lock, or never finished creating.
        if !dir.path.join(STATE_FILE).exists() {
            return Err(Error::NotExist(id.to_string()));
        }
        Ok(dir)
    }

    /// Reads a container's state without locking (state files are replaced atomically).
    pub fn read(&self, id: &str) -> Result<ContainerState> {
        validate_id(id)?;
        read_state(&self.root.join(id), id)
    }

    /// Ids of every container with a state file, sorted (none when the root does not exist).
    pub fn ids(&self) -> Result<Vec<String>> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("read {}", self.root.display())),
        };
        let mut ids: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.path().join(STATE_FILE).exists())
            .filter_map(|entry| entry.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The `--root` directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The state directory of `id`.
    pub fn container_path(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Path of the exec fifo of `id`, for a container not locked by the caller.
    pub fn fifo_path(&self, id: &str) -> PathBuf {
        self.container_path(id).join(EXEC_FIFO)
    }

    /// Removes what a failed create may have left of `id` without a state file.
    pub fn remove_leftover(&self, id: &str) -> Result<()> {
        validate_id(id)?;
        let path = self.root.join(id);
        match fs::remove_dir_all(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                Err(e).with_context(|| format!("remove {}", path.display()))
            }
            _ => Ok(()),
        }
    }
}

/// Container ids follow runc's rule: letters, digits, `_ + - .`, not `.` or `..`.
/// Checks that `id` is a container id runc accepts, so that it is one path component.
pub fn validate_id(id: &str) -> Result<()> {
    let valid_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c));
    if id.is_empty() || !valid_chars || id == "." || id == ".." {
        return Err(Error::config(
            "container id",
            format!("invalid id format: \"{id}\""),
        ));
    }
    Ok(())
}

fn read_state(dir: &Path, id: &str) -> Result<ContainerState> {
    let bytes = match fs::read(dir.join(STATE_FILE)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(Error::NotExist(id.to_string())),
        Err(e) => return Err(e).with_context(|| format!("read state of {id}")),
    };
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::Setup(format!("state of container {id} is corrupt: {e}")))
}

/// A container's state directory, held under an exclusive lock for as long as this lives.
#[derive(Debug)]
pub struct ContainerDir {
    id: String,
    path: PathBuf,
    _lock: Flock<File>,
}

impl ContainerDir {
    fn lock(id: &str, path: PathBuf) -> Result<ContainerDir> {
        let dir = match File::open(&path) {
            Ok(dir) => dir,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::NotExist(id.to_string()))
            }
            Err(e) => return Err(e).with_context(|| format!("open {}", path.display())),
        };
        let lock = Flock::lock(dir, FlockArg::LockExclusive)
            .map_err(|(_, e)| e)
            .with_context(|| format!("lock container {id}"))?;
        Ok(ContainerDir {
            id: id.to_string(),
            path,
            _lock: lock,
        })
    }

    /// The container id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The fifo the container process waits on until `start`.
    pub fn fifo_path(&self) -> PathBuf {
        self.path.join(EXEC_FIFO)
    }

    /// Reads the recorded state.
    pub fn load(&self) -> Result<ContainerState> {
        read_state(&self.path, &self.id)
    }

    /// Replaces the state file atomically (write a temporary file, then rename).
    pub fn save(&self, state: &ContainerState) -> Result<()> {
        let tmp = self.path.join(".state.json.tmp");
        let bytes = serde_json::to_vec(state).expect("state always serializes");
        let mut file = File::create(&tmp).context("write state")?;
        file.write_all(&bytes).context("write state")?;
        fs::rename(&tmp, self.path.join(STATE_FILE)).context("replace state")?;
        Ok(())
    }

    /// Removes the directory and everything in it.
    pub fn remove(self) -> Result<()> {
        fs::remove_dir_all(&self.path).with_context(|| format!("remove state of {}", self.id))
    }
}

/// The status of `state` reconciled with the live process: a dead or replaced pid means stopped,
/// and a container whose exec fifo is gone has been started.
pub fn live_status(state: &ContainerState, fifo: &Path) -> (Status, Option<LiveProcess>) {
    let process = LiveProcess::open(Pid::from_raw(state.pid), state.pid_start_time);
    let status = match (&process, state.status) {
        (None, _) => Status::Stopped,
        (Some(_), Status::Created) if !fifo.exists() => Status::Running,
        (Some(_), recorded) => recorded,
    };
    (status, process)
}
