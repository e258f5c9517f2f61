//! The guest runtime: one pre-linked component, and a fresh store and instance for every
//! call, so calls share no mutable state. Each call runs under the engine's limits.

use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};

use super::bindings::{
    ActionError, ActionInfo, BackupOutput, CsiPlugin, CsiPluginPre, OperationProgress,
    ResourceIdentifier, ResourceSelector, RestoreInput, RestoreOutput,
};
use super::capabilities::grants_of;
use super::engine::GuestEngine;
use super::imports::{CallContext, HostServices};
use super::limits::{Budget, GuestLimits, LimitExceeded};

/// Why the component could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the WebAssembly engine could not be started: {0:#}")]
    Engine(wasmtime::Error),
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
    /// The guest ran into one of the sandbox's limits and was stopped.
    #[error("the action exceeded the sandbox's limits: {0}")]
    Limit(LimitExceeded),
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
    engine: GuestEngine,
    pre: CsiPluginPre<CallContext>,
    services: HostServices,
    actions: Vec<ActionInfo>,
}

impl GuestRuntime {
    /// Loads the embedded, precompiled component in an engine of its own with the default
    /// limits, and lists its actions.
    pub async fn embedded(services: HostServices) -> Result<Self, LoadError> {
        let engine = GuestEngine::new(GuestLimits::DEFAULT)?;
        let component = engine.embedded()?;
        Self::new(&engine, component, services).await
    }

    /// Compiles a component from its WebAssembly bytes (a test component, or a module an
    /// operator inspects) in an engine of its own with the default limits, and lists its
    /// actions.
    pub async fn compile(wasm: &[u8], services: HostServices) -> Result<Self, LoadError> {
        let engine = GuestEngine::new(GuestLimits::DEFAULT)?;
        let component = engine.compile(wasm)?;
        Self::new(&engine, component, services).await
    }

    /// Links `component` against the host's imports in `engine`, instantiates it once and
    /// lists its actions: a component that passes is ready to serve.
    pub async fn new(
        engine: &GuestEngine,
        component: Component,
        services: HostServices,
    ) -> Result<Self, LoadError> {
        let mut linker = Linker::new(engine.wasmtime());
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(LoadError::Link)?;
        CsiPlugin::add_to_linker::<_, HasSelf<CallContext>>(&mut linker, |ctx| ctx)
            .map_err(LoadError::Link)?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(CsiPluginPre::new)
            .map_err(LoadError::Link)?;
        let mut runtime = Self {
            engine: engine.clone(),
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
        let budget = Budget::new(self.engine.limits());
        let context = CallContext::new(action, grants_of(action), self.services.clone(), budget);
        let mut store = Store::new(self.engine.wasmtime(), context);
        store.limiter(|context| context.budget());
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut store| store.data_mut().budget().on_epoch_deadline());
        let instantiated = self.pre.instantiate_async(&mut store).await;
        let plugin = outcome(&mut store, instantiated.map(Ok))?;
        Ok((store, plugin))
    }

    async fn list_actions(&self) -> Result<Vec<ActionInfo>, CallError> {
        let (mut store, guest) = self.instantiate("").await?;
        let result = guest
            .velero_csi_actions()
            .call_list_actions(&mut store)
            .await;
        outcome(&mut store, result.map(Ok))
    }

    /// `applies-to` of one action.
    pub async fn applies_to(&self, action: &str) -> Result<ResourceSelector, CallError> {
        let (mut store, guest) = self.instantiate(action).await?;
        let result = guest
            .velero_csi_actions()
            .call_applies_to(&mut store, action)
            .await;
        outcome(&mut store, result)
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
        outcome(&mut store, result)
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
        outcome(&mut store, result)
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
        outcome(&mut store, result)
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
        outcome(&mut store, result)
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
        outcome(&mut store, result)
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
        outcome(&mut store, result)
    }
}

/// A call's result: a trap caused by a limit is reported as that limit.
fn outcome<T>(
    store: &mut Store<CallContext>,
    result: wasmtime::Result<Result<T, ActionError>>,
) -> Result<T, CallError> {
    match result {
        Ok(returned) => returned.map_err(CallError::Action),
        Err(trap) => Err(match store.data_mut().budget().exceeded() {
            Some(exceeded) => CallError::Limit(exceeded.clone()),
            None => CallError::Trap(trap),
        }),
    }
}
