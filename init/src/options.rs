//! The command line: `berth-init [OPTIONS] [--] PROGRAM [ARGS...]`, parsed without allocating.
//!
//! Options are read until `--` or the first argument that is not one, so that
//! `/sbin/docker-init -- cmd` (Docker's `--init`), `berth-init -s -g cmd -x` and
//! `berth-init -sg -- cmd` all work. Short options may be grouped (`-sg`) and `-e` takes its
//! value attached (`-e143`) or as the next argument.

use core::ffi::CStr;
use core::time::Duration;

/// Environment variables that set options, for when berth-init is started by someone who
/// cannot change its arguments (`berth run --init`). The first two are tini's names; a variable
/// that is set at all (any value) turns its option on.
pub const ENV_SUBREAPER: &CStr = c"TINI_SUBREAPER";
/// See [`ENV_SUBREAPER`].
pub const ENV_KILL_GROUP: &CStr = c"TINI_KILL_PROCESS_GROUP";
/// The grace period in seconds, as `--grace` takes it.
pub const ENV_GRACE: &CStr = c"BERTH_INIT_GRACE";

/// How berth-init runs the program.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Options {
    /// `-g`: forward signals to the program's whole process group, not only to the program.
    pub kill_group: bool,
    /// `-s`: become a child subreaper when not pid 1, so orphans are reparented to us.
    pub subreaper: bool,
    /// `--grace SECS`: after forwarding SIGTERM, SIGKILL the program if it still runs then.
    pub grace: Option<Duration>,
    /// `-e CODE`: exit statuses reported as 0.
    pub success_codes: ExitCodes,
}

/// A set of exit statuses (0 to 255).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExitCodes([u64; 4]);

impl ExitCodes {
    fn insert(&mut self, code: u8) {
        self.0[usize::from(code / 64)] |= 1 << (code % 64);
    }

    /// True when `code` is in the set.
    pub fn contains(&self, code: u8) -> bool {
        self.0[usize::from(code / 64)] & (1 << (code % 64)) != 0
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the program that starts at this index of the arguments given to [`parse`].
    Run { options: Options, program: usize },
    /// `-h`, `--help`.
    Help,
    /// `--version`.
    Version,
}

/// Why the command line was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Error<'a> {
    /// An option berth-init does not know (the whole argument).
    Unknown(&'a CStr),
    /// An option that takes a value came last.
    MissingValue(&'static str),
    /// A value that does not parse, for the named option.
    BadValue(&'static str, &'a CStr),
    /// Nothing to run.
    NoProgram,
}

/// Parses the arguments after argv\[0\]: `arg(i)` is the i-th of them (None past the last),
/// `env` looks up an environment variable.
pub fn parse<'a>(
    arg: impl Fn(usize) -> Option<&'a CStr>,
    env: impl Fn(&CStr) -> Option<&'a CStr>,
) -> Result<Command, Error<'a>> {
    let mut options = Options {
        kill_group: env(ENV_KILL_GROUP).is_some(),
        subreaper: env(ENV_SUBREAPER).is_some(),
        grace: match env(ENV_GRACE) {
            Some(value) => Some(seconds(value).ok_or(Error::BadValue("BERTH_INIT_GRACE", value))?),
            None => None,
        },
        success_codes: ExitCodes::default(),
    };
    let mut i = 0;
    while let Some(current) = arg(i) {
        let bytes = current.to_bytes();
        i += 1;
        match bytes {
            b"--" => break,
            b"-h" | b"--help" => return Ok(Command::Help),
            b"--version" => return Ok(Command::Version),
            b"--grace" => {
                let value = arg(i).ok_or(Error::MissingValue("--grace"))?;
                i += 1;
                options.grace = Some(seconds(value).ok_or(Error::BadValue("--grace", value))?);
            }
            _ if bytes.starts_with(b"--grace=") => {
                let value = &current[b"--grace=".len()..];
                options.grace = Some(seconds(value).ok_or(Error::BadValue("--grace", value))?);
            }
            [b'-', b'-', ..] => return Err(Error::Unknown(current)),
            [b'-', _, ..] => {
                if short_options(current, arg(i), &mut options)? {
                    i += 1;
                }
            }
            _ => {
                i -= 1;
                break;
            }
        }
    }
    if arg(i).is_none() {
        return Err(Error::NoProgram);
    }
    Ok(Command::Run {
        options,
        program: i,
    })
}

/// Applies a group of short options (`-sg`, `-e143`, `-e`); returns true when it took `next`
/// as the value of `-e`.
fn short_options<'a>(
    arg: &'a CStr,
    next: Option<&'a CStr>,
    options: &mut Options,
) -> Result<bool, Error<'a>> {
    for (at, flag) in arg.to_bytes().iter().enumerate().skip(1) {
        match flag {
            b'g' => options.kill_group = true,
            b's' => options.subreaper = true,
            b'e' => {
                let attached = &arg[at + 1..];
                let (value, took_next) = if attached.is_empty() {
                    (next.ok_or(Error::MissingValue("-e"))?, true)
                } else {
                    (attached, false)
                };
                let code = number(value)
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or(Error::BadValue("-e", value))?;
                options.success_codes.insert(code);
                return Ok(took_next);
            }
            _ => return Err(Error::Unknown(arg)),
        }
    }
    Ok(false)
}

fn seconds(value: &CStr) -> Option<Duration> {
    number(value).map(Duration::from_secs)
}

/// A decimal number of at most 9 digits.
fn number(value: &CStr) -> Option<u64> {
    let digits = value.to_bytes();
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.iter().try_fold(0, |n, d| {
        d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &CStr) -> Option<&'static CStr> {
        None
    }

    fn parse_with(
        args: &[&'static CStr],
        env: impl Fn(&CStr) -> Option<&'static CStr>,
    ) -> Result<Command, Error<'static>> {
        parse(|i| args.get(i).copied(), env)
    }

    fn run(args: &[&'static CStr]) -> (Options, usize) {
        match parse_with(args, no_env) {
            Ok(Command::Run { options, program }) => (options, program),
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn docker_invocation_runs_what_follows_the_double_dash() {
        let (options, program) = run(&[c"--", c"sh", c"-c", c"exit 3"]);
        assert_eq!(options, Options::default());
        assert_eq!(program, 1);
    }

    #[test]
    fn the_program_starts_at_the_first_argument_that_is_not_an_option() {
        assert_eq!(run(&[c"sleep", c"-s", c"--", c"1"]).1, 0);
        assert_eq!(run(&[c"-s", c"sleep", c"-g"]), (subreaper(), 1));
        assert_eq!(run(&[c"-s", c"--", c"--", c"x"]), (subreaper(), 2));
        assert_eq!(run(&[c"--", c"-g"]).1, 1);
    }

    fn subreaper() -> Options {
        Options {
            subreaper: true,
            ..Options::default()
        }
    }

    #[test]
    fn flags_alone_and_grouped() {
        let (options, program) = run(&[c"-g", c"-s", c"--", c"x"]);
        assert!(options.kill_group && options.subreaper);
        assert_eq!(program, 3);
        let (options, program) = run(&[c"-sg", c"x"]);
        assert!(options.kill_group && options.subreaper);
        assert_eq!(program, 1);
    }

    #[test]
    fn grace_takes_seconds_separate_or_attached() {
        let (options, program) = run(&[c"--grace", c"10", c"--", c"x"]);
        assert_eq!(options.grace, Some(Duration::from_secs(10)));
        assert_eq!(program, 3);
        let (options, _) = run(&[c"--grace=0", c"x"]);
        assert_eq!(options.grace, Some(Duration::ZERO));
    }

    #[test]
    fn exit_codes_to_report_as_success() {
        let (options, program) = run(&[c"-e", c"143", c"-e2", c"-ge", c"255", c"x"]);
        assert_eq!(program, 5);
        assert!(options.kill_group);
        for code in [143, 2, 255] {
            assert!(options.success_codes.contains(code), "{code}");
        }
        assert!(!options.success_codes.contains(0));
        assert!(!options.success_codes.contains(1));
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse_with(&[c"-h", c"x"], no_env), Ok(Command::Help));
        assert_eq!(parse_with(&[c"--help"], no_env), Ok(Command::Help));
        assert_eq!(
            parse_with(&[c"-s", c"--version"], no_env),
            Ok(Command::Version)
        );
    }

    #[test]
    fn refused_command_lines() {
        assert_eq!(parse_with(&[], no_env), Err(Error::NoProgram));
        assert_eq!(parse_with(&[c"--"], no_env), Err(Error::NoProgram));
        assert_eq!(parse_with(&[c"-s", c"-g"], no_env), Err(Error::NoProgram));
        assert_eq!(
            parse_with(&[c"-x", c"cmd"], no_env),
            Err(Error::Unknown(c"-x"))
        );
        assert_eq!(
            parse_with(&[c"-sx", c"cmd"], no_env),
            Err(Error::Unknown(c"-sx"))
        );
        assert_eq!(
            parse_with(&[c"--verbose", c"cmd"], no_env),
            Err(Error::Unknown(c"--verbose"))
        );
        assert_eq!(
            parse_with(&[c"--grace"], no_env),
            Err(Error::MissingValue("--grace"))
        );
        assert_eq!(parse_with(&[c"-e"], no_env), Err(Error::MissingValue("-e")));
        assert_eq!(
            parse_with(&[c"--grace", c"soon", c"x"], no_env),
            Err(Error::BadValue("--grace", c"soon"))
        );
        assert_eq!(
            parse_with(&[c"--grace=-1", c"x"], no_env),
            Err(Error::BadValue("--grace", c"-1"))
        );
        assert_eq!(
            parse_with(&[c"-e", c"256", c"x"], no_env),
            Err(Error::BadValue("-e", c"256"))
        );
        assert_eq!(
            parse_with(&[c"-e", c"", c"x"], no_env),
            Err(Error::BadValue("-e", c""))
        );
    }

    #[test]
    fn environment_sets_defaults_that_flags_override() {
        let env = |name: &CStr| -> Option<&'static CStr> {
            match name.to_bytes() {
                b"TINI_SUBREAPER" => Some(c""),
                b"TINI_KILL_PROCESS_GROUP" => Some(c"1"),
                b"BERTH_INIT_GRACE" => Some(c"5"),
                _ => None,
            }
        };
        let Ok(Command::Run { options, .. }) = parse_with(&[c"--grace", c"7", c"x"], env) else {
            panic!("not a run");
        };
        assert!(options.subreaper && options.kill_group);
        assert_eq!(options.grace, Some(Duration::from_secs(7)));
        let bad = |name: &CStr| (name == ENV_GRACE).then_some(c"5s");
        assert_eq!(
            parse_with(&[c"x"], bad),
            Err(Error::BadValue("BERTH_INIT_GRACE", c"5s"))
        );
    }
}
