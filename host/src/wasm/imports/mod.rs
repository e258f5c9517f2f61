//! The host side of the component's imports. Each guest call gets a fresh
//! [`CallContext`]: the calling action's capability grants, the cluster, the log sink and
//! an empty WASI context (no files, no environment, no network) and its limits budget.

pub mod clock;
pub mod kube;
pub mod log;

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use self::clock::WallClock;
use self::kube::Cluster;
use super::bindings::velero::csi::types;
use super::capabilities::Grant;
use super::limits::Budget;
use crate::logging::LogSink;

/// What the host gives the guest: the cluster behind the capability check, the log and
/// the clock.
#[derive(Clone)]
pub struct HostServices {
    pub cluster: Arc<dyn Cluster>,
    pub logger: Arc<dyn LogSink>,
    pub clock: Arc<dyn WallClock>,
}

/// The store data of one guest call.
pub struct CallContext {
    action: String,
    grants: &'static [Grant],
    services: HostServices,
    budget: Budget,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl CallContext {
    /// A context for a call made on behalf of `action`, which holds `grants`, within
    /// `budget`.
    pub fn new(
        action: &str,
        grants: &'static [Grant],
        services: HostServices,
        budget: Budget,
    ) -> Self {
        Self {
            action: action.to_owned(),
            grants,
            services,
            budget,
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        }
    }
}

impl CallContext {
    /// What this call has used of its limits.
    pub fn budget(&mut self) -> &mut Budget {
        &mut self.budget
    }
}

impl WasiView for CallContext {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for CallContext {}
