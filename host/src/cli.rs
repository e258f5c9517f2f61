//! Command-line arguments, as Velero passes them.
//!
//! Velero v1.13/v1.14 pass `--log-level <level>` (and `--features <list>`); v1.15+ pass a
//! copy of the server's own arguments, with `--flag=value`, `--flag value` and bare flags
//! mixed. The plugin honours `--log-level`, `--client-qps`, `--client-burst`, `--features`
//! and `--global-backup-volume-policies-configmap` in both forms (and with a single dash, as
//! Go's flag package allows), and its own `--modules-dir`, `--module-cache` and
//! `--max-instances` for runs by hand; it ignores everything else: it must never fail on
//! its arguments, so a bad value is ignored too. The two server settings reach the guest
//! through the `server` import ([`Args::server_settings`]).

use std::ffi::OsString;

use std::path::PathBuf;
use std::time::Duration;

use crate::bindings::velero::csi::server::ServerSettings;
use crate::kubeapi::RateLimit;
use crate::logging::Level;
use crate::router::overrides::{MODULE_CACHE_ENV, MODULES_DIR_ENV, OverridesConfig};
use crate::sandbox::{GuestLimits, default_max_instances};

/// The environment variable that sets the client's QPS when Velero does not pass
/// `--client-qps`.
pub const CLIENT_QPS_ENV: &str = "VELERO_CSI_CLIENT_QPS";
/// The environment variable that sets the client's burst when Velero does not pass
/// `--client-burst`.
pub const CLIENT_BURST_ENV: &str = "VELERO_CSI_CLIENT_BURST";
/// The environment variable that sets each guest call's execution deadline, in
/// milliseconds.
pub const GUEST_DEADLINE_ENV: &str = "VELERO_CSI_GUEST_DEADLINE_MS";
/// The environment variable that sets each guest call's memory limit, in MiB.
pub const GUEST_MEMORY_ENV: &str = "VELERO_CSI_GUEST_MEMORY_MIB";
/// The environment variable that sets how many guest instances may run at once when the
/// plugin is not started with `--max-instances`.
pub const MAX_INSTANCES_ENV: &str = "VELERO_CSI_MAX_INSTANCES";

/// What the plugin takes from its command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    /// `argv[0]` exactly as received; returned to Velero as the plugin's command.
    pub argv0: String,
    /// Minimum level of the plugin's own log output (`info` unless `--log-level` says).
    pub log_level: Level,
    /// Velero's `--client-qps`: the API requests a second (a positive number), if passed.
    pub client_qps: Option<f32>,
    /// Velero's `--client-burst`: the API requests at once (a positive integer), if passed.
    pub client_burst: Option<u32>,
    /// `--modules-dir`: operator modules (for runs by hand; in Velero's pod the environment
    /// variable is the way, as Velero passes plugins no flags of theirs).
    pub modules_dir: Option<PathBuf>,
    /// `--module-cache`: where precompiled modules are kept.
    pub module_cache: Option<PathBuf>,
    /// `--max-instances`: guest instances allowed to run at once (a positive integer).
    pub max_instances: Option<usize>,
    /// Velero's `--features`: the feature flags of every occurrence, in order, split on
    /// commas, blanks trimmed, empty entries dropped.
    pub features: Vec<String>,
    /// Velero's `--global-backup-volume-policies-configmap` (v1.18.3+): the ConfigMap with
    /// the server-wide volume policy, if passed with a non-blank value (the last one wins).
    pub global_volume_policies: Option<String>,
}

impl Args {
    /// The Kubernetes client's rate limit: each setting from its flag, else from its
    /// environment variable ([`CLIENT_QPS_ENV`], [`CLIENT_BURST_ENV`]) as `env` reads it,
    /// else Velero's default (20 QPS, burst 30). Bad values count as absent.
    pub fn rate_limit(&self, env: impl Fn(&str) -> Option<String>) -> RateLimit {
        let default = RateLimit::VELERO_DEFAULT;
        let qps = self
            .client_qps
            .or_else(|| env(CLIENT_QPS_ENV).as_deref().and_then(qps))
            .unwrap_or(default.qps());
        let burst = self
            .client_burst
            .or_else(|| env(CLIENT_BURST_ENV).as_deref().and_then(burst))
            .unwrap_or(default.burst());
        RateLimit::new(qps, burst).unwrap_or(default)
    }
}

impl Args {
    /// What the guest's `server` import returns: [`Args::features`] and
    /// [`Args::global_volume_policies`].
    pub fn server_settings(&self) -> ServerSettings {
        ServerSettings {
            features: self.features.clone(),
            global_volume_policies: self.global_volume_policies.clone(),
        }
    }

    /// How many guest instances may run at once: the flag, else [`MAX_INSTANCES_ENV`] as
    /// `env` reads it, else twice the CPUs available. Bad values count as absent.
    pub fn max_instances(&self, env: impl Fn(&str) -> Option<String>) -> usize {
        self.max_instances
            .or_else(|| env(MAX_INSTANCES_ENV).as_deref().and_then(positive))
            .unwrap_or_else(default_max_instances)
    }

    /// Where operator modules come from: each setting from its flag, else from its
    /// environment variable ([`MODULES_DIR_ENV`], [`MODULE_CACHE_ENV`]) as `env` reads it.
    pub fn overrides(&self, env: impl Fn(&str) -> Option<String>) -> OverridesConfig {
        let path = |flag: &Option<PathBuf>, name: &str| {
            flag.clone()
                .or_else(|| env(name).filter(|v| !v.is_empty()).map(PathBuf::from))
        };
        OverridesConfig {
            dir: path(&self.modules_dir, MODULES_DIR_ENV),
            cache: path(&self.module_cache, MODULE_CACHE_ENV),
        }
    }
}

/// The limits of every guest call: each from its environment variable
/// ([`GUEST_DEADLINE_ENV`], [`GUEST_MEMORY_ENV`]) as `env` reads it, else the default. Bad
/// values count as absent.
pub fn guest_limits(env: impl Fn(&str) -> Option<String>) -> GuestLimits {
    let positive = |name: &str| {
        env(name)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|v| *v > 0)
    };
    GuestLimits {
        deadline: positive(GUEST_DEADLINE_ENV)
            .map(Duration::from_millis)
            .unwrap_or(GuestLimits::DEFAULT.deadline),
        memory_bytes: positive(GUEST_MEMORY_ENV)
            .and_then(|mib| usize::try_from(mib).ok()?.checked_mul(1 << 20))
            .unwrap_or(GuestLimits::DEFAULT.memory_bytes),
    }
}

/// A QPS setting: a positive finite number.
fn qps(text: &str) -> Option<f32> {
    text.trim()
        .parse::<f32>()
        .ok()
        .filter(|qps| qps.is_finite() && *qps > 0.0)
}

/// A burst setting: a positive integer.
fn burst(text: &str) -> Option<u32> {
    text.trim().parse::<u32>().ok().filter(|burst| *burst > 0)
}

/// A count: a positive integer.
fn positive(text: &str) -> Option<usize> {
    text.trim().parse::<usize>().ok().filter(|n| *n > 0)
}

/// What an operator asks for when running the binary by hand (Velero always sets the magic
/// cookie and is then served whatever the arguments say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorCommand {
    /// Run the main job end to end on the embedded simulated cluster.
    Demo,
    /// Report a component's actions and capability manifests (the embedded one unless a
    /// module path is given), as text or JSON.
    Inspect { module: Option<PathBuf>, json: bool },
    /// Validate a module and store its precompiled artifact in the module cache (the one
    /// the plugin uses: [`Args::overrides`] of the same arguments).
    Precompile { module: PathBuf, json: bool },
    /// Print the binary's version, component digest, wasmtime version and target.
    Version { json: bool },
    /// Print what the operator commands are (also for a command missing its argument).
    Usage,
}

/// The operator commands, as `Usage` prints them.
pub const USAGE: &str = "\
usage (without Velero's magic cookie, the binary runs operator commands):
  velero-plugin-for-csi demo                         the main job end to end on a simulated cluster
  velero-plugin-for-csi inspect [MODULE] [--json]    actions, selectors, capability manifests, digest
  velero-plugin-for-csi precompile MODULE [--module-cache DIR] [--json]
                                                     validate a module and cache its machine code
  velero-plugin-for-csi --version [--json]           version, component digest, wasmtime, target
";

/// The first argument that is neither a flag nor a flag's value.
fn positional(args: &[OsString], value_flags: &[&str]) -> Option<PathBuf> {
    let mut skip_next = false;
    for arg in args {
        let text = arg.to_string_lossy();
        if std::mem::take(&mut skip_next) {
            continue;
        }
        if let Some(flag) = text.strip_prefix("--") {
            skip_next = value_flags.contains(&flag);
            continue;
        }
        return Some(PathBuf::from(arg));
    }
    None
}

/// The operator command named by the first argument, if any.
pub fn operator_command(args: &[OsString]) -> Option<OperatorCommand> {
    let rest = args.get(2..).unwrap_or_default();
    let json = rest.iter().any(|a| a == "--json");
    match args.get(1).and_then(|a| a.to_str()) {
        Some("demo") => Some(OperatorCommand::Demo),
        Some("inspect") => Some(OperatorCommand::Inspect {
            module: positional(rest, &[]),
            json,
        }),
        Some("precompile") => Some(match positional(rest, &["module-cache"]) {
            Some(module) => OperatorCommand::Precompile { module, json },
            None => OperatorCommand::Usage,
        }),
        Some("--version" | "version") => Some(OperatorCommand::Version { json }),
        Some("--help" | "-h" | "help") => Some(OperatorCommand::Usage),
        _ => None,
    }
}

/// Parses an argument vector, `argv[0]` included.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Args {
    let mut args = args.into_iter().map(|a| a.to_string_lossy().into_owned());
    let argv0 = args.next().unwrap_or_default();
    let mut parsed = Args {
        argv0,
        log_level: Level::Info,
        client_qps: None,
        client_burst: None,
        modules_dir: None,
        module_cache: None,
        max_instances: None,
        features: Vec::new(),
        global_volume_policies: None,
    };
    while let Some(arg) = args.next() {
        let (name, value) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let Some(flag) = name.strip_prefix("--").or_else(|| name.strip_prefix('-')) else {
            continue;
        };
        if !matches!(
            flag,
            "log-level"
                | "client-qps"
                | "client-burst"
                | "modules-dir"
                | "module-cache"
                | "max-instances"
                | "features"
                | "global-backup-volume-policies-configmap"
        ) {
            continue;
        }
        let Some(value) = value.or_else(|| args.next()) else {
            continue;
        };
        match flag {
            "log-level" => {
                parsed.log_level = Level::from_logrus(&value).unwrap_or(parsed.log_level)
            }
            "client-qps" => parsed.client_qps = qps(&value).or(parsed.client_qps),
            "client-burst" => parsed.client_burst = burst(&value).or(parsed.client_burst),
            "modules-dir" => parsed.modules_dir = Some(PathBuf::from(value)),
            "module-cache" => parsed.module_cache = Some(PathBuf::from(value)),
            "max-instances" => parsed.max_instances = positive(&value).or(parsed.max_instances),
            "features" => parsed.features.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .map(str::to_owned),
            ),
            "global-backup-volume-policies-configmap" => {
                let value = value.trim();
                if !value.is_empty() {
                    parsed.global_volume_policies = Some(value.to_owned());
                }
            }
            _ => {}
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(args: &[&str]) -> Args {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn velero_1_13_arguments() {
        let args = parse_str(&[
            "/plugins/p",
            "--log-level",
            "warning",
            "--features",
            "EnableCSI,EnableAPIGroupVersions",
        ]);
        assert_eq!(args.argv0, "/plugins/p");
        assert_eq!(args.log_level, Level::Warn);
        assert_eq!(args.features, ["EnableCSI", "EnableAPIGroupVersions"]);
        assert_eq!(args.global_volume_policies, None);
        let args = parse_str(&[
            "/plugins/p",
            "--log-level",
            "info",
            "--features",
            "EnableCSI",
        ]);
        assert_eq!(
            args.server_settings(),
            ServerSettings {
                features: vec!["EnableCSI".into()],
                global_volume_policies: None
            }
        );
    }

    /// The arguments a v1.18.3 server passes its plugins: a copy of its own command line.
    #[test]
    fn velero_1_18_server_arguments() {
        let args = parse_str(&[
            "/plugins/velero-plugin-for-csi",
            "server",
            "--uploader-type=kopia",
            "--features=EnableCSI, ,EnableAPIGroupVersions,",
            "--default-volumes-to-fs-backup=false",
            "--log-level",
            "debug",
            "--log-format=json",
            "--client-qps=50",
            "--client-burst",
            "100",
            "--global-backup-volume-policies-configmap",
            "velero-volume-policies",
            "--item-block-worker-count=2",
            "--keep-latest-maintenance-jobs",
            "3",
            "-features",
            "EnableCSIPluginV2",
            "--backup-repository-configmap=",
        ]);
        assert_eq!(args.log_level, Level::Debug);
        assert_eq!(
            (args.client_qps, args.client_burst),
            (Some(50.0), Some(100))
        );
        assert_eq!(
            args.server_settings(),
            ServerSettings {
                features: vec![
                    "EnableCSI".into(),
                    "EnableAPIGroupVersions".into(),
                    "EnableCSIPluginV2".into()
                ],
                global_volume_policies: Some("velero-volume-policies".into())
            }
        );
    }

    #[test]
    fn server_flags_in_every_form_and_bad_values_ignored() {
        let args = parse_str(&[
            "p",
            "-features=a",
            "--features",
            " b , c ",
            "--features=",
            "--global-backup-volume-policies-configmap=first",
            "-global-backup-volume-policies-configmap",
            "  ",
            "--global-backup-volume-policies-configmap",
        ]);
        assert_eq!(args.features, ["a", "b", "c"]);
        assert_eq!(args.global_volume_policies.as_deref(), Some("first"));
        assert_eq!(parse_str(&["p"]).server_settings(), ServerSettings::none());
        assert_eq!(
            parse_str(&["p", "--features"]).features,
            Vec::<String>::new()
        );
    }

    #[test]
    fn velero_1_15_arguments_with_unknown_flags() {
        let args = parse_str(&[
            "p",
            "--features=EnableCSI",
            "--uploader-type=kopia",
            "--default-volumes-to-fs-backup",
            "--log-level=debug",
            "--log-format=json",
            "--item-block-worker-count",
            "4",
            "--unknown-flag",
            "x",
        ]);
        assert_eq!(args.log_level, Level::Debug);
    }

    #[test]
    fn operator_commands_are_the_first_argument() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            operator_command(&args(&["p", "demo"])),
            Some(OperatorCommand::Demo)
        );
        assert_eq!(operator_command(&args(&["p", "--log-level", "demo"])), None);
        assert_eq!(
            operator_command(&args(&["p", "inspect", "--json", "m.wasm"])),
            Some(OperatorCommand::Inspect {
                module: Some("m.wasm".into()),
                json: true
            })
        );
        assert_eq!(
            operator_command(&args(&["p", "inspect"])),
            Some(OperatorCommand::Inspect {
                module: None,
                json: false
            })
        );
        assert_eq!(operator_command(&args(&["p"])), None);
        let spaced = args(&["p", "precompile", "--module-cache", "/c", "m.wasm"]);
        assert_eq!(
            operator_command(&spaced),
            Some(OperatorCommand::Precompile {
                module: "m.wasm".into(),
                json: false
            })
        );
        assert_eq!(parse(spaced).module_cache, Some("/c".into()));
        let joined = args(&["p", "precompile", "m.wasm", "--module-cache=/c", "--json"]);
        assert_eq!(
            operator_command(&joined),
            Some(OperatorCommand::Precompile {
                module: "m.wasm".into(),
                json: true
            })
        );
        assert_eq!(parse(joined).module_cache, Some("/c".into()));
        assert_eq!(
            operator_command(&args(&["p", "precompile"])),
            Some(OperatorCommand::Usage)
        );
        assert_eq!(
            operator_command(&args(&["p", "--version", "--json"])),
            Some(OperatorCommand::Version { json: true })
        );
    }

    #[test]
    fn client_rate_flags_in_both_forms() {
        let args = parse_str(&[
            "p",
            "--client-qps=35.5",
            "--features=EnableCSI",
            "--client-burst",
            "70",
            "--log-level",
            "debug",
        ]);
        assert_eq!(args.client_qps, Some(35.5));
        assert_eq!(args.client_burst, Some(70));
        assert_eq!(args.log_level, Level::Debug);
        let args = parse_str(&["p", "-client-qps", "5", "-client-burst=8"]);
        assert_eq!((args.client_qps, args.client_burst), (Some(5.0), Some(8)));
        let limit = args.rate_limit(|_| Some("99".into()));
        assert_eq!(
            (limit.qps(), limit.burst()),
            (5.0, 8),
            "flags beat the environment"
        );
    }

    #[test]
    fn bad_client_rate_values_are_ignored() {
        for bad in ["fast", "0", "-3", "NaN", "inf", ""] {
            let args = parse_str(&["p", &format!("--client-qps={bad}"), "--client-burst", bad]);
            assert_eq!((args.client_qps, args.client_burst), (None, None), "{bad}");
        }
        assert_eq!(parse_str(&["p", "--client-burst=2.5"]).client_burst, None);
        let args = parse_str(&["p", "--client-qps=7", "--client-qps=bad"]);
        assert_eq!(
            args.client_qps,
            Some(7.0),
            "a bad repeat keeps the good value"
        );
        assert_eq!(parse_str(&["p", "--client-qps"]).client_qps, None);
    }

    #[test]
    fn client_rate_falls_back_to_the_environment_then_velero_defaults() {
        let env = |qps: &'static str, burst: &'static str| {
            move |name: &str| match name {
                CLIENT_QPS_ENV => Some(qps.to_owned()),
                CLIENT_BURST_ENV => Some(burst.to_owned()),
                _ => None,
            }
        };
        let bare = parse_str(&["p"]);
        let limit = bare.rate_limit(env("12.5", "40"));
        assert_eq!((limit.qps(), limit.burst()), (12.5, 40));
        let limit = bare.rate_limit(env("slow", "-1"));
        assert_eq!(limit, RateLimit::VELERO_DEFAULT, "bad environment values");
        assert_eq!(bare.rate_limit(|_| None), RateLimit::VELERO_DEFAULT);
        assert_eq!(
            (
                RateLimit::VELERO_DEFAULT.qps(),
                RateLimit::VELERO_DEFAULT.burst()
            ),
            (20.0, 30)
        );
        let only_burst = parse_str(&["p", "--client-burst=3"]).rate_limit(env("2", "50"));
        assert_eq!(
            (only_burst.qps(), only_burst.burst()),
            (2.0, 3),
            "each setting on its own"
        );
    }

    #[test]
    fn modules_from_flags_else_the_environment() {
        let env = |name: &str| match name {
            MODULES_DIR_ENV => Some("/env/modules".to_owned()),
            MODULE_CACHE_ENV => Some("/env/cache".to_owned()),
            _ => None,
        };
        let flagged = parse_str(&["p", "--modules-dir", "/m", "--module-cache=/c"]);
        assert_eq!(
            flagged.overrides(env),
            OverridesConfig {
                dir: Some("/m".into()),
                cache: Some("/c".into())
            }
        );
        assert_eq!(
            parse_str(&["p"]).overrides(env),
            OverridesConfig {
                dir: Some("/env/modules".into()),
                cache: Some("/env/cache".into())
            }
        );
        assert_eq!(
            parse_str(&["p"]).overrides(|_| Some(String::new())),
            OverridesConfig::default(),
            "empty variables count as unset"
        );
    }

    #[test]
    fn max_instances_from_the_flag_else_the_environment_else_twice_the_cpus() {
        let env = |value: &'static str| {
            move |name: &str| (name == MAX_INSTANCES_ENV).then(|| value.to_owned())
        };
        assert_eq!(
            parse_str(&["p", "--max-instances", "3"]).max_instances(env("9")),
            3
        );
        assert_eq!(
            parse_str(&["p", "--max-instances=0"]).max_instances(env("9")),
            9
        );
        assert_eq!(
            parse_str(&["p"]).max_instances(env("many")),
            default_max_instances()
        );
        assert_eq!(
            parse_str(&["p"]).max_instances(|_| None),
            default_max_instances()
        );
        assert!(default_max_instances() >= 2);
    }

    #[test]
    fn guest_limits_from_the_environment_else_defaults() {
        let env = |deadline: &'static str, memory: &'static str| {
            move |name: &str| match name {
                GUEST_DEADLINE_ENV => Some(deadline.to_owned()),
                GUEST_MEMORY_ENV => Some(memory.to_owned()),
                _ => None,
            }
        };
        assert_eq!(
            guest_limits(env("250", "64")),
            GuestLimits {
                deadline: Duration::from_millis(250),
                memory_bytes: 64 << 20
            }
        );
        assert_eq!(guest_limits(env("0", "lots")), GuestLimits::DEFAULT);
        assert_eq!(guest_limits(|_| None), GuestLimits::DEFAULT);
    }

    #[test]
    fn defaults_and_bad_values_never_fail() {
        assert_eq!(parse_str(&["p"]).log_level, Level::Info);
        assert_eq!(parse_str(&[]).argv0, "");
        assert_eq!(parse_str(&["p", "--log-level"]).log_level, Level::Info);
        assert_eq!(
            parse_str(&["p", "--log-level=shouting"]).log_level,
            Level::Info
        );
    }
}
