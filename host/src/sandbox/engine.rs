//! The process's wasmtime engine: the shared configuration, the epoch ticker behind call
//! deadlines, the limits every call runs under, the bound on instances running at once,
//! and the ways a component gets into it.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::engine_config::engine_config;
use super::errors::LoadError;
use super::limits::{GuestLimits, start_epoch_ticker};

/// The component the build script compiled from `guest/`, as native code.
static PRECOMPILED_GUEST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/csi_guest.cwasm"));

/// Guest instances allowed to run at once by default: twice the CPUs the process may use.
pub fn default_max_instances() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
}

/// One engine, shared by every component the process loads; cheap to clone.
#[derive(Clone)]
pub struct GuestEngine {
    engine: Engine,
    limits: GuestLimits,
    instances: Arc<Semaphore>,
}

impl GuestEngine {
    /// An engine whose calls run under `limits`, at most [`default_max_instances`] at once,
    /// with its epoch ticker started.
    pub fn new(limits: GuestLimits) -> Result<Self, LoadError> {
        Self::with_max_instances(limits, default_max_instances())
    }

    /// An engine whose calls run under `limits`, at most `max_instances` (at least one) at
    /// once: a call beyond that waits for a running one to end before it instantiates.
    pub fn with_max_instances(
        limits: GuestLimits,
        max_instances: usize,
    ) -> Result<Self, LoadError> {
        let engine = Engine::new(&engine_config()).map_err(LoadError::Engine)?;
        start_epoch_ticker(&engine).map_err(LoadError::Ticker)?;
        Ok(Self {
            engine,
            limits,
            instances: Arc::new(Semaphore::new(max_instances.max(1))),
        })
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> GuestLimits {
        self.limits
    }

    /// Waits for a free instance slot; the slot is given back when the permit is dropped.
    pub(super) async fn admit(&self) -> OwnedSemaphorePermit {
        self.instances
            .clone()
            .acquire_owned()
            .await
            .expect("the instance semaphore is never closed")
    }

    /// The wasmtime engine itself.
    pub fn wasmtime(&self) -> &Engine {
        &self.engine
    }

    /// The embedded component's precompiled artifact.
    pub fn embedded_artifact() -> &'static [u8] {
        PRECOMPILED_GUEST
    }

    /// The embedded component, deserialized (never compiled).
    pub fn embedded(&self) -> Result<Component, LoadError> {
        // SAFETY: the bytes were produced by this crate's build script with the same
        // wasmtime version and the same `engine_config`, and are embedded read-only.
        unsafe { Component::deserialize(&self.engine, PRECOMPILED_GUEST) }
            .map_err(LoadError::Deserialize)
    }

    /// Compiles a component from its WebAssembly bytes.
    pub fn compile(&self, wasm: &[u8]) -> Result<Component, LoadError> {
        Component::new(&self.engine, wasm).map_err(LoadError::Compile)
    }

    /// A key that changes whenever this engine could not load another engine's artifacts
    /// (wasmtime version, compiler settings, target): half of a cached artifact's name.
    pub fn compatibility_key(&self) -> String {
        let mut hasher = DefaultHasher::new();
        self.engine
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    }
}
