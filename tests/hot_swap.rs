//! Hot-swappable action modules (`host/src/router/overrides/`): an operator module overrides the
//! embedded component's actions; a module replaced while the process runs serves the next
//! call while calls already running finish on the old one; a module that fails validation
//! is refused with a log line and the previous one stays in service; precompiled artifacts
//! come from the cache on the next start; swaps under concurrent callers never fail a
//! call. Then the real binary, spawned as Velero spawns it, with a hostile module in its
//! modules directory: a trap, an endless loop and a memory bomb each become a gRPC error
//! naming the action, and the process goes on serving, until the module is swapped out.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use csi_common::actions::{Action, NameSet};
use serde_json::{Value, json};
use tonic::Code;
use velero_plugin_for_csi::bindings::ActionError;
use velero_plugin_for_csi::client::Launch;
use velero_plugin_for_csi::imports::HostServices;
use velero_plugin_for_csi::imports::clock::SystemClock;
use velero_plugin_for_csi::logging::Level;
use velero_plugin_for_csi::proto::generated::DeleteItemActionExecuteRequest;
use velero_plugin_for_csi::proto::generated::delete_item_action_client::DeleteItemActionClient;
use velero_plugin_for_csi::router::overrides::{ArtifactSource, OverridesConfig, digest};
use velero_plugin_for_csi::router::{ActiveNames, Chosen, Route, RouteTable, Router};
use velero_plugin_for_csi::sandbox::{CallError, GuestLimits};

#[path = "support/captured_logs.rs"]
mod captured_logs;
#[path = "support/held_cluster.rs"]
mod held_cluster;
#[path = "support/hostile.rs"]
mod hostile;

use captured_logs::CapturedLogs;
use held_cluster::HeldCluster;

/// The action the hostile component registers.
const ACTION: &str = "velero.io/csi-volumesnapshot-delete";

/// The real CSI actions component, as WebAssembly: the operator module "upgrade".
fn csi_component() -> Vec<u8> {
    std::fs::read(env!("CSI_GUEST_COMPONENT")).expect("the build script built the component")
}

/// Writes `bytes` as `name` in `dir` the way a careful operator (or a ConfigMap update)
/// does: beside it, then renamed over it.
fn install(dir: &Path, name: &str, bytes: &[u8]) {
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::write(&partial, bytes).unwrap();
    std::fs::rename(partial, dir.join(name)).unwrap();
}

struct Fixture {
    router: Router,
    cluster: Arc<HeldCluster>,
    logs: Arc<CapturedLogs>,
}

async fn fixture(dir: &Path, cache: &Path) -> Fixture {
    let cluster = Arc::new(HeldCluster::new());
    let logs = Arc::new(CapturedLogs::default());
    let services = HostServices {
        cluster: cluster.clone(),
        logger: logs.clone(),
        clock: Arc::new(SystemClock),
        server: velero_plugin_for_csi::bindings::velero::csi::server::ServerSettings::none(),
    };
    let config = OverridesConfig {
        dir: Some(dir.to_owned()),
        cache: Some(cache.to_owned()),
    };
    let names = ActiveNames::fixed(NameSet::V071, Chosen::FromEnv);
    let router = Router::new(services, GuestLimits::DEFAULT, 16, config, names);
    Fixture {
        router,
        cluster,
        logs,
    }
}

/// Which component answered a delete call with `{"attack": "sandbox"}`: the hostile one
/// fails with its sandbox report, the real one refuses the item.
#[derive(Debug, PartialEq, Eq)]
enum Answered {
    Hostile,
    Real,
}

fn answered_by(result: Result<(), CallError>) -> Answered {
    match result {
        Err(CallError::Action(ActionError::Failed(report)))
            if serde_json::from_str::<Value>(&report).is_ok_and(|r| r.get("file").is_some()) =>
        {
            Answered::Hostile
        }
        Err(CallError::Action(_)) | Ok(()) => Answered::Real,
        Err(other) => panic!("a call failed outside its component: {other}"),
    }
}

async fn call(route: &Route) -> Answered {
    let item = json!({"attack": "sandbox"}).to_string();
    answered_by(
        route
            .runtime()
            .execute_delete(route.caller(), &item, "{}")
            .await,
    )
}

/// The route of the action the hostile component registers.
fn delete_route(table: &RouteTable) -> &Route {
    table
        .get(Action::VolumeSnapshotDelete)
        .expect("the action is registered")
}

#[tokio::test(flavor = "multi_thread")]
async fn modules_override_swap_and_refuse_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let cache = cache.path().join("cache");
    let fx = fixture(dir.path(), &cache).await;

    // No module: the embedded component serves.
    let routes = fx.router.table().await.unwrap();
    assert!(delete_route(&routes).module().is_none());
    assert_eq!(call(delete_route(&routes)).await, Answered::Real);

    // A module overrides the action it lists, and only that one.
    install(dir.path(), "actions.wasm", hostile::component());
    let routes = fx.router.table().await.unwrap();
    let module = delete_route(&routes).module().expect("the module serves");
    assert_eq!(module.digest, digest(hostile::component()));
    assert!(matches!(module.source, ArtifactSource::Compiled(Some(_))));
    assert_eq!(call(delete_route(&routes)).await, Answered::Hostile);
    assert!(
        routes
            .get(Action::VolumeSnapshotBackup)
            .unwrap()
            .module()
            .is_none()
    );

    // A call in flight on the module…
    let in_flight = delete_route(&routes).clone();
    let stalled = tokio::spawn(async move {
        let item = json!({"attack": "stall"}).to_string();
        in_flight
            .runtime()
            .execute_delete(in_flight.caller(), &item, "{}")
            .await
    });
    fx.cluster.entered(1).await;
    // …while it is replaced: the next call gets the new module, with no restart…
    install(dir.path(), "actions.wasm", &csi_component());
    let routes = fx.router.table().await.unwrap();
    assert_eq!(
        delete_route(&routes).module().unwrap().digest,
        digest(&csi_component())
    );
    assert_eq!(call(delete_route(&routes)).await, Answered::Real);
    // …and the call in flight finishes on the old one.
    fx.cluster.release();
    match stalled.await.unwrap() {
        Err(CallError::Action(ActionError::Failed(report))) => {
            assert_eq!(
                serde_json::from_str::<Value>(&report).unwrap(),
                json!({"hostile": "done", "delete": "ok"})
            )
        }
        other => panic!("the in-flight call did not finish on the old module: {other:?}"),
    }

    // A module that lists an action the host does not grant is refused; the previous
    // version stays in service.
    install(dir.path(), "actions.wasm", hostile::impostor());
    let routes = fx.router.table().await.unwrap();
    assert_eq!(
        delete_route(&routes).module().unwrap().digest,
        digest(&csi_component())
    );
    let refused = fx.logs.messages_at(Level::Error);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].contains("refused module actions.wasm")
            && refused[0].contains("velero.io/csi-everything")
            && refused[0].contains("previous version"),
        "{refused:?}"
    );
    // So is one that is not a component at all.
    install(dir.path(), "actions.wasm", b"\0asm but not really");
    let routes = fx.router.table().await.unwrap();
    assert_eq!(
        delete_route(&routes).module().unwrap().digest,
        digest(&csi_component())
    );
    assert_eq!(fx.logs.messages_at(Level::Error).len(), 2);
    assert_eq!(call(delete_route(&routes)).await, Answered::Real);

    // Removed: the embedded component serves again.
    std::fs::remove_file(dir.path().join("actions.wasm")).unwrap();
    let routes = fx.router.table().await.unwrap();
    assert!(delete_route(&routes).module().is_none());

    // The next process finds the hostile module's artifact in the cache.
    install(dir.path(), "actions.wasm", hostile::component());
    let next = fixture(dir.path(), &cache).await;
    let routes = next.router.table().await.unwrap();
    assert!(matches!(
        delete_route(&routes).module().unwrap().source,
        ArtifactSource::Cache(_)
    ));
    assert_eq!(call(delete_route(&routes)).await, Answered::Hostile);
}

#[tokio::test(flavor = "multi_thread")]
async fn swaps_under_concurrent_callers_never_fail_a_call() {
    const CALLERS: usize = 16;
    const SWAPS: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let fx = Arc::new(fixture(dir.path(), cache.path()).await);
    let versions = [hostile::component().to_vec(), csi_component()];
    let digests = Arc::new(versions.each_ref().map(|v| digest(v)));
    // Compile both versions once, so that the swaps below load them from the cache, as a
    // fleet of plugin processes does after the first.
    for version in &versions {
        install(dir.path(), "actions.wasm", version);
        fx.router.table().await.unwrap();
    }

    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let fx = fx.clone();
            let stop = stop.clone();
            let calls = calls.clone();
            let digests = digests.clone();
            tokio::spawn(async move {
                let mut seen = (0, 0);
                while !stop.load(Ordering::Relaxed) {
                    let routes = fx.router.table().await.unwrap();
                    // A call answers from the module its routes name, whatever happens.
                    let expected = match delete_route(&routes).module() {
                        Some(module) if module.digest == digests[0] => Answered::Hostile,
                        _ => Answered::Real,
                    };
                    let answered = call(delete_route(&routes)).await;
                    assert_eq!(answered, expected);
                    match answered {
                        Answered::Hostile => seen.0 += 1,
                        Answered::Real => seen.1 += 1,
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                    // A call that never waits completes within one poll: give the other
                    // tasks (and the timer) their turn, as separate gRPC requests would.
                    tokio::task::yield_now().await;
                }
                seen
            })
        })
        .collect();
    for swap in 0..=SWAPS {
        install(dir.path(), "actions.wasm", &versions[swap % 2]);
        // Wait for the version to be in service, then for the callers to make as many
        // calls again as there are callers, before the next swap.
        while delete_route(&fx.router.table().await.unwrap())
            .module()
            .map(|m| &m.digest)
            != Some(&digests[swap % 2])
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let base = calls.load(Ordering::Relaxed);
        while calls.load(Ordering::Relaxed) < base + CALLERS {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut totals = (0, 0);
    for caller in callers {
        let seen = caller.await.expect("no caller panicked");
        totals = (totals.0 + seen.0, totals.1 + seen.1);
    }
    assert!(
        totals.0 >= CALLERS && totals.1 >= CALLERS,
        "both versions served: {totals:?}"
    );
    let errors = fx.logs.messages_at(Level::Error);
    assert!(errors.is_empty(), "{errors:?}");
    // The last version installed serves the next call.
    let routes = fx.router.table().await.unwrap();
    assert_eq!(
        delete_route(&routes).module().unwrap().digest,
        digests[SWAPS % 2]
    );
}

async fn delete(
    plugin: &velero_plugin_for_csi::client::PluginProcess,
    attack: &str,
) -> tonic::Status {
    DeleteItemActionClient::new(plugin.channel())
        .execute(DeleteItemActionExecuteRequest {
            plugin: ACTION.into(),
            item: json!({"attack": attack}).to_string().into_bytes(),
            backup: b"{}".to_vec(),
        })
        .await
        .expect_err("every attack fails")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_survives_a_hostile_module_and_swaps_it_out() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    install(dir.path(), "hostile.wasm", hostile::component());
    let deadline = Duration::from_millis(500);
    let mut launch = Launch::velero_v071(env!("CARGO_BIN_EXE_velero-plugin-for-csi"));
    launch.env.extend([
        ("VELERO_CSI_MODULES_DIR".into(), dir.path().into()),
        (
            "VELERO_CSI_MODULE_CACHE".into(),
            cache.path().join("c").into(),
        ),
        ("VELERO_CSI_GUEST_DEADLINE_MS".into(), "500".into()),
        ("VELERO_CSI_GUEST_MEMORY_MIB".into(), "64".into()),
    ]);
    let plugin = launch.start().await.expect("the plugin starts");

    let trap = delete(&plugin, "trap").await;
    assert_eq!(trap.code(), Code::Aborted);
    assert!(trap.message().contains(ACTION), "{}", trap.message());

    let started = Instant::now();
    let spin = delete(&plugin, "spin").await;
    let took = started.elapsed();
    assert_eq!(spin.code(), Code::ResourceExhausted);
    assert!(
        spin.message().starts_with(ACTION) && spin.message().contains("deadline of 500ms"),
        "{}",
        spin.message()
    );
    assert!(
        took >= deadline && took < deadline * 10,
        "stopped after {took:?}"
    );

    let bomb = delete(&plugin, "memory-bomb").await;
    assert_eq!(bomb.code(), Code::ResourceExhausted);
    assert!(
        bomb.message().starts_with(ACTION) && bomb.message().contains("memory"),
        "{}",
        bomb.message()
    );

    // Still serving: the module's own answer.
    let report = delete(&plugin, "sandbox").await;
    assert_eq!(report.code(), Code::Unknown);
    assert!(
        report.message().contains("\"network\":\"refused\""),
        "{}",
        report.message()
    );

    // Swapped for the real actions, no restart.
    install(dir.path(), "hostile.wasm", &csi_component());
    let real = delete(&plugin, "sandbox").await;
    assert!(
        !real.message().contains("\"network\""),
        "{}",
        real.message()
    );

    let stderr = plugin.stderr_lines().join("\n");
    assert!(
        stderr.contains("module hostile.wasm (sha256:") && stderr.contains("is in service"),
        "{stderr}"
    );
    let exit = plugin.shutdown().await.unwrap();
    assert!(exit.graceful, "{exit:?}");
}
