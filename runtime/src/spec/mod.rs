//! Reading a bundle: `config.json` parsed with oci-spec, then checked against the runtime-spec's
//! requirements before anything is created.

mod template;
mod validate;

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::error::{Context, Error, Result};

pub use template::default_spec;

/// A bundle whose configuration parsed and validated.
#[derive(Debug)]
pub struct Bundle {
    /// Absolute path of the bundle directory.
    pub dir: PathBuf,
    /// Absolute path of the root filesystem.
    pub rootfs: PathBuf,
    /// The parsed configuration.
    pub spec: Spec,
}

impl Bundle {
    /// Loads `<dir>/config.json` and validates it for creating a container.
    pub fn load(dir: &Path) -> Result<Bundle> {
        let dir = fs::canonicalize(dir).with_context(|| format!("--bundle {}", dir.display()))?;
        let config_path = dir.join("config.json");
        let bytes =
            fs::read(&config_path).with_context(|| format!("read {}", config_path.display()))?;
        let spec = parse_config(&bytes)?;
        let rootfs = validate::validate(&spec, &dir)?;
        Ok(Bundle { dir, rootfs, spec })
    }
}

/// Parses `config.json` bytes; errors name the JSON path of the offending field.
pub fn parse_config(bytes: &[u8]) -> Result<Spec> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        if e.inner().is_syntax() || e.inner().is_eof() {
            return Error::config("config.json", format!("invalid JSON: {}", e.into_inner()));
        }
        let field = if path == "." {
            "config.json".to_string()
        } else {
            format!("config.json: {path}")
        };
        Error::config(field, e.into_inner().to_string())
    })
}
