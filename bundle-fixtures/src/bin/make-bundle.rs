//! `make-bundle`: writes a fixture OCI bundle (busybox rootfs + berth-probe + config.json).
//!
//! ```text
//! make-bundle --out DIR [--rootless] [--hostname NAME] [--readonly] [-- ARGS...]
//! ```
//!
//! * `--out DIR`: the bundle directory. It must not exist, be empty, or already be a bundle
//!   (hold a `config.json`), in which case its `rootfs/` is rebuilt and `config.json` rewritten.
//! * `--rootless`: a `runc spec --rootless`-like config mapping container root to the caller's
//!   uid/gid.
//! * `--hostname NAME`, `--readonly`: set `hostname` / `root.readonly`.
//! * `ARGS`: `process.args`; default `/bin/berth-probe` (prints the full probe report).
//!
//! Examples: `make-bundle --out /tmp/demo -- /bin/sh -c 'echo Hello from berth'`,
//! `make-bundle --out /tmp/bench -- /bin/true`. Prints the bundle path on success.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;

const USAGE: &str =
    "usage: make-bundle --out DIR [--rootless] [--hostname NAME] [--readonly] [-- ARGS...]";

fn main() {
    if let Err(e) = run() {
        eprintln!("make-bundle: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut out: Option<PathBuf> = None;
    let mut rootless = false;
    let mut readonly = false;
    let mut hostname: Option<String> = None;
    let mut args: Vec<String> = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = Some(it.next().context("--out needs a directory")?.into()),
            "--rootless" => rootless = true,
            "--readonly" => readonly = true,
            "--hostname" => hostname = Some(it.next().context("--hostname needs a name")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "--" => {
                args = it.by_ref().collect();
            }
            other => bail!("unexpected argument {other:?}\n{USAGE}"),
        }
    }
    let out = out.with_context(|| format!("--out is required\n{USAGE}"))?;
    if args.is_empty() {
        args.push(bundle_fixtures::PROBE_IN_ROOTFS.to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut spec = if rootless {
        // SAFETY: getuid/getgid have no preconditions.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        bundle_fixtures::rootless_spec(&args, uid, gid)
    } else {
        bundle_fixtures::base_spec(&args)
    };
    if let Some(h) = hostname {
        spec.set_hostname(Some(h));
    }
    if readonly {
        if let Some(root) = spec.root_mut() {
            root.set_readonly(Some(true));
        }
    }
    prepare_dir(&out)?;
    bundle_fixtures::create_bundle(&out, &spec)?;
    println!("{}", out.display());
    Ok(())
}

/// Refuses to write into a non-empty directory that is not a bundle; clears an old rootfs.
fn prepare_dir(out: &std::path::Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    let non_empty = std::fs::read_dir(out)
        .with_context(|| format!("reading {}", out.display()))?
        .next()
        .is_some();
    if non_empty && !out.join("config.json").exists() {
        bail!(
            "{} is not empty and holds no config.json; refusing to write a bundle there",
            out.display()
        );
    }
    let rootfs = out.join("rootfs");
    if rootfs.exists() {
        std::fs::remove_dir_all(&rootfs)
            .with_context(|| format!("removing old {}", rootfs.display()))?;
    }
    Ok(())
}
