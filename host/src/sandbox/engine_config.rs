//! The one wasmtime configuration shared by the build script (which precompiles the guest
//! with it) and the runtime (which loads the precompiled guest with it). Keeping it in one
//! file is what makes the embedded artifact loadable: any setting that changes generated
//! code must be the same on both sides.

/// The engine configuration of the guest runtime.
pub fn engine_config() -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    // Compiled code checks the engine's epoch at function entries and loop headers, so a
    // call can be stopped at its deadline (`limits.rs`).
    config.epoch_interruption(true);
    config
}
