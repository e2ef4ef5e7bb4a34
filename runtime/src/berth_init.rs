//! berth-init as the container's pid 1: `create --init` / `run --init`, or the annotation
//! `"io.berth.init": "true"` in config.json, make the container process exec berth-init with
//! `berth-init -- <process.args>` instead of the program itself.
//!
//! Nothing is put in the container's filesystem (a read-only rootfs works): berth opens
//! berth-init on the host before it creates anything, as an image nothing can write
//! ([`exe_guard::protected_image`]: a detached read-only bind mount or a sealed in-memory copy,
//! the same defence as for berth itself), and the container process execs that fd
//! (`execveat(fd, "", ..., AT_EMPTY_PATH)`) as its last step. The fd is close-on-exec, so it
//! is gone from berth-init and the program once the exec succeeds.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::error::{Error, Result};
use crate::exe_guard;

/// The annotation that asks for berth-init, for engines that cannot pass `--init`.
pub const ANNOTATION: &str = "io.berth.init";

/// berth-init's file name, looked up beside berth's own executable.
const FILE_NAME: &str = "berth-init";

/// Opens berth-init when `--init` (`flag`) or the annotation asks for it: the file at `path`
/// (`--init-path`), else the one beside berth.
pub fn open_if_requested(spec: &Spec, flag: bool, path: Option<&Path>) -> Result<Option<OwnedFd>> {
    if !requested(spec, flag)? {
        return Ok(None);
    }
    let (path, field) = match path {
        Some(path) => (path.to_path_buf(), "--init-path"),
        None => (default_path()?, "--init"),
    };
    let error = |reason: String| Error::config(field, format!("{}: {reason}", path.display()));
    let metadata = path.metadata().map_err(|e| error(e.to_string()))?;
    if !metadata.is_file() || metadata.permissions().mode() & 0o111 == 0 {
        return Err(error("not an executable file".to_string()));
    }
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| error("contains a NUL byte".to_string()))?;
    exe_guard::protected_image(&c_path, c"berth-init")
        .map(Some)
        .map_err(|e| error(e.to_string()))
}

/// True when `--init` is given or the annotation is "true" ("false" or absent: no).
fn requested(spec: &Spec, flag: bool) -> Result<bool> {
    let annotation = spec.annotations().as_ref().and_then(|a| a.get(ANNOTATION));
    match annotation.map(String::as_str) {
        None | Some("false") => Ok(flag),
        Some("true") => Ok(true),
        Some(other) => Err(Error::config(
            format!("annotations[\"{ANNOTATION}\"]"),
            format!("{other:?}: must be \"true\" or \"false\""),
        )),
    }
}

/// `berth-init` in the directory of berth's executable.
fn default_path() -> Result<PathBuf> {
    let exe = exe_guard::exe_path()?;
    Ok(exe.with_file_name(FILE_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_with(annotation: Option<&str>) -> Spec {
        let mut spec = Spec::default();
        spec.set_annotations(annotation.map(|v| {
            [(ANNOTATION.to_string(), v.to_string())]
                .into_iter()
                .collect()
        }));
        spec
    }

    #[test]
    fn the_flag_or_a_true_annotation_asks_for_berth_init() {
        assert!(!requested(&spec_with(None), false).unwrap());
        assert!(requested(&spec_with(None), true).unwrap());
        assert!(requested(&spec_with(Some("true")), false).unwrap());
        assert!(!requested(&spec_with(Some("false")), false).unwrap());
        assert!(requested(&spec_with(Some("false")), true).unwrap());
    }

    #[test]
    fn other_annotation_values_are_an_error_naming_it() {
        let err = requested(&spec_with(Some("yes")), true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "annotations[\"io.berth.init\"]: \"yes\": must be \"true\" or \"false\""
        );
    }

    #[test]
    fn a_missing_or_unexecutable_init_path_is_an_error_naming_the_flag() {
        let spec = spec_with(None);
        let err = open_if_requested(&spec, true, Some(Path::new("/nonexistent/berth-init")))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("--init-path: /nonexistent/berth-init: "),
            "{err}"
        );
        let err = open_if_requested(&spec, true, Some(Path::new("/etc/passwd")))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "--init-path: /etc/passwd: not an executable file");
        assert!(
            open_if_requested(&spec, false, Some(Path::new("/nonexistent")))
                .unwrap()
                .is_none()
        );
    }
}
