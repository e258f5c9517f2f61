//! Build script: generates the gRPC code from `proto/`, builds the guest component from
//! `guest/` and precompiles it ahead of time for the engine configuration the host runs
//! with, so that start-up only deserializes machine code and never compiles.

use std::env;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "src/sandbox/engine_config.rs"]
mod engine_config;

type BuildResult = Result<(), Box<dyn Error>>;

fn main() -> BuildResult {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let workspace = manifest_dir
        .parent()
        .ok_or("host crate has no parent directory")?
        .to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    compile_protos(&workspace.join("proto"))?;
    let component = build_guest(&workspace)?;
    precompile(&component, &out_dir.join("csi_guest.cwasm"))?;
    // The component as WebAssembly, for the tests and benchmarks that load it as an
    // operator module; and what `--version` reports.
    println!(
        "cargo:rustc-env=CSI_GUEST_COMPONENT={}",
        component.display()
    );
    println!("cargo:rustc-env=BUILD_TARGET={}", env::var("TARGET")?);
    println!(
        "cargo:rustc-env=WASMTIME_VERSION={}",
        locked_version(&workspace.join("Cargo.lock"), "wasmtime")?
    );
    Ok(())
}

/// The version of `package` that `lock` pins.
fn locked_version(lock: &Path, package: &str) -> Result<String, Box<dyn Error>> {
    let text = std::fs::read_to_string(lock)?;
    let name = format!("name = \"{package}\"\n");
    let at = text
        .find(&name)
        .ok_or(format!("{package} is not in Cargo.lock"))?;
    let version = text[at + name.len()..]
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .ok_or(format!("no version for {package} in Cargo.lock"))?;
    Ok(version.to_owned())
}

/// Parses `proto/` with protox (no system `protoc`) and generates servers and clients.
fn compile_protos(proto_dir: &Path) -> BuildResult {
    let files = [
        "velero/Shared.proto",
        "velero/PluginLister.proto",
        "velero/BackupItemActionV2.proto",
        "velero/RestoreItemActionV2.proto",
        "velero/DeleteItemAction.proto",
        "go-plugin/grpc_controller.proto",
        "go-plugin/grpc_broker.proto",
        "go-plugin/grpc_stdio.proto",
    ];
    println!("cargo:rerun-if-changed={}", proto_dir.display());
    let descriptors = protox::compile(files, [proto_dir])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}

/// Builds the guest crate for `wasm32-wasip2` with the `guest` profile and returns the
/// path of the component. A separate target directory keeps the nested cargo off the
/// outer build's lock.
fn build_guest(workspace: &Path) -> Result<PathBuf, Box<dyn Error>> {
    for watched in ["wit", "Cargo.lock", "Cargo.toml"] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    // The crates compiled into the component, less their tests: editing a unit test must
    // not rebuild and re-precompile the component.
    for krate in ["guest", "common", "policy"] {
        let root = workspace.join(krate);
        println!(
            "cargo:rerun-if-changed={}",
            root.join("Cargo.toml").display()
        );
        for file in component_sources(&root.join("src"))? {
            println!("cargo:rerun-if-changed={}", file.display());
        }
    }
    let target_root = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let guest_target = target_root.join("guest-component");

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--package", "csi-guest", "--lib"])
        .args([
            "--target",
            "wasm32-wasip2",
            "--profile",
            "guest",
            "--locked",
        ])
        .arg("--target-dir")
        .arg(&guest_target);
    // The outer build's flags, wrappers and target settings must not leak into the guest.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        command.env_remove(var);
    }
    let status = command.status()?;
    if !status.success() {
        return Err(format!(
            "building the guest component failed ({status}); is the target installed? \
             run: rustup target add wasm32-wasip2"
        )
        .into());
    }
    Ok(guest_target.join("wasm32-wasip2/guest/csi_guest.wasm"))
}

/// The files under `dir` that go into the component: every file but the tests (files named
/// `tests.rs` or `fixtures.rs`, and whatever is under a `tests` folder).
fn component_sources(dir: &Path) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if name != "tests" {
                files.extend(component_sources(&path)?);
            }
        } else if name != "tests.rs" && name != "fixtures.rs" {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Compiles the component to native code for the target being built, with the shared
/// engine configuration and no host-inferred CPU features, so the artifact runs on any
/// machine of that architecture.
fn precompile(component: &Path, out: &Path) -> BuildResult {
    let target = env::var("TARGET")?;
    let mut config = engine_config::engine_config();
    config.target(&target)?;
    let engine = wasmtime::Engine::new(&config)?;
    let bytes = std::fs::read(component)?;
    let compiled = engine.precompile_component(&bytes)?;
    std::fs::write(out, compiled)?;
    Ok(())
}
