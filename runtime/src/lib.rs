//! berth: an OCI container runtime, a drop-in replacement for runc.
//!
//! The layers, top down: [`cli`] parses runc's command line; [`lifecycle`] implements each
//! command on top of the [`state`] store; [`container`] builds a container (parent side, then
//! the container process's own setup); [`spec`] reads and validates bundles. Unsafe code lives
//! only in `sys`.

pub mod berth_init;
pub mod cli;
pub mod container;
pub mod error;
pub mod exe_guard;
pub mod hooks;
pub mod lifecycle;
pub mod logging;
pub mod network;
mod passwd;
pub mod resources;
pub mod spec;
pub mod state;
pub(crate) mod sys;

/// The runtime-spec version berth implements and reports.
pub const SPEC_VERSION: &str = "1.3.0";

/// `berth --version`, in runc's layout (Docker parses the first line).
pub const LONG_VERSION: &str = concat!("version ", env!("CARGO_PKG_VERSION"), "\nspec: 1.3.0");
