//! Reading a bundle: `config.json` parsed with oci-spec, then checked against the runtime-spec's
//! requirements before anything is created.

mod template;
mod validate;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use oci_spec::runtime::{Capability, Spec};

use crate::error::{Context, Error, Result};
use crate::logging;

pub use template::default_spec;
pub use validate::validate_process;

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
    match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(spec) => Ok(spec),
        Err(e) if e.path().to_string().starts_with("process.capabilities") => {
            parse_dropping_unknown_capabilities(bytes)
        }
        Err(e) => Err(describe_parse_error(e, "config.json")),
    }
}

/// Reads a JSON document given on the command line (`flag FILE`, `-` for stdin) as a `T`;
/// errors name the flag and the JSON path of the offending field.
pub fn read_json_arg<T: DeserializeOwned>(path: &Path, flag: &str) -> Result<T> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .with_context(|| format!("{flag}: read stdin"))?;
    } else {
        bytes = fs::read(path).with_context(|| format!("{flag} {}", path.display()))?;
    }
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| describe_parse_error(e, flag))
}

/// config.md: a capability that cannot be mapped to the kernel is logged as a warning, and
/// the container still runs. Only taken when a name did not parse, so the common path parses once.
fn parse_dropping_unknown_capabilities(bytes: &[u8]) -> Result<Spec> {
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| Error::config("config.json", e.to_string()))?;
    if let Some(sets) = value
        .pointer_mut("/process/capabilities")
        .and_then(|c| c.as_object_mut())
    {
        for (set, names) in sets.iter_mut() {
            if let Some(names) = names.as_array_mut() {
                names.retain(|name| {
                    let known = serde_json::from_value::<Capability>(name.clone()).is_ok();
                    if !known {
                        logging::warn(&format!(
                            "process.capabilities.{set}: unknown capability {name}; skipped"
                        ));
                    }
                    known
                });
            }
        }
    }
    serde_path_to_error::deserialize(value).map_err(|e| describe_parse_error(e, "config.json"))
}

/// A parse error of the JSON document `document` as a config error naming the field.
fn describe_parse_error<E: std::fmt::Display + ClassifyError>(
    e: serde_path_to_error::Error<E>,
    document: &str,
) -> Error {
    let path = e.path().to_string();
    if e.inner().is_syntax_error() {
        return Error::config(document, format!("invalid JSON: {}", e.into_inner()));
    }
    let field = if path == "." {
        document.to_string()
    } else {
        format!("{document}: {path}")
    };
    Error::config(field, e.into_inner().to_string())
}

/// Tells JSON syntax errors from type errors.
trait ClassifyError {
    fn is_syntax_error(&self) -> bool;
}

impl ClassifyError for serde_json::Error {
    fn is_syntax_error(&self) -> bool {
        self.is_syntax() || self.is_eof()
    }
}
