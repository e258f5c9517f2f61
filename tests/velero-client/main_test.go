// Package veleroclient drives our plugin binary with Velero v1.13.2's own plugin client
// (pkg/plugin/clientmgmt, go-plugin v1.4.3): discovery through the plugin registry, the
// Manager's restartable actions, and the logrus logger Velero hands to go-plugin.
//
// Run it with ./run (which builds the binary first), or directly with
//
//	PLUGIN_BINARY=/path/to/velero-plugin-for-csi go test -count=1 ./...
//
// Without PLUGIN_BINARY the binary is taken from ../../target/release, else ../../target/debug.
package veleroclient

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"

	"github.com/vmware-tanzu/velero/pkg/features"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt/process"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"
	"github.com/vmware-tanzu/velero/pkg/util/logging"
)

// binaryName is the file name the plugin has in Velero's plugin directory; go-plugin
// reports it as pluginName on every log record of the plugin.
const binaryName = "velero-plugin-for-csi"

// TestMain handles Velero's self-exec: Registry.DiscoverPlugins always starts os.Args[0]
// (here, this test binary) as `<os.Args[0]> run-plugins --log-level <lvl> [--features <csv>]`
// before the binaries of the plugin directory, and expects a go-plugin server. We serve an
// empty plugin list, exactly as `velero run-plugins` serves Velero's built-in plugins.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "run-plugins" {
		framework.NewServer().BindFlags(pflag.CommandLine).Serve()
		os.Exit(0)
	}
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
	// No cluster: actions that need the API must fail cleanly with the client's error.
	os.Setenv("KUBECONFIG", filepath.Join(tmp, "no-such-kubeconfig"))
	os.Unsetenv("KUBERNETES_SERVICE_HOST")
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

var (
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
	for _, profile := range []string{"release", "debug"} {
		p, err := filepath.Abs(filepath.Join("..", "..", "target", profile, binaryName))
		if err != nil {
			return "", err
		}
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
		dir, err := os.MkdirTemp("", "velero-plugins-")
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

// waitFor polls until cond holds on the records (stderr is read asynchronously by go-plugin).
func (r *recorder) waitFor(t testing.TB, what string, cond func([]record) bool) []record {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		recs := r.snapshot()
		if cond(recs) {
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; records:\n%s", what, dump(recs))
		}
		time.Sleep(5 * time.Millisecond)
	}
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
}

// newEnv runs Velero's plugin discovery over a plugin directory holding our binary, with
// the plugin log level `level`.
func newEnv(t *testing.T, level logrus.Level) *env {
	t.Helper()
	path := plugin(t)
	rec := &recorder{}
	logger := logging.DefaultLogger(logrus.DebugLevel, logging.FormatText)
	logger.Out = io.Discard
	logger.Hooks.Add(rec)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log records:\n%s", dump(rec.snapshot()))
		}
	})
	registry := process.NewRegistry(filepath.Dir(path), logger, level)
	if err := registry.DiscoverPlugins(); err != nil {
		t.Fatalf("DiscoverPlugins: %v", err)
	}
	return &env{log: rec, logger: logger, registry: registry, plugin: path}
}

// manager returns a Velero plugin manager (one per backup/restore/deletion in Velero),
// stopped at the end of the test.
func (e *env) manager(t *testing.T, level logrus.Level) clientmgmt.Manager {
	m := clientmgmt.NewManager(e.logger, level, e.registry)
	t.Cleanup(m.CleanupClients)
	return m
}

// restartableProcess starts our binary the way the Manager does, without the registry in
// between, so that names the registry would refuse locally reach the plugin.
func (e *env) restartableProcess(t *testing.T) process.RestartableProcess {
	t.Helper()
	p, err := process.NewRestartableProcessFactory().NewRestartableProcess(e.plugin, e.logger, logrus.DebugLevel)
	if err != nil {
		t.Fatalf("starting %s: %v", e.plugin, err)
	}
	t.Cleanup(p.Stop)
	return p
}
