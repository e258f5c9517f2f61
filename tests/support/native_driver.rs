//! The native driver of a scenario call: the guest's dispatch (the same code the component
//! exports) with the simulated cluster as its imports (`SimImports`, feature `sim`), which
//! also records the guest's log. The native corpus and the fuzz targets make their calls
//! through it.

use std::sync::Arc;

use csi_guest::adapter::dispatch;
use csi_guest::adapter::imports::ServerSettings;
use csi_guest::adapter::imports::{Datetime, Level};
use csi_guest::adapter::sim::SimImports;
use csi_guest::bindings::exports::velero::csi::actions::{OperationProgress, RestoreInput};
use csi_guest::bindings::velero::csi::types::ResourceIdentifier;
use csi_guest::registry::{Registered, registered};
use scenarios::{CallKind, Identifier, LogLevel, LogRecord, Outcome, Progress, Reply, Request};
use sim_cluster::Cluster;

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

fn progress(p: OperationProgress) -> Progress {
    let time = |t: Option<Datetime>| t.map(|t| sim_cluster::format_utc(t.seconds));
    Progress {
        completed: p.completed,
        err: p.err,
        n_completed: p.n_completed,
        n_total: p.n_total,
        operation_units: p.operation_units,
        description: p.description,
        started: time(p.started),
        updated: time(p.updated),
    }
}

fn log_record((level, message): (Level, String)) -> LogRecord {
    let level = match level {
        Level::Trace => LogLevel::Trace,
        Level::Debug => LogLevel::Debug,
        Level::Info => LogLevel::Info,
        Level::Warn => LogLevel::Warn,
        Level::Error => LogLevel::Error,
    };
    LogRecord { level, message }
}

/// Makes the call against `cluster`; the reply carries the records the guest logged.
pub fn drive(scenario: &Request, cluster: Arc<Cluster>) -> Reply {
    let host = SimImports::new(cluster).with_settings(ServerSettings {
        features: scenario.server.features.clone(),
        global_volume_policies: scenario.server.global_volume_policies.clone(),
    });
    Reply {
        result: call(&host, scenario),
        logs: host.logs().into_iter().map(log_record).collect(),
    }
}

fn call(host: &SimImports, scenario: &Request) -> Result<Outcome, String> {
    let input = &scenario.input;
    let action = scenario.action.as_str();
    let outcome = match scenario.call {
        CallKind::Execute => match registered(action).map_err(|e| e.to_string())? {
            Registered::Backup(_) => {
                let out = dispatch::execute_backup(host, action, &input.item, &input.owner);
                out.map(|o| Outcome {
                    item: Some(o.item),
                    additional_items: ids(o.additional_items),
                    operation_id: o.operation_id,
                    post_operation_items: ids(o.post_operation_items),
                    ..Outcome::default()
                })
            }
            Registered::Restore(_) => {
                let request = RestoreInput {
                    item: input.item.clone(),
                    item_from_backup: input.item_from_backup.clone(),
                    restore: input.owner.clone(),
                };
                dispatch::execute_restore(host, action, &request).map(|o| Outcome {
                    item: Some(o.item),
                    additional_items: ids(o.additional_items),
                    operation_id: o.operation_id,
                    skip_restore: o.skip_restore,
                    ..Outcome::default()
                })
            }
            Registered::Delete(_) => {
                dispatch::execute_delete(host, action, &input.item, &input.owner)
                    .map(|()| Outcome::default())
            }
        },
        CallKind::Progress => dispatch::progress(host, action, &input.operation_id, &input.owner)
            .map(|p| Outcome {
                progress: Some(progress(p)),
                ..Outcome::default()
            }),
        CallKind::Cancel => dispatch::cancel(host, action, &input.operation_id, &input.owner)
            .map(|()| Outcome::default()),
        CallKind::Ready => {
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
            dispatch::are_additional_items_ready(host, action, &items, &input.owner).map(|ready| {
                Outcome {
                    ready: Some(ready),
                    ..Outcome::default()
                }
            })
        }
    };
    outcome.map_err(|e| e.to_string())
}
