//! The guest runtime: one pre-linked component, and a fresh store and instance for every
//! call, so calls share no mutable state. Each call runs under the engine's limits, in one
//! of the engine's instance slots, on behalf of one [`Caller`].

use tokio::sync::OwnedSemaphorePermit;
use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};

use super::engine::GuestEngine;
use super::errors::{CallError, LoadError};
use super::limits::{Budget, GuestLimits};
use super::store::CallState;
use crate::bindings::{
    ActionError, ActionInfo, BackupOutput, CsiPlugin, CsiPluginPre, OperationProgress,
    ResourceIdentifier, ResourceSelector, RestoreInput, RestoreOutput,
};
use crate::imports::{CallContext, Caller, HostServices};

/// One call's instance: its slot, its store and the instantiated component.
struct Instance {
    _slot: OwnedSemaphorePermit,
    store: Store<CallState>,
    guest: CsiPlugin,
}

/// The loaded component, ready to serve calls.
pub struct GuestRuntime {
    engine: GuestEngine,
    pre: CsiPluginPre<CallState>,
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
        CsiPlugin::add_to_linker::<_, HasSelf<CallContext>>(
            &mut linker,
            |state: &mut CallState| &mut state.imports,
        )
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

    /// A fresh instance for one call on behalf of `caller`, once a slot is free. The guest
    /// yields to the executor at every epoch tick, so a guest that computes for long does
    /// not hold a worker thread for its whole deadline.
    async fn instantiate(&self, caller: Caller) -> Result<Instance, CallError> {
        let slot = self.engine.admit().await;
        let state = CallState::new(
            CallContext::new(caller, self.services.clone()),
            Budget::new(self.engine.limits()),
        );
        let mut store = Store::new(self.engine.wasmtime(), state);
        store.limiter(|state| &mut state.budget);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut store| store.data_mut().budget.on_epoch_deadline());
        let instantiated = self.pre.instantiate_async(&mut store).await;
        let guest = outcome(&mut store, instantiated.map(Ok))?;
        Ok(Instance {
            _slot: slot,
            store,
            guest,
        })
    }

    async fn list_actions(&self) -> Result<Vec<ActionInfo>, CallError> {
        let Instance {
            _slot,
            mut store,
            guest,
        } = self.instantiate(Caller::HOST).await?;
        let result = guest
            .velero_csi_actions()
            .call_list_actions(&mut store)
            .await;
        outcome(&mut store, result.map(Ok))
    }

    /// `applies-to` of one action.
    pub async fn applies_to(&self, caller: Caller) -> Result<ResourceSelector, CallError> {
        let Instance {
            _slot,
            mut store,
            guest,
        } = self.instantiate(caller).await?;
        let result = guest
            .velero_csi_actions()
            .call_applies_to(&mut store, caller.action)
            .await;
        outcome(&mut store, result)
    }

    /// `execute-backup` of one action.
    pub async fn execute_backup(
        &self,
        caller: Caller,
        item: &str,
        backup: &str,
    ) -> Result<BackupOutput, CallError> {
        let Instance {
            _slot,
            mut store,
            guest,
        } = self.instantiate(caller).await?;
        let result = guest
            .velero_csi_actions()
            .call_execute_backup(&mut store, caller.action, item, backup)
            .await;
        outcome(&mut store, result)
    }

    /// `execute-restore` of one action.
    pub async fn execute_restore(
        &self,
        caller: Caller,
        input: &RestoreInput,
    ) -> Result<RestoreOutput, CallError> {
        let Instance {
            _slot,
            mut store,
            guest,
        } = self.instantiate(caller).await?;
        let result = guest
            .velero_csi_actions()
            .call_execute_restore(&mut store, caller.action, input)
            .await;
        outcome(&mut store, result)
    }

    /// `execute-delete` of one action.
    pub async fn execute_delete(
        &self,
        caller: Caller,
        item: &str,
        backup: &str,
    ) -> Result<(), CallError> {
        let Instance {
            _slot,
            mut store,
            guest,
        } = self.instantiate(caller).await?;
        let result = guest
            .velero_csi_actions()
            .call_execute_delete(&mut store, caller.action, item, backup)
            .await;
        outcome(&mut store, result)
    }

    /// `progress` of an operation; `owner` is the Backup or Restore JSON.
    pub async fn progress(
        &self,
        caller: Caller,
        operation_id: &str,
        owner: &str,
    ) -> Result<OperationProgress, CallError> {
        let Instance {
            _slot,
            mut store,
            guest,
        } = self.instantiate(caller).await?;
        let result = guest
            .velero_csi_actions()
            .call_progress(&mut store, caller.action, operation_id, owner)
            .await;
        outcome(&mut store, result)
    }

    /// `cancel` of an operation; `owner` is the Backup or Restore JSON.
    pub async fn cancel(
        &self,
        caller: Caller,
        operation_id: &str,
        owner: &str,
    ) -> Result<(), CallError> {
        let Instance {
            _slot,
            mut store,
            guest,
        } = self.instantiate(caller).await?;
        let result = guest
            .velero_csi_actions()
            .call_cancel(&mut store, caller.action, operation_id, owner)
            .await;
        outcome(&mut store, result)
    }

    /// `are-additional-items-ready` of a restore action.
    pub async fn are_additional_items_ready(
        &self,
        caller: Caller,
        items: &[ResourceIdentifier],
        restore: &str,
    ) -> Result<bool, CallError> {
        let Instance {
            _slot,
            mut store,
            guest,
        } = self.instantiate(caller).await?;
        let result = guest
            .velero_csi_actions()
            .call_are_additional_items_ready(&mut store, caller.action, items, restore)
            .await;
        outcome(&mut store, result)
    }
}

/// A call's result: a trap caused by a limit is reported as that limit.
fn outcome<T>(
    store: &mut Store<CallState>,
    result: wasmtime::Result<Result<T, ActionError>>,
) -> Result<T, CallError> {
    match result {
        Ok(returned) => returned.map_err(CallError::Action),
        Err(trap) => Err(match store.data().budget.exceeded() {
            Some(exceeded) => CallError::Limit(exceeded.clone()),
            None => CallError::Trap(trap),
        }),
    }
}
