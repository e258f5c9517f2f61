//! Command-line arguments, as Velero passes them.
//!
//! Velero v1.13/v1.14 pass `--log-level <level>` (and `--features <list>`); v1.15+ pass a
//! copy of the server's own arguments, with `--flag=value`, `--flag value` and bare flags
//! mixed. The plugin honours `--log-level` in both forms and ignores everything else: it
//! must never fail on its arguments.

use std::ffi::OsString;

use crate::logging::Level;

/// What the plugin takes from its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// `argv[0]` exactly as received; returned to Velero as the plugin's command.
    pub argv0: String,
    /// Minimum level of the plugin's own log output (`info` unless `--log-level` says).
    pub log_level: Level,
}

/// What an operator asks for when running the binary by hand (Velero always sets the magic
/// cookie and is then served whatever the arguments say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorCommand {
    /// Run the main job end to end on the embedded simulated cluster.
    Demo,
}

/// The operator command named by the first argument, if any.
pub fn operator_command(args: &[OsString]) -> Option<OperatorCommand> {
    match args.get(1).and_then(|a| a.to_str()) {
        Some("demo") => Some(OperatorCommand::Demo),
        _ => None,
    }
}

/// Parses an argument vector, `argv[0]` included.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Args {
    let mut args = args.into_iter().map(|a| a.to_string_lossy().into_owned());
    let argv0 = args.next().unwrap_or_default();
    let mut log_level = Level::Info;
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let value = match arg.split_once('=') {
            Some(("--log-level" | "-log-level", value)) => Some(value.to_owned()),
            None if arg == "--log-level" || arg == "-log-level" => args.next(),
            _ => None,
        };
        if let Some(level) = value.as_deref().and_then(Level::from_logrus) {
            log_level = level;
        }
    }
    Args { argv0, log_level }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(args: &[&str]) -> Args {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn velero_1_13_arguments() {
        let args = parse_str(&[
            "/plugins/p",
            "--log-level",
            "warning",
            "--features",
            "EnableCSI,EnableAPIGroupVersions",
        ]);
        assert_eq!(args.argv0, "/plugins/p");
        assert_eq!(args.log_level, Level::Warn);
    }

    #[test]
    fn velero_1_15_arguments_with_unknown_flags() {
        let args = parse_str(&[
            "p",
            "--features=EnableCSI",
            "--uploader-type=kopia",
            "--default-volumes-to-fs-backup",
            "--log-level=debug",
            "--log-format=json",
            "--item-block-worker-count",
            "4",
            "--unknown-flag",
            "x",
        ]);
        assert_eq!(args.log_level, Level::Debug);
    }

    #[test]
    fn operator_commands_are_the_first_argument() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            operator_command(&args(&["p", "demo"])),
            Some(OperatorCommand::Demo)
        );
        assert_eq!(operator_command(&args(&["p", "--log-level", "demo"])), None);
        assert_eq!(operator_command(&args(&["p"])), None);
    }

    #[test]
    fn defaults_and_bad_values_never_fail() {
        assert_eq!(parse_str(&["p"]).log_level, Level::Info);
        assert_eq!(parse_str(&[]).argv0, "");
        assert_eq!(parse_str(&["p", "--log-level"]).log_level, Level::Info);
        assert_eq!(
            parse_str(&["p", "--log-level=shouting"]).log_level,
            Level::Info
        );
    }
}
