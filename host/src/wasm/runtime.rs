//! The guest runtime: one engine and one pre-linked component per process, and a fresh
//! store and instance for every call, so calls share no mutable state.

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store};

use super::bindings::{
    ActionError, ActionInfo, BackupOutput, CsiPlugin, CsiPluginPre, OperationProgress,
    ResourceIdentifier, ResourceSelector, RestoreInput, RestoreOutput,
};
use super::capabilities::grants_of;
use super::engine_config::engine_config;
use super::imports::{CallContext, HostServices};

/// The guest component, compiled to native code by the build script.
static PRECOMPILED_GUEST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/csi_guest.cwasm"));

/// Why the component could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the precompiled component does not load in this engine: {0:#}")]
    Deserialize(wasmtime::Error),
    #[error("the module is not a valid component: {0:#}")]
    Compile(wasmtime::Error),
    #[error("the component does not link against the host's imports: {0:#}")]
    Link(wasmtime::Error),
    #[error("listing the component's actions failed: {0}")]
    List(CallError),
}

/// Why a call into the component failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The action returned an error.
    #[error("{}", action_error_message(.0))]
    Action(ActionError),
    /// The guest trapped (a panic, an out-of-bounds access, …) or could not be instantiated.
    #[error("the action trapped: {0:#}")]
    Trap(wasmtime::Error),
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

fn kube_message(error: &super::bindings::KubeError) -> &str {
    use super::bindings::KubeError as E;
    match error {
        E::NotFound(m)
        | E::AlreadyExists(m)
        | E::Conflict(m)
        | E::Forbidden(m)
        | E::Invalid(m)
        | E::Timeout(m)
        | E::Unavailable(m)
        | E::Other(m) => m,
    }
}

/// The loaded component, ready to serve calls.
pub struct GuestRuntime {
    engine: Engine,
    pre: CsiPluginPre<CallContext>,
    services: HostServices,
    actions: Vec<ActionInfo>,
}

impl GuestRuntime {
    /// Loads the embedded, precompiled component and lists its actions.
    pub async fn embedded(services: HostServices) -> Result<Self, LoadError> {
        let engine = Engine::new(&engine_config()).map_err(LoadError::Deserialize)?;
        // SAFETY: the bytes were produced by this crate's build script with the same
        // wasmtime version and the same `engine_config`, and are embedded read-only.
        let component = unsafe { Component::deserialize(&engine, PRECOMPILED_GUEST) }
            .map_err(LoadError::Deserialize)?;
        Self::ready(engine, component, services).await
    }

    /// The embedded component's precompiled artifact.
    pub fn embedded_artifact() -> &'static [u8] {
        PRECOMPILED_GUEST
    }

    /// Compiles a component from its WebAssembly bytes (an operator-supplied module, or a
    /// test component) and lists its actions.
    pub async fn compile(wasm: &[u8], services: HostServices) -> Result<Self, LoadError> {
        let engine = Engine::new(&engine_config()).map_err(LoadError::Compile)?;
        let component = Component::new(&engine, wasm).map_err(LoadError::Compile)?;
        Self::ready(engine, component, services).await
    }

    async fn ready(
        engine: Engine,
        component: Component,
        services: HostServices,
    ) -> Result<Self, LoadError> {
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(LoadError::Link)?;
        CsiPlugin::add_to_linker::<_, HasSelf<CallContext>>(&mut linker, |ctx| ctx)
            .map_err(LoadError::Link)?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(CsiPluginPre::new)
            .map_err(LoadError::Link)?;
        let mut runtime = Self {
            engine,
            pre,
            services,
            actions: Vec::new(),
        };
        runtime.actions = runtime.list_actions().await.map_err(LoadError::List)?;
        Ok(runtime)
    }

    /// The actions the component listed when it was loaded.
    pub fn actions(&self) -> &[ActionInfo] {
        &self.actions
    }

    async fn instantiate(
        &self,
        action: &str,
    ) -> Result<(Store<CallContext>, CsiPlugin), CallError> {
        let context = CallContext::new(action, grants_of(action), self.services.clone());
        let mut store = Store::new(&self.engine, context);
        let plugin = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(CallError::Trap)?;
        Ok((store, plugin))
    }

    async fn list_actions(&self) -> Result<Vec<ActionInfo>, CallError> {
        let (mut store, guest) = self.instantiate("").await?;
        guest
            .velero_csi_actions()
            .call_list_actions(&mut store)
            .await
            .map_err(CallError::Trap)
    }

    /// `applies-to` of one action.
    pub async fn applies_to(&self, action: &str) -> Result<ResourceSelector, CallError> {
        let (mut store, guest) = self.instantiate(action).await?;
        let result = guest
            .velero_csi_actions()
            .call_applies_to(&mut store, action)
            .await;
        flatten(result)
    }

    /// `execute-backup` of one action.
    pub async fn execute_backup(
        &self,
        action: &str,
        item: &str,
        backup: &str,
    ) -> Result<BackupOutput, CallError> {
        let (mut store, guest) = self.instantiate(action).await?;
        let result = guest
            .velero_csi_actions()
            .call_execute_backup(&mut store, action, item, backup)
            .await;
        flatten(result)
    }

    /// `execute-restore` of one action.
    pub async fn execute_restore(
        &self,
        action: &str,
        input: &RestoreInput,
    ) -> Result<RestoreOutput, CallError> {
        let (mut store, guest) = self.instantiate(action).await?;
        let result = guest
            .velero_csi_actions()
            .call_execute_restore(&mut store, action, input)
            .await;
        flatten(result)
    }

    /// `execute-delete` of one action.
    pub async fn execute_delete(
        &self,
        action: &str,
        item: &str,
        backup: &str,
    ) -> Result<(), CallError> {
        let (mut store, guest) = self.instantiate(action).await?;
        let result = guest
            .velero_csi_actions()
            .call_execute_delete(&mut store, action, item, backup)
            .await;
        flatten(result)
    }

    /// `progress` of an operation; `owner` is the Backup or Restore JSON.
    pub async fn progress(
        &self,
        action: &str,
        operation_id: &str,
        owner: &str,
    ) -> Result<OperationProgress, CallError> {
        let (mut store, guest) = self.instantiate(action).await?;
        let result = guest
            .velero_csi_actions()
            .call_progress(&mut store, action, operation_id, owner)
            .await;
        flatten(result)
    }

    /// `cancel` of an operation; `owner` is the Backup or Restore JSON.
    pub async fn cancel(
        &self,
        action: &str,
        operation_id: &str,
        owner: &str,
    ) -> Result<(), CallError> {
        let (mut store, guest) = self.instantiate(action).await?;
        let result = guest
            .velero_csi_actions()
            .call_cancel(&mut store, action, operation_id, owner)
            .await;
        flatten(result)
    }

    /// `are-additional-items-ready` of a restore action.
    pub async fn are_additional_items_ready(
        &self,
        action: &str,
        items: &[ResourceIdentifier],
        restore: &str,
    ) -> Result<bool, CallError> {
        let (mut store, guest) = self.instantiate(action).await?;
        let result = guest
            .velero_csi_actions()
            .call_are_additional_items_ready(&mut store, action, items, restore)
            .await;
        flatten(result)
    }
}

fn flatten<T>(result: wasmtime::Result<Result<T, ActionError>>) -> Result<T, CallError> {
    result.map_err(CallError::Trap)?.map_err(CallError::Action)
}
