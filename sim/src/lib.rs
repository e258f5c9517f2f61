//! An in-memory Kubernetes API for tests and the demo.
//!
//! * [`store`]: objects by resource, namespace and name; `generateName`, uid,
//!   resourceVersion and conflicts; label selectors; JSON merge patch; NotFound and
//!   AlreadyExists; a record of every call; injected faults.
//! * [`controllers`]: a CSI snapshot controller (a VolumeSnapshot gets a bound
//!   VolumeSnapshotContent, then a snapshot handle, then `readyToUse`, after configurable
//!   delays, with error injection) and a provisioner for claims restored from a snapshot.
//! * Time is virtual: waits advance the clock to the next controller event, so a wait of
//!   ten minutes takes no time in a test and every run is the same.
//! * [`velero_core`]: what Velero core does around restore calls (item reset, create unless
//!   present), for the stand-ins of Velero core that drive the simulation.
//! * [`apiserver`] (feature `apiserver`): the cluster served over HTTP as a Kubernetes API
//!   server, for real Kubernetes clients.

#[cfg(feature = "apiserver")]
pub mod apiserver;
mod clock;
pub mod controllers;
mod resources;
mod selector;
pub mod store;
pub mod velero_core;

pub use clock::format_utc;
pub use controllers::SnapshotPlan;
pub use resources::{Gvr, gvr_of_kind, gvr_of_resource};
pub use store::{Call, Cluster, Condition, Fault, SimError, Verb};

/// Writes the one conversion from [`SimError`] to the `kube-error` variant of
/// `wit/csi.wit`, as a function named `$name` returning `$kube_error`.
///
/// The guest's and the host's bindings each generate their own `KubeError` type for the
/// same WIT variant, so the conversion is written once here and instantiated for each:
/// `sim_cluster::kube_error_from_sim!(pub(crate) fn kube_error -> KubeError);` with
/// `KubeError` in scope.
#[macro_export]
macro_rules! kube_error_from_sim {
    ($vis:vis fn $name:ident -> $kube_error:ident) => {
        /// The `kube-error` of a simulated cluster's error: same case, same message.
        $vis fn $name(error: $crate::SimError) -> $kube_error {
            match error {
                $crate::SimError::NotFound(m) => $kube_error::NotFound(m),
                $crate::SimError::AlreadyExists(m) => $kube_error::AlreadyExists(m),
                $crate::SimError::Conflict(m) => $kube_error::Conflict(m),
                $crate::SimError::Forbidden(m) => $kube_error::Forbidden(m),
                $crate::SimError::Invalid(m) => $kube_error::Invalid(m),
                $crate::SimError::Timeout(m) => $kube_error::Timeout(m),
                $crate::SimError::Unavailable(m) => $kube_error::Unavailable(m),
                $crate::SimError::Other(m) => $kube_error::Other(m),
            }
        }
    };
}
