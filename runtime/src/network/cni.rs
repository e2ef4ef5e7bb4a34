//! CNI plugins run the way the CNI specification (SPEC.md) says a runtime runs them: one process
//! per plugin of a network configuration list, the parameters in `CNI_*` environment variables,
//! the plugin's configuration on stdin, its result (or error) as JSON on stdout.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Map, Value};

use crate::error::{Context, Error, Result};

/// Where a plugin finds the tools it runs (iptables, for portmap) when the hook's `env` sets no
/// `PATH`.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A network configuration list (a `.conflist` file).
#[derive(Debug)]
pub struct NetworkList {
    /// The network's `name`.
    pub name: String,
    cni_version: String,
    plugins: Vec<Map<String, Value>>,
}

impl NetworkList {
    /// Reads and checks the list at `path`: a `name`, a `cniVersion` and at least one plugin,
    /// each with a `type`.
    pub fn load(path: &Path) -> Result<NetworkList> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("network configuration {}", path.display()))?;
        let invalid = |reason: String| Error::config(path.display().to_string(), reason);
        let mut list: Map<String, Value> =
            serde_json::from_str(&text).map_err(|e| invalid(format!("not a JSON object: {e}")))?;
        let mut string = |key: &str| match list.remove(key) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s),
            _ => Err(invalid(format!("\"{key}\" must be a non-empty string"))),
        };
        let (name, cni_version) = (string("name")?, string("cniVersion")?);
        if !is_network_name(&name) {
            return Err(invalid(format!(
                "\"name\" \"{name}\" must be letters, digits, '_', '.' and '-', starting with a \
                 letter or digit"
            )));
        }
        let plugins = match list.remove("plugins") {
            Some(Value::Array(plugins)) if !plugins.is_empty() => plugins,
            _ => return Err(invalid("\"plugins\" must be a non-empty array".into())),
        };
        let plugins = plugins
            .into_iter()
            .enumerate()
            .map(|(index, plugin)| match plugin {
                Value::Object(plugin) if plugin_type(&plugin).is_some() => Ok(plugin),
                _ => Err(invalid(format!(
                    "plugins[{index}] must be an object whose \"type\" is a plugin name"
                ))),
            })
            .collect::<Result<_>>()?;
        Ok(NetworkList {
            name,
            cni_version,
            plugins,
        })
    }
}

/// Whether `name` is a network name as the CNI specification allows.
fn is_network_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// The `type` of a plugin configuration: a bare executable name.
fn plugin_type(plugin: &Map<String, Value>) -> Option<&str> {
    plugin
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty() && !t.contains('/') && *t != "." && *t != "..")
}

/// The parameters shared by every plugin call for one container attachment.
#[derive(Debug)]
pub struct Attachment<'a> {
    /// `CNI_CONTAINERID`.
    pub container_id: &'a str,
    /// `CNI_NETNS`: the container's network namespace, or empty when it is gone.
    pub netns: &'a str,
    /// `CNI_IFNAME`: the interface to create in the container.
    pub ifname: &'a str,
    /// `CNI_PATH`: the directories to look for plugins in.
    pub plugin_dirs: &'a [PathBuf],
    /// `runtimeConfig`, keyed by capability; a plugin gets the keys it declares in its
    /// `capabilities`.
    pub runtime_config: &'a Map<String, Value>,
}

impl Attachment<'_> {
    /// ADDs every plugin of `list` in order, each with the previous one's result, and returns
    /// the last result. If one fails, what was added is deleted again before the error returns.
    pub fn add(&self, list: &NetworkList) -> Result<Value> {
        let mut result: Option<Value> = None;
        for (done, plugin) in list.plugins.iter().enumerate() {
            match self.call("ADD", list, plugin, result.as_ref()) {
                Ok(output) => result = Some(output),
                Err(e) => {
                    // The plugin that failed is deleted too: it may have done half its work.
                    if let Err(cleanup) = self.del_first(list, done + 1, result.as_ref()) {
                        crate::logging::warn(&format!("undo network {}: {cleanup}", list.name));
                    }
                    return Err(e);
                }
            }
        }
        Ok(result.expect("a list has at least one plugin"))
    }

    /// DELs every plugin of `list` in reverse order with the ADD result `prev_result`. Every
    /// plugin is called even after a failure; the first failure is returned.
    pub fn del(&self, list: &NetworkList, prev_result: Option<&Value>) -> Result<()> {
        self.del_first(list, list.plugins.len(), prev_result)
    }

    /// DELs the first `count` plugins of `list`, last first, as [`Attachment::del`] does.
    fn del_first(
        &self,
        list: &NetworkList,
        count: usize,
        prev_result: Option<&Value>,
    ) -> Result<()> {
        let mut first_error = None;
        for plugin in list.plugins[..count].iter().rev() {
            if let Err(e) = self.call("DEL", list, plugin, prev_result) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Runs one plugin for `command`; returns what it printed (null when it printed nothing,
    /// as DEL may).
    fn call(
        &self,
        command: &str,
        list: &NetworkList,
        plugin: &Map<String, Value>,
        prev_result: Option<&Value>,
    ) -> Result<Value> {
        let kind = plugin_type(plugin).expect("checked when loaded");
        let failed =
            |reason: String| Error::Network(format!("plugin {kind} ({command}): {reason}"));
        let executable = self
            .plugin_dirs
            .iter()
            .map(|dir| dir.join(kind))
            .find(|path| path.is_file())
            .ok_or_else(|| failed(format!("not found in {}", self.cni_path())))?;
        let config = self.plugin_config(list, plugin, prev_result);
        let mut child = Command::new(&executable)
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", self.container_id)
            .env("CNI_NETNS", self.netns)
            .env("CNI_IFNAME", self.ifname)
            .env("CNI_ARGS", "")
            .env("CNI_PATH", self.cni_path())
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| failed(format!("run {}: {e}", executable.display())))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A plugin that exits without reading its configuration reports why on stdout.
            let _ = stdin.write_all(config.to_string().as_bytes());
        }
        let output = child
            .wait_with_output()
            .map_err(|e| failed(format!("wait: {e}")))?;
        let printed: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        if !output.status.success() {
            return Err(failed(describe_error(&printed, output.status)));
        }
        Ok(printed)
    }

    /// What a plugin reads on stdin: its own configuration plus the list's `name` and
    /// `cniVersion`, the previous result, and the runtime configuration it asked for.
    fn plugin_config(
        &self,
        list: &NetworkList,
        plugin: &Map<String, Value>,
        prev_result: Option<&Value>,
    ) -> Value {
        let mut config = plugin.clone();
        config.insert("name".into(), list.name.clone().into());
        config.insert("cniVersion".into(), list.cni_version.clone().into());
        if let Some(prev) = prev_result.filter(|r| !r.is_null()) {
            config.insert("prevResult".into(), prev.clone());
        }
        let wanted: Map<String, Value> = plugin
            .get("capabilities")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(_, enabled)| enabled.as_bool() == Some(true))
            .filter_map(|(key, _)| Some((key.clone(), self.runtime_config.get(key)?.clone())))
            .collect();
        if !wanted.is_empty() {
            config.insert("runtimeConfig".into(), Value::Object(wanted));
        }
        Value::Object(config)
    }

    fn cni_path(&self) -> String {
        let dirs: Vec<_> = self
            .plugin_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        dirs.join(":")
    }
}

/// A plugin's error in one line: its `msg` and `details` (CNI error JSON), else its exit status.
fn describe_error(printed: &Value, status: std::process::ExitStatus) -> String {
    let field = |key: &str| {
        printed
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    match (field("msg"), field("details")) {
        (Some(msg), Some(details)) => format!("{msg}: {details}"),
        (Some(msg), None) => msg.to_string(),
        _ => format!("exited with {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list(plugins: Value) -> NetworkList {
        let dir = std::env::temp_dir().join(format!("berth-cni-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.conflist", plugins.to_string().len()));
        let text = json!({"cniVersion": "1.0.0", "name": "net", "plugins": plugins}).to_string();
        std::fs::write(&path, text).unwrap();
        let loaded = NetworkList::load(&path);
        std::fs::remove_file(&path).unwrap();
        loaded.unwrap()
    }

    #[test]
    fn a_plugin_gets_only_the_runtime_config_it_declares() {
        let list = list(json!([
            {"type": "bridge", "bridge": "b0"},
            {"type": "portmap", "capabilities": {"portMappings": true, "bandwidth": false}}
        ]));
        let runtime_config = json!({"portMappings": [{"hostPort": 1}], "bandwidth": {}});
        let attachment = Attachment {
            container_id: "c",
            netns: "",
            ifname: "eth0",
            plugin_dirs: &[],
            runtime_config: runtime_config.as_object().unwrap(),
        };
        let prev = json!({"ips": []});
        let bridge = attachment.plugin_config(&list, &list.plugins[0], None);
        assert_eq!(
            bridge,
            json!({"type": "bridge", "bridge": "b0", "name": "net", "cniVersion": "1.0.0"})
        );
        let portmap = attachment.plugin_config(&list, &list.plugins[1], Some(&prev));
        assert_eq!(
            portmap["runtimeConfig"],
            json!({"portMappings": [{"hostPort": 1}]})
        );
        assert_eq!(portmap["prevResult"], prev);
    }

    #[test]
    fn a_plugin_type_is_a_bare_name() {
        for bad in [
            json!({"type": "../bin/sh"}),
            json!({"type": ""}),
            json!({"bridge": "x"}),
        ] {
            let plugin = bad.as_object().unwrap();
            assert!(plugin_type(plugin).is_none(), "{bad}");
        }
    }
}
