//! The real binary, spawned exactly as Velero's go-plugin client spawns it (environment,
//! arguments, pipes), driven over h2c on its Unix socket. Case IDs refer to the conformance
//! cases of [protocol §6](../docs/protocol.md#6-conformance-cases).

mod support;

use std::ffi::OsString;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use csi_common::actions::{Action, NameSet};
use serde_json::{Value, json};
use support::*;
use tonic::Code;
use tonic::transport::Channel;
use velero_plugin_for_csi::client::{Launch, PluginProcess, StderrMode};
use velero_plugin_for_csi::operator::inspect::inspect;
use velero_plugin_for_csi::proto::generated::delete_item_action_client::DeleteItemActionClient;
use velero_plugin_for_csi::proto::generated::plugin_lister_client::PluginListerClient;
use velero_plugin_for_csi::proto::generated::{
    self, DeleteItemActionAppliesToRequest, DeleteItemActionExecuteRequest,
};
use velero_plugin_for_csi::proto::plugin::grpc_broker_client::GrpcBrokerClient;
use velero_plugin_for_csi::proto::plugin::grpc_stdio_client::GrpcStdioClient;
use velero_plugin_for_csi::proto::v2::backup_item_action_client::BackupItemActionClient;
use velero_plugin_for_csi::proto::v2::restore_item_action_client::RestoreItemActionClient;
use velero_plugin_for_csi::proto::v2::{self as v2};
use velero_plugin_for_csi::router::ActiveNames;

const BINARY: &str = env!("CARGO_BIN_EXE_velero-plugin-for-csi");
const GO_ZERO_TIME: i64 = -62_135_596_800;

/// Launches the binary as Velero v1.13 does, with its socket in a fresh directory.
async fn start(tmp: &Path) -> PluginProcess {
    let mut launch = Launch::velero_v071(BINARY);
    launch.env.push(("TMPDIR".into(), tmp.into()));
    launch.start().await.expect("plugin starts")
}

fn bia(channel: Channel) -> BackupItemActionClient<Channel> {
    BackupItemActionClient::new(channel).max_decoding_message_size(usize::MAX)
}

fn ria(channel: Channel) -> RestoreItemActionClient<Channel> {
    RestoreItemActionClient::new(channel)
}

fn execute_request(plugin: &str, item: Vec<u8>, backup: Vec<u8>) -> v2::ExecuteRequest {
    v2::ExecuteRequest {
        plugin: plugin.into(),
        item,
        backup,
    }
}

fn json_lines(lines: &[String]) -> Vec<serde_json::Map<String, Value>> {
    lines
        .iter()
        .map(|line| match serde_json::from_str(line) {
            Ok(Value::Object(object)) => object,
            _ => panic!("stderr line is not a JSON object: {line}"),
        })
        .collect()
}

/// Waits (bounded) until the captured stderr holds a line containing `needle`.
async fn wait_for_log(plugin: &PluginProcess, needle: &str) -> Vec<String> {
    for _ in 0..200 {
        let lines = plugin.stderr_lines();
        if lines.iter().any(|l| l.contains(needle)) {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "no log line containing {needle:?} in {:?}",
        plugin.stderr_lines()
    );
}

// H-01, H-02: started by hand.
#[test]
fn without_the_magic_cookie_it_refuses_to_run() {
    for cookie in [None, Some("wrong")] {
        let tmp = tempfile::tempdir().unwrap();
        let mut command = Command::new(BINARY);
        command
            .env_remove("VELERO_PLUGIN")
            .env("TMPDIR", tmp.path());
        if let Some(cookie) = cookie {
            command.env("VELERO_PLUGIN", cookie);
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(1));
        assert!(output.stdout.is_empty(), "nothing on stdout");
        let notice = String::from_utf8_lossy(&output.stderr);
        assert!(notice.contains("This binary is a plugin"), "{notice}");
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "no socket left behind"
        );
    }
}

// H-03, H-12, H-13, H-16.
#[tokio::test]
async fn handshake_then_shutdown() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = start(tmp.path()).await;
    let handshake = plugin.handshake().clone();
    let fields: Vec<_> = handshake.line.split('|').collect();
    assert_eq!(
        fields.len(),
        6,
        "six fields, no seventh: {}",
        handshake.line
    );
    assert_eq!(
        [fields[0], fields[1], fields[2], fields[4], fields[5]],
        ["1", "2", "unix", "grpc", ""]
    );
    let socket = Path::new(fields[3]);
    assert!(socket.is_absolute() && socket.starts_with(tmp.path()));
    assert!(std::fs::metadata(socket).unwrap().file_type().is_socket());

    let exit = plugin.shutdown().await.unwrap();
    assert!(exit.graceful, "exited within 2 s of Shutdown");
    assert_eq!(exit.status.code(), Some(0));
    assert!(!socket.exists(), "socket removed on exit");
}

// H-04, H-05, H-06, H-07, H-08: any protocol-version variable and any arguments.
#[tokio::test]
async fn starts_with_any_arguments_and_protocol_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&[&str], Option<&str>); 5] = [
        (&["--log-level", "info"], None),
        (&["--log-level", "info"], Some("1")),
        (
            &[
                "--log-level",
                "warning",
                "--features",
                "EnableCSI,EnableAPIGroupVersions",
            ],
            Some("2"),
        ),
        (
            &[
                "--features=EnableCSI",
                "--uploader-type=kopia",
                "--default-volumes-to-fs-backup",
                "--log-level=debug",
                "--log-format=json",
                "--item-block-worker-count",
                "4",
                "--unknown-flag",
                "x",
            ],
            Some("2"),
        ),
        (&[], Some("2")),
    ];
    for (args, versions) in cases {
        let mut launch = Launch::velero_v071(BINARY);
        launch.args = args.iter().map(OsString::from).collect();
        launch.env.push(("TMPDIR".into(), tmp.path().into()));
        match versions {
            Some(v) => launch
                .env
                .push(("PLUGIN_PROTOCOL_VERSIONS".into(), v.into())),
            None => launch.env_remove.push("PLUGIN_PROTOCOL_VERSIONS".into()),
        }
        let plugin = launch
            .start()
            .await
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert_eq!(plugin.handshake().app_version, "2");
        let exit = plugin.shutdown().await.unwrap();
        assert_eq!(exit.status.code(), Some(0), "{args:?}");
    }
}

// L-07 and H-07: the level filter.
#[tokio::test]
async fn log_level_filters_the_plugin_output() {
    let tmp = tempfile::tempdir().unwrap();
    let execute = |channel| async move {
        let item = snapshot_class(json!({})).to_string().into_bytes();
        bia(channel)
            .execute(execute_request(
                CLASS_BACKUPPER,
                item,
                backup().to_string().into_bytes(),
            ))
            .await
            .unwrap();
    };

    let mut debug = Launch::velero_v071(BINARY);
    debug.args = vec!["--log-level=debug".into()];
    debug.env.push(("TMPDIR".into(), tmp.path().into()));
    let plugin = debug.start().await.unwrap();
    execute(plugin.channel()).await;
    let lines = wait_for_log(&plugin, "Returning 0 additionalItems").await;
    assert!(json_lines(&lines).iter().any(|l| l["@level"] == "debug"));
    plugin.shutdown().await.unwrap();

    let mut warning = Launch::velero_v071(BINARY);
    warning.args = vec!["--log-level".into(), "warning".into()];
    warning.env.push(("TMPDIR".into(), tmp.path().into()));
    let plugin = warning.start().await.unwrap();
    execute(plugin.channel()).await;
    let exit = plugin.shutdown().await.unwrap();
    assert!(
        exit.stderr.is_empty(),
        "no debug or info lines at warning level: {:?}",
        exit.stderr
    );
}

/// A claim bound to `pv-1`: backing it up makes the action's first Kubernetes call.
fn bound_claim() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"namespace": "app", "name": "data", "uid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "sc-csi", "volumeName": "pv-1"},
        "status": {"phase": "Bound"}
    })
}

// L-07 for libraries: kube-rs, tonic, hyper and h2 log through `tracing`; their records
// reach Velero as hclog lines on stderr, warnings always, debug only at `--log-level debug`.
#[tokio::test]
async fn library_diagnostics_reach_the_log_at_their_levels() {
    let tmp = tempfile::tempdir().unwrap();
    // A kubeconfig whose server refuses connections, and kube-rs's debugging override of
    // the server URL, which kube-rs announces with a warning when its client is configured.
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n\
         clusters: [{name: k, cluster: {server: 'http://127.0.0.1:1'}}]\n\
         users: [{name: u, user: {}}]\n\
         contexts: [{name: c, context: {cluster: k, user: u}}]\n",
    )
    .unwrap();
    let launch = |level: &str| {
        let mut launch = Launch::velero_v071(BINARY);
        launch.args = vec!["--log-level".into(), level.into()];
        launch.env.extend([
            ("TMPDIR".into(), tmp.path().into()),
            ("KUBECONFIG".into(), kubeconfig.clone().into()),
            (
                "KUBE_RS_DEBUG_OVERRIDE_URL".into(),
                "http://127.0.0.1:1".into(),
            ),
        ]);
        launch
    };
    let backup_claim = |channel| async move {
        let request = execute_request(
            "velero.io/csi-pvc-backupper",
            bound_claim().to_string().into_bytes(),
            backup().to_string().into_bytes(),
        );
        // The call fails or waits out the client's retries: only its log matters here.
        let _ = bia(channel).execute(request).await;
    };
    let library_line = |line: &serde_json::Map<String, Value>| {
        [
            "kube",
            "h2",
            "hyper",
            "tonic",
            "tower",
            "wasmtime",
            "cranelift",
            "rustls",
        ]
        .iter()
        .any(|prefix| line["logSource"].as_str().unwrap().starts_with(prefix))
    };

    // At info: the library's warning is there, as an hclog line; no library debug record.
    let plugin = launch("info").start().await.unwrap();
    let call = tokio::spawn(backup_claim(plugin.channel()));
    let lines = wait_for_log(&plugin, "overriding cluster URL").await;
    let records = json_lines(&lines);
    let warning = records
        .iter()
        .find(|r| r["@message"] == "overriding cluster URL")
        .unwrap();
    assert_eq!(warning["@level"], "warn");
    assert_eq!(warning["@logSourceSetBy"], "plugin");
    assert!(
        warning["logSource"]
            .as_str()
            .unwrap()
            .starts_with("kube_client"),
        "{warning:?}"
    );
    assert!(
        warning["url"].as_str().unwrap().contains("127.0.0.1:1"),
        "{warning:?}"
    );
    for record in &records {
        assert!(record.values().all(Value::is_string), "{record:?}");
        assert!(
            !(record["@level"] == "debug" || record["@level"] == "trace"),
            "no debug record at info: {record:?}"
        );
    }
    call.abort();
    let exit = plugin.shutdown().await.unwrap();
    assert!(exit.status.success());

    // At debug: the libraries' debug records are there too (h2's frames, at least).
    let plugin = launch("debug").start().await.unwrap();
    let call = tokio::spawn(backup_claim(plugin.channel()));
    let lines = wait_for_log(&plugin, "overriding cluster URL").await;
    let records = json_lines(&lines);
    assert!(
        records
            .iter()
            .any(|r| r["@level"] == "debug" && library_line(r)),
        "no library debug record at debug: {lines:?}"
    );
    assert!(records.iter().all(|r| r["@level"] != "trace"));
    call.abort();
    plugin.shutdown().await.unwrap();
}

// H-09, H-10, H-11: socket directory and uniqueness.
#[tokio::test]
async fn socket_location_and_uniqueness() {
    let socket_dir = tempfile::tempdir().unwrap();
    let tmp_dir = tempfile::tempdir().unwrap();
    let mut launch = Launch::velero_v071(BINARY);
    launch.env.push(("TMPDIR".into(), tmp_dir.path().into()));
    launch
        .env
        .push(("PLUGIN_UNIX_SOCKET_DIR".into(), socket_dir.path().into()));
    let (a, b) = tokio::join!(launch.start(), launch.start());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(Path::new(&a.handshake().address).starts_with(socket_dir.path()));
    assert_ne!(a.handshake().address, b.handshake().address);
    for plugin in [&a, &b] {
        let listed = PluginListerClient::new(plugin.channel())
            .list_plugins(generated::Empty {})
            .await;
        assert!(listed.is_ok());
    }
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();

    let plugin = start(tmp_dir.path()).await;
    assert!(Path::new(&plugin.handshake().address).starts_with(tmp_dir.path()));
    plugin.shutdown().await.unwrap();
}

// H-14: ListPlugins returns argv[0] byte for byte, relative or through a symlink.
#[tokio::test]
async fn command_is_argv0_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(BINARY, dir.path().join("csi-link")).unwrap();
    for program in ["./csi-link", "csi-link-abs"] {
        let mut launch = Launch::velero_v071(if program == "csi-link-abs" {
            dir.path().join("csi-link").into_os_string()
        } else {
            program.into()
        });
        launch.current_dir = Some(dir.path().to_owned());
        launch.env.push(("TMPDIR".into(), dir.path().into()));
        let expected = launch.program.to_string_lossy().into_owned();
        let plugin = launch.start().await.unwrap();
        let listed = PluginListerClient::new(plugin.channel())
            .list_plugins(generated::Empty {})
            .await
            .unwrap()
            .into_inner();
        assert!(
            listed.plugins.iter().all(|p| p.command == expected),
            "{listed:?}"
        );
        plugin.shutdown().await.unwrap();
    }
}

// H-15: SIGINT is ignored.
#[tokio::test]
async fn sigint_is_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let mut plugin = start(tmp.path()).await;
    let pid = plugin.id().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        plugin.try_exit_status().is_none(),
        "still running after SIGINT"
    );
    let listed = PluginListerClient::new(plugin.channel())
        .list_plugins(generated::Empty {})
        .await;
    assert!(listed.is_ok());
    plugin.shutdown().await.unwrap();
}

// H-17: a dropped connection does not stop the server.
#[tokio::test]
async fn survives_a_dropped_connection() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = start(tmp.path()).await;
    let socket = plugin.handshake().address.clone();
    {
        let extra = tonic::transport::Endpoint::from_static("http://unused")
            .connect_with_connector(tower::service_fn(move |_| {
                let socket = socket.clone();
                async move {
                    tokio::net::UnixStream::connect(socket)
                        .await
                        .map(hyper_util::rt::TokioIo::new)
                }
            }))
            .await
            .unwrap();
        PluginListerClient::new(extra)
            .list_plugins(generated::Empty {})
            .await
            .unwrap();
    }
    let listed = PluginListerClient::new(plugin.channel())
        .list_plugins(generated::Empty {})
        .await;
    assert!(listed.is_ok());
    plugin.shutdown().await.unwrap();
}

// H-19: a client that sends the socket path as `:authority` (gRPC C-core and Python over a
// Unix socket send it, percent-encoded or not) is served, as Go's server serves it. The
// request is written frame by frame: no Rust HTTP/2 client sends such an authority.
#[tokio::test]
async fn any_authority_is_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let tmp = tempfile::tempdir().unwrap();
    let plugin = start(tmp.path()).await;
    let socket = plugin.handshake().address.clone();
    let frame = |kind: u8, flags: u8, stream: u8, payload: &[u8]| {
        let len = payload.len();
        let mut f = vec![
            (len >> 16) as u8,
            (len >> 8) as u8,
            len as u8,
            kind,
            flags,
            0,
            0,
            0,
        ];
        f.push(stream);
        f.extend_from_slice(payload);
        f
    };
    for authority in [socket.clone(), "tmp%2Fplugin%2Fsock".into()] {
        let headers = [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", "/grpc.health.v1.Health/Check"),
            (":authority", authority.as_str()),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        ];
        let block = fluke_hpack::Encoder::new()
            .encode(headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
        let mut request = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        request.extend(frame(0x4, 0, 0, &[]));
        request.extend(frame(0x1, 0x4, 1, &block));
        request.extend(frame(0x0, 0x1, 1, b"\0\0\0\0\x08\x0a\x06plugin"));
        let mut stream = tokio::net::UnixStream::connect(&socket).await.unwrap();
        stream.write_all(&request).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let mut header = [0_u8; 9];
                stream.read_exact(&mut header).await.unwrap();
                let len = usize::from(header[0]) << 16
                    | usize::from(header[1]) << 8
                    | usize::from(header[2]);
                let mut payload = vec![0_u8; len];
                stream.read_exact(&mut payload).await.unwrap();
                match (header[3], header[8]) {
                    (0x4, _) if header[4] & 0x1 == 0 => {
                        stream.write_all(&frame(0x4, 0x1, 0, &[])).await.unwrap();
                    }
                    (0x3, 1) => return Err(format!("RST_STREAM {payload:?}")),
                    (0x7, _) => return Err(format!("GOAWAY {payload:?}")),
                    (0x0, 1) => return Ok(payload),
                    _ => {}
                }
            }
        })
        .await
        .expect("an answer within 5 s");
        // HealthCheckResponse { status: SERVING }.
        assert_eq!(answer, Ok(vec![0, 0, 0, 0, 2, 0x08, 0x01]), "{authority}");
    }
    plugin.shutdown().await.unwrap();
}

// H-18: stderr closed by the reader; an RPC that logs still succeeds.
#[tokio::test]
async fn survives_a_closed_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let mut launch = Launch::velero_v071(BINARY);
    launch.stderr = StderrMode::Close;
    launch.env.push(("TMPDIR".into(), tmp.path().into()));
    let plugin = launch.start().await.unwrap();
    for _ in 0..3 {
        let item = snapshot_class(json!({})).to_string().into_bytes();
        let out = bia(plugin.channel())
            .execute(execute_request(
                CLASS_BACKUPPER,
                item,
                backup().to_string().into_bytes(),
            ))
            .await;
        assert!(out.is_ok());
    }
    let exit = plugin.shutdown().await.unwrap();
    assert_eq!(exit.status.code(), Some(0));
}

// G-01 to G-04.
#[tokio::test]
async fn infrastructure_services() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;

    let tmp = tempfile::tempdir().unwrap();
    let plugin = start(tmp.path()).await;
    let mut health = HealthClient::new(plugin.channel());
    for service in ["plugin", ""] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    let other = health
        .check(HealthCheckRequest {
            service: "other".into(),
        })
        .await;
    assert_eq!(other.unwrap_err().code(), Code::NotFound);

    let mut stdio = GrpcStdioClient::new(plugin.channel())
        .stream_stdio(())
        .await
        .unwrap()
        .into_inner();
    let quiet = tokio::time::timeout(Duration::from_millis(200), stdio.message()).await;
    assert!(quiet.is_err(), "the stdio stream stays open and silent");

    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let mut broker = GrpcBrokerClient::new(plugin.channel())
        .start_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    drop(tx); // the client half-closes
    let quiet = tokio::time::timeout(Duration::from_millis(200), broker.message()).await;
    assert!(quiet.is_err(), "the broker stream stays open and silent");

    let exit = plugin.shutdown().await.unwrap();
    assert!(
        exit.graceful && exit.status.success(),
        "open streams do not hold the exit back"
    );
}

// P-01, P-02, P-03, P-04: discovery with no cluster configured at all.
#[tokio::test]
async fn list_plugins_without_a_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let mut launch = Launch::velero_v071(BINARY);
    launch.env.push(("TMPDIR".into(), tmp.path().into()));
    for var in [
        "KUBECONFIG",
        "KUBERNETES_SERVICE_HOST",
        "KUBERNETES_SERVICE_PORT",
        "HOME",
    ] {
        launch.env_remove.push(var.into());
    }
    let plugin = launch.start().await.unwrap();
    let listed = PluginListerClient::new(plugin.channel())
        .list_plugins(generated::Empty {})
        .await
        .unwrap()
        .into_inner();
    let pairs: Vec<_> = listed
        .plugins
        .iter()
        .map(|p| (p.kind.as_str(), p.name.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("BackupItemActionV2", "velero.io/csi-pvc-backupper"),
            (
                "BackupItemActionV2",
                "velero.io/csi-volumesnapshot-backupper"
            ),
            ("BackupItemActionV2", CLASS_BACKUPPER),
            (
                "BackupItemActionV2",
                "velero.io/csi-volumesnapshotcontent-backupper"
            ),
            ("RestoreItemActionV2", "velero.io/csi-pvc-restorer"),
            (
                "RestoreItemActionV2",
                "velero.io/csi-volumesnapshot-restorer"
            ),
            ("RestoreItemActionV2", CLASS_RESTORER),
            (
                "RestoreItemActionV2",
                "velero.io/csi-volumesnapshotcontent-restorer"
            ),
            ("DeleteItemAction", "velero.io/csi-volumesnapshot-delete"),
            (
                "DeleteItemAction",
                "velero.io/csi-volumesnapshotcontent-delete"
            ),
        ]
    );
    assert!(listed.plugins.iter().all(|p| p.command == BINARY));
    plugin.shutdown().await.unwrap();
}

/// The actions the embedded component implements, as `inspect` reads its listing.
async fn implemented() -> Vec<Action> {
    inspect(None, ActiveNames::from_value(None))
        .await
        .expect("the embedded component loads")
        .actions
        .iter()
        .filter_map(|info| Action::from_name(&info.name))
        .collect()
}

/// The (kind, name) pairs a plugin process lists.
async fn listed(plugin: &PluginProcess) -> Vec<(String, String)> {
    PluginListerClient::new(plugin.channel())
        .list_plugins(generated::Empty {})
        .await
        .unwrap()
        .into_inner()
        .plugins
        .into_iter()
        .map(|p| (p.kind, p.name))
        .collect()
}

/// `(kind, name)` of `actions`.
fn pairs(actions: &[Action]) -> Vec<(String, String)> {
    actions
        .iter()
        .map(|a| (a.kind().as_str().to_owned(), a.name().to_owned()))
        .collect()
}

/// The launch of the binary as Velero does, with `VELERO_CSI_NAMES` as given (removed when
/// `None`).
fn launch_with_names(tmp: &Path, value: Option<&str>) -> Launch {
    let mut launch = Launch::velero(BINARY);
    launch.env.push(("TMPDIR".into(), tmp.into()));
    match value {
        Some(value) => launch.env.push((NameSet::ENV.into(), value.into())),
        None => launch.env_remove.push(NameSet::ENV.into()),
    }
    launch
}

// N-01, N-02: without `VELERO_CSI_NAMES` (and with `modern`) the modern names the component
// implements are listed, in the set's order, and the v0.7.1 names are unknown.
#[tokio::test]
async fn by_default_the_modern_names_the_component_implements_are_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let implemented = implemented().await;
    let expected: Vec<Action> = Action::MODERN
        .into_iter()
        .filter(|a| implemented.contains(a))
        .collect();
    assert_eq!(NameSet::DEFAULT, NameSet::Modern);
    for value in [None, Some("modern")] {
        let plugin = launch_with_names(tmp.path(), value).start().await.unwrap();
        assert_eq!(listed(&plugin).await, pairs(&expected), "{value:?}");
        let refused = bia(plugin.channel())
            .applies_to(v2::BackupItemActionAppliesToRequest {
                plugin: CLASS_BACKUPPER.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::Unknown);
        assert_eq!(
            refused.message(),
            format!(
                "BackupItemActionV2 plugin: {CLASS_BACKUPPER} was not found or has an invalid name format"
            )
        );
        let stderr = plugin.stderr_lines().join("\n");
        assert!(!stderr.contains("is not a name set"), "{stderr}");
        plugin.shutdown().await.unwrap();
    }
}

// N-03: `v0.7.1` lists the ten v0.7.1 names; a modern name is unknown.
#[tokio::test]
async fn the_v071_set_lists_the_ten_names_and_no_modern_one() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = launch_with_names(tmp.path(), Some("v0.7.1"))
        .start()
        .await
        .unwrap();
    assert_eq!(listed(&plugin).await, pairs(&Action::V071));
    let name = Action::ModernPvcDelete.name();
    let refused = DeleteItemActionClient::new(plugin.channel())
        .applies_to(DeleteItemActionAppliesToRequest {
            plugin: name.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        refused.message(),
        format!("DeleteItemAction plugin: {name} was not found or has an invalid name format")
    );
    plugin.shutdown().await.unwrap();
}

// N-04: an unknown value never stops the process: the default set, and a warning naming
// the value (quoted, bounded) and the values accepted.
#[tokio::test]
async fn an_unknown_name_set_falls_back_to_the_default_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let default = {
        let plugin = launch_with_names(tmp.path(), None).start().await.unwrap();
        let listed = listed(&plugin).await;
        plugin.shutdown().await.unwrap();
        listed
    };
    let long = format!("v1.14{}", "x".repeat(500));
    for (value, quoted) in [
        ("v1.14", "\"v1.14\"".to_owned()),
        (long.as_str(), format!("\"v1.14{}\"…", "x".repeat(59))),
    ] {
        let plugin = launch_with_names(tmp.path(), Some(value))
            .start()
            .await
            .unwrap();
        assert_eq!(listed(&plugin).await, default, "{value}");
        let lines = wait_for_log(&plugin, "is not a name set").await;
        let records = json_lines(&lines);
        let warning = records
            .iter()
            .find(|r| {
                r["@message"]
                    .as_str()
                    .is_some_and(|m| m.contains("is not a name set"))
            })
            .unwrap();
        assert_eq!(warning["@level"], "warn");
        assert_eq!(
            warning["@message"],
            format!(
                "VELERO_CSI_NAMES={quoted} is not a name set (accepted: \"v0.7.1\", \"modern\"); registering the default set, modern"
            )
        );
        let exit = plugin.shutdown().await.unwrap();
        assert_eq!(exit.status.code(), Some(0));
    }
}

// A-01, A-06, A-11 (AppliesTo), E-01, E-02.
#[tokio::test]
async fn applies_to_by_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = start(tmp.path()).await;
    let resources = vec!["volumesnapshotclasses.snapshot.storage.k8s.io".to_owned()];

    let selector = bia(plugin.channel())
        .applies_to(v2::BackupItemActionAppliesToRequest {
            plugin: CLASS_BACKUPPER.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .resource_selector
        .expect("selector always set");
    assert_eq!(selector.included_resources, resources);
    assert!(selector.included_namespaces.is_empty() && selector.selector.is_empty());

    let selector = ria(plugin.channel())
        .applies_to(v2::RestoreItemActionAppliesToRequest {
            plugin: CLASS_RESTORER.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .resource_selector
        .unwrap();
    assert_eq!(selector.included_resources, resources);

    let unknown = bia(plugin.channel())
        .applies_to(v2::BackupItemActionAppliesToRequest {
            plugin: "velero.io/nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::Unknown);
    assert!(unknown.message().contains("velero.io/nope"));

    let wrong_kind = ria(plugin.channel())
        .applies_to(v2::RestoreItemActionAppliesToRequest {
            plugin: CLASS_BACKUPPER.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong_kind.code(), Code::Unknown);
    assert!(
        wrong_kind
            .message()
            .ends_with("is not a restore item action (v2)")
    );

    let mut dia = DeleteItemActionClient::new(plugin.channel());
    let no_delete = dia
        .applies_to(DeleteItemActionAppliesToRequest {
            plugin: CLASS_BACKUPPER.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(no_delete.code(), Code::Unknown);
    let no_delete = dia
        .execute(DeleteItemActionExecuteRequest {
            plugin: "velero.io/csi-volumesnapshot-delete".into(),
            item: b"{}".to_vec(),
            backup: b"{}".to_vec(),
        })
        .await
        .unwrap_err();
    assert!(
        no_delete
            .message()
            .contains("velero.io/csi-volumesnapshot-delete")
    );
    plugin.shutdown().await.unwrap();
}

// A-02, A-03, A-12, A-13 and the log lines of an Execute (L-01 to L-06).
#[tokio::test]
async fn backup_execute() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = start(tmp.path()).await;
    let class = snapshot_class(list_secret_annotations());
    let out = bia(plugin.channel())
        .execute(execute_request(
            CLASS_BACKUPPER,
            class.to_string().into_bytes(),
            backup().to_string().into_bytes(),
        ))
        .await
        .unwrap()
        .into_inner();
    let mut expected = class.clone();
    expected["metadata"]["annotations"][MUST_INCLUDE] = json!("true");
    let returned: Value = serde_json::from_slice(&out.item).unwrap();
    assert_eq!(returned, expected);
    assert!(String::from_utf8_lossy(&out.item).contains("9007199254740993"));
    assert_eq!(
        out.additional_items,
        [generated::ResourceIdentifier {
            group: String::new(),
            resource: "secrets".into(),
            namespace: "kube-system".into(),
            name: "ls".into(),
        }]
    );
    assert!(out.operation_id.is_empty() && out.post_operation_items.is_empty());

    // Unchanged item: the very bytes sent.
    let plain = snapshot_class(json!({})).to_string().into_bytes();
    let out = bia(plugin.channel())
        .execute(execute_request(
            CLASS_BACKUPPER,
            plain.clone(),
            backup().to_string().into_bytes(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(out.item, plain);

    // A 16 MiB item is accepted.
    let mut huge = snapshot_class(json!({}));
    huge["metadata"]["annotations"]["big"] = json!("x".repeat(16 * 1024 * 1024));
    let huge = huge.to_string().into_bytes();
    let out = bia(plugin.channel())
        .execute(execute_request(
            CLASS_BACKUPPER,
            huge.clone(),
            backup().to_string().into_bytes(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(out.item.len(), huge.len());

    let lines = wait_for_log(&plugin, "Returning 0 additionalItems to backup").await;
    let records = json_lines(&lines);
    for record in &records {
        assert!(
            record.values().all(Value::is_string),
            "every field is a string: {record:?}"
        );
        assert!(
            ["trace", "debug", "info", "warn", "error"]
                .contains(&record["@level"].as_str().unwrap())
        );
        assert!(!record.contains_key("@timestamp"));
        assert_eq!(record["@logSourceSetBy"], "plugin");
    }
    assert!(records.iter().any(|r| r["@message"]
        == "Executing VolumeSnapshotClassBackupItemAction"
        && r["@level"] == "info"
        && r["logSource"] == CLASS_BACKUPPER));
    assert!(lines.iter().all(|l| l.len() < 64 * 1024));
    plugin.shutdown().await.unwrap();
}

// A-04, A-05, A-09, A-10, E-08, E-09.
#[tokio::test]
async fn progress_cancel_and_readiness() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = start(tmp.path()).await;
    let backup = backup().to_string().into_bytes();
    let progress = bia(plugin.channel())
        .progress(v2::BackupItemActionProgressRequest {
            plugin: CLASS_BACKUPPER.into(),
            operation_id: "x".into(),
            backup: backup.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .progress
        .expect("progress is always set");
    assert!(!progress.completed);
    assert_eq!(progress.started.unwrap().seconds, GO_ZERO_TIME);
    assert_eq!(progress.updated.unwrap().seconds, GO_ZERO_TIME);

    let invalid = bia(plugin.channel())
        .progress(v2::BackupItemActionProgressRequest {
            plugin: CLASS_BACKUPPER.into(),
            operation_id: String::new(),
            backup: backup.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::Unknown);
    assert!(
        invalid.message().ends_with("operation ID  is invalid"),
        "{}",
        invalid.message()
    );

    bia(plugin.channel())
        .cancel(v2::BackupItemActionCancelRequest {
            plugin: CLASS_BACKUPPER.into(),
            operation_id: "x".into(),
            backup,
        })
        .await
        .unwrap();

    let restore = restore(Value::Null).to_string().into_bytes();
    let progress = ria(plugin.channel())
        .progress(v2::RestoreItemActionProgressRequest {
            plugin: CLASS_RESTORER.into(),
            operation_id: "x".into(),
            restore: restore.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(progress.progress.is_some());
    ria(plugin.channel())
        .cancel(v2::RestoreItemActionCancelRequest {
            plugin: CLASS_RESTORER.into(),
            operation_id: "x".into(),
            restore: restore.clone(),
        })
        .await
        .unwrap();
    let ready = ria(plugin.channel())
        .are_additional_items_ready(v2::RestoreItemActionItemsReadyRequest {
            plugin: CLASS_RESTORER.into(),
            restore,
            additional_items: vec![generated::ResourceIdentifier {
                group: String::new(),
                resource: "secrets".into(),
                namespace: "kube-system".into(),
                name: "ls".into(),
            }],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ready.ready);
    plugin.shutdown().await.unwrap();
}

// A-07, A-08.
#[tokio::test]
async fn restore_execute() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = start(tmp.path()).await;
    let class = snapshot_class(list_secret_annotations())
        .to_string()
        .into_bytes();
    let request = |restore_pvs: Value| v2::RestoreItemActionExecuteRequest {
        plugin: CLASS_RESTORER.into(),
        item: class.clone(),
        restore: restore(restore_pvs).to_string().into_bytes(),
        item_from_backup: class.clone(),
    };
    let out = ria(plugin.channel())
        .execute(request(Value::Null))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(out.item, class);
    assert!(!out.skip_restore && !out.wait_for_additional_items && out.operation_id.is_empty());
    assert_eq!(out.additional_items.len(), 1);
    assert_eq!(out.additional_items_ready_timeout, None);

    let skipped = ria(plugin.channel())
        .execute(request(json!(false)))
        .await
        .unwrap()
        .into_inner();
    assert!(skipped.skip_restore);
    plugin.shutdown().await.unwrap();
}

// E-03 to E-07: malformed input; the process keeps serving.
// E-14: long inputs are quoted at a bounded length, so that every answer fits the header
// limits of gRPC clients other than Go's.
#[tokio::test]
async fn answers_to_long_inputs_stay_under_2_kib() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = start(tmp.path()).await;
    let backup = backup().to_string().into_bytes();
    let long_id = format!("ns/{}/2024-05-01T09:30:00Z", "v".repeat(9_000));
    let progress = bia(plugin.channel())
        .progress(v2::BackupItemActionProgressRequest {
            plugin: "velero.io/csi-volumesnapshot-backupper".into(),
            operation_id: format!("{long_id}/extra"),
            backup: backup.clone(),
        })
        .await
        .unwrap_err();
    let unknown = bia(plugin.channel())
        .execute(execute_request(
            &"p".repeat(9_000),
            Vec::new(),
            backup.clone(),
        ))
        .await
        .unwrap_err();
    let item = format!("{{\"kind\": \"{}é\"", "\u{7f}".repeat(9_000)).into_bytes();
    let malformed = bia(plugin.channel())
        .execute(execute_request(CLASS_BACKUPPER, item, backup))
        .await
        .unwrap_err();
    for (status, starts) in [
        (
            &progress,
            "velero.io/csi-volumesnapshot-backupper: operation ID ns/vvv",
        ),
        (&unknown, ""),
        (&malformed, CLASS_BACKUPPER),
    ] {
        assert_eq!(status.code(), Code::Unknown, "{status:?}");
        assert!(status.message().len() < 2048, "{}", status.message().len());
        assert!(status.message().starts_with(starts), "{}", status.message());
    }
    assert!(
        progress.message().ends_with("… is invalid"),
        "{}",
        progress.message()
    );
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_input_is_an_error_naming_the_action() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = start(tmp.path()).await;
    let backup = backup().to_string().into_bytes();
    let class = snapshot_class(json!({})).to_string().into_bytes();
    let cases: [(Vec<u8>, Vec<u8>, &str); 7] = [
        (
            Vec::new(),
            backup.clone(),
            "item: unexpected end of JSON input",
        ),
        (
            br#"{"apiVersion":"v1""#.to_vec(),
            backup.clone(),
            "item: invalid JSON",
        ),
        (
            br#"{"apiVersion":"v1"}"#.to_vec(),
            backup.clone(),
            "Object 'Kind' is missing in",
        ),
        (
            b"[]".to_vec(),
            backup.clone(),
            "item: expected a JSON object",
        ),
        (
            b"\"text\"".to_vec(),
            backup.clone(),
            "item: expected a JSON object",
        ),
        (vec![0xff, 0xfe], backup.clone(), "item: invalid JSON"),
        (class.clone(), b"{".to_vec(), "backup: invalid JSON"),
    ];
    for (item, backup, expected) in cases {
        let error = bia(plugin.channel())
            .execute(execute_request(CLASS_BACKUPPER, item, backup))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::Unknown);
        let message = error.message();
        assert!(
            message.starts_with(&format!("{CLASS_BACKUPPER}: ")),
            "{message}"
        );
        assert!(
            message.contains(expected),
            "{message} should contain {expected}"
        );
    }
    let bad_restore = ria(plugin.channel())
        .execute(v2::RestoreItemActionExecuteRequest {
            plugin: CLASS_RESTORER.into(),
            item: class.clone(),
            restore: Vec::new(),
            item_from_backup: class,
        })
        .await
        .unwrap_err();
    assert!(
        bad_restore
            .message()
            .contains("restore: unexpected end of JSON input")
    );
    let listed = PluginListerClient::new(plugin.channel())
        .list_plugins(generated::Empty {})
        .await;
    assert!(listed.is_ok(), "still serving");
    plugin.shutdown().await.unwrap();
}

// E-12, E-13: services and kinds this binary does not implement.
#[tokio::test]
async fn unimplemented_services_fail_cleanly() {
    use tonic::codegen::http::uri::PathAndQuery;

    let tmp = tempfile::tempdir().unwrap();
    let plugin = start(tmp.path()).await;
    for path in [
        "/generated.BackupItemAction/Execute",
        "/generated.ObjectStore/Init",
    ] {
        let mut grpc = tonic::client::Grpc::new(plugin.channel());
        grpc.ready().await.unwrap();
        let codec = tonic_prost::ProstCodec::<generated::Empty, generated::Empty>::default();
        let error = grpc
            .unary(
                tonic::Request::new(generated::Empty {}),
                PathAndQuery::from_static(path),
                codec,
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::Unimplemented, "{path}");
    }
    let listed = PluginListerClient::new(plugin.channel())
        .list_plugins(generated::Empty {})
        .await;
    assert!(listed.is_ok());
    plugin.shutdown().await.unwrap();
}

// C-01: concurrent Executes on one connection.
#[tokio::test]
async fn concurrent_executes_do_not_cross_talk() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = start(tmp.path()).await;
    let calls = (0..16).map(|i| {
        let channel = plugin.channel();
        tokio::spawn(async move {
            let mut class = snapshot_class(json!({
                "csi.storage.k8s.io/snapshotter-list-secret-name": format!("secret-{i}"),
                "csi.storage.k8s.io/snapshotter-list-secret-namespace": "ns"
            }));
            class["metadata"]["name"] = json!(format!("class-{i}"));
            let out = bia(channel)
                .execute(execute_request(
                    CLASS_BACKUPPER,
                    class.to_string().into_bytes(),
                    backup().to_string().into_bytes(),
                ))
                .await
                .unwrap()
                .into_inner();
            let returned: Value = serde_json::from_slice(&out.item).unwrap();
            assert_eq!(returned["metadata"]["name"], format!("class-{i}"));
            assert_eq!(out.additional_items[0].name, format!("secret-{i}"));
        })
    });
    for call in calls {
        call.await.unwrap();
    }
    plugin.shutdown().await.unwrap();
}

// C-04, C-06: killed instances leave stale sockets that block nothing; clean cycles leave
// nothing behind.
#[tokio::test]
async fn restarts_after_sigkill_and_cycles_leave_no_sockets() {
    let tmp = tempfile::tempdir().unwrap();
    let killed = start(tmp.path()).await;
    let stale = killed.handshake().address.clone();
    let pid = killed.id().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap()
            .success()
    );
    let _ = killed.shutdown().await;
    assert!(
        Path::new(&stale).exists(),
        "a killed plugin cannot remove its socket"
    );

    for _ in 0..20 {
        let plugin = start(tmp.path()).await;
        assert_ne!(plugin.handshake().address, stale);
        PluginListerClient::new(plugin.channel())
            .list_plugins(generated::Empty {})
            .await
            .unwrap();
        let exit = plugin.shutdown().await.unwrap();
        assert!(exit.graceful && exit.status.success());
    }
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        left,
        [Path::new(&stale).to_path_buf()],
        "only the killed plugin's socket remains"
    );
}
