//! The words the guest, the host and the simulated cluster share, written once.
//!
//! - [`actions`]: the registered action names and their plugin kinds;
//! - [`keys`]: the annotation and label keys the actions read or write;
//! - [`civil`]: civil-date arithmetic for RFC 3339 timestamps.
//!
//! The crate has no dependencies and builds for `wasm32-wasip2` as well as natively.

#![no_std]

extern crate alloc;

pub mod actions;
pub mod civil;
pub mod keys;
