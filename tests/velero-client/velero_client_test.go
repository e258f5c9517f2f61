package veleroclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt"
	biav2cli "github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt/backupitemaction/v2"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt/process"
	riav2cli "github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt/restoreitemaction/v2"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework/common"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	biav2 "github.com/vmware-tanzu/velero/pkg/plugin/velero/backupitemaction/v2"
	riav2 "github.com/vmware-tanzu/velero/pkg/plugin/velero/restoreitemaction/v2"
	"github.com/vmware-tanzu/velero/pkg/util/logging"
)

// rawItem is an item whose content Velero's client marshals as is (json.Marshal of
// UnstructuredContent()), so that a test can also send content an Unstructured would not
// produce, such as JSON null.
type rawItem struct {
	*unstructured.Unstructured
	content map[string]interface{}
}

func (r rawItem) UnstructuredContent() map[string]interface{} { return r.content }

// item decodes JSON as Velero holds items (numbers kept exactly).
func item(t *testing.T, text string) runtime.Unstructured {
	t.Helper()
	var content map[string]interface{}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&content); err != nil {
		t.Fatalf("test item is not JSON: %v", err)
	}
	return rawItem{Unstructured: &unstructured.Unstructured{}, content: content}
}

// canonical re-encodes JSON the way Velero encodes items (sorted keys, HTML escaping).
func canonical(t *testing.T, text string) string {
	t.Helper()
	var v interface{}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v: %.200s", err, text)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func checkItem(t *testing.T, got runtime.Unstructured, want string) {
	t.Helper()
	if got == nil {
		t.Fatalf("returned item is nil, want %.300s", want)
	}
	gotJSON, err := json.Marshal(got.UnstructuredContent())
	if err != nil {
		t.Fatal(err)
	}
	if g, w := canonical(t, string(gotJSON)), canonical(t, want); g != w {
		t.Errorf("returned item:\n got %.600s\nwant %.600s", g, w)
	}
}

func checkIDs(t *testing.T, what string, got, want []velero.ResourceIdentifier) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}

// checkErr checks an RPC error as Velero's client renders it: a gRPC UNKNOWN status
// whose message names the action first, then the problem.
func checkErr(t *testing.T, action string, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("call succeeded, want an error containing %q", want)
	}
	prefix := "rpc error: code = Unknown desc = " + action + ": "
	if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), want) {
		t.Errorf("error %q: want prefix %q and %q", err.Error(), prefix, want)
	}
}

// checkPluginRecord checks what Velero made of one of our plugin's log lines.
func checkPluginRecord(t *testing.T, e *env, rec record) {
	t.Helper()
	if rec.Data["cmd"] != e.plugin {
		t.Errorf("record %q: cmd=%v, want %s", rec.Message, rec.Data["cmd"], e.plugin)
	}
	// Velero keeps the plugin's logSource only when @logSourceSetBy is sent; otherwise it
	// would point into Velero's logrus adapter.
	src, _ := rec.Data["logSource"].(string)
	if src == "" || strings.Contains(src, "logrus_adapter.go") {
		t.Errorf("record %q: logSource=%q, want the plugin's own", rec.Message, src)
	}
	for _, k := range []string{"@logSourceSetBy", "@level", "@message", "@timestamp", "time", "timestamp", "level"} {
		if _, ok := rec.Data[k]; ok {
			t.Errorf("record %q: field %s reached Velero: %v", rec.Message, k, rec.Data)
		}
	}
	// Velero's backup log counter casts these to string unchecked.
	for _, k := range []string{"namespace", "name", "resource"} {
		if v, ok := rec.Data[k]; ok {
			if _, isString := v.(string); !isString {
				t.Errorf("record %q: field %s is %T, would crash Velero", rec.Message, k, v)
			}
		}
	}
}

// checkLogs waits for the plugin records of one call (from index `from` of the recorder)
// to contain `want` in order, and checks every plugin record of the call.
func checkLogs(t *testing.T, e *env, from int, want []logLine, callFailed bool) {
	t.Helper()
	contains := func(recs []record) bool {
		i := 0
		for _, r := range recs {
			if i < len(want) && r.Level == want[i].level && r.Message == want[i].message {
				i++
			}
		}
		return i == len(want)
	}
	if len(want) > 0 {
		e.log.waitFor(t, fmt.Sprintf("plugin log lines %v", want), func([]record) bool {
			return contains(e.log.fromPlugin(from))
		})
	}
	for _, rec := range e.log.fromPlugin(from) {
		checkPluginRecord(t, e, rec)
		// An error record during a backup makes it PartiallyFailed: a call that succeeds
		// must not log at error (warnings are counted too).
		if !callFailed && rec.Level <= logrus.WarnLevel {
			t.Errorf("plugin logged %s %q during a successful call", rec.Level, rec.Message)
		}
	}
}

func backupOf(c backupCase) *velerov1.Backup {
	if c.backup != nil {
		return c.backup
	}
	return testBackup()
}

func restoreOf(c restoreCase) *velerov1.Restore {
	if c.restore != nil {
		return c.restore
	}
	return testRestore(nil)
}

// TestDiscovery: Velero's registry starts the binary, calls ListPlugins, stops it, and
// registers exactly the names of the tables, with our path as their command.
func TestDiscovery(t *testing.T) {
	e := newEnv(t, logrus.DebugLevel)

	var wantBIA, wantRIA, wantDIA []string
	for _, a := range backupActions {
		wantBIA = append(wantBIA, a.name)
	}
	for _, a := range restoreActions {
		wantRIA = append(wantRIA, a.name)
	}
	for _, a := range deleteActions {
		wantDIA = append(wantDIA, a.name)
	}
	for _, want := range append([]struct {
		kind  common.PluginKind
		names []string
	}{
		{common.PluginKindBackupItemActionV2, wantBIA},
		{common.PluginKindRestoreItemActionV2, wantRIA},
		{common.PluginKindDeleteItemAction, wantDIA},
		{common.PluginKindBackupItemAction, nil},
		{common.PluginKindRestoreItemAction, nil},
		{common.PluginKindObjectStore, nil},
		{common.PluginKindVolumeSnapshotter, nil},
	}, clientOnlyKinds...) {
		ids := e.registry.List(want.kind)
		var names []string
		for _, id := range ids {
			names = append(names, id.Name)
			if id.Command != e.plugin || id.Kind != want.kind {
				t.Errorf("%s %s: command %q kind %s, want %q", want.kind, id.Name, id.Command, id.Kind, e.plugin)
			}
		}
		// The Go framework lists names sorted within a kind; Velero runs actions in that order.
		sorted := append([]string(nil), want.names...)
		sort.Strings(sorted)
		if !reflect.DeepEqual(names, sorted) {
			t.Errorf("%s: listed %q, want %q", want.kind, names, sorted)
		}
	}

	// Velero logs each registration; the process exits 0 after ListPlugins.
	if exit := e.log.waitForExit(t, 0, e.plugin, 0); exit.error != nil {
		t.Errorf("plugin exited with %v after discovery", exit.error)
	}
	registered := 0
	for _, r := range e.log.snapshot() {
		exit, isExit := exitOf(r)
		switch {
		case r.Message == "registering plugin":
			if r.Data["command"] == e.plugin {
				registered++
			}
		case isExit && exit.path == e.plugin:
			// Checked above.
		case r.Level <= logrus.WarnLevel:
			t.Errorf("discovery logged %s %q %v", r.Level, r.Message, r.Data)
		}
		if r.Data["pluginName"] == binaryName {
			checkPluginRecord(t, e, r)
		}
	}
	if want := len(wantBIA) + len(wantRIA) + len(wantDIA); registered != want {
		t.Errorf("%d \"registering plugin\" records for our binary, want %d", registered, want)
	}
}

func TestBackupItemActions(t *testing.T) {
	e := newEnv(t, logrus.DebugLevel)
	m := e.manager(t)

	// Velero resolves all actions first (one process serves them all), in listing order.
	all, err := m.GetBackupItemActionsV2()
	if err != nil {
		t.Fatalf("GetBackupItemActionsV2: %v", err)
	}
	if len(all) != len(backupActions) {
		t.Errorf("GetBackupItemActionsV2: %d actions, want %d", len(all), len(backupActions))
	}

	for _, a := range backupActions {
		a := a
		t.Run(a.name, func(t *testing.T) {
			action, err := m.GetBackupItemActionV2(a.name)
			if err != nil {
				t.Fatalf("GetBackupItemActionV2: %v", err)
			}
			if _, ok := action.(*biav2cli.RestartableBackupItemAction); !ok {
				t.Errorf("Velero adapted %s from v1 (%T); it must be served as BackupItemActionV2", a.name, action)
			}
			t.Run("AppliesTo", func(t *testing.T) {
				sel, err := action.AppliesTo()
				if err != nil {
					t.Fatalf("AppliesTo: %v", err)
				}
				if !reflect.DeepEqual(sel, a.appliesTo) {
					t.Errorf("AppliesTo: got %+v, want %+v", sel, a.appliesTo)
				}
			})
			for _, c := range a.execute {
				c := c
				t.Run("Execute/"+c.name, func(t *testing.T) {
					from := e.log.len()
					updated, additional, opID, postOp, err := action.Execute(item(t, c.item), backupOf(c))
					checkErr(t, a.name, err, c.wantErr)
					if c.wantErr == "" {
						want := c.wantItem
						if want == "" {
							want = c.item
						}
						checkItem(t, updated, want)
						checkIDs(t, "additional items", additional, c.wantAdditionalItems)
						if opID != c.wantOperationID {
							t.Errorf("operation ID %q, want %q", opID, c.wantOperationID)
						}
						checkIDs(t, "post-operation items", postOp, c.wantPostOperationItems)
					}
					checkLogs(t, e, from, c.wantLogs, c.wantErr != "")
				})
			}
			checkProgressAndCancel(t, a.name, a.progress, a.cancel,
				func(id string) (velero.OperationProgress, error) { return action.Progress(id, testBackup()) },
				func(id string) error { return action.Cancel(id, testBackup()) })
		})
	}
}

func checkProgressAndCancel(t *testing.T, name string, progress, cancel []operationCase,
	progressFn func(string) (velero.OperationProgress, error), cancelFn func(string) error) {
	for _, c := range progress {
		c := c
		t.Run(fmt.Sprintf("Progress/%q", c.operationID), func(t *testing.T) {
			got, err := progressFn(c.operationID)
			checkErr(t, name, err, c.wantErr)
			if c.wantErr == "" && !reflect.DeepEqual(got, c.want) {
				// Unknown times must arrive as Go's zero time, not 1970 (an unset Timestamp).
				t.Errorf("Progress: got %+v, want %+v", got, c.want)
			}
		})
	}
	for _, c := range cancel {
		c := c
		t.Run(fmt.Sprintf("Cancel/%q", c.operationID), func(t *testing.T) {
			checkErr(t, name, cancelFn(c.operationID), c.wantErr)
		})
	}
}

func TestRestoreItemActions(t *testing.T) {
	e := newEnv(t, logrus.DebugLevel)
	m := e.manager(t)

	all, err := m.GetRestoreItemActionsV2()
	if err != nil {
		t.Fatalf("GetRestoreItemActionsV2: %v", err)
	}
	if len(all) != len(restoreActions) {
		t.Errorf("GetRestoreItemActionsV2: %d actions, want %d", len(all), len(restoreActions))
	}

	for _, a := range restoreActions {
		a := a
		t.Run(a.name, func(t *testing.T) {
			action, err := m.GetRestoreItemActionV2(a.name)
			if err != nil {
				t.Fatalf("GetRestoreItemActionV2: %v", err)
			}
			if _, ok := action.(*riav2cli.RestartableRestoreItemAction); !ok {
				t.Errorf("Velero adapted %s from v1 (%T); it must be served as RestoreItemActionV2", a.name, action)
			}
			t.Run("AppliesTo", func(t *testing.T) {
				sel, err := action.AppliesTo()
				if err != nil {
					t.Fatalf("AppliesTo: %v", err)
				}
				if !reflect.DeepEqual(sel, a.appliesTo) {
					t.Errorf("AppliesTo: got %+v, want %+v", sel, a.appliesTo)
				}
			})
			for _, c := range a.execute {
				c := c
				t.Run("Execute/"+c.name, func(t *testing.T) {
					from := e.log.len()
					fromBackup := c.itemFromBackup
					if fromBackup == "" {
						fromBackup = c.item
					}
					out, err := action.Execute(&velero.RestoreItemActionExecuteInput{
						Item:           item(t, c.item),
						ItemFromBackup: item(t, fromBackup),
						Restore:        restoreOf(c),
					})
					checkErr(t, a.name, err, c.wantErr)
					if c.wantErr == "" {
						if out == nil {
							t.Fatal("Execute returned no output")
						}
						want := c.wantItem
						if want == "" {
							want = c.item
						}
						checkItem(t, out.UpdatedItem, want)
						checkIDs(t, "additional items", out.AdditionalItems, c.wantAdditionalItems)
						if out.SkipRestore != c.wantSkipRestore {
							t.Errorf("SkipRestore %v, want %v", out.SkipRestore, c.wantSkipRestore)
						}
						if out.OperationID != c.wantOperationID {
							t.Errorf("operation ID %q, want %q", out.OperationID, c.wantOperationID)
						}
						if out.WaitForAdditionalItems != c.wantWaitForItems {
							t.Errorf("WaitForAdditionalItems %v, want %v", out.WaitForAdditionalItems, c.wantWaitForItems)
						}
						if out.AdditionalItemsReadyTimeout != c.wantReadyTimeout {
							t.Errorf("AdditionalItemsReadyTimeout %v, want %v", out.AdditionalItemsReadyTimeout, c.wantReadyTimeout)
						}
					}
					checkLogs(t, e, from, c.wantLogs, c.wantErr != "")
				})
			}
			checkProgressAndCancel(t, a.name, a.progress, a.cancel,
				func(id string) (velero.OperationProgress, error) { return action.Progress(id, testRestore(nil)) },
				func(id string) error { return action.Cancel(id, testRestore(nil)) })
			for i, c := range a.ready {
				c := c
				t.Run(fmt.Sprintf("AreAdditionalItemsReady/%d", i), func(t *testing.T) {
					ready, err := action.AreAdditionalItemsReady(c.items, testRestore(nil))
					checkErr(t, a.name, err, c.wantErr)
					if c.wantErr == "" && ready != c.want {
						t.Errorf("AreAdditionalItemsReady %v, want %v", ready, c.want)
					}
				})
			}
		})
	}
}

func TestDeleteItemActions(t *testing.T) {
	e := newEnv(t, logrus.DebugLevel)
	m := e.manager(t)

	all, err := m.GetDeleteItemActions()
	if err != nil {
		t.Fatalf("GetDeleteItemActions: %v", err)
	}
	if len(all) != len(deleteActions) {
		t.Errorf("GetDeleteItemActions: %d actions, want %d", len(all), len(deleteActions))
	}
	for _, a := range deleteActions {
		a := a
		t.Run(a.name, func(t *testing.T) {
			action, err := m.GetDeleteItemAction(a.name)
			if err != nil {
				t.Fatalf("GetDeleteItemAction: %v", err)
			}
			sel, err := action.AppliesTo()
			if err != nil {
				t.Fatalf("AppliesTo: %v", err)
			}
			if !reflect.DeepEqual(sel, a.appliesTo) {
				t.Errorf("AppliesTo: got %+v, want %+v", sel, a.appliesTo)
			}
			for _, c := range a.execute {
				c := c
				t.Run("Execute/"+c.name, func(t *testing.T) {
					from := e.log.len()
					backup := c.backup
					if backup == nil {
						backup = testBackup()
					}
					err := action.Execute(&velero.DeleteItemActionExecuteInput{Item: item(t, c.item), Backup: backup})
					checkErr(t, a.name, err, c.wantErr)
					checkLogs(t, e, from, c.wantLogs, c.wantErr != "")
				})
			}
		})
	}
}

func tabled(kind common.PluginKind, name string) bool {
	switch kind {
	case common.PluginKindBackupItemActionV2:
		for _, a := range backupActions {
			if a.name == name {
				return true
			}
		}
	case common.PluginKindRestoreItemActionV2:
		for _, a := range restoreActions {
			if a.name == name {
				return true
			}
		}
	case common.PluginKindDeleteItemAction:
		for _, a := range deleteActions {
			if a.name == name {
				return true
			}
		}
	}
	return false
}

// TestUnlistedNamesAreRefusedByVelero: names of the Go plugin that our binary does not
// list (yet) are unknown to Velero, which refuses them without starting the plugin.
func TestUnlistedNamesAreRefusedByVelero(t *testing.T) {
	e := newEnv(t, logrus.DebugLevel)
	m := e.manager(t)
	for _, p := range goPluginActions {
		if tabled(p.kind, p.name) {
			continue
		}
		var err error
		switch p.kind {
		case common.PluginKindBackupItemActionV2:
			_, err = m.GetBackupItemActionV2(p.name)
		case common.PluginKindRestoreItemActionV2:
			_, err = m.GetRestoreItemActionV2(p.name)
		case common.PluginKindDeleteItemAction:
			_, err = m.GetDeleteItemAction(p.name)
		}
		if err == nil {
			t.Errorf("%s %s: Velero found it, but it is not in the test tables", p.kind, p.name)
		}
	}
}

// TestNamesRefusedByThePlugin sends names the plugin does not serve straight to it,
// through Velero's restartable process (the registry would refuse them first), and checks
// that each call fails with an error naming the plugin, and the process keeps serving.
func TestNamesRefusedByThePlugin(t *testing.T) {
	e := newEnv(t, logrus.DebugLevel)
	p := e.restartableProcess(t)

	const unknown = "velero.io/not-an-action"
	var someBIA, someRIA string
	if len(backupActions) > 0 {
		someBIA = backupActions[0].name
	}
	if len(restoreActions) > 0 {
		someRIA = restoreActions[0].name
	}

	type call struct {
		name, rpc string
		fn        func() error
		want      []string
	}
	bia := func(name string) biav2.BackupItemAction { return biav2cli.NewRestartableBackupItemAction(name, p) }
	ria := func(name string) riav2.RestoreItemAction { return riav2cli.NewRestartableRestoreItemAction(name, p) }
	dia := func(name string) velero.DeleteItemAction { return clientmgmt.NewRestartableDeleteItemAction(name, p) }
	anItem := volumeSnapshotClass("")

	var calls []call
	biaCalls := func(name string, want ...string) {
		a := bia(name)
		calls = append(calls,
			call{name, "BIA AppliesTo", func() error { _, err := a.AppliesTo(); return err }, want},
			call{name, "BIA Execute", func() error {
				_, _, _, _, err := a.Execute(item(t, anItem), testBackup())
				return err
			}, want},
			call{name, "BIA Progress", func() error { _, err := a.Progress("x", testBackup()); return err }, want},
			call{name, "BIA Cancel", func() error { return a.Cancel("x", testBackup()) }, want},
		)
	}
	riaCalls := func(name string, want ...string) {
		a := ria(name)
		calls = append(calls,
			call{name, "RIA AppliesTo", func() error { _, err := a.AppliesTo(); return err }, want},
			call{name, "RIA Execute", func() error {
				_, err := a.Execute(&velero.RestoreItemActionExecuteInput{Item: item(t, anItem), ItemFromBackup: item(t, anItem), Restore: testRestore(nil)})
				return err
			}, want},
			call{name, "RIA Progress", func() error { _, err := a.Progress("x", testRestore(nil)); return err }, want},
			call{name, "RIA Cancel", func() error { return a.Cancel("x", testRestore(nil)) }, want},
			call{name, "RIA AreAdditionalItemsReady", func() error { _, err := a.AreAdditionalItemsReady(nil, testRestore(nil)); return err }, want},
		)
	}
	diaCalls := func(name string, want ...string) {
		a := dia(name)
		calls = append(calls,
			call{name, "DIA AppliesTo", func() error { _, err := a.AppliesTo(); return err }, want},
			call{name, "DIA Execute", func() error {
				return a.Execute(&velero.DeleteItemActionExecuteInput{Item: item(t, anItem), Backup: testBackup()})
			}, want},
		)
	}

	biaCalls(unknown, unknown, "was not found")
	riaCalls(unknown, unknown, "was not found")
	diaCalls(unknown, unknown, "was not found")
	for _, p := range goPluginActions {
		if !tabled(p.kind, p.name) {
			switch p.kind {
			case common.PluginKindBackupItemActionV2:
				biaCalls(p.name, p.name, "was not found")
			case common.PluginKindRestoreItemActionV2:
				riaCalls(p.name, p.name, "was not found")
			case common.PluginKindDeleteItemAction:
				diaCalls(p.name, p.name, "was not found")
			}
		}
	}
	if someRIA != "" {
		biaCalls(someRIA, someRIA, "is not a backup item action")
		diaCalls(someRIA, someRIA, "is not a delete item action")
	}
	if someBIA != "" {
		riaCalls(someBIA, someBIA, "is not a restore item action")
	}

	for _, c := range calls {
		err := c.fn()
		if err == nil {
			t.Errorf("%s %s: call succeeded", c.rpc, c.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "rpc error: code = Unknown desc = ") {
			t.Errorf("%s %s: %q is not a gRPC UNKNOWN status", c.rpc, c.name, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %s: error %q does not contain %q", c.rpc, c.name, err, w)
			}
		}
	}

	// The same process still serves real names.
	if someBIA != "" {
		if _, err := bia(someBIA).AppliesTo(); err != nil {
			t.Errorf("after refused calls, AppliesTo(%s): %v", someBIA, err)
		}
	}
	// One process, never restarted.
	for _, r := range e.log.snapshot() {
		if r.Message == "Plugin process exited - restarting." {
			t.Errorf("the plugin process exited during refused calls")
		}
	}
}

// TestLogLevelIsHonoured: the plugin is started at --log-level info, then debug, and runs
// every backup and restore action; at info it must send no debug or trace record, at debug
// it must send some. Both runs give go-plugin a client logger that forwards debug records:
// go-plugin v1.7.0 drops the plugin's records below its client logger's level before
// Velero sees them (client.go:1249-1254), so with the client at info the first check
// would hold whatever the plugin sent.
func TestLogLevelIsHonoured(t *testing.T) {
	for _, tc := range []struct {
		level     logrus.Level
		wantDebug bool
	}{
		{logrus.InfoLevel, false},
		{logrus.DebugLevel, true},
	} {
		tc := tc
		t.Run(tc.level.String(), func(t *testing.T) {
			e := newEnv(t, tc.level)
			if goPluginFiltersByClientLevel && e.clientLevel < logrus.DebugLevel {
				t.Fatalf("client logger at %s: go-plugin would drop the plugin's debug records itself, the test would prove nothing", e.clientLevel)
			}
			m := e.manager(t)
			from := e.log.len()
			for _, a := range backupActions {
				action, err := m.GetBackupItemActionV2(a.name)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := action.AppliesTo(); err != nil {
					t.Fatal(err)
				}
				for _, c := range a.execute {
					action.Execute(item(t, c.item), backupOf(c))
				}
			}
			for _, a := range restoreActions {
				action, err := m.GetRestoreItemActionV2(a.name)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := action.AppliesTo(); err != nil {
					t.Fatal(err)
				}
				for _, c := range a.execute {
					action.Execute(&velero.RestoreItemActionExecuteInput{Item: item(t, c.item), ItemFromBackup: item(t, c.item), Restore: restoreOf(c)})
				}
			}
			// After the exit record, go-plugin has read all of the plugin's stderr.
			m.CleanupClients()
			e.log.waitForExit(t, from, e.plugin, 0)
			counts := map[logrus.Level]int{}
			for _, r := range e.log.fromPlugin(from) {
				counts[r.Level]++
				if !tc.wantDebug && r.Level >= logrus.DebugLevel {
					t.Errorf("plugin sent %s record %q with --log-level %s", r.Level, r.Message, tc.level)
				}
			}
			t.Logf("plugin records by level with --log-level %s: %v", tc.level, counts)
			if counts[logrus.InfoLevel] == 0 && len(backupActions)+len(restoreActions) > 0 {
				t.Errorf("no info records arrived from the plugin")
			}
			if tc.wantDebug && counts[logrus.DebugLevel] == 0 {
				t.Errorf("no debug records arrived from the plugin with --log-level %s", tc.level)
			}
		})
	}
}

// TestPluginArguments: the running plugin process has exactly the arguments this client
// version gives plugins (v1.15+: the Velero server's own flags, which the plugin must
// ignore except --log-level and the client rate flags), and the calls above succeed under
// them.
func TestPluginArguments(t *testing.T) {
	if len(backupActions) == 0 {
		t.Skip("no backup action")
	}
	e := newEnv(t, logrus.DebugLevel)
	m := e.manager(t)
	action, err := m.GetBackupItemActionV2(backupActions[0].name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := action.AppliesTo(); err != nil {
		t.Fatal(err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", childPID(t, e.plugin)))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
	want := append([]string{e.plugin}, pluginArgs(logrus.DebugLevel)...)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plugin started as\n  %q\nwant\n  %q", got, want)
	}
	t.Logf("plugin argv: %q", got)
}

// TestShutdown: CleanupClients (go-plugin Kill: Shutdown RPC, then up to 2 s) ends the
// process promptly with status 0, without Velero having to kill it, and the process
// removes its socket.
func TestShutdown(t *testing.T) {
	if len(backupActions) == 0 {
		t.Skip("no backup action")
	}
	sockets := t.TempDir()
	t.Setenv("TMPDIR", sockets)
	e := newEnv(t, logrus.DebugLevel)
	m := clientmgmt.NewManager(e.logger, e.clientLevel, e.registry)
	action, err := m.GetBackupItemActionV2(backupActions[0].name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := action.AppliesTo(); err != nil {
		t.Fatal(err)
	}
	pid := childPID(t, e.plugin)
	if left, _ := os.ReadDir(sockets); len(left) != 1 {
		t.Errorf("want one socket in $TMPDIR while the plugin runs, found %v", left)
	}
	from := e.log.len()
	start := time.Now()
	m.CleanupClients()
	if d := time.Since(start); d > time.Second {
		t.Errorf("CleanupClients took %v", d)
	}
	if exit := e.log.waitForExit(t, from, e.plugin, pid); exit.error != nil {
		t.Errorf("plugin exit: %v", exit.error)
	}
	for _, r := range e.log.snapshot()[from:] {
		if r.Message == "plugin failed to exit gracefully" || r.Level <= logrus.WarnLevel {
			t.Errorf("shutdown logged %s %q %v", r.Level, r.Message, r.Data)
		}
	}
	if left, _ := os.ReadDir(sockets); len(left) != 0 {
		t.Errorf("files left in $TMPDIR after shutdown: %v", left)
	}
}

// TestRestartAfterCrash: when the plugin process dies, Velero notices before the next
// call, starts a new process and redispenses; the call then succeeds (the plugin keeps no
// state between processes).
func TestRestartAfterCrash(t *testing.T) {
	if len(backupActions) == 0 {
		t.Skip("no backup action")
	}
	e := newEnv(t, logrus.DebugLevel)
	m := e.manager(t)
	a := backupActions[0]
	action, err := m.GetBackupItemActionV2(a.name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := action.AppliesTo(); err != nil {
		t.Fatal(err)
	}
	pid := childPID(t, e.plugin)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// go-plugin notices the exit (v1.7.0 reports it at error: "signal: killed").
	e.log.waitForExit(t, 0, e.plugin, pid)
	c := a.execute[0]
	updated, _, _, _, err := action.Execute(item(t, c.item), backupOf(c))
	if c.wantErr == "" {
		if err != nil {
			t.Fatalf("Execute after restart: %v", err)
		}
		want := c.wantItem
		if want == "" {
			want = c.item
		}
		checkItem(t, updated, want)
	}
	restarted := false
	for _, r := range e.log.snapshot() {
		if r.Message == "Plugin process exited - restarting." {
			restarted = true
		}
	}
	if !restarted {
		t.Errorf("Velero did not restart the plugin")
	}
	if newPID := childPID(t, e.plugin); newPID == pid {
		t.Errorf("same pid after restart")
	}
}

// TestConcurrentCalls: Velero v1.13 calls one action at a time, but v1.16+ with several
// item-block workers sends Execute calls for different items to one process at once. The
// first calls of a fresh process arrive together (lazy initialisation under concurrency),
// then more; every answer must belong to its own request.
func TestConcurrentCalls(t *testing.T) {
	const workers, rounds = 16, 4
	for _, a := range backupActions {
		if a.concurrent == nil {
			continue
		}
		a := a
		t.Run(a.name, func(t *testing.T) {
			e := newEnv(t, logrus.InfoLevel)
			m := e.manager(t)
			action, err := m.GetBackupItemActionV2(a.name)
			if err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, workers*rounds)
			for round := 0; round < rounds; round++ {
				start := make(chan struct{})
				done := make(chan struct{})
				for w := 0; w < workers; w++ {
					c := a.concurrent(round*workers + w)
					it := item(t, c.item)
					go func() {
						defer func() { done <- struct{}{} }()
						<-start
						updated, additional, _, _, err := action.Execute(it, testBackup())
						if err != nil {
							errs <- err
							return
						}
						got, _ := json.Marshal(updated.UnstructuredContent())
						if canonical(t, string(got)) != canonical(t, c.wantItem) || !reflect.DeepEqual(additional, c.wantAdditionalItems) {
							errs <- fmt.Errorf("answer does not match its request: additional items %v, want %v", additional, c.wantAdditionalItems)
						}
					}()
				}
				close(start)
				for w := 0; w < workers; w++ {
					<-done
				}
			}
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			for _, r := range e.log.snapshot() {
				if r.Message == "Plugin process exited - restarting." {
					t.Errorf("the plugin process exited under concurrent calls")
				}
			}
		})
	}
}

// childPID finds the one running child of this test process executing `path`.
func childPID(t *testing.T, path string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		i := bytes.LastIndexByte(stat, ')')
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 2 || fields[0] == "Z" || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", d.Name(), "exe")); err == nil && exe == path {
			pids = append(pids, pid)
		}
	}
	if len(pids) != 1 {
		t.Fatalf("want one running plugin process, found %v", pids)
	}
	return pids[0]
}

// implementedModernNames are the modern names (velero-csi-wasm.io/*) the binary's embedded
// component implements, by kind, as `inspect --json` lists the component's actions (all
// five once the guest implements them, fewer before).
func implementedModernNames(t *testing.T, path string) map[common.PluginKind][]string {
	t.Helper()
	modern := []struct {
		kind common.PluginKind
		name string
	}{
		{common.PluginKindBackupItemActionV2, "velero-csi-wasm.io/pv-backupper"},
		{common.PluginKindBackupItemActionV2, "velero-csi-wasm.io/pvc-backupper"},
		{common.PluginKindRestoreItemActionV2, "velero-csi-wasm.io/pv-restorer"},
		{common.PluginKindRestoreItemActionV2, "velero-csi-wasm.io/pvc-restorer"},
		{common.PluginKindDeleteItemAction, "velero-csi-wasm.io/pvc-delete"},
	}
	out, err := exec.Command(path, "inspect", "--json").Output()
	if err != nil {
		t.Fatalf("%s inspect --json: %v", path, err)
	}
	var report struct {
		Actions []struct {
			Name string `json:"name"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("inspect --json: %v\n%s", err, out)
	}
	names := map[common.PluginKind][]string{}
	for _, m := range modern {
		for _, a := range report.Actions {
			if a.Name == m.name {
				names[m.kind] = append(names[m.kind], m.name)
			}
		}
	}
	return names
}

// TestDiscoveryBesideCoreCSIActions: the rule "never makes the server exit". Velero's
// registry discovers plugins with `run-plugins` (this test binary, acting as Velero)
// registering core v1.18.3's built-in CSI actions first, as a real v1.14+ server does, then
// our binary. With the default name set, discovery succeeds beside them and registers our
// modern names (those the embedded component implements); with VELERO_CSI_NAMES=v0.7.1 it
// fails with the registry's duplicate-registration error, which makes `velero server` exit.
func TestDiscoveryBesideCoreCSIActions(t *testing.T) {
	if !coreRegistersCSI {
		t.Skipf("%s: core registers no CSI action", clientVersion)
	}
	path := plugin(t)
	clientLevel := launch(t, logrus.InfoLevel)
	t.Setenv(coreCSIEnv, "1")
	discover := func(t *testing.T, names string) (process.Registry, *recorder, error) {
		t.Setenv(namesEnv, names)
		if names == "" {
			os.Unsetenv(namesEnv)
		}
		rec := &recorder{}
		logger := logging.DefaultLogger(logrus.DebugLevel, logging.FormatText)
		logger.Out = io.Discard
		logger.Hooks.Add(rec)
		registry := process.NewRegistry(filepath.Dir(path), logger, clientLevel)
		return registry, rec, registry.DiscoverPlugins()
	}

	for _, names := range []string{"", "modern"} {
		t.Run("names="+names, func(t *testing.T) {
			registry, rec, err := discover(t, names)
			if err != nil {
				t.Fatalf("DiscoverPlugins beside core's CSI actions: %v", err)
			}
			// Our binary was started, listed its plugins and exited cleanly (whatever it
			// lists: none until the guest implements a modern action).
			if exit := rec.waitForExit(t, 0, path, 0); exit.error != nil {
				t.Errorf("plugin exited with %v after discovery", exit.error)
			}
			for _, core := range coreCSIActions {
				id, err := registry.Get(core.kind, core.name)
				if err != nil || id.Command != os.Args[0] {
					t.Errorf("core's %s %s: %v, command %q, want %q", core.kind, core.name, err, id.Command, os.Args[0])
				}
			}
			want := implementedModernNames(t, path)
			for _, kind := range []common.PluginKind{common.PluginKindBackupItemActionV2, common.PluginKindRestoreItemActionV2, common.PluginKindDeleteItemAction} {
				var ours []string
				for _, id := range registry.List(kind) {
					if id.Command == path {
						ours = append(ours, id.Name)
					}
				}
				if !reflect.DeepEqual(ours, want[kind]) {
					t.Errorf("%s registered for our binary: %q, want %q (the modern names the component implements)", kind, ours, want[kind])
				}
			}
			t.Logf("registered beside core's CSI actions: %v", want)
		})
	}

	t.Run("names=v0.7.1", func(t *testing.T) {
		_, _, err := discover(t, "v0.7.1")
		want := fmt.Sprintf("unable to register plugin (kind=BackupItemActionV2, name=velero.io/csi-pvc-backupper, command=%s) "+
			"because another plugin is already registered for this kind and name (command=%s)", path, os.Args[0])
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("DiscoverPlugins with the v0.7.1 names: %v, want %q", err, want)
		}
	})
}
