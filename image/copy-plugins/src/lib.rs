//! The entrypoint of the plugin image: copies the plugin binaries from the image's
//! `/plugins` folder into `/target`.
//!
//! Velero runs every plugin image as an init container of its server pod, with the pod's
//! `plugins` volume mounted at `/target`; the server then finds the binaries there. Each
//! file is written to a temporary name inside the target folder and renamed into place,
//! so the server never sees a half-written binary, and its permission bits (the
//! executable mode) are kept.
//!
//! The crate is std-only apart from `thiserror`, so that the static binary stays small.

pub mod args;
pub mod copy;
pub mod error;

pub use args::{Command, DEFAULT_SOURCE, DEFAULT_TARGET, Dirs, USAGE};
pub use copy::{Copied, Skipped, copy_plugins};
pub use error::{CopyError, UsageError};

#[cfg(test)]
#[path = "../tests/support/mod.rs"]
mod test_support;
