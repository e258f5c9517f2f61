//! A go-plugin client that launches and drives the plugin binary the way Velero does: same
//! environment, arguments and pipes, handshake parsing, h2c over the Unix socket, and
//! `Shutdown` followed by at most 2 s of waiting before a kill.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use csi_common::actions::NameSet;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::UnixStream;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

use crate::proto::plugin::Empty;
use crate::proto::plugin::grpc_controller_client::GrpcControllerClient;

/// How long go-plugin waits for the handshake line.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long go-plugin waits for the process to exit after `Shutdown`.
const EXIT_TIMEOUT: Duration = Duration::from_secs(2);

/// Why launching or stopping the plugin failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot start the plugin")]
    Spawn(#[source] std::io::Error),
    #[error("plugin exited before we could connect ({0})")]
    ExitedEarly(String),
    #[error("timed out waiting for the handshake line")]
    HandshakeTimeout,
    #[error("unrecognized remote plugin message: {0:?}")]
    BadHandshake(String),
    #[error("cannot connect to the plugin socket")]
    Connect(#[source] tonic::transport::Error),
    #[error("waiting for the plugin to exit failed")]
    Wait(#[source] std::io::Error),
}

/// What the plugin's stderr pipe does after the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StderrMode {
    /// Read every line and keep it (as go-plugin does, to log it).
    Capture,
    /// Close the read end, as a client that went away.
    Close,
}

/// How to launch the plugin.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The path executed, which is also the process's `argv[0]`.
    pub program: OsString,
    /// Arguments after `argv[0]`; Velero v1.13 passes `--log-level info`.
    pub args: Vec<OsString>,
    /// Extra environment, applied after Velero's own variables.
    pub env: Vec<(OsString, OsString)>,
    /// Variables removed from the inherited environment.
    pub env_remove: Vec<OsString>,
    /// Working directory; inherited when `None`.
    pub current_dir: Option<PathBuf>,
    pub stderr: StderrMode,
}

impl Launch {
    /// Launches `program` as Velero v1.13 would, at log level `info`.
    pub fn velero(program: impl Into<OsString>) -> Self {
        Self {
            program: program.into(),
            args: vec!["--log-level".into(), "info".into()],
            env: Vec::new(),
            env_remove: Vec::new(),
            current_dir: None,
            stderr: StderrMode::Capture,
        }
    }

    /// Launches `program` as Velero v1.13 would with the v0.7.1 drop-in deployed: the
    /// [`Launch::velero`] launch with `VELERO_CSI_NAMES=v0.7.1`, so that the ten
    /// `velero.io/csi-*` names are registered.
    pub fn velero_v071(program: impl Into<OsString>) -> Self {
        Self::velero(program).with_names(NameSet::V071)
    }

    /// The launch with `VELERO_CSI_NAMES` set to choose `set`.
    pub fn with_names(mut self, set: NameSet) -> Self {
        self.env
            .push((NameSet::ENV.into(), OsString::from(set.as_str())));
        self
    }

    /// Starts the process, reads the handshake and connects.
    pub async fn start(&self) -> Result<PluginProcess, ClientError> {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env("VELERO_PLUGIN", "hello")
            .env("PLUGIN_PROTOCOL_VERSIONS", "2")
            .env("PLUGIN_MIN_PORT", "10000")
            .env("PLUGIN_MAX_PORT", "25000");
        for key in &self.env_remove {
            command.env_remove(key);
        }
        command
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        let launched = Instant::now();
        let mut child = command.spawn().map_err(ClientError::Spawn)?;

        let stderr_lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let stderr_reader = match self.stderr {
            StderrMode::Capture => Some(collect_lines(stderr, Some(stderr_lines.clone()))),
            StderrMode::Close => None,
        };
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut line = String::new();
        let read = tokio::time::timeout(HANDSHAKE_TIMEOUT, stdout.read_line(&mut line))
            .await
            .map_err(|_| ClientError::HandshakeTimeout)?;
        let handshake_latency = launched.elapsed();
        if matches!(read, Ok(0) | Err(_)) {
            let status = child.wait().await.map_err(ClientError::Wait)?;
            return Err(ClientError::ExitedEarly(status.to_string()));
        }
        // The client keeps reading stdout and throws it away.
        drop(collect_lines(stdout.into_inner(), None));

        let handshake = Handshake::parse(&line)?;
        let socket = PathBuf::from(&handshake.address);
        let channel = connect(socket.clone()).await?;
        Ok(PluginProcess {
            child,
            handshake,
            handshake_latency,
            channel,
            stderr_lines,
            stderr_reader,
        })
    }
}

/// The fields of a handshake line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The line exactly as read, without its line terminator.
    pub line: String,
    pub core_version: String,
    pub app_version: String,
    pub network: String,
    pub address: String,
    pub protocol: String,
    pub certificate: String,
}

impl Handshake {
    /// Parses a line as go-plugin v1.4.3 does (at most six fields), checking what Velero needs.
    pub fn parse(line: &str) -> Result<Self, ClientError> {
        let trimmed = line.trim();
        let fields: Vec<&str> = trimmed.splitn(6, '|').collect();
        let bad = || ClientError::BadHandshake(trimmed.to_owned());
        if fields.len() < 6
            || fields[0] != "1"
            || fields[1] != "2"
            || fields[2] != "unix"
            || fields[4] != "grpc"
        {
            return Err(bad());
        }
        Ok(Self {
            line: line.trim_end_matches(['\n', '\r']).to_owned(),
            core_version: fields[0].to_owned(),
            app_version: fields[1].to_owned(),
            network: fields[2].to_owned(),
            address: fields[3].to_owned(),
            protocol: fields[4].to_owned(),
            certificate: fields[5].to_owned(),
        })
    }
}

/// A running plugin process and the gRPC connection to it.
pub struct PluginProcess {
    child: Child,
    handshake: Handshake,
    handshake_latency: Duration,
    channel: Channel,
    stderr_lines: Arc<Mutex<Vec<String>>>,
    stderr_reader: Option<JoinHandle<()>>,
}

/// How a plugin process ended.
#[derive(Debug)]
pub struct Exit {
    pub status: ExitStatus,
    /// Whether it exited by itself within 2 s of `Shutdown` (no SIGKILL needed).
    pub graceful: bool,
    /// Every line it wrote to stderr (empty with [`StderrMode::Close`]).
    pub stderr: Vec<String>,
}

impl PluginProcess {
    /// The handshake the process printed.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// Time from `exec` to the handshake line being read: the plugin's cold start.
    pub fn handshake_latency(&self) -> Duration {
        self.handshake_latency
    }

    /// The connection every service client shares, as in go-plugin.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The process id.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// Lines read from stderr so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr_lines
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    /// Whether the process has exited, without waiting.
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// go-plugin's `Kill()`: `Shutdown` (error ignored), close the connection, wait up to
    /// 2 s, then SIGKILL.
    pub async fn shutdown(mut self) -> Result<Exit, ClientError> {
        let _ = GrpcControllerClient::new(self.channel.clone())
            .shutdown(Empty {})
            .await;
        drop(self.channel);
        let (status, graceful) = match tokio::time::timeout(EXIT_TIMEOUT, self.child.wait()).await {
            Ok(status) => (status.map_err(ClientError::Wait)?, true),
            Err(_) => {
                let _ = self.child.start_kill();
                (self.child.wait().await.map_err(ClientError::Wait)?, false)
            }
        };
        if let Some(reader) = self.stderr_reader {
            // The pipe closes with the process; the reader then drains what is left.
            let _ = tokio::time::timeout(EXIT_TIMEOUT, reader).await;
        }
        let stderr = self
            .stderr_lines
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default();
        Ok(Exit {
            status,
            graceful,
            stderr,
        })
    }
}

/// Connects with h2c to the socket; the HTTP/2 authority is `unused`, as in go-plugin.
async fn connect(socket: PathBuf) -> Result<Channel, ClientError> {
    Endpoint::from_static("http://unused")
        .connect_with_connector(tower::service_fn(move |_| {
            let socket = socket.clone();
            async move { UnixStream::connect(socket).await.map(TokioIo::new) }
        }))
        .await
        .map_err(ClientError::Connect)
}

/// Reads lines from a pipe until it closes, keeping them in `sink` if given.
fn collect_lines(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    sink: Option<Arc<Mutex<Vec<String>>>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(Ok(mut sink)) = sink.as_ref().map(|s| s.lock()) {
                sink.push(line);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_lines_parse_like_go_plugin() {
        let h = Handshake::parse("1|2|unix|/tmp/plugin1|grpc|\n").unwrap();
        assert_eq!(h.address, "/tmp/plugin1");
        assert_eq!(h.certificate, "");
        assert_eq!(h.line, "1|2|unix|/tmp/plugin1|grpc|");
        for bad in [
            "",
            "1|2|unix",
            "2|2|unix|/s|grpc|",
            "1|1|unix|/s|grpc|",
            "1|2|unix|/s|netrpc|",
        ] {
            assert!(Handshake::parse(bad).is_err(), "{bad}");
        }
    }
}
