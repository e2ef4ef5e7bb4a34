//! Typed errors of the berth library. The binary edge turns them into one log line and an exit code.

use std::io;

/// Every failure berth reports. Messages follow runc's wording where clients match on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No container with this id under `--root`.
    #[error("container \"{0}\" does not exist")]
    NotExist(String),
    /// A container with this id already exists.
    #[error("container with given ID already exists: {0}")]
    AlreadyExists(String),
    /// The container's process is gone (signals, exec).
    #[error("container not running")]
    NotRunning,
    /// The operation is not allowed in the container's current status.
    #[error("{0}")]
    InvalidState(String),
    /// The bundle's configuration or a command-line argument is invalid.
    #[error("{field}: {reason}")]
    InvalidConfig { field: String, reason: String },
    /// A system call failed.
    #[error("{context}: {source}")]
    Sys { context: String, source: nix::Error },
    /// A file or channel operation failed.
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
    /// A cgroup operation failed.
    #[error("cgroup {path}: {reason}")]
    Cgroup { path: String, reason: String },
    /// A network hook could not attach or detach a container.
    #[error("network: {0}")]
    Network(String),
    /// The container process reported a failure while setting itself up.
    #[error("{0}")]
    Setup(String),
}

/// Result with berth's error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::InvalidConfig`].
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Adds a description of what was being done to low-level errors.
pub trait Context<T> {
    /// Wraps the error with `context`, computed only on failure.
    fn with_context<C: Into<String>>(self, context: impl FnOnce() -> C) -> Result<T>;
    /// Wraps the error with a fixed `context`.
    fn context(self, context: &str) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, nix::Error> {
    fn with_context<C: Into<String>>(self, context: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|source| Error::Sys {
            context: context().into(),
            source,
        })
    }
    fn context(self, context: &str) -> Result<T> {
        self.with_context(|| context)
    }
}

impl<T> Context<T> for std::result::Result<T, io::Error> {
    fn with_context<C: Into<String>>(self, context: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: context().into(),
            source,
        })
    }
    fn context(self, context: &str) -> Result<T> {
        self.with_context(|| context)
    }
}
