//! The sandbox's bounds on one guest call: guest execution time (an epoch deadline) and
//! memory (a resource limiter). Whichever is exceeded stops the call with a trap the host
//! reports as [`LimitExceeded`]; the process goes on serving.
//!
//! The deadline counts the time the guest *executes*: while it awaits a host import (a
//! Kubernetes call, a watch that waits for a snapshot handle) its clock stands still,
//! because those calls carry their own deadlines (retry budgets, the Backup's CSI snapshot
//! timeout). A guest that loops, or that computes for longer than any action needs, is
//! stopped within one tick of its deadline. At every tick the guest also yields to the async
//! executor, so that a guest that computes for long shares its worker thread with the other
//! tasks (gRPC answers, other calls) instead of holding it until its deadline.

use std::time::Duration;

use wasmtime::{Engine, ResourceLimiter, UpdateDeadline};

/// How often the engine's epoch advances: the resolution of the deadline.
pub const TICK: Duration = Duration::from_millis(10);

/// The bounds on every guest call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestLimits {
    /// Guest execution time allowed per call.
    pub deadline: Duration,
    /// Linear memory allowed per call, in bytes.
    pub memory_bytes: usize,
}

impl GuestLimits {
    /// Generous for the CSI actions (which execute for well under a millisecond and use a
    /// few MiB), tight enough that a runaway guest is stopped quickly.
    pub const DEFAULT: GuestLimits = GuestLimits {
        deadline: Duration::from_secs(10),
        memory_bytes: 256 << 20,
    };
}

impl Default for GuestLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Table elements allowed per call (function references; the CSI component uses a few
/// hundred).
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Which bound a call ran into.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    #[error("it executed for longer than its deadline of {0:?} and was stopped")]
    Deadline(Duration),
    #[error(
        "it asked for {desired} bytes of memory, over its limit of {limit} bytes, and was stopped"
    )]
    Memory { desired: usize, limit: usize },
    #[error(
        "it asked for a table of {desired} elements, over the limit of {limit}, and was stopped"
    )]
    Table { desired: usize, limit: usize },
}

/// What one call has used of its limits; kept in the call's store.
#[derive(Debug)]
pub struct Budget {
    limits: GuestLimits,
    ticks_left: u64,
    exceeded: Option<LimitExceeded>,
}

impl Budget {
    /// A fresh budget for one call.
    pub fn new(limits: GuestLimits) -> Self {
        Self {
            limits,
            ticks_left: limits.deadline.as_millis().div_ceil(TICK.as_millis()) as u64,
            exceeded: None,
        }
    }

    /// The bound this call ran into, if any.
    pub fn exceeded(&self) -> Option<&LimitExceeded> {
        self.exceeded.as_ref()
    }

    /// Called by the engine when the guest executes past the store's epoch deadline: at
    /// most once per tick while it runs, once after each host call (or yield) that spanned
    /// a tick. Each call counts one tick; the guest then yields and goes on for one more.
    pub fn on_epoch_deadline(&mut self) -> wasmtime::Result<UpdateDeadline> {
        if self.ticks_left == 0 {
            let exceeded = LimitExceeded::Deadline(self.limits.deadline);
            self.exceeded = Some(exceeded.clone());
            return Err(wasmtime::Error::new(exceeded));
        }
        self.ticks_left -= 1;
        Ok(UpdateDeadline::Yield(1))
    }

    fn refuse(&mut self, exceeded: LimitExceeded) -> wasmtime::Result<bool> {
        self.exceeded = Some(exceeded.clone());
        Err(wasmtime::Error::new(exceeded))
    }
}

impl ResourceLimiter for Budget {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let limit = self.limits.memory_bytes;
        if desired > limit {
            return self.refuse(LimitExceeded::Memory { desired, limit });
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            return self.refuse(LimitExceeded::Table {
                desired,
                limit: MAX_TABLE_ELEMENTS,
            });
        }
        Ok(true)
    }
}

/// Advances `engine`'s epoch every [`TICK`] on a thread of its own, for as long as the
/// engine lives.
pub fn start_epoch_ticker(engine: &Engine) -> std::io::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_allows_its_ticks_then_stops() {
        let mut budget = Budget::new(GuestLimits {
            deadline: Duration::from_millis(30),
            memory_bytes: 1 << 20,
        });
        for _ in 0..3 {
            assert!(matches!(
                budget.on_epoch_deadline(),
                Ok(UpdateDeadline::Yield(1))
            ));
        }
        let Err(error) = budget.on_epoch_deadline() else {
            panic!("the deadline did not stop the call");
        };
        assert_eq!(
            error.downcast_ref::<LimitExceeded>(),
            Some(&LimitExceeded::Deadline(Duration::from_millis(30)))
        );
        assert!(budget.exceeded().is_some());
    }

    #[test]
    fn memory_beyond_the_limit_is_refused_and_remembered() {
        let mut budget = Budget::new(GuestLimits {
            deadline: Duration::from_secs(1),
            memory_bytes: 1 << 20,
        });
        assert!(budget.memory_growing(0, 1 << 20, None).unwrap());
        assert!(budget.exceeded().is_none());
        assert!(budget.memory_growing(1 << 20, 2 << 20, None).is_err());
        assert_eq!(
            budget.exceeded(),
            Some(&LimitExceeded::Memory {
                desired: 2 << 20,
                limit: 1 << 20
            })
        );
    }

    #[test]
    fn huge_tables_are_refused() {
        let mut budget = Budget::new(GuestLimits::DEFAULT);
        assert!(budget.table_growing(0, 1_000, None).unwrap());
        assert!(
            budget
                .table_growing(0, MAX_TABLE_ELEMENTS + 1, None)
                .is_err()
        );
    }
}
