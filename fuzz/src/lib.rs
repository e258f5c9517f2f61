//! What the fuzz targets share: the corpus scenarios each target starts from, the input
//! format, the native and in-process gRPC drivers, and the seeds.
//!
//! An action target's input is a scenario index (two bytes, little-endian, modulo the
//! number of scenarios of that target) followed by up to four fields separated by `0xFF`
//! (a byte UTF-8 text never holds): the item, the item from the backup, the Backup or
//! Restore, the operation ID. The scenario's cluster is set up, and its first call is made
//! with the fields that are present in place of its own; its later steps run as written.
//! The gRPC target's input is a method byte (low nibble: the method; high bit: the modern
//! name set), a scenario index for the cluster, then a protobuf message as Velero sends it.
//! The HTTP/2 target's input is a chunk size (one byte) and the bytes a client sends.
//!
//! Each target's seeds are written from the corpus by the target itself: with
//! [`SEEDS_ENV`] set to a directory, it writes them there and exits ([`init`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use csi_common::actions::{Action, Kind};
use scenarios::{Reply, Request, Scenario};
use sim_cluster::Cluster;

#[path = "../../tests/support/native_driver.rs"]
mod native_driver;
#[path = "../../tests/support/simulated.rs"]
mod simulated;

pub mod grpc;

/// Set to a directory, a target writes its seed inputs there and exits.
pub const SEEDS_ENV: &str = "VELERO_CSI_FUZZ_SEEDS";

/// A target's start-up: with [`SEEDS_ENV`] set, writes the seeds of `target` (a name of
/// [`Family::name`], `grpc_requests` or `http2_frames`) and exits; otherwise loads the corpus, so that the
/// first input does not pay for it.
pub fn init(target: &str) {
    let Some(dir) = std::env::var_os(SEEDS_ENV) else {
        all_starts();
        return;
    };
    let seeds = match Family::ALL.iter().find(|f| f.name() == target) {
        Some(family) => starts(*family)
            .iter()
            .enumerate()
            .map(|(index, start)| action_seed(index, &start.request))
            .collect(),
        None if target == "http2_frames" => grpc::http2_seeds(),
        None => grpc::all_seeds(),
    };
    let dir = std::path::Path::new(&dir);
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        seeds.iter().enumerate().try_for_each(|(index, seed)| {
            std::fs::write(dir.join(format!("seed-{index:04}")), seed)
        })
    });
    match written {
        Ok(()) => {
            println!("{target}: {} seeds in {}", seeds.len(), dir.display());
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("{target}: writing seeds into {}: {e}", dir.display());
            std::process::exit(1)
        }
    }
}

/// Separates the fields of an action target's input.
pub const SEPARATOR: u8 = 0xFF;

/// The calls an action target makes: those of one plugin kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// BackupItemAction v2: Execute, Progress, Cancel.
    Backup,
    /// RestoreItemAction v2: Execute, Progress, Cancel, AreAdditionalItemsReady.
    Restore,
    /// DeleteItemAction: Execute.
    Delete,
}

impl Family {
    /// Every family, in the order of [`Family::name`].
    pub const ALL: [Family; 3] = [Family::Backup, Family::Restore, Family::Delete];

    /// The target's name.
    pub const fn name(self) -> &'static str {
        match self {
            Family::Backup => "backup_actions",
            Family::Restore => "restore_actions",
            Family::Delete => "delete_actions",
        }
    }

    fn kind(self) -> Kind {
        match self {
            Family::Backup => Kind::BackupItemActionV2,
            Family::Restore => Kind::RestoreItemActionV2,
            Family::Delete => Kind::DeleteItemAction,
        }
    }
}

/// A corpus scenario and the first call it makes.
pub struct Start {
    /// The scenario: its cluster, faults and later steps.
    pub scenario: Scenario,
    /// Its first call, inputs resolved.
    pub request: Request,
}

/// Every corpus scenario with a first call, in corpus order.
pub fn all_starts() -> &'static [Start] {
    static STARTS: OnceLock<Vec<Start>> = OnceLock::new();
    STARTS.get_or_init(|| {
        let corpus = scenarios::load_corpus().unwrap_or_else(|e| panic!("the corpus: {e}"));
        corpus
            .into_iter()
            .filter_map(|scenario| {
                first_request(&scenario).map(|request| Start { scenario, request })
            })
            .collect()
    })
}

/// The scenarios whose first call is to an action of `family`.
pub fn starts(family: Family) -> &'static [&'static Start] {
    static BY_FAMILY: OnceLock<[Vec<&'static Start>; 3]> = OnceLock::new();
    let by_family = BY_FAMILY.get_or_init(|| {
        Family::ALL.map(|family| {
            all_starts()
                .iter()
                .filter(|s| {
                    Action::from_name(&s.request.action).map(Action::kind) == Some(family.kind())
                })
                .collect()
        })
    });
    &by_family[Family::ALL.iter().position(|f| *f == family).unwrap_or(0)]
}

/// The first call `scenario` makes, as a runner would receive it.
fn first_request(scenario: &Scenario) -> Option<Request> {
    let captured = Arc::new(Mutex::new(None));
    let slot = captured.clone();
    let capture = move |request: &Request, _: Arc<Cluster>| {
        if let Ok(mut first) = slot.lock() {
            first.get_or_insert_with(|| request.clone());
        }
        Reply {
            result: Err("captured".to_owned()),
            logs: Vec::new(),
        }
    };
    // The later steps fail without the first call's reply; only the first call is wanted.
    let _ = scenario.play(&capture, |calls| calls);
    captured.lock().ok().and_then(|mut first| first.take())
}

/// The fields of an action target's input, each replacing the request's own where present.
#[derive(Debug, Default)]
struct Fields([Option<String>; 4]);

impl Fields {
    fn parse(data: &[u8]) -> Self {
        let mut fields = Fields::default();
        for (slot, part) in fields.0.iter_mut().zip(data.split(|b| *b == SEPARATOR)) {
            *slot = Some(String::from_utf8_lossy(part).into_owned());
        }
        fields
    }

    fn apply(self, request: &Request) -> Request {
        let mut request = request.clone();
        let [item, from_backup, owner, operation] = self.0;
        let input = &mut request.input;
        for (field, value) in [
            (&mut input.item, item),
            (&mut input.item_from_backup, from_backup),
            (&mut input.owner, owner),
            (&mut input.operation_id, operation),
        ] {
            if let Some(value) = value {
                *field = value;
            }
        }
        request
    }
}

/// The seed of an action target for the scenario at `index`: its first call's own inputs.
pub fn action_seed(index: usize, request: &Request) -> Vec<u8> {
    let input = &request.input;
    let mut seed = u16::try_from(index)
        .unwrap_or(u16::MAX)
        .to_le_bytes()
        .to_vec();
    let fields = [
        &input.item,
        &input.item_from_backup,
        &input.owner,
        &input.operation_id,
    ];
    for (at, field) in fields.into_iter().enumerate() {
        if at > 0 {
            seed.push(SEPARATOR);
        }
        seed.extend_from_slice(field.as_bytes());
    }
    seed
}

/// One input of an action target: the chosen scenario played natively against the simulated
/// cluster, its first call made with the input's fields. Only a panic, a hang or an abort
/// is a finding: the actions answer malformed input with errors.
pub fn run_action(family: Family, data: &[u8]) {
    let starts = starts(family);
    let [low, high, rest @ ..] = data else {
        return;
    };
    if starts.is_empty() {
        return;
    }
    let start = starts[usize::from(u16::from_le_bytes([*low, *high])) % starts.len()];
    let fields = Mutex::new(Some(Fields::parse(rest)));
    let first = AtomicBool::new(true);
    let driver = move |request: &Request, cluster: Arc<Cluster>| {
        let fuzzed = first
            .swap(false, Ordering::Relaxed)
            .then(|| fields.lock().ok().and_then(|mut f| f.take()))
            .flatten();
        match fuzzed {
            Some(fields) => native_driver::drive(&fields.apply(request), cluster),
            None => native_driver::drive(request, cluster),
        }
    };
    let _ = start.scenario.play(&driver, |calls| calls);
}
