//! `--log` / `--log-format`: runc-compatible log lines. JSON lines are what containerd's shim
//! parses (`{"level":"error","msg":"...","time":"..."}`); nothing is ever written to stdout.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::sync::OnceLock;
use std::time::SystemTime;

use clap::ValueEnum;
use serde::Serialize;

/// Format of the log file's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// `time="..." level=error msg="..."`
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Only with `--debug`.
    Debug,
    /// Something worth knowing that does not stop the command.
    Warning,
    /// The command failed.
    Error,
}

struct Logger {
    file: Option<File>,
    format: LogFormat,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Sets up logging once, at start. Without `--log`, lines go to stderr.
pub fn init(path: Option<&Path>, format: LogFormat, debug: bool) -> std::io::Result<()> {
    let file = match path {
        Some(path) => Some(OpenOptions::new().create(true).append(true).open(path)?),
        None => None,
    };
    let _ = LOGGER.set(Logger {
        file,
        format,
        debug,
    });
    Ok(())
}

/// The fd of the log file, which the processes berth forks keep writing to.
pub fn file_fd() -> Option<RawFd> {
    LOGGER.get()?.file.as_ref().map(|file| file.as_raw_fd())
}

/// Whether a log file was given (then errors also go to stderr, as runc does).
pub fn has_log_file() -> bool {
    LOGGER.get().is_some_and(|l| l.file.is_some())
}

#[derive(Serialize)]
struct JsonLine<'a> {
    level: Level,
    msg: &'a str,
    time: String,
}

/// Writes one log line at `level`.
pub fn log(level: Level, msg: &str) {
    let Some(logger) = LOGGER.get() else {
        eprintln!("{msg}");
        return;
    };
    if level == Level::Debug && !logger.debug {
        return;
    }
    let time = humantime::format_rfc3339_nanos(SystemTime::now()).to_string();
    let line = match logger.format {
        LogFormat::Json => {
            let mut line = serde_json::to_string(&JsonLine { level, msg, time })
                .expect("log lines always serialize");
            line.push('\n');
            line
        }
        LogFormat::Text => format!(
            "time=\"{time}\" level={} msg={}\n",
            serde_json::to_string(&level).unwrap().trim_matches('"'),
            serde_json::to_string(msg).unwrap()
        ),
    };
    match &logger.file {
        // One write call per line, so concurrent writers never interleave within a line.
        Some(file) => {
            let _ = (&*file).write_all(line.as_bytes());
        }
        None => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

/// Logs at debug level.
pub fn debug(msg: &str) {
    log(Level::Debug, msg);
}

/// Logs a warning.
pub fn warn(msg: &str) {
    log(Level::Warning, msg);
}
