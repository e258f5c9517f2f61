package veleroclient

// What differs when the suite runs on Velero v1.13.2's plugin client (go-plugin v1.4.3).
// The v1.18.3 counterpart is v118/client_v118_test.go.

import (
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/vmware-tanzu/velero/pkg/plugin/framework/common"
)

// clientVersion names the client (go.mod pins it; ./run prints the resolved versions).
const clientVersion = "Velero v1.13.2, go-plugin v1.4.3"

// launch prepares the plugins a test starts to run at `level`, and returns the level to
// give Velero's registry and manager. Velero v1.13.2 starts every plugin with
// `--log-level <that level>` (clientmgmt/process/client_builder.go:51-59), so the two are
// the same level here.
func launch(t *testing.T, level logrus.Level) logrus.Level {
	return level
}

// pluginArgs are the arguments the client starts our binary with at `level`: v1.13.2
// builds them itself (client_builder.go:51-59); TestMain enabled the EnableCSI feature.
func pluginArgs(level logrus.Level) []string {
	return []string{"--log-level", level.String(), "--features", "EnableCSI"}
}

// goPluginFiltersByClientLevel: go-plugin v1.4.3 forwards every record read from the
// plugin's stderr to the client logger whatever its level (client.go:1006-1040); Velero's
// logrusAdapter then logs it to a logger that accepts debug.
const goPluginFiltersByClientLevel = false

// clientOnlyKinds are plugin kinds of this client beyond the seven of v1.13, which our
// binary must list nothing of.
var clientOnlyKinds []struct {
	kind  common.PluginKind
	names []string
}

// coreRegistersCSI: Velero v1.13 core registers no CSI action (the CSI plugin does), so
// TestDiscoveryBesideCoreCSIActions does not apply.
const coreRegistersCSI = false
