//! The table of policy cases (`policy/cases/*.yaml`): loading a case file and checking a case.
//! The native test runner, the WebAssembly program and its runner use the same code: [`files`]
//! lists a folder's case files, [`load_file`] reads one and names its cases `<file>/<case>`.
//!
//! A case file is a YAML list of cases:
//!
//! ```yaml
//! - name: storage-class-matches
//!   upstream: internal/resourcepolicies/volume_resources_test.go TestStorageClassConditionMatch
//!   policy: |            # the policy document (per-backup)
//!     version: v1
//!     volumePolicies: [...]
//!   global: |            # optional: the global policy document, combined as Velero does
//!   pvc: {...}           # optional PVC object
//!   pv: {...}            # optional PV object
//!   expect: skip         # skip | snapshot | fs-backup | custom | none | policy-error | eval-error
//!   parameters: {...}    # for custom: the expected parameters
//!   error: text          # for the error expectations: a part of the error message
//! ```

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::{ActionType, Policies, PolicyError, decode, yaml};

/// Why a case file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The file is not a YAML document.
    #[error("case file is not valid YAML: {0}")]
    Yaml(#[source] PolicyError),
    /// The file is not a list of case mappings.
    #[error("case file must be a list of mappings")]
    NotAList,
    /// A case lacks a field or has it with the wrong type.
    #[error("case {index}: field {field}: {problem}")]
    Field {
        /// Position of the case in the file.
        index: usize,
        /// The field.
        field: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
}

/// What a case expects.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// The evaluation gives this action (`None`: no policy matches), with these parameters
    /// when given.
    Action {
        /// The expected action type, or `None` for no match.
        kind: Option<ActionType>,
        /// The expected parameters, checked when given.
        parameters: Option<Map<String, Value>>,
    },
    /// Parsing a policy document fails with a message containing this text.
    PolicyError(String),
    /// Evaluating the volume fails with a message containing this text.
    EvalError(String),
}

/// One case of the table.
#[derive(Clone, Debug)]
pub struct Case {
    /// The case's name, unique in its file.
    pub name: String,
    /// The upstream rule or test it comes from (file and function in Velero v1.18.3).
    pub upstream: String,
    /// The per-backup policy document.
    pub policy: Option<String>,
    /// The global policy document.
    pub global: Option<String>,
    /// The PVC.
    pub pvc: Option<Value>,
    /// The PV.
    pub pv: Option<Value>,
    /// The expectation.
    pub expect: Expect,
}

/// The case files (`*.yaml`) in `dir`, sorted by name.
pub fn files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "yaml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads and loads the case file `path`: each case with its name in the table,
/// `<file stem>/<case name>`. The error says what failed (reading or loading), without the path.
pub fn load_file(path: &Path) -> Result<Vec<(String, Case)>, String> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let cases = load(&text).map_err(|e| e.to_string())?;
    Ok(cases
        .into_iter()
        .map(|case| (format!("{stem}/{}", case.name), case))
        .collect())
}

/// Loads the cases of one case file.
pub fn load(text: &str) -> Result<Vec<Case>, CaseError> {
    let root = yaml::parse_document(text)
        .map_err(CaseError::Yaml)?
        .ok_or(CaseError::NotAList)?;
    let Value::Array(items) = decode::json(&root).map_err(CaseError::Yaml)? else {
        return Err(CaseError::NotAList);
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let Value::Object(map) = item else {
                return Err(CaseError::NotAList);
            };
            case(index, map)
        })
        .collect()
}

fn case(index: usize, mut map: Map<String, Value>) -> Result<Case, CaseError> {
    let field_err = |field, problem| CaseError::Field {
        index,
        field,
        problem,
    };
    let mut text = |field: &'static str| match map.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(field_err(field, "must be a string")),
    };
    let name = text("name")?.ok_or(field_err("name", "missing"))?;
    let upstream = text("upstream")?.ok_or(field_err("upstream", "missing"))?;
    let policy = text("policy")?;
    let global = text("global")?;
    let expect = text("expect")?.ok_or(field_err("expect", "missing"))?;
    let error = text("error")?;
    let parameters = match map.remove("parameters") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(_) => return Err(field_err("parameters", "must be a mapping")),
    };
    let expect = match expect.as_str() {
        "policy-error" | "eval-error" => {
            let error = error.ok_or(field_err("error", "missing for an error expectation"))?;
            if expect == "policy-error" {
                Expect::PolicyError(error)
            } else {
                Expect::EvalError(error)
            }
        }
        "none" => Expect::Action {
            kind: None,
            parameters: None,
        },
        other => Expect::Action {
            kind: Some(
                [
                    ActionType::Skip,
                    ActionType::Snapshot,
                    ActionType::FsBackup,
                    ActionType::Custom,
                ]
                .into_iter()
                .find(|k| k.as_str() == other)
                .ok_or(field_err("expect", "unknown expectation"))?,
            ),
            parameters,
        },
    };
    if policy.is_none() && global.is_none() {
        return Err(field_err("policy", "a case needs policy or global"));
    }
    Ok(Case {
        name,
        upstream,
        policy,
        global,
        pvc: map.remove("pvc").filter(|v| !v.is_null()),
        pv: map.remove("pv").filter(|v| !v.is_null()),
        expect,
    })
}

impl Case {
    /// Runs the case; `Err` describes the difference from the expectation.
    pub fn run(&self) -> Result<(), String> {
        let parse = |doc: &Option<String>| doc.as_deref().map(Policies::parse).transpose();
        let parsed = parse(&self.policy).and_then(|b| Ok((b, parse(&self.global)?)));
        let (backup, global) = match (parsed, &self.expect) {
            (Err(e), Expect::PolicyError(want)) => {
                let got = e.to_string();
                return if got.contains(want.as_str()) {
                    Ok(())
                } else {
                    Err(format!("policy error {got:?} does not contain {want:?}"))
                };
            }
            (Err(e), _) => return Err(format!("unexpected policy error: {e}")),
            (Ok(_), Expect::PolicyError(want)) => {
                return Err(format!(
                    "policy parsed, expected an error containing {want:?}"
                ));
            }
            (Ok(both), _) => both,
        };
        let policies = Policies::with_global(backup, global)
            .ok_or_else(|| "no policies to evaluate".to_owned())?;
        let outcome = policies.evaluate(self.pvc.as_ref(), self.pv.as_ref());
        match (outcome, &self.expect) {
            (Err(e), Expect::EvalError(want)) if e.to_string().contains(want.as_str()) => Ok(()),
            (Err(e), _) => Err(format!("unexpected evaluation error: {e}")),
            (Ok(action), Expect::Action { kind, parameters }) => {
                let got = action.map(|a| a.kind);
                if got != *kind {
                    return Err(format!("got action {got:?}, expected {kind:?}"));
                }
                match (parameters, action) {
                    (Some(want), Some(a)) if a.parameters.as_ref() != Some(want) => Err(format!(
                        "got parameters {:?}, expected {want:?}",
                        a.parameters
                    )),
                    _ => Ok(()),
                }
            }
            (Ok(action), _) => Err(format!(
                "evaluation gave {:?}, expected an error",
                action.map(|a| a.kind)
            )),
        }
    }
}
