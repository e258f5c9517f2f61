//! The command line: `copy-plugins [SOURCE_DIR [TARGET_DIR]]`.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::UsageError;

/// Where the image keeps the plugin binaries.
pub const DEFAULT_SOURCE: &str = "/plugins";

/// Where Velero mounts its `plugins` volume in the plugin's init container.
pub const DEFAULT_TARGET: &str = "/target";

/// The help text, printed for `--help` and after a usage error.
pub const USAGE: &str = "\
usage: copy-plugins [SOURCE_DIR [TARGET_DIR]]

Copies every file of SOURCE_DIR (default /plugins) into TARGET_DIR (default /target),
keeping its permission bits; each file is written under a temporary name and renamed.
This is the entrypoint of the plugin image, run by Velero as an init container.
";

/// The folders to copy from and to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    /// The folder whose files are copied.
    pub source: PathBuf,
    /// The folder the files are copied into; it must exist.
    pub target: PathBuf,
}

impl Default for Dirs {
    fn default() -> Self {
        Dirs {
            source: PathBuf::from(DEFAULT_SOURCE),
            target: PathBuf::from(DEFAULT_TARGET),
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Copy the files of `source` into `target`.
    Copy(Dirs),
    /// Print the help text.
    Help,
}

/// Parses the arguments (without the program name). `--` ends the options, so that a
/// folder whose name starts with `-` can be given.
pub fn parse<I>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = OsString>,
{
    let mut positional = Vec::new();
    let mut options_done = false;
    for arg in args {
        if !options_done && arg.as_encoded_bytes().starts_with(b"-") && arg.len() > 1 {
            match arg.to_str() {
                Some("--") => options_done = true,
                Some("-h" | "--help") => return Ok(Command::Help),
                _ => return Err(UsageError::UnknownOption(arg)),
            }
        } else {
            positional.push(PathBuf::from(arg));
        }
    }
    if positional.len() > 2 {
        return Err(UsageError::TooManyArguments(positional.len()));
    }
    let mut positional = positional.into_iter();
    let defaults = Dirs::default();
    Ok(Command::Copy(Dirs {
        source: positional.next().unwrap_or(defaults.source),
        target: positional.next().unwrap_or(defaults.target),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Command, UsageError> {
        parse(args.iter().map(OsString::from))
    }

    fn copy(source: &str, target: &str) -> Command {
        Command::Copy(Dirs {
            source: source.into(),
            target: target.into(),
        })
    }

    #[test]
    fn no_arguments_mean_the_image_folders() {
        assert_eq!(parse_strs(&[]).unwrap(), copy("/plugins", "/target"));
    }

    #[test]
    fn positional_arguments_override_source_then_target() {
        assert_eq!(parse_strs(&["/a"]).unwrap(), copy("/a", "/target"));
        assert_eq!(parse_strs(&["/a", "/b"]).unwrap(), copy("/a", "/b"));
    }

    #[test]
    fn help_wins_wherever_it_stands() {
        assert_eq!(parse_strs(&["--help"]).unwrap(), Command::Help);
        assert_eq!(parse_strs(&["/a", "-h"]).unwrap(), Command::Help);
    }

    #[test]
    fn double_dash_ends_the_options() {
        assert_eq!(parse_strs(&["--", "-a", "-b"]).unwrap(), copy("-a", "-b"));
        assert_eq!(
            parse_strs(&["--", "--help"]).unwrap(),
            copy("--help", "/target")
        );
    }

    #[test]
    fn unknown_options_and_extra_arguments_are_usage_errors() {
        let err = parse_strs(&["--source", "/a"]).unwrap_err();
        assert_eq!(err.to_string(), "unknown option \"--source\"");
        let err = parse_strs(&["/a", "/b", "/c"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected at most 2 folders (SOURCE_DIR TARGET_DIR), got 3"
        );
    }

    #[test]
    fn a_lone_dash_is_a_folder_name() {
        assert_eq!(parse_strs(&["-"]).unwrap(), copy("-", "/target"));
    }
}
