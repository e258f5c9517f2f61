//! The hostile test component (`tests/hostile/`), built for wasm32-wasip2 once per test
//! binary by a nested cargo, in both of its variants.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The hostile component's WebAssembly bytes.
pub fn component() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| build("plain", &[]))
}

/// The variant that also lists an action no host grants (`velero.io/csi-everything`).
#[allow(dead_code)] // Not every test binary that includes this file needs the impostor.
pub fn impostor() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| build("impostor", &["--features", "impostor"]))
}

fn build(variant: &str, features: &[&str]) -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = root.join("target/test-components").join(variant);
    let status = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["build", "--locked", "--release", "-p", "hostile-guest"])
        .args(features)
        .args(["--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the hostile component ({variant}) builds");
    std::fs::read(target.join("wasm32-wasip2/release/hostile_guest.wasm"))
        .expect("the hostile component exists")
}
