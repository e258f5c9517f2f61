//! The table of volume-policy cases (`policy/cases/*.yaml`) under wasmtime: the `policy-cases`
//! program (`policy/src/bin/policy-cases.rs`), with the policy crate, is built for
//! wasm32-wasip2 by a nested cargo (the `guest` profile the component is built with, a target
//! folder of its own), run once with the case folder preopened read-only, and its report is
//! checked case by case. One test per case, named `<file>/<case>` as in the native runner
//! (`policy/tests/cases.rs`); each fails with the difference the program reported, or with
//! how the program ended when it reported nothing for the case. One more test,
//! `table/all-cases-reported`, checks that every file loaded under wasm and that the program
//! reported exactly the table's cases.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::bindings::sync::Command as WasiCommand;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxView, WasiView};

/// Where the case files are, and where the program sees them.
const CASE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../policy/cases");
const GUEST_CASE_DIR: &str = "/cases";
/// The whole table runs in milliseconds; a program still running after this is stopped.
const DEADLINE: Duration = Duration::from_secs(60);
/// Room for the program's output (the table's report is a few kilobytes).
const OUTPUT_CAPACITY: usize = 1 << 20;

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    let mut table = Vec::new();
    for file in volume_policy::cases::files(Path::new(CASE_DIR)).expect("read policy/cases") {
        let cases = volume_policy::cases::load_file(&file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (id, _) in cases {
            table.push(id.clone());
            trials.push(Trial::test(id.clone(), move || check_case(&id)));
        }
    }
    trials.push(Trial::test("table/all-cases-reported", move || {
        check_table(&table)
    }));
    libtest_mimic::run(&args, trials).exit();
}

/// What the program reported under wasmtime.
struct Report {
    /// Each reported case: `Ok` or the difference from the expectation.
    cases: BTreeMap<String, Result<(), String>>,
    /// Cases reported more than once.
    repeated: BTreeSet<String>,
    /// Files that did not load under wasm, with the error.
    file_errors: Vec<String>,
    /// The last case reported, if any.
    last: Option<String>,
    /// How the program ended, with what it wrote on stderr.
    ended: String,
}

fn check_case(id: &str) -> Result<(), Failed> {
    let report = report()?;
    match report.cases.get(id) {
        Some(Ok(())) => Ok(()),
        Some(Err(difference)) => Err(format!("under wasm: {difference}").into()),
        None => Err(format!(
            "under wasm: no result for this case; the program {}{}",
            report.ended,
            report
                .last
                .as_ref()
                .map(|last| format!(" (last case reported: {last})"))
                .unwrap_or_default()
        )
        .into()),
    }
}

fn check_table(table: &[String]) -> Result<(), Failed> {
    let report = report()?;
    let mut problems = report.file_errors.clone();
    let native: BTreeSet<&str> = table.iter().map(String::as_str).collect();
    problems.extend(
        report
            .cases
            .keys()
            .filter(|id| !native.contains(id.as_str()))
            .map(|id| format!("the program reported {id}, which the native table lacks")),
    );
    problems.extend(
        report
            .repeated
            .iter()
            .map(|id| format!("the program reported {id} more than once")),
    );
    let missing = table
        .iter()
        .filter(|id| !report.cases.contains_key(*id))
        .count();
    if missing > 0 {
        problems.push(format!(
            "no result for {missing} of the {} cases; the program {}",
            table.len(),
            report.ended
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

/// The program's report, built and run once for all the tests.
fn report() -> Result<&'static Report, Failed> {
    static REPORT: OnceLock<Result<Report, String>> = OnceLock::new();
    REPORT
        .get_or_init(|| build().and_then(|wasm| run(&wasm)))
        .as_ref()
        .map_err(|e| Failed::from(e.as_str()))
}

/// Builds `policy-cases` for wasm32-wasip2 as `host/build.rs` builds the component: the
/// `guest` profile, `--locked`, a target folder of its own under the outer build's, and none
/// of the outer build's flags or target settings.
fn build() -> Result<PathBuf, String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // `CARGO_TARGET_TMPDIR` is `<target folder>/tmp`, wherever the target folder is.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .ok_or("CARGO_TARGET_TMPDIR has no parent")?
        .join("test-components/policy-cases");
    let mut command = Command::new(env!("CARGO"));
    command
        .current_dir(&workspace)
        .args([
            "build",
            "--package",
            "volume-policy",
            "--bin",
            "policy-cases",
        ])
        .args(["--features", "cases", "--target", "wasm32-wasip2"])
        .args(["--profile", "guest", "--locked", "--target-dir"])
        .arg(&target);
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        command.env_remove(var);
    }
    let status = command
        .status()
        .map_err(|e| format!("running cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building policy-cases for wasm32-wasip2 failed ({status}); is the target \
             installed? run: rustup target add wasm32-wasip2"
        ));
    }
    Ok(target.join("wasm32-wasip2/guest/policy-cases.wasm"))
}

struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Runs the program once under wasmtime, with the engine configuration of the guest
/// runtime, the case folder preopened read-only and nothing else (no environment, no
/// network), and reads its report.
fn run(wasm: &Path) -> Result<Report, String> {
    let config = velero_plugin_for_csi::sandbox::engine_config::engine_config();
    let engine = Engine::new(&config).map_err(|e| format!("engine: {e:#}"))?;
    let component =
        Component::from_file(&engine, wasm).map_err(|e| format!("compiling {wasm:?}: {e:#}"))?;
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| format!("linker: {e:#}"))?;

    let stdout = MemoryOutputPipe::new(OUTPUT_CAPACITY);
    let stderr = MemoryOutputPipe::new(OUTPUT_CAPACITY);
    let mut wasi = WasiCtx::builder();
    wasi.stdout(stdout.clone())
        .stderr(stderr.clone())
        .args(&["policy-cases", GUEST_CASE_DIR])
        .preopened_dir(CASE_DIR, GUEST_CASE_DIR, FsPerms::ReadOnly)
        .map_err(|e| format!("preopening {CASE_DIR}: {e:#}"))?;
    let mut store = Store::new(
        &engine,
        State {
            wasi: wasi.build(),
            table: ResourceTable::new(),
        },
    );
    // The engine configuration checks the epoch: one tick, after the deadline, stops the
    // program (the thread outlives the run harmlessly).
    store.set_epoch_deadline(1);
    let ticker = engine.clone();
    std::thread::spawn(move || {
        std::thread::sleep(DEADLINE);
        ticker.increment_epoch();
    });

    let outcome = WasiCommand::instantiate(&mut store, &component, &linker)
        .and_then(|command| command.wasi_cli_run().call_run(&mut store));
    let mut ended = match outcome {
        Ok(Ok(())) => "exited with status 0".to_owned(),
        Ok(Err(())) => "exited with status 1".to_owned(),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(I32Exit(code)) => format!("exited with status {code}"),
            // The trap itself; the backtrace says little about a stripped program.
            None => format!("trapped ({})", e.root_cause()),
        },
    };
    let stderr = String::from_utf8_lossy(&stderr.contents())
        .trim()
        .to_owned();
    if !stderr.is_empty() {
        ended.push_str(&format!("; stderr: {stderr}"));
    }

    let mut report = Report {
        cases: BTreeMap::new(),
        repeated: BTreeSet::new(),
        file_errors: Vec::new(),
        last: None,
        ended,
    };
    for line in String::from_utf8_lossy(&stdout.contents()).lines() {
        let value: Value =
            serde_json::from_str(line).map_err(|e| format!("report line {line:?}: {e}"))?;
        let text = |key| value.get(key).and_then(Value::as_str).map(str::to_owned);
        if let Some(file) = text("file") {
            let error = text("error").unwrap_or_default();
            report
                .file_errors
                .push(format!("{file} does not load under wasm: {error}"));
            continue;
        }
        let id = text("case").ok_or_else(|| format!("report line without a case: {line}"))?;
        let result = match value.get("ok").and_then(Value::as_bool) {
            Some(true) => Ok(()),
            _ => Err(text("difference").unwrap_or_else(|| format!("bad report line: {line}"))),
        };
        if report.cases.insert(id.clone(), result).is_some() {
            report.repeated.insert(id.clone());
        }
        report.last = Some(id);
    }
    Ok(report)
}
