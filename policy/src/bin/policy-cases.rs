//! `policy-cases DIR`: runs the table of policy cases in every `DIR/*.yaml` and prints one
//! JSON line per case, in file order (files sorted by name):
//!
//! ```text
//! {"case":"capacity/in-range","ok":true}
//! {"case":"capacity/open-upper-bound","ok":false,"difference":"got action None, expected Some(Skip)"}
//! {"file":"broken.yaml","error":"case 3: field expect: missing"}
//! ```
//!
//! Built for `wasm32-wasip2`, it is how the host's `policy-wasm` test runs the table with
//! this crate compiled to WebAssembly, under wasmtime (`tests/policy_wasm.rs`, the case
//! folder preopened read-only); it runs natively too. Exits with status 1 when a case fails
//! or a file does not load.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: policy-cases DIR");
        return ExitCode::from(2);
    };
    let files = match volume_policy::cases::files(&PathBuf::from(dir)) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("policy-cases: reading the case folder: {e}");
            return ExitCode::from(2);
        }
    };
    let mut all_passed = true;
    for file in files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let cases = match volume_policy::cases::load_file(&file) {
            Ok(cases) => cases,
            Err(error) => {
                println!("{}", json!({"file": name, "error": error}));
                all_passed = false;
                continue;
            }
        };
        for (id, case) in cases {
            let line = match case.run() {
                Ok(()) => json!({"case": id, "ok": true}),
                Err(difference) => {
                    all_passed = false;
                    json!({"case": id, "ok": false, "difference": difference})
                }
            };
            println!("{line}");
        }
    }
    if all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
