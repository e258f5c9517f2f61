//! The contract with the component: bindings generated from `wit/csi.wit`, shared by the
//! wire services (message conversion), the router, the sandbox and the imports.

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
