package veleroclient

// What differs when the suite runs on Velero v1.18.3's plugin client (go-plugin v1.7.0).
// The v1.13.2 counterpart is ../client_v113_test.go; the other test files here are
// symbolic links to the shared ones in the parent directory.

import (
	"os"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/vmware-tanzu/velero/pkg/plugin/framework/common"
)

// clientVersion names the client (go.mod pins it; ./run prints the resolved versions).
const clientVersion = "Velero v1.18.3, go-plugin v1.7.0"

// serverFlags is the argv of a Velero v1.18.3 server after `velero server`, as an operator
// runs it: the flags `velero install` writes into the Deployment (pkg/install/deployment.go,
// `--flag=value`), plus --log-level, the client rate flags and the root command's
// --kubeconfig/--namespace, some in the `--flag value` form. Since v1.15 the client starts
// every plugin with exactly these (clientmgmt/process/client_builder.go:52-57:
// os.Args[2:]); a plugin must ignore those it does not know, bare booleans included.
func serverFlags(level logrus.Level) []string {
	return []string{
		"--features=EnableCSI",
		"--uploader-type=kopia",
		"--kubeconfig", os.Getenv("KUBECONFIG"),
		"--namespace", "velero",
		"--plugin-dir", pluginDir,
		"--log-level", level.String(),
		"--log-format=text",
		"--restore-only",
		"--default-volumes-to-fs-backup=false",
		"--default-snapshot-move-data=true",
		"--item-block-worker-count=4",
		"--concurrent-backups", "2",
		"--global-backup-volume-policies-configmap=global-volume-policies",
		"--backup-repository-configmap=backup-repository-config",
		"--repo-maintenance-job-configmap=repo-maintenance-job-config",
		"--keep-latest-maintenance-jobs=3",
		"--fs-backup-timeout=4h0m0s",
		"--default-backup-ttl", "720h0m0s",
		"--restore-resource-priorities=securitycontextconstraints,customresourcedefinitions,namespaces,-,clusterbootstraps",
		"--disable-controllers=schedule",
		"--metrics-address=:8085",
		"--client-qps=50",
		"--client-burst", "100",
		"--schedule-skip-immediately",
	}
}

// launch makes the plugins a test starts see the argv of a Velero server running at
// `level`: Velero v1.18.3 reads the server's own os.Args when it builds each plugin
// command (registry discovery, Manager, restarts), so os.Args becomes
// `<this test binary> server <serverFlags>` until the test ends. os.Args[0] stays this
// binary: the registry starts it as `run-plugins <serverFlags>` (TestMain serves that).
//
// It returns the level for Velero's registry and manager: trace, not `level`. go-plugin
// v1.7.0 drops plugin records below its client logger's level (client.go:1249-1254), and
// Velero's logrusAdapter reports the level it was given (logrus_adapter.go:201); a
// real server at info would hide debug records the plugin should not have sent. At trace
// every record the plugin sends reaches Velero's logger (which accepts debug).
func launch(t *testing.T, level logrus.Level) logrus.Level {
	saved := os.Args
	os.Args = append([]string{saved[0], "server"}, serverFlags(level)...)
	t.Cleanup(func() { os.Args = saved })
	return logrus.TraceLevel
}

// pluginArgs are the arguments the client starts our binary with at `level`.
func pluginArgs(level logrus.Level) []string {
	return serverFlags(level)
}

// goPluginFiltersByClientLevel: go-plugin v1.7.0's logStderr skips JSON records whose
// level is below the client logger's GetLevel() (client.go:1171-1172, 1249-1254).
const goPluginFiltersByClientLevel = true

// clientOnlyKinds are plugin kinds of this client beyond the seven of v1.13, which our
// binary must list nothing of.
var clientOnlyKinds = []struct {
	kind  common.PluginKind
	names []string
}{
	{common.PluginKindItemBlockAction, nil},
}

// coreRegistersCSI: Velero v1.14+ core registers the CSI actions itself under nine of the
// v0.7.1 names (coreCSIActions); TestDiscoveryBesideCoreCSIActions runs.
const coreRegistersCSI = true
