//! The scenario corpus's calls made through the embedded component under wasmtime, with a
//! frozen clock (deterministic operation IDs) and the guest's log records captured for the
//! `logs` expectation; the runners choose the cluster behind the host's `kube` import.

use std::sync::Arc;

use csi_common::actions::Action;
use scenarios::{CallKind, Identifier, LogLevel, LogRecord, Outcome, Progress, Reply, Request};
use velero_plugin_for_csi::bindings::{
    ActionKind, Datetime, OperationProgress, ResourceIdentifier, RestoreInput,
};
use velero_plugin_for_csi::imports::HostServices;
use velero_plugin_for_csi::imports::clock::WallClock;
use velero_plugin_for_csi::kubeapi::Kubernetes;
use velero_plugin_for_csi::logging::{Level, Record};
use velero_plugin_for_csi::router::manifests;
use velero_plugin_for_csi::sandbox::GuestRuntime;

/// 2024-05-01T09:30:00Z: the scenarios' frozen clock ([scenarios §5.0](../../docs/scenarios.md#50-shared-fixtures)).
const FROZEN_NOW: i64 = 1_714_555_800;

/// The frozen clock, so that operation IDs are deterministic.
struct Frozen;

impl WallClock for Frozen {
    fn now(&self) -> Datetime {
        Datetime {
            seconds: FROZEN_NOW,
            nanos: 0,
            utc_offset_seconds: 0,
        }
    }
}

#[path = "captured_logs.rs"]
mod captured_logs;

use captured_logs::CapturedLogs;

/// A record the guest logged (the host's own records have another source than the action).
fn log_record(record: Record) -> LogRecord {
    let level = match record.level {
        Level::Trace => LogLevel::Trace,
        Level::Debug => LogLevel::Debug,
        Level::Info => LogLevel::Info,
        Level::Warn => LogLevel::Warn,
        Level::Error => LogLevel::Error,
    };
    LogRecord {
        level,
        message: record.message,
    }
}

fn ids(ids: Vec<ResourceIdentifier>) -> Vec<Identifier> {
    ids.into_iter()
        .map(|i| Identifier {
            group: i.group,
            resource: i.resource,
            namespace: i.namespace,
            name: i.name,
        })
        .collect()
}

fn rfc3339(t: Option<Datetime>) -> Option<String> {
    t.map(|t| sim_cluster::format_utc(t.seconds))
}

fn progress(p: OperationProgress) -> Progress {
    Progress {
        completed: p.completed,
        err: p.err,
        n_completed: p.n_completed,
        n_total: p.n_total,
        operation_units: p.operation_units,
        description: p.description,
        started: rfc3339(p.started),
        updated: rfc3339(p.updated),
    }
}

/// Makes the call through the component; the reply carries the records the guest logged.
pub async fn drive(scenario: &Request, cluster: Arc<dyn Kubernetes>) -> Reply {
    let logs = Arc::new(CapturedLogs::default());
    let result = call(scenario, cluster, logs.clone()).await;
    Reply {
        result,
        logs: logs
            .records()
            .into_iter()
            .filter(|r| r.source == scenario.action)
            .map(log_record)
            .collect(),
    }
}

async fn call(
    scenario: &Request,
    cluster: Arc<dyn Kubernetes>,
    logs: Arc<CapturedLogs>,
) -> Result<Outcome, String> {
    let services = HostServices {
        cluster,
        logger: logs,
        clock: Arc::new(Frozen),
        server: velero_plugin_for_csi::bindings::velero::csi::server::ServerSettings {
            features: scenario.server.features.clone(),
            global_volume_policies: scenario.server.global_volume_policies.clone(),
        },
    };
    let runtime = GuestRuntime::embedded(services)
        .await
        .map_err(|e| e.to_string())?;
    let input = &scenario.input;
    let action = scenario.action.as_str();
    let kind = runtime
        .actions()
        .iter()
        .find(|a| a.name == action)
        .map(|a| a.kind)
        .ok_or_else(|| format!("the component lists no action {action}"))?;
    let registered =
        Action::from_name(action).ok_or_else(|| format!("the host registers no {action}"))?;
    let caller = manifests::caller(registered);
    let outcome = match (scenario.call, kind) {
        (CallKind::Execute, ActionKind::BackupItemActionV2) => runtime
            .execute_backup(caller, &input.item, &input.owner)
            .await
            .map(|o| Outcome {
                item: Some(o.item),
                additional_items: ids(o.additional_items),
                operation_id: o.operation_id,
                post_operation_items: ids(o.post_operation_items),
                ..Outcome::default()
            }),
        (CallKind::Execute, ActionKind::RestoreItemActionV2) => {
            let request = RestoreInput {
                item: input.item.clone(),
                item_from_backup: input.item_from_backup.clone(),
                restore: input.owner.clone(),
            };
            runtime
                .execute_restore(caller, &request)
                .await
                .map(|o| Outcome {
                    item: Some(o.item),
                    additional_items: ids(o.additional_items),
                    operation_id: o.operation_id,
                    skip_restore: o.skip_restore,
                    ..Outcome::default()
                })
        }
        (CallKind::Execute, ActionKind::DeleteItemAction) => runtime
            .execute_delete(caller, &input.item, &input.owner)
            .await
            .map(|()| Outcome::default()),
        (CallKind::Progress, _) => runtime
            .progress(caller, &input.operation_id, &input.owner)
            .await
            .map(|p| Outcome {
                progress: Some(progress(p)),
                ..Outcome::default()
            }),
        (CallKind::Cancel, _) => runtime
            .cancel(caller, &input.operation_id, &input.owner)
            .await
            .map(|()| Outcome::default()),
        (CallKind::Ready, _) => {
            let items: Vec<_> = input
                .additional_items
                .iter()
                .map(|i| ResourceIdentifier {
                    group: i.group.clone(),
                    resource: i.resource.clone(),
                    namespace: i.namespace.clone(),
                    name: i.name.clone(),
                })
                .collect();
            runtime
                .are_additional_items_ready(caller, &items, &input.owner)
                .await
                .map(|ready| Outcome {
                    ready: Some(ready),
                    ..Outcome::default()
                })
        }
    };
    outcome.map_err(|e| e.to_string())
}
