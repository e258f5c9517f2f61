//! The errors: each names the path concerned and what went wrong with it.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;

/// A command line that cannot be understood (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// An argument starting with `-` that is not `-h`, `--help` or `--`.
    #[error("unknown option {0:?}")]
    UnknownOption(OsString),
    /// More than a source and a target folder.
    #[error("expected at most 2 folders (SOURCE_DIR TARGET_DIR), got {0}")]
    TooManyArguments(usize),
}

/// A copy that could not be done (exit status 1).
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The source folder cannot be read (missing, not accessible, ...).
    #[error("cannot read source folder {path}: {source}")]
    Source {
        /// The source folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The source exists but is not a folder.
    #[error("source {path} is not a folder")]
    SourceNotFolder {
        /// The source path.
        path: PathBuf,
    },
    /// The source folder holds no regular file: the image was built wrongly.
    #[error("source folder {path} holds no file to copy")]
    SourceEmpty {
        /// The source folder.
        path: PathBuf,
    },
    /// The target folder cannot be used (missing, not accessible, ...).
    #[error("cannot use target folder {path}: {source}")]
    Target {
        /// The target folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The target exists but is not a folder.
    #[error("target {path} is not a folder")]
    TargetNotFolder {
        /// The target path.
        path: PathBuf,
    },
    /// A source file cannot be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The source file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The temporary file cannot be created or written: typically a target folder that is
    /// not writable by the image's user, or a full volume.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The temporary file in the target folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The finished temporary file cannot be renamed to its final name.
    #[error("cannot rename {from} to {to}: {source}")]
    Rename {
        /// The temporary file.
        from: PathBuf,
        /// The final name.
        to: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}
