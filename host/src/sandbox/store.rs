//! The store data of one guest call: the imports' context, the call's limits budget, and
//! an empty WASI context (no files, no environment, no network).

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::Budget;
use crate::imports::CallContext;

/// What a call's store holds.
pub struct CallState {
    /// The imports' state: the caller and the host's services.
    pub imports: CallContext,
    /// What the call has used of its limits.
    pub budget: Budget,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl CallState {
    /// The state of a call served by `imports`, within `budget`.
    pub fn new(imports: CallContext, budget: Budget) -> Self {
        Self {
            imports,
            budget,
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        }
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
