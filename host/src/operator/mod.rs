//! The operator's commands, run by hand without Velero's magic cookie: `inspect`,
//! `precompile`, `--version`, and `demo` (the main job on the embedded simulated cluster).

#[cfg(feature = "demo")]
pub mod demo;
pub mod inspect;
pub mod precompile;
pub mod version;
