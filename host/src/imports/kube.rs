//! `velero:csi/kube`: the Kubernetes API behind the capability check.
//!
//! Every call is checked against the calling action's grants first. A call that is not
//! granted never reaches the [`Kubernetes`](crate::kubeapi::Kubernetes) API: the guest gets `forbidden` and the host
//! logs a warning naming the action and the refused request.

use std::time::Duration;

use super::CallContext;
use super::capabilities::{Request, Verb, permits};
use crate::bindings::velero::csi::kube::{ApiResource, Condition, Host, KubeError, ObjectRef};
use crate::logging::Level;

impl CallContext {
    /// Checks one request against the calling action's grants.
    fn check(
        &self,
        verb: Verb,
        api: &ApiResource,
        namespace: Option<&str>,
    ) -> Result<(), KubeError> {
        let request = Request {
            group: &api.group,
            resource: &api.resource,
            verb,
            namespace,
        };
        if permits(self.caller.grants, &request) {
            return Ok(());
        }
        let message = format!("action {} may not {request}", self.caller.action);
        self.services.logger.emit(
            Level::Warn,
            "capabilities",
            &format!("denied Kubernetes API call: {message}"),
        );
        Err(KubeError::Forbidden(message))
    }
}

impl Host for CallContext {
    async fn get(&mut self, target: ObjectRef) -> Result<String, KubeError> {
        self.check(Verb::Get, &target.api, target.namespace.as_deref())?;
        self.services.cluster.get(target).await
    }

    async fn list(
        &mut self,
        api: ApiResource,
        namespace: Option<String>,
        label_selector: Option<String>,
    ) -> Result<Vec<String>, KubeError> {
        self.check(Verb::List, &api, namespace.as_deref())?;
        self.services
            .cluster
            .list(api, namespace, label_selector)
            .await
    }

    async fn create(
        &mut self,
        api: ApiResource,
        namespace: Option<String>,
        object: String,
    ) -> Result<String, KubeError> {
        self.check(Verb::Create, &api, namespace.as_deref())?;
        self.services.cluster.create(api, namespace, object).await
    }

    async fn merge_patch(&mut self, target: ObjectRef, patch: String) -> Result<String, KubeError> {
        self.check(Verb::Patch, &target.api, target.namespace.as_deref())?;
        self.services.cluster.merge_patch(target, patch).await
    }

    async fn delete(&mut self, target: ObjectRef) -> Result<(), KubeError> {
        self.check(Verb::Delete, &target.api, target.namespace.as_deref())?;
        self.services.cluster.delete(target).await
    }

    async fn wait_until(
        &mut self,
        target: ObjectRef,
        condition: Condition,
        timeout_ms: u64,
    ) -> Result<Option<String>, KubeError> {
        self.check(Verb::Watch, &target.api, target.namespace.as_deref())?;
        self.services
            .cluster
            .wait_until(target, condition, Duration::from_millis(timeout_ms))
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::imports::capabilities::{Grant, Scope};
    use crate::imports::clock::SystemClock;
    use crate::imports::{Caller, HostServices};
    use crate::kubeapi::{KubeFuture, Kubernetes};
    use crate::logging::{LogSink, Record};

    /// Records the calls that reached it.
    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<String>>,
    }

    impl Recorder {
        fn answer<T: Send + 'static>(&self, call: String, value: T) -> KubeFuture<'_, T> {
            self.calls.lock().unwrap().push(call);
            Box::pin(async move { Ok(value) })
        }
    }

    impl Kubernetes for Recorder {
        fn get(&self, t: ObjectRef) -> KubeFuture<'_, String> {
            self.answer(format!("get {}", t.name), "{}".to_owned())
        }
        fn list(
            &self,
            a: ApiResource,
            _: Option<String>,
            _: Option<String>,
        ) -> KubeFuture<'_, Vec<String>> {
            self.answer(format!("list {}", a.resource), Vec::new())
        }
        fn create(&self, a: ApiResource, _: Option<String>, o: String) -> KubeFuture<'_, String> {
            self.answer(format!("create {}", a.resource), o)
        }
        fn merge_patch(&self, t: ObjectRef, p: String) -> KubeFuture<'_, String> {
            self.answer(format!("patch {}", t.name), p)
        }
        fn delete(&self, t: ObjectRef) -> KubeFuture<'_, ()> {
            self.answer(format!("delete {}", t.name), ())
        }
        fn wait_until(
            &self,
            t: ObjectRef,
            _: Condition,
            _: Duration,
        ) -> KubeFuture<'_, Option<String>> {
            self.answer(format!("wait {}", t.name), None)
        }
    }

    #[derive(Default)]
    struct Logs(Mutex<Vec<Record>>);

    impl LogSink for Logs {
        fn log(&self, record: Record) {
            self.0.lock().unwrap().push(record);
        }
    }

    const GRANTS: &[Grant] = &[Grant {
        group: "snapshot.storage.k8s.io",
        resource: "volumesnapshots",
        verbs: &[Verb::Get, Verb::Patch],
        scope: Scope::AnyNamespace,
    }];

    fn snapshot(namespace: Option<&str>) -> ObjectRef {
        ObjectRef {
            api: ApiResource {
                group: "snapshot.storage.k8s.io".into(),
                version: "v1".into(),
                resource: "volumesnapshots".into(),
            },
            namespace: namespace.map(str::to_owned),
            name: "vs".into(),
        }
    }

    fn context(grants: &'static [Grant]) -> (CallContext, Arc<Recorder>, Arc<Logs>) {
        let cluster = Arc::new(Recorder::default());
        let logs = Arc::new(Logs::default());
        let services = HostServices {
            cluster: cluster.clone(),
            logger: logs.clone(),
            clock: Arc::new(SystemClock),
            server: crate::bindings::velero::csi::server::ServerSettings::none(),
        };
        let caller = Caller {
            action: "velero.io/test-action",
            grants,
        };
        let ctx = CallContext::new(caller, services);
        (ctx, cluster, logs)
    }

    #[tokio::test]
    async fn granted_calls_reach_the_cluster() {
        let (mut ctx, cluster, logs) = context(GRANTS);
        assert_eq!(
            Host::get(&mut ctx, snapshot(Some("app"))).await.unwrap(),
            "{}"
        );
        Host::merge_patch(&mut ctx, snapshot(Some("app")), "{}".into())
            .await
            .unwrap();
        assert_eq!(*cluster.calls.lock().unwrap(), ["get vs", "patch vs"]);
        assert!(logs.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn denied_calls_never_reach_the_cluster() {
        let (mut ctx, cluster, logs) = context(GRANTS);
        let denied = [
            Host::delete(&mut ctx, snapshot(Some("app"))).await.err(),
            Host::get(&mut ctx, snapshot(None)).await.err(),
            Host::wait_until(&mut ctx, snapshot(Some("app")), Condition::Deleted, 1)
                .await
                .err(),
        ];
        for error in denied {
            let Some(KubeError::Forbidden(message)) = error else {
                panic!("expected forbidden, got {error:?}");
            };
            assert!(
                message.starts_with("action velero.io/test-action may not "),
                "{message}"
            );
        }
        assert!(cluster.calls.lock().unwrap().is_empty());
        let logs = logs.0.lock().unwrap();
        assert_eq!(logs.len(), 3);
        assert!(logs.iter().all(|r| r.level == Level::Warn));
        assert!(
            logs[0].message.contains(
                "may not delete snapshot.storage.k8s.io/volumesnapshots in namespace app"
            )
        );
    }

    #[tokio::test]
    async fn an_action_without_grants_can_call_nothing() {
        let (mut ctx, cluster, _) = context(&[]);
        let api = snapshot(None).api;
        assert!(matches!(
            Host::list(&mut ctx, api.clone(), None, None).await,
            Err(KubeError::Forbidden(_))
        ));
        assert!(matches!(
            Host::create(&mut ctx, api, Some("a".into()), "{}".into()).await,
            Err(KubeError::Forbidden(_))
        ));
        assert!(cluster.calls.lock().unwrap().is_empty());
    }
}
