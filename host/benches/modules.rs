//! What a fresh component instance per call costs, and what the module cache saves.
//!
//! Run with `cargo bench -p velero-plugin-for-csi --bench modules` (optionally followed by
//! `-- <calls>`, default 2000). Prints Markdown tables of medians, in process (no gRPC):
//! * per call: `applies-to` (the action returns a constant: the call is all overhead —
//!   store, WASI context, instantiation, the call, teardown) and `execute-backup` of the
//!   VolumeSnapshotClass action (parses, edits and re-serialises an item), each on a fresh
//!   instance, as every call is served;
//! * per module: compiling the CSI component (as an operator module) against loading its
//!   precompiled artifact from the cache, alone and with the whole validation a module goes
//!   through before it serves (instantiate, list actions, check them).

use std::sync::Arc;
use std::time::{Duration, Instant};

use csi_common::actions::Action;
use serde_json::json;
use velero_plugin_for_csi::imports::HostServices;
use velero_plugin_for_csi::imports::clock::SystemClock;
use velero_plugin_for_csi::kubeapi::{KubeApi, RateLimit};
use velero_plugin_for_csi::logging::{LogSink, Record};
use velero_plugin_for_csi::router::listing::registered;
use velero_plugin_for_csi::router::manifests;
use velero_plugin_for_csi::router::overrides::{ArtifactCache, ArtifactSource, Loader, digest};
use velero_plugin_for_csi::sandbox::{GuestEngine, GuestLimits, GuestRuntime};

struct Silent;

impl LogSink for Silent {
    fn log(&self, _: Record) {}
}

fn services() -> HostServices {
    HostServices {
        cluster: Arc::new(KubeApi::new(RateLimit::VELERO_DEFAULT)),
        logger: Arc::new(Silent),
        clock: Arc::new(SystemClock),
        server: velero_plugin_for_csi::bindings::velero::csi::server::ServerSettings::none(),
    }
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn p90(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() * 9 / 10]
}

async fn time_async<F: Future>(f: impl Fn() -> F, runs: usize) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f().await;
        samples.push(started.elapsed());
    }
    samples
}

fn time(f: impl Fn(), runs: usize) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let calls: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let engine = GuestEngine::new(GuestLimits::DEFAULT).unwrap();
    let runtime = GuestRuntime::new(&engine, engine.embedded().unwrap(), services())
        .await
        .unwrap();

    let class = json!({
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
        "metadata": {"name": "snap-default", "annotations": {
            "csi.storage.k8s.io/snapshotter-list-secret-name": "ls",
            "csi.storage.k8s.io/snapshotter-list-secret-namespace": "kube-system"}},
        "driver": "hostpath.csi.k8s.io", "deletionPolicy": "Delete"
    })
    .to_string();
    let backup = json!({"metadata": {"name": "b1", "namespace": "velero"}, "spec": {}}).to_string();
    let class_backup = manifests::caller(Action::VolumeSnapshotClassBackup);

    // Warm up.
    for _ in 0..100 {
        runtime.applies_to(class_backup).await.unwrap();
    }
    let mut applies = time_async(
        || async { runtime.applies_to(class_backup).await.unwrap() },
        calls,
    )
    .await;
    let mut execute = time_async(
        || async {
            runtime
                .execute_backup(class_backup, &class, &backup)
                .await
                .unwrap()
        },
        calls,
    )
    .await;
    println!("Per call, fresh instance each ({calls} calls, one process, release build)\n");
    println!("| call | median | p90 |\n|---|---|---|");
    println!(
        "| applies-to (all overhead: store, WASI context, instance, call, teardown) | {:.1?} | {:.1?} |",
        median(&mut applies),
        p90(&mut applies)
    );
    println!(
        "| execute-backup, VolumeSnapshotClass action (overhead + JSON work) | {:.1?} | {:.1?} |",
        median(&mut execute),
        p90(&mut execute)
    );

    let wasm = std::fs::read(env!("CSI_GUEST_COMPONENT")).unwrap();
    let module_digest = digest(&wasm);
    let cache_root = tempfile::tempdir().unwrap();
    let cache = ArtifactCache::open(cache_root.path().join("cache")).unwrap();
    let compile_runs = 5;
    let load_runs = 50;
    let mut compile = time(|| drop(engine.compile(&wasm).unwrap()), compile_runs);
    let component = engine.compile(&wasm).unwrap();
    cache.store(&engine, &module_digest, &component).unwrap();
    let mut cached = time(
        || drop(cache.load(&engine, &module_digest).unwrap()),
        load_runs,
    );
    let mut embedded = time(|| drop(engine.embedded().unwrap()), load_runs);

    let validate = |cache: Option<ArtifactCache>| {
        let loader = Loader::new(
            engine.clone(),
            services(),
            registered(runtime.actions()).unwrap(),
            cache,
        );
        let wasm = wasm.clone();
        let module_digest = module_digest.clone();
        async move {
            let module = loader
                .load("bench.wasm", module_digest, wasm)
                .await
                .unwrap();
            module.source
        }
    };
    let mut validate_compiled = Vec::new();
    for _ in 0..compile_runs {
        let started = Instant::now();
        let source = validate(None).await;
        assert!(matches!(source, ArtifactSource::Compiled(None)));
        validate_compiled.push(started.elapsed());
    }
    let mut validate_cached = Vec::new();
    for _ in 0..load_runs {
        let started = Instant::now();
        let source = validate(Some(cache.clone())).await;
        assert!(matches!(source, ArtifactSource::Cache(_)));
        validate_cached.push(started.elapsed());
    }
    let compile = median(&mut compile);
    let cached = median(&mut cached);
    let validate_compiled = median(&mut validate_compiled);
    let validate_cached = median(&mut validate_cached);
    println!(
        "\nPer module: the CSI component as an operator module ({} KiB of WebAssembly; medians of {compile_runs} compiles, {load_runs} loads)\n",
        wasm.len() / 1024
    );
    println!("| step | compiled | from the cache | ratio |\n|---|---|---|---|");
    println!(
        "| machine code ready (compile vs deserialize the cached artifact) | {compile:.1?} | {cached:.2?} | {:.0}× |",
        compile.as_secs_f64() / cached.as_secs_f64()
    );
    println!(
        "| module in service (+ link, instantiate, list and check actions) | {validate_compiled:.1?} | {validate_cached:.2?} | {:.0}× |",
        validate_compiled.as_secs_f64() / validate_cached.as_secs_f64()
    );
    println!(
        "| (embedded component, deserialized from the binary's memory) | | {:.2?} | |",
        median(&mut embedded)
    );
}
