//! Running the CSI actions component: the engine, the embedded precompiled guest, and the
//! imports the host gives it.

pub mod capabilities;
mod engine;
pub mod engine_config;
mod imports;
mod limits;
mod runtime;

pub use engine::GuestEngine;
pub use imports::HostServices;
pub use imports::clock::{SystemClock, WallClock};
pub use imports::kube::{Cluster, ClusterFuture};
pub use limits::{GuestLimits, LimitExceeded};
pub use runtime::{CallError, GuestRuntime, LoadError};

/// Bindings generated from `wit/csi.wit`.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "csi-plugin",
        imports: { default: async },
        exports: { default: async },
        additional_derives: [PartialEq, Eq],
    });

    pub use exports::velero::csi::actions::{
        ActionError, ActionInfo, ActionKind, BackupOutput, OperationProgress, ResourceSelector,
        RestoreInput, RestoreOutput,
    };
    pub use velero::csi::kube::{ApiResource, Condition, FieldValue, KubeError, ObjectRef};
    pub use velero::csi::types::{Datetime, ResourceIdentifier};
}
