//! How loading a component or calling into it fails. Causes are chained as sources; the
//! gRPC edge shows the whole chain.

use super::limits::LimitExceeded;
use crate::bindings::{ActionError, KubeError};

/// Why a component could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the WebAssembly engine could not be started")]
    Engine(#[source] wasmtime::Error),
    #[error("the epoch ticker could not be started")]
    Ticker(#[source] std::io::Error),
    #[error("the precompiled component does not load in this engine")]
    Deserialize(#[source] wasmtime::Error),
    #[error("the module is not a valid component")]
    Compile(#[source] wasmtime::Error),
    #[error("the component does not link against the host's imports")]
    Link(#[source] wasmtime::Error),
    #[error("listing the component's actions failed")]
    List(#[source] CallError),
}

/// Why a call into the component failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The action returned an error.
    #[error("{}", action_error_message(.0))]
    Action(ActionError),
    /// The guest trapped (a panic, an out-of-bounds access, …) or could not be instantiated.
    #[error("the action trapped")]
    Trap(#[source] wasmtime::Error),
    /// The guest ran into one of the sandbox's limits and was stopped.
    #[error("the action exceeded the sandbox's limits")]
    Limit(#[source] LimitExceeded),
}

fn action_error_message(error: &ActionError) -> String {
    match error {
        ActionError::UnknownAction(m)
        | ActionError::InvalidInput(m)
        | ActionError::InvalidOperationId(m)
        | ActionError::Failed(m) => m.clone(),
        ActionError::Kube(failure) => {
            format!("{}: {}", failure.context, kube_message(&failure.error))
        }
    }
}

fn kube_message(error: &KubeError) -> &str {
    match error {
        KubeError::NotFound(m)
        | KubeError::AlreadyExists(m)
        | KubeError::Conflict(m)
        | KubeError::Forbidden(m)
        | KubeError::Invalid(m)
        | KubeError::Timeout(m)
        | KubeError::Unavailable(m)
        | KubeError::Other(m) => m,
    }
}
