// Package veleroclient drives our plugin binary with Velero's own plugin client
// (pkg/plugin/clientmgmt and go-plugin): discovery through the plugin registry, the
// Manager's restartable actions, and the logrus logger Velero hands to go-plugin.
//
// The same test files build against two clients, one Go module each:
//
//   - this directory: Velero v1.13.2 (go-plugin v1.4.3), which starts plugins with
//     `--log-level <lvl> --features <csv>` itself;
//   - v118/: Velero v1.18.3 (go-plugin v1.7.0), which starts plugins with the Velero
//     server's own flags (os.Args[2:], since v1.15).
//
// v118/ holds symbolic links to the shared files (main_test.go, velero_client_test.go,
// actions_test.go); what differs between the clients is in client_v113_test.go here and
// v118/client_v118_test.go.
//
// Run both with ./run (which builds the binary first), or one directly with
//
//	PLUGIN_BINARY=/path/to/velero-plugin-for-csi go test -count=1 .        # v1.13.2
//	cd v118 && PLUGIN_BINARY=/path/to/velero-plugin-for-csi go test -count=1 .   # v1.18.3
//
// Without PLUGIN_BINARY the binary is taken from the workspace's target/release, else
// target/debug.
package veleroclient

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"

	"github.com/vmware-tanzu/velero/pkg/features"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt/process"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework/common"
	"github.com/vmware-tanzu/velero/pkg/util/logging"
)

// binaryName is the file name the plugin has in Velero's plugin directory; go-plugin
// reports it as pluginName on every log record of the plugin.
const binaryName = "velero-plugin-for-csi"

// TestMain handles Velero's self-exec: Registry.DiscoverPlugins always starts os.Args[0]
// (here, this test binary) as `<os.Args[0]> run-plugins <args>` before the binaries of the
// plugin directory, and expects a go-plugin server. The arguments are those the client
// gives every plugin (v1.13: `--log-level <lvl> [--features <csv>]`; v1.15+: the server's
// flags, see launch). We serve Velero's own plugin server, as `velero run-plugins` serves
// Velero's built-in plugins: an empty plugin list, or, when a test sets coreCSIEnv, core's
// built-in CSI actions of v1.18.3 (registerCoreCSI).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "run-plugins" {
		server := framework.NewServer()
		if os.Getenv(coreCSIEnv) != "" {
			registerCoreCSI(server)
		}
		server.BindFlags(pflag.CommandLine).Serve()
		os.Exit(0)
	}
	fmt.Printf("Velero plugin client: %s\n", clientVersion)
	// The suites call every RPC of the ten v0.7.1 actions: the plugins they start register
	// the v0.7.1 name set, as a Velero v1.13 deployment of the drop-in sets it (the binary's
	// default is the modern set). TestDiscoveryBesideCoreCSIActions changes it per test.
	os.Setenv(namesEnv, "v0.7.1")
	// A v1.13 server with CSI enabled: plugins are started with `--features EnableCSI`.
	features.Enable("EnableCSI")
	// Plugin processes inherit our environment and create their sockets under $TMPDIR:
	// keep them (and a killed process's stale socket) out of /tmp.
	tmp, err := os.MkdirTemp("", "velero-client-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Setenv("TMPDIR", tmp)
	tmpRoot = tmp
	// No cluster: actions that need the API must fail cleanly with the client's error.
	os.Setenv("KUBECONFIG", filepath.Join(tmp, "no-such-kubeconfig"))
	os.Unsetenv("KUBERNETES_SERVICE_HOST")
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// namesEnv chooses the name set the plugin registers (v0.7.1 or modern).
const namesEnv = "VELERO_CSI_NAMES"

// coreCSIEnv, set for the `run-plugins` self-exec, makes it register core's built-in CSI
// actions as Velero v1.14+ does.
const coreCSIEnv = "VELERO_CLIENT_TEST_CORE_CSI"

// coreCSIActions are the CSI actions a Velero v1.18.3 `velero run-plugins` registers
// (pkg/cmd/server/plugin/plugin.go of v1.18.3, and as observed on a real v1.18.3 server): nine of
// the ten v0.7.1 names, all but DeleteItemAction velero.io/csi-volumesnapshot-delete.
var coreCSIActions = []struct {
	kind common.PluginKind
	name string
}{
	{common.PluginKindBackupItemActionV2, "velero.io/csi-pvc-backupper"},
	{common.PluginKindBackupItemActionV2, "velero.io/csi-volumesnapshot-backupper"},
	{common.PluginKindBackupItemActionV2, "velero.io/csi-volumesnapshotcontent-backupper"},
	{common.PluginKindBackupItemActionV2, "velero.io/csi-volumesnapshotclass-backupper"},
	{common.PluginKindRestoreItemActionV2, "velero.io/csi-pvc-restorer"},
	{common.PluginKindRestoreItemActionV2, "velero.io/csi-volumesnapshot-restorer"},
	{common.PluginKindRestoreItemActionV2, "velero.io/csi-volumesnapshotcontent-restorer"},
	{common.PluginKindRestoreItemActionV2, "velero.io/csi-volumesnapshotclass-restorer"},
	{common.PluginKindDeleteItemAction, "velero.io/csi-volumesnapshotcontent-delete"},
}

// registerCoreCSI registers coreCSIActions on Velero's plugin server the way v1.18.3's
// `velero run-plugins` does (RegisterBackupItemActionV2, …). Discovery only lists them, so
// their initializers are never run.
func registerCoreCSI(server framework.Server) {
	never := func(logrus.FieldLogger) (interface{}, error) {
		return nil, fmt.Errorf("core's built-in CSI action stand-in is never run")
	}
	for _, a := range coreCSIActions {
		switch a.kind {
		case common.PluginKindBackupItemActionV2:
			server.RegisterBackupItemActionV2(a.name, never)
		case common.PluginKindRestoreItemActionV2:
			server.RegisterRestoreItemActionV2(a.name, never)
		case common.PluginKindDeleteItemAction:
			server.RegisterDeleteItemAction(a.name, never)
		}
	}
}

var (
	tmpRoot    string // this run's private directory, $TMPDIR unless a test changes it
	pluginOnce sync.Once
	pluginDir  string // a plugin directory holding only our binary
	pluginPath string // pluginDir/velero-plugin-for-csi: the command Velero runs
	pluginErr  error
)

// sourceBinary is the binary under test: $PLUGIN_BINARY, else the workspace's release
// build, else its debug build.
func sourceBinary() (string, error) {
	if p := os.Getenv("PLUGIN_BINARY"); p != "" {
		return filepath.Abs(p)
	}
	// The workspace root is the nearest directory above holding Cargo.toml.
	root, err := filepath.Abs(".")
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "Cargo.toml")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return "", fmt.Errorf("no plugin binary: set PLUGIN_BINARY (no Cargo workspace above %s)", filepath.Dir(root))
		}
		root = parent
	}
	for _, profile := range []string{"release", "debug"} {
		p := filepath.Join(root, "target", profile, binaryName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no plugin binary: set PLUGIN_BINARY or run `cargo build --release -p velero-plugin-for-csi`")
}

// plugin returns the path of our binary inside a plugin directory of its own, copied there
// as an operator's init container copies it into Velero's /plugins.
func plugin(t testing.TB) string {
	t.Helper()
	pluginOnce.Do(func() {
		src, err := sourceBinary()
		if err != nil {
			pluginErr = err
			return
		}
		// Not under $TMPDIR: a test may point that elsewhere (TestShutdown counts sockets).
		dir, err := os.MkdirTemp(tmpRoot, "velero-plugins-")
		if err != nil {
			pluginErr = err
			return
		}
		pluginDir = dir
		pluginPath = filepath.Join(dir, binaryName)
		pluginErr = copyFile(src, pluginPath)
	})
	if pluginErr != nil {
		t.Fatalf("plugin binary: %v", pluginErr)
	}
	return pluginPath
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// record is one log entry as it reached Velero's logger, after Velero's hooks ran.
type record struct {
	Level   logrus.Level
	Message string
	Data    logrus.Fields
}

// recorder is a logrus hook that keeps every entry.
type recorder struct {
	mu      sync.Mutex
	records []record
}

func (r *recorder) Levels() []logrus.Level { return logrus.AllLevels }

func (r *recorder) Fire(e *logrus.Entry) error {
	data := make(logrus.Fields, len(e.Data))
	for k, v := range e.Data {
		data[k] = v
	}
	r.mu.Lock()
	r.records = append(r.records, record{Level: e.Level, Message: e.Message, Data: data})
	r.mu.Unlock()
	return nil
}

func (r *recorder) snapshot() []record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]record(nil), r.records...)
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.records)
}

// fromPlugin returns the records, from index `from` on, that go-plugin read from our
// plugin's stderr (go-plugin names that logger after the binary: pluginName).
func (r *recorder) fromPlugin(from int) []record {
	var out []record
	for i, rec := range r.snapshot() {
		if i >= from && rec.Data["pluginName"] == binaryName {
			out = append(out, rec)
		}
	}
	return out
}

// waitTimeout bounds every wait for a log record: go-plugin reads the plugin's stderr and
// reaps the process asynchronously, and Kill gives a plugin 2 s to exit before killing it.
const waitTimeout = 10 * time.Second

// waitFor polls until cond holds on the records (stderr is read asynchronously by go-plugin),
// and fails the test after waitTimeout.
func (r *recorder) waitFor(t testing.TB, what string, cond func([]record) bool) []record {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		recs := r.snapshot()
		if cond(recs) {
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v; records:\n%s", what, waitTimeout, dump(recs))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// processExit is what go-plugin's "plugin process exited" record says about a process.
type processExit struct {
	path  string
	pid   int
	error interface{} // nil after a clean exit
}

// exitOf recognises go-plugin's "plugin process exited" record in both versions' shapes:
//
//   - go-plugin v1.4.3 (client.go:632-642): at debug, keys path (the command, a string)
//     and pid (an int), plus error;
//   - go-plugin v1.7.0 (client.go:775-780): at info, or at error when the process failed,
//     keys plugin (the command) and id (the pid as a decimal string), plus error.
func exitOf(r record) (processExit, bool) {
	if r.Message != "plugin process exited" {
		return processExit{}, false
	}
	exit := processExit{error: r.Data["error"]}
	if path, ok := r.Data["path"].(string); ok {
		exit.path = path
		exit.pid, ok = r.Data["pid"].(int)
		return exit, ok
	}
	if path, ok := r.Data["plugin"].(string); ok {
		id, _ := r.Data["id"].(string)
		pid, err := strconv.Atoi(id)
		exit.path, exit.pid = path, pid
		return exit, err == nil
	}
	return processExit{}, false
}

// waitForExit waits for go-plugin to report that a process ended, among the records from
// index `from` on, matching path (if not "") and pid (if not 0); it returns that report.
func (r *recorder) waitForExit(t testing.TB, from int, path string, pid int) processExit {
	t.Helper()
	var found processExit
	r.waitFor(t, fmt.Sprintf("\"plugin process exited\" record for path %q pid %d (go-plugin's path/pid or plugin/id keys)", path, pid), func(recs []record) bool {
		for _, rec := range recs[min(from, len(recs)):] {
			if exit, ok := exitOf(rec); ok && (path == "" || exit.path == path) && (pid == 0 || exit.pid == pid) {
				found = exit
				return true
			}
		}
		return false
	})
	return found
}

func dump(recs []record) string {
	s := ""
	for _, r := range recs {
		s += fmt.Sprintf("  %-7s %q %v\n", r.Level, r.Message, r.Data)
	}
	return s
}

// env is one Velero "server": a logger configured like Velero's (DefaultLogger and its
// hooks), a plugin registry after discovery, and a place to record log entries.
type env struct {
	log      *recorder
	logger   *logrus.Logger
	registry process.Registry
	plugin   string
	// level is the log level the plugin is started with; clientLevel is the level given to
	// Velero's registry and manager, which go-plugin's client logger reports (see launch).
	level, clientLevel logrus.Level
}

// newEnv runs Velero's plugin discovery over a plugin directory holding our binary, with
// the plugin log level `level`. Plugins started in the test get the arguments the client
// version under test gives them (launch).
func newEnv(t *testing.T, level logrus.Level) *env {
	t.Helper()
	path := plugin(t)
	clientLevel := launch(t, level)
	rec := &recorder{}
	logger := logging.DefaultLogger(logrus.DebugLevel, logging.FormatText)
	logger.Out = io.Discard
	logger.Hooks.Add(rec)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log records:\n%s", dump(rec.snapshot()))
		}
	})
	registry := process.NewRegistry(filepath.Dir(path), logger, clientLevel)
	if err := registry.DiscoverPlugins(); err != nil {
		t.Fatalf("DiscoverPlugins: %v", err)
	}
	return &env{log: rec, logger: logger, registry: registry, plugin: path, level: level, clientLevel: clientLevel}
}

// manager returns a Velero plugin manager (one per backup/restore/deletion in Velero),
// stopped at the end of the test.
func (e *env) manager(t *testing.T) clientmgmt.Manager {
	m := clientmgmt.NewManager(e.logger, e.clientLevel, e.registry)
	t.Cleanup(m.CleanupClients)
	return m
}

// restartableProcess starts our binary the way the Manager does, without the registry in
// between, so that names the registry would refuse locally reach the plugin.
func (e *env) restartableProcess(t *testing.T) process.RestartableProcess {
	t.Helper()
	p, err := process.NewRestartableProcessFactory().NewRestartableProcess(e.plugin, e.logger, e.clientLevel)
	if err != nil {
		t.Fatalf("starting %s: %v", e.plugin, err)
	}
	t.Cleanup(p.Stop)
	return p
}
