//! The scenario corpus through the real Kubernetes client: each call goes through the
//! embedded component, the host's capability-checked `kube` import and its kube-rs client
//! (`KubeApi`), over HTTP to the simulated cluster served as a Kubernetes API server
//! (`sim_cluster::apiserver`). Same files, same expectations as the other two runners; the
//! only scenarios left out are those whose wait runs into its timeout, which would take the
//! timeout's real time through a real client. The client's own safety list before a
//! `generateName` create (how a create whose answer is lost is resolved without creating
//! twice) and its retries of a failed idempotent call are not the action's calls: they are
//! left out of the comparison.

use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use scenarios::Reply;
use sim_cluster::apiserver::ApiServer;
use sim_cluster::{Call, Cluster as SimCluster, Verb};
use velero_plugin_for_csi::kubeapi::KubeApi;

#[path = "support/corpus_guest.rs"]
mod corpus_guest;
#[path = "support/sim_kube.rs"]
mod sim_kube;

/// Drops each list by label that directly precedes a create of the same resource in the
/// same namespace with `generateName` and exactly those labels, and each repeat of the call
/// just before it (a retry).
fn without_client_calls(calls: Vec<Call>) -> Vec<Call> {
    let mut kept: Vec<Call> = Vec::with_capacity(calls.len());
    for call in calls {
        if kept.last() == Some(&call) && call.verb != Verb::Create {
            continue;
        }
        let safety = call.verb == Verb::Create
            && kept.last().is_some_and(|last| {
                last.verb == Verb::List
                    && last.resource == call.resource
                    && last.namespace == call.namespace
                    && last.selector == labels_of(&call)
            });
        if safety {
            kept.pop();
        }
        kept.push(call);
    }
    kept
}

/// The selector `key=value,…` (sorted by key) of a created object's labels.
fn labels_of(call: &Call) -> Option<String> {
    let labels = call
        .body
        .as_ref()?
        .pointer("/metadata/labels")?
        .as_object()?;
    let mut pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    pairs.sort();
    Some(pairs.join(","))
}

/// The reply of a call that never reached the component.
fn unreached(error: String) -> Reply {
    Reply {
        result: Err(error),
        logs: Vec::new(),
    }
}

fn main() -> ExitCode {
    static TOKIO: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    scenarios::run_except(
        |scenario| scenario.waits_out(),
        without_client_calls,
        |request, cluster: Arc<SimCluster>| {
            let tokio =
                TOKIO.get_or_init(|| tokio::runtime::Runtime::new().expect("tokio runtime"));
            tokio.block_on(async {
                let server = match ApiServer::start(cluster).await {
                    Ok(server) => server,
                    Err(e) => return unreached(e.to_string()),
                };
                let api = match sim_kube::client(&server).await {
                    Ok(client) => KubeApi::with_client(client),
                    Err(e) => return unreached(e),
                };
                corpus_guest::drive(request, Arc::new(api)).await
            })
        },
    )
}
