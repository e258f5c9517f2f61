//! Annotation and label keys read or written by the actions: the shared list of
//! [`csi_common::keys`].

pub use csi_common::keys::*;
