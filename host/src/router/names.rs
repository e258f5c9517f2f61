//! The name set this process registers ([`NameSet`]), chosen once at start-up from
//! [`NameSet::ENV`], and which of its names are routed.
//!
//! The choice never fails: Velero would not start with a plugin process that exits, so an
//! unknown value falls back to [`NameSet::DEFAULT`] with a warning in the log.

use csi_common::actions::{Action, Kind, NameSet};

use crate::bindings::ActionInfo;

/// The most characters of a rejected value quoted back in the warning.
const QUOTED_MAX: usize = 64;

/// How the active name set was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chosen {
    /// [`NameSet::ENV`] is unset (or empty): [`NameSet::DEFAULT`].
    Default,
    /// [`NameSet::ENV`] names the set.
    FromEnv,
    /// [`NameSet::ENV`] holds a value that names no set: [`NameSet::DEFAULT`]. The value is
    /// kept as received (lossily decoded).
    Rejected {
        /// The value of [`NameSet::ENV`].
        value: String,
    },
}

/// The name set in force and how it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveNames {
    set: NameSet,
    chosen: Chosen,
}

impl ActiveNames {
    /// The set a value of [`NameSet::ENV`] selects: `None` or blank means the default; an
    /// unknown value means the default too, remembered for [`ActiveNames::warning`].
    pub fn from_value(value: Option<&str>) -> Self {
        match value.filter(|v| !v.trim().is_empty()) {
            None => Self::fixed(NameSet::DEFAULT, Chosen::Default),
            Some(value) => match NameSet::parse(value) {
                Some(set) => Self::fixed(set, Chosen::FromEnv),
                None => Self::fixed(
                    NameSet::DEFAULT,
                    Chosen::Rejected {
                        value: value.to_owned(),
                    },
                ),
            },
        }
    }

    /// The set this process's environment selects ([`NameSet::ENV`]).
    pub fn from_env() -> Self {
        let value = std::env::var_os(NameSet::ENV).map(|v| v.to_string_lossy().into_owned());
        Self::from_value(value.as_deref())
    }

    /// `set`, chosen as `chosen`: for callers that pin a set (the demo, tests).
    pub const fn fixed(set: NameSet, chosen: Chosen) -> Self {
        Self { set, chosen }
    }

    /// The set in force.
    pub const fn set(&self) -> NameSet {
        self.set
    }

    /// How it was chosen.
    pub const fn chosen(&self) -> &Chosen {
        &self.chosen
    }

    /// How it was chosen, in a few words: `default`, `from VELERO_CSI_NAMES`, or `default
    /// (VELERO_CSI_NAMES="…" is not a name set)`.
    pub fn how(&self) -> String {
        match &self.chosen {
            Chosen::Default => "default".to_owned(),
            Chosen::FromEnv => format!("from {}", NameSet::ENV),
            Chosen::Rejected { value } => {
                format!(
                    "default ({}={} is not a name set)",
                    NameSet::ENV,
                    quoted(value)
                )
            }
        }
    }

    /// How it was chosen, as one JSON-friendly word: `default`, `env` or `fallback`.
    pub const fn how_word(&self) -> &'static str {
        match self.chosen {
            Chosen::Default => "default",
            Chosen::FromEnv => "env",
            Chosen::Rejected { .. } => "fallback",
        }
    }

    /// The warning to log when [`NameSet::ENV`] held a value that names no set: the value
    /// (quoted, at most 64 characters) and the values accepted.
    pub fn warning(&self) -> Option<String> {
        let Chosen::Rejected { value } = &self.chosen else {
            return None;
        };
        Some(format!(
            "{}={} is not a name set (accepted: {}); registering the default set, {}",
            NameSet::ENV,
            quoted(value),
            accepted(),
            self.set.as_str()
        ))
    }

    /// The actions routed and listed: those of the active set that `implemented` (a
    /// component's listing) holds, in [`NameSet::actions`] order.
    pub fn routed(&self, implemented: &[Action]) -> Vec<Action> {
        self.set
            .actions()
            .iter()
            .copied()
            .filter(|action| implemented.contains(action))
            .collect()
    }
}

impl ActiveNames {
    /// The actions a component listing `listing` would register under this set: those
    /// [`ActiveNames::routed`] keeps of the listed names the host knows, under their kind.
    pub fn registered(&self, listing: &[ActionInfo]) -> Vec<Action> {
        let implemented: Vec<Action> = listing
            .iter()
            .filter_map(|info| {
                Action::from_name(&info.name).filter(|a| a.kind() == Kind::from(info.kind))
            })
            .collect();
        self.routed(&implemented)
    }

    /// The set, how it was chosen and the names `registered`, as JSON (for `inspect` and
    /// `--version`).
    pub fn to_json(&self, registered: &[Action]) -> serde_json::Value {
        serde_json::json!({
            "active": self.set.as_str(),
            "chosen": self.how_word(),
            "how": self.how(),
            "variable": NameSet::ENV,
            "registered": registered.iter().map(|a| a.name()).collect::<Vec<_>>(),
        })
    }

    /// The names `registered`, for people: comma-separated, or why there are none.
    pub fn describe_registered(&self, registered: &[Action]) -> String {
        if registered.is_empty() {
            format!(
                "none (the component implements no action of the {} set)",
                self.set.as_str()
            )
        } else {
            registered
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// The values [`NameSet::ENV`] accepts, quoted and comma-separated.
pub fn accepted() -> String {
    [NameSet::V071, NameSet::Modern]
        .map(|set| format!("{:?}", set.as_str()))
        .join(", ")
}

/// `value` quoted with its control characters escaped, cut to [`QUOTED_MAX`] characters.
fn quoted(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(QUOTED_MAX).collect();
    let cut = if chars.next().is_some() { "…" } else { "" };
    format!("{head:?}{cut}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_or_blank_is_the_default() {
        for value in [None, Some(""), Some("  ")] {
            let names = ActiveNames::from_value(value);
            assert_eq!(names.set(), NameSet::DEFAULT);
            assert_eq!(names.chosen(), &Chosen::Default);
            assert_eq!(names.how(), "default");
            assert_eq!(names.warning(), None);
        }
    }

    #[test]
    fn the_variable_names_either_set() {
        let v071 = ActiveNames::from_value(Some("v0.7.1"));
        assert_eq!(
            (v071.set(), v071.chosen()),
            (NameSet::V071, &Chosen::FromEnv)
        );
        assert_eq!(v071.how(), "from VELERO_CSI_NAMES");
        assert_eq!(
            ActiveNames::from_value(Some(" MODERN\n")).set(),
            NameSet::Modern
        );
    }

    #[test]
    fn an_unknown_value_falls_back_with_a_bounded_quoted_warning() {
        let names = ActiveNames::from_value(Some("v1.13\u{1b}[31m"));
        assert_eq!(names.set(), NameSet::DEFAULT);
        assert_eq!(names.how_word(), "fallback");
        assert_eq!(
            names.warning().unwrap(),
            r#"VELERO_CSI_NAMES="v1.13\u{1b}[31m" is not a name set (accepted: "v0.7.1", "modern"); registering the default set, modern"#
        );
        let long = "x".repeat(1000);
        let warning = ActiveNames::from_value(Some(&long)).warning().unwrap();
        assert!(
            warning.contains(&format!("\"{}\"…", "x".repeat(64))),
            "{warning}"
        );
        assert!(warning.len() < 200, "{warning}");
    }

    #[test]
    fn routes_the_active_set_that_is_implemented_in_set_order() {
        let implemented: Vec<Action> = Action::ALL.iter().rev().copied().collect();
        let modern = ActiveNames::fixed(NameSet::Modern, Chosen::Default);
        assert_eq!(modern.routed(&implemented), Action::MODERN);
        assert_eq!(modern.routed(&Action::V071), []);
        let v071 = ActiveNames::fixed(NameSet::V071, Chosen::FromEnv);
        assert_eq!(v071.routed(&implemented), Action::V071);
        assert_eq!(
            v071.routed(&[Action::PvcRestore, Action::ModernPvcDelete]),
            [Action::PvcRestore]
        );
    }
}
