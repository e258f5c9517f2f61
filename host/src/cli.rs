//! Command-line arguments, as Velero passes them.
//!
//! Velero v1.13/v1.14 pass `--log-level <level>` (and `--features <list>`); v1.15+ pass a
//! copy of the server's own arguments, with `--flag=value`, `--flag value` and bare flags
//! mixed. The plugin honours `--log-level`, `--client-qps` and `--client-burst` in both
//! forms (and with a single dash, as Go's flag package allows) and ignores everything else:
//! it must never fail on its arguments, so a bad value is ignored too.

use std::ffi::OsString;

use crate::kubeapi::RateLimit;
use crate::logging::Level;

/// The environment variable that sets the client's QPS when Velero does not pass
/// `--client-qps`.
pub const CLIENT_QPS_ENV: &str = "VELERO_CSI_CLIENT_QPS";
/// The environment variable that sets the client's burst when Velero does not pass
/// `--client-burst`.
pub const CLIENT_BURST_ENV: &str = "VELERO_CSI_CLIENT_BURST";

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

/// What an operator asks for when running the binary by hand (Velero always sets the magic
/// cookie and is then served whatever the arguments say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorCommand {
    /// Run the main job end to end on the embedded simulated cluster.
    Demo,
    /// Report a component's actions and capability manifests (the embedded one unless a
    /// module path is given), as text or JSON.
    Inspect {
        module: Option<std::path::PathBuf>,
        json: bool,
    },
}

/// The operator command named by the first argument, if any.
pub fn operator_command(args: &[OsString]) -> Option<OperatorCommand> {
    match args.get(1).and_then(|a| a.to_str()) {
        Some("demo") => Some(OperatorCommand::Demo),
        Some("inspect") => {
            let rest = &args[2..];
            let json = rest.iter().any(|a| a == "--json");
            let module = rest
                .iter()
                .find(|a| !a.to_string_lossy().starts_with("--"))
                .map(std::path::PathBuf::from);
            Some(OperatorCommand::Inspect { module, json })
        }
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
    };
    while let Some(arg) = args.next() {
        let (name, value) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let Some(flag) = name.strip_prefix("--").or_else(|| name.strip_prefix('-')) else {
            continue;
        };
        if !matches!(flag, "log-level" | "client-qps" | "client-burst") {
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
