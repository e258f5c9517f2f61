//! The process's wasmtime engine: the shared configuration, the epoch ticker behind call
//! deadlines, the limits every call runs under, and the ways a component gets into it.

use std::hash::{DefaultHasher, Hash, Hasher};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::engine_config::engine_config;
use super::limits::{GuestLimits, start_epoch_ticker};
use super::runtime::LoadError;

/// The component the build script compiled from `guest/`, as native code.
static PRECOMPILED_GUEST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/csi_guest.cwasm"));

/// One engine, shared by every component the process loads; cheap to clone.
#[derive(Clone)]
pub struct GuestEngine {
    engine: Engine,
    limits: GuestLimits,
}

impl GuestEngine {
    /// An engine whose calls run under `limits`, with its epoch ticker started.
    pub fn new(limits: GuestLimits) -> Result<Self, LoadError> {
        let engine = Engine::new(&engine_config()).map_err(LoadError::Engine)?;
        start_epoch_ticker(&engine).map_err(|e| LoadError::Engine(e.into()))?;
        Ok(Self { engine, limits })
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> GuestLimits {
        self.limits
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
