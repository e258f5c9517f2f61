// Command sidebyside benchmarks two Velero plugin binaries identically, alternating
// between them, and prints a Markdown table of medians and ratios (first / second).
//
//	sidebyside -runs 25 -calls 200 ours=/path/to/ours go=/path/to/go-plugin
//
// Every process is driven the way Velero v1.13.2 drives plugins: go-plugin v1.4.3's client
// with Velero's handshake and its framework gRPC clients (the same code the Velero server
// runs), arguments `--log-level info --features EnableCSI`, and Velero's environment.
//
// Measures, per binary:
//   - cold start: fork/exec until the handshake line has been read from stdout;
//   - discovery cycle: go-plugin start, ListPlugins, Kill (Shutdown RPC) until the process
//     has exited, as Velero does for every binary at server start;
//   - AppliesTo and Execute round trips of one BackupItemActionV2 on a started process
//     (first call of the process reported separately: it includes lazy initialisation),
//     and grpc.health.v1.Health/Check on the same connection as the floor of a round trip;
//   - peak RSS (VmHWM) of the plugin process just before shutdown: after ListPlugins in
//     the discovery cycle, and after all calls in a session.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	hcplugin "github.com/hashicorp/go-plugin"
	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/emptypb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"
	biav2fw "github.com/vmware-tanzu/velero/pkg/plugin/framework/backupitemaction/v2"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework/common"
	biav2 "github.com/vmware-tanzu/velero/pkg/plugin/velero/backupitemaction/v2"
)

const actionName = "velero.io/csi-volumesnapshotclass-backupper"

var pluginArgs = []string{"--log-level", "info", "--features", "EnableCSI"}

type binary struct {
	label, path string
}

// samples of one metric for one binary.
type samples map[string][]float64

func main() {
	runs := flag.Int("runs", 25, "runs per binary (each run: one cold start, one discovery cycle, one session)")
	calls := flag.Int("calls", 200, "AppliesTo and Execute calls per session")
	flag.Parse()
	// Our binary with the v0.7.1 names (the actions this harness calls), in every process it
	// starts: its own launches and those of Velero's registry. The Go plugin ignores it.
	if err := os.Setenv("VELERO_CSI_NAMES", "v0.7.1"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: sidebyside [-runs N] [-calls N] label=binary label=binary")
		os.Exit(2)
	}
	var bins []binary
	for _, arg := range flag.Args() {
		label, path, ok := strings.Cut(arg, "=")
		if !ok {
			fatalf("argument %q is not label=path", arg)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			fatalf("%v", err)
		}
		bins = append(bins, binary{label, abs})
	}

	// Sockets of all plugin processes go to a private directory.
	tmp, err := os.MkdirTemp("", "sidebyside-")
	if err != nil {
		fatalf("%v", err)
	}
	defer os.RemoveAll(tmp)
	os.Setenv("TMPDIR", tmp)

	item, backup := payload()
	results := map[string]samples{}
	for _, b := range bins {
		results[b.label] = samples{}
		// One unmeasured warm-up of each binary (page cache, first exec).
		if _, err := coldStart(b.path); err != nil {
			fatalf("%s: %v", b.label, err)
		}
	}
	for i := 0; i < *runs; i++ {
		order := bins
		if i%2 == 1 {
			order = []binary{bins[1], bins[0]}
		}
		for _, b := range order {
			s := results[b.label]
			d, err := coldStart(b.path)
			if err != nil {
				fatalf("%s cold start: %v", b.label, err)
			}
			s.add("cold", ms(d))

			d, rss, err := discovery(b.path)
			if err != nil {
				fatalf("%s discovery: %v", b.label, err)
			}
			s.add("discovery", ms(d))
			s.add("rss-discovery", rss)

			if err := session(b.path, *calls, item, backup, s); err != nil {
				fatalf("%s session: %v", b.label, err)
			}
		}
		fmt.Fprintf(os.Stderr, "run %d/%d done\n", i+1, *runs)
	}
	report(bins, results, *runs, *calls)
	fmt.Printf("\nVelero client-side cost of one Execute (encode item and Backup, decode the returned item; no RPC): %s ms median\n",
		num(clientCodec(item, backup)))
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		fmt.Printf("\nNote: files left in the socket directory after all processes exited: %v\n", names)
	}
}

func (s samples) add(metric string, v float64) { s[metric] = append(s[metric], v) }

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func fatalf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "sidebyside: "+format+"\n", args...)
	os.Exit(1)
}

// payload is a VolumeSnapshotClass with the snapshot-lister secret annotations (so the
// action returns an additional item and edits the item) and a Backup as Velero v1.13
// passes it during the main pass.
func payload() (*unstructured.Unstructured, *velerov1.Backup) {
	var obj map[string]interface{}
	err := json.Unmarshal([]byte(`{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotClass",
		"metadata":{"name":"csi-hostpath-snapclass","uid":"6f1c1d2e-0000-4000-8000-000000000001","resourceVersion":"4242",
		"creationTimestamp":"2024-03-01T09:00:00Z","generation":1,
		"annotations":{"csi.storage.k8s.io/snapshotter-list-secret-name":"ls","csi.storage.k8s.io/snapshotter-list-secret-namespace":"kube-system",
		"snapshot.storage.kubernetes.io/is-default-class":"true"}},
		"driver":"hostpath.csi.k8s.io","deletionPolicy":"Delete","parameters":{"a":"b"}}`), &obj)
	if err != nil {
		panic(err)
	}
	created := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	backup := &velerov1.Backup{
		TypeMeta: metav1.TypeMeta{APIVersion: "velero.io/v1", Kind: "Backup"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "velero", Name: "b1", UID: "0b5d2a6e-0000-4000-8000-000000000002",
			CreationTimestamp: metav1.NewTime(created),
			Annotations:       map[string]string{"velero.io/resource-timeout": "10m0s"},
			Labels:            map[string]string{"velero.io/storage-location": "default"},
		},
		Spec: velerov1.BackupSpec{
			IncludedNamespaces:   []string{"app"},
			TTL:                  metav1.Duration{Duration: 720 * time.Hour},
			CSISnapshotTimeout:   metav1.Duration{Duration: 10 * time.Minute},
			ItemOperationTimeout: metav1.Duration{Duration: 4 * time.Hour},
			StorageLocation:      "default",
		},
		Status: velerov1.BackupStatus{
			Phase: velerov1.BackupPhaseInProgress, Version: 1, FormatVersion: "1.1.0",
			StartTimestamp: &metav1.Time{Time: created},
		},
	}
	return &unstructured.Unstructured{Object: obj}, backup
}

func veleroEnv() []string {
	return append(os.Environ(),
		"VELERO_PLUGIN=hello", "PLUGIN_PROTOCOL_VERSIONS=2",
		"PLUGIN_MIN_PORT=10000", "PLUGIN_MAX_PORT=25000")
}

// coldStart execs the binary as go-plugin does and times exec until the handshake line is
// read; then shuts the process down over gRPC and waits for it.
func coldStart(path string) (time.Duration, error) {
	cmd := exec.Command(path, pluginArgs...)
	cmd.Env = veleroEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	cmd.Stderr = io.Discard
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	elapsed := time.Since(start)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return 0, fmt.Errorf("reading handshake: %v", err)
	}
	go io.Copy(io.Discard, stdout)
	fields := strings.Split(strings.TrimSpace(line), "|")
	if len(fields) < 5 || fields[2] != "unix" {
		cmd.Process.Kill()
		cmd.Wait()
		return 0, fmt.Errorf("unexpected handshake %q", line)
	}
	shutdown(fields[3])
	return elapsed, wait(cmd)
}

// shutdown calls plugin.GRPCController/Shutdown (plugin.Empty is wire-identical to
// google.protobuf.Empty); the answer may never come, as a Go server stops inside it.
func shutdown(socket string) {
	conn, err := grpc.Dial("unused",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}))
	if err != nil {
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = conn.Invoke(ctx, "/plugin.GRPCController/Shutdown", &emptypb.Empty{}, &emptypb.Empty{})
}

func wait(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("process did not exit within 5 s of Shutdown")
	}
}

// client builds a go-plugin client configured as Velero v1.13.2's clientBuilder does.
func client(path string) (*hcplugin.Client, *exec.Cmd) {
	cmd := exec.Command(path, pluginArgs...)
	logger := common.ClientLogger(nullLogrus())
	c := hcplugin.NewClient(&hcplugin.ClientConfig{
		HandshakeConfig:  framework.Handshake(),
		AllowedProtocols: []hcplugin.Protocol{hcplugin.ProtocolGRPC},
		Plugins: map[string]hcplugin.Plugin{
			string(common.PluginKindBackupItemActionV2): biav2fw.NewBackupItemActionPlugin(logger),
			string(common.PluginKindPluginLister):       &framework.PluginListerPlugin{},
		},
		Logger: hclog.NewNullLogger(),
		Cmd:    cmd,
	})
	return c, cmd
}

// discovery is Velero's start-up cycle for one binary: start, ListPlugins, Kill. Returns
// the time until the process has exited and its peak RSS (KiB).
func discovery(path string) (time.Duration, float64, error) {
	start := time.Now()
	c, cmd := client(path)
	proto, err := c.Client()
	if err != nil {
		c.Kill()
		return 0, 0, err
	}
	raw, err := proto.Dispense(string(common.PluginKindPluginLister))
	if err != nil {
		c.Kill()
		return 0, 0, err
	}
	ids, err := raw.(framework.PluginLister).ListPlugins()
	if err != nil {
		c.Kill()
		return 0, 0, err
	}
	// Reading /proc adds ~0.1 ms to the cycle for both binaries alike. (rusage maxrss of
	// the child is no use here: Go starts children with vfork, and the kernel records the
	// parent's RSS as the child's high-water mark at exec.)
	hwm, hwmErr := vmHWM(cmd.Process.Pid)
	c.Kill()
	elapsed := time.Since(start)
	if hwmErr != nil {
		return 0, 0, hwmErr
	}
	found := false
	for _, id := range ids {
		found = found || (id.Kind == common.PluginKindBackupItemActionV2 && id.Name == actionName)
	}
	if !found {
		return 0, 0, fmt.Errorf("%s not listed: %v", actionName, ids)
	}
	if !c.Exited() || cmd.ProcessState == nil || !cmd.ProcessState.Success() {
		return 0, 0, fmt.Errorf("process did not exit cleanly after Kill: %v", cmd.ProcessState)
	}
	return elapsed, hwm, nil
}

// session starts one process and times AppliesTo and Execute round trips through Velero's
// BackupItemActionV2 gRPC client.
func session(path string, calls int, item *unstructured.Unstructured, backup *velerov1.Backup, s samples) error {
	c, cmd := client(path)
	defer c.Kill()
	proto, err := c.Client()
	if err != nil {
		return err
	}
	raw, err := proto.Dispense(string(common.PluginKindBackupItemActionV2))
	if err != nil {
		return err
	}
	action := raw.(common.ClientDispenser).ClientFor(actionName).(biav2.BackupItemAction)

	timeIt := func(f func() error) (float64, error) {
		start := time.Now()
		err := f()
		return ms(time.Since(start)), err
	}
	appliesTo := func() error {
		sel, err := action.AppliesTo()
		if err == nil && len(sel.IncludedResources) != 1 {
			err = fmt.Errorf("AppliesTo: %+v", sel)
		}
		return err
	}
	execute := func() error {
		out, extra, _, _, err := action.Execute(item.DeepCopy(), backup)
		if err == nil && (out == nil || len(extra) != 1) {
			err = fmt.Errorf("Execute returned %v additional items", extra)
		}
		return err
	}

	// As in a backup: AppliesTo first (the process's first RPC), then Executes.
	d, err := timeIt(appliesTo)
	if err != nil {
		return err
	}
	s.add("appliesto-first", d)
	d, err = timeIt(execute)
	if err != nil {
		return err
	}
	s.add("execute-first", d)
	for i := 0; i < calls; i++ {
		d, err := timeIt(appliesTo)
		if err != nil {
			return err
		}
		s.add("appliesto", d)
	}
	for i := 0; i < calls; i++ {
		d, err := timeIt(execute)
		if err != nil {
			return err
		}
		s.add("execute", d)
	}
	// The floor of a round trip on the same connection: grpc.health.v1.Health/Check,
	// which both servers answer without touching the actions.
	health := healthpb.NewHealthClient(proto.(*hcplugin.GRPCClient).Conn)
	for i := 0; i < calls; i++ {
		d, err := timeIt(func() error {
			_, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "plugin"})
			return err
		})
		if err != nil {
			return err
		}
		s.add("health", d)
	}
	hwm, err := vmHWM(cmd.Process.Pid)
	if err != nil {
		return err
	}
	s.add("rss-session", hwm)
	c.Kill()
	if !c.Exited() {
		return fmt.Errorf("process still running after Kill")
	}
	return nil
}

// vmHWM reads the peak resident set size (KiB) of a running process.
func vmHWM(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			return strconv.ParseFloat(f[1], 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func percentile(v []float64, p float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	i := int(p * float64(len(s)-1))
	return s[i]
}

func report(bins []binary, results map[string]samples, runs, calls int) {
	a, b := bins[0], bins[1]
	fmt.Printf("Binaries: %s = %s, %s = %s\n", a.label, a.path, b.label, b.path)
	fmt.Printf("Runs: %d per binary, alternating; %d AppliesTo + %d Execute calls per session. %d CPUs, %s, %s.\n\n",
		runs, calls, calls, runtime.NumCPU(), runtime.Version(), loadavg())
	rows := []struct {
		metric, title, unit string
	}{
		{"cold", "Cold start (exec → handshake line read)", "ms"},
		{"discovery", "Discovery cycle (start, ListPlugins, Shutdown, exit)", "ms"},
		{"appliesto-first", "AppliesTo, first call of a process", "ms"},
		{"appliesto", "AppliesTo round trip (started process)", "ms"},
		{"execute-first", "Execute, first call of a process (after AppliesTo)", "ms"},
		{"execute", "Execute round trip (started process)", "ms"},
		{"health", "Health/Check round trip (gRPC floor, no action code)", "ms"},
		{"rss-discovery", "Peak RSS, discovery process", "MiB"},
		{"rss-session", fmt.Sprintf("Peak RSS after %d AppliesTo + %d Execute", calls+1, calls+1), "MiB"},
	}
	fmt.Printf("| Metric (median) | %s | %s | %s / %s | %s p10–p90 | %s p10–p90 |\n", a.label, b.label, a.label, b.label, a.label, b.label)
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		va, vb := results[a.label][r.metric], results[b.label][r.metric]
		scale := 1.0
		if r.unit == "MiB" {
			scale = 1.0 / 1024
		}
		ma, mb := median(va)*scale, median(vb)*scale
		fmt.Printf("| %s | %s %s | %s %s | %.2f× | %s–%s | %s–%s |\n", r.title,
			num(ma), r.unit, num(mb), r.unit, ma/mb,
			num(percentile(va, 0.1)*scale), num(percentile(va, 0.9)*scale),
			num(percentile(vb, 0.1)*scale), num(percentile(vb, 0.9)*scale))
	}
}

func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown"
	}
	f := strings.Fields(string(data))
	return "load average at the end " + strings.Join(f[:3], " ")
}

func nullLogrus() logrus.FieldLogger {
	l := logrus.New()
	l.Out = io.Discard
	return l
}

// clientCodec times what Velero's BackupItemActionV2 client does around the RPC of an
// Execute: json.Marshal of the item content and of the Backup, and decoding the returned
// item into an Unstructured.
func clientCodec(item *unstructured.Unstructured, backup *velerov1.Backup) float64 {
	returned, err := json.Marshal(item.UnstructuredContent())
	if err != nil {
		panic(err)
	}
	var v []float64
	for i := 0; i < 2000; i++ {
		start := time.Now()
		it := item.DeepCopy()
		if _, err := json.Marshal(it.UnstructuredContent()); err != nil {
			panic(err)
		}
		if _, err := json.Marshal(backup); err != nil {
			panic(err)
		}
		var u unstructured.Unstructured
		if err := json.Unmarshal(returned, &u); err != nil {
			panic(err)
		}
		v = append(v, ms(time.Since(start)))
	}
	return median(v)
}
