//! berth's conformance suite: one test binary, one module per area. See ../README.md.

mod attacks;
mod bad_input;
mod cgroup_fields;
mod cgroups;
mod cli;
mod exec;
mod hooks;
mod idmap;
mod init;
mod lifecycle;
mod namespaces;
mod network;
mod process;
mod rootfs;
mod rootless;
mod seccomp;
mod terminal;
