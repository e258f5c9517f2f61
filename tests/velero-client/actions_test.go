package veleroclient

// The expected behaviour of every action our binary lists, as seen through Velero's client.
// To cover a new action, add an entry to backupActions, restoreActions or deleteActions;
// TestDiscovery checks that the binary lists exactly the names of these tables, and the
// other tests call every RPC of every entry.

import (
	"fmt"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework/common"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
)

// logLine is a record the plugin must send for a call, at this level and with this text.
type logLine struct {
	level   logrus.Level
	message string
}

// backupCase is one Execute call of a BackupItemActionV2.
type backupCase struct {
	name   string
	item   string           // JSON of the item Velero passes
	backup *velerov1.Backup // nil: testBackup()

	wantErr                string // non-empty: the call fails, the message contains this
	wantItem               string // JSON of the returned item; "" means the input item
	wantAdditionalItems    []velero.ResourceIdentifier
	wantOperationID        string
	wantPostOperationItems []velero.ResourceIdentifier
	wantLogs               []logLine // in this order, among the plugin's records for the call
}

// operationCase is one Progress or Cancel call.
type operationCase struct {
	operationID string
	wantErr     string                   // non-empty: the call fails, the message contains this
	want        velero.OperationProgress // Progress only
}

type backupAction struct {
	name      string
	appliesTo velero.ResourceSelector
	execute   []backupCase
	progress  []operationCase
	cancel    []operationCase
	// concurrent, if set, gives distinct cases for calls made at the same time (Velero
	// v1.16+ with several item-block workers); each answer must match its own request.
	concurrent func(i int) backupCase
}

// restoreCase is one Execute call of a RestoreItemActionV2.
type restoreCase struct {
	name           string
	item           string            // JSON of the item Velero passes
	itemFromBackup string            // "": same as item
	restore        *velerov1.Restore // nil: testRestore(nil)

	wantErr             string
	wantItem            string // "": the input item
	wantAdditionalItems []velero.ResourceIdentifier
	wantSkipRestore     bool
	wantOperationID     string
	wantWaitForItems    bool
	wantReadyTimeout    time.Duration
	wantLogs            []logLine
}

type readyCase struct {
	items   []velero.ResourceIdentifier
	want    bool
	wantErr string
}

type restoreAction struct {
	name      string
	appliesTo velero.ResourceSelector
	execute   []restoreCase
	progress  []operationCase
	cancel    []operationCase
	ready     []readyCase
}

// deleteCase is one Execute call of a DeleteItemAction.
type deleteCase struct {
	name     string
	item     string
	backup   *velerov1.Backup
	wantErr  string
	wantLogs []logLine
}

type deleteAction struct {
	name      string
	appliesTo velero.ResourceSelector
	execute   []deleteCase
}

// goPluginActions are the (kind, name) pairs the Go plugin v0.7.1 registers. Those not in
// the tables below must not be listed yet, and Velero must refuse them.
var goPluginActions = []struct {
	kind common.PluginKind
	name string
}{
	{common.PluginKindBackupItemActionV2, "velero.io/csi-pvc-backupper"},
	{common.PluginKindBackupItemActionV2, "velero.io/csi-volumesnapshot-backupper"},
	{common.PluginKindBackupItemActionV2, "velero.io/csi-volumesnapshotclass-backupper"},
	{common.PluginKindBackupItemActionV2, "velero.io/csi-volumesnapshotcontent-backupper"},
	{common.PluginKindRestoreItemActionV2, "velero.io/csi-pvc-restorer"},
	{common.PluginKindRestoreItemActionV2, "velero.io/csi-volumesnapshot-restorer"},
	{common.PluginKindRestoreItemActionV2, "velero.io/csi-volumesnapshotclass-restorer"},
	{common.PluginKindRestoreItemActionV2, "velero.io/csi-volumesnapshotcontent-restorer"},
	{common.PluginKindDeleteItemAction, "velero.io/csi-volumesnapshot-delete"},
	{common.PluginKindDeleteItemAction, "velero.io/csi-volumesnapshotcontent-delete"},
}

func selector(resources ...string) velero.ResourceSelector {
	return velero.ResourceSelector{IncludedResources: resources}
}

func secret(namespace, name string) velero.ResourceIdentifier {
	return velero.ResourceIdentifier{
		GroupResource: schema.GroupResource{Group: "", Resource: "secrets"},
		Namespace:     namespace,
		Name:          name,
	}
}

func info(message string) logLine { return logLine{logrus.InfoLevel, message} }

func boolPtr(b bool) *bool { return &b }

// testBackup is a Backup as Velero v1.13 passes it to actions during the main pass.
func testBackup() *velerov1.Backup {
	created := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	return &velerov1.Backup{
		TypeMeta: metav1.TypeMeta{APIVersion: "velero.io/v1", Kind: "Backup"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace:         "velero",
			Name:              "b1",
			UID:               "0b5d2a6e-0000-4000-8000-000000000002",
			CreationTimestamp: metav1.NewTime(created),
			Annotations:       map[string]string{"velero.io/resource-timeout": "10m0s"},
			Labels:            map[string]string{"velero.io/storage-location": "default"},
		},
		Spec: velerov1.BackupSpec{
			IncludedNamespaces:   []string{"app"},
			SnapshotVolumes:      boolPtr(true),
			TTL:                  metav1.Duration{Duration: 720 * time.Hour},
			CSISnapshotTimeout:   metav1.Duration{Duration: 10 * time.Minute},
			ItemOperationTimeout: metav1.Duration{Duration: 4 * time.Hour},
			StorageLocation:      "default",
		},
		Status: velerov1.BackupStatus{
			Phase:          velerov1.BackupPhaseInProgress,
			Version:        1,
			FormatVersion:  "1.1.0",
			StartTimestamp: &metav1.Time{Time: created},
			Expiration:     &metav1.Time{Time: created.Add(720 * time.Hour)},
		},
	}
}

// testRestore is a Restore with spec.restorePVs set to restorePVs (nil: unset).
func testRestore(restorePVs *bool) *velerov1.Restore {
	return &velerov1.Restore{
		TypeMeta:   metav1.TypeMeta{APIVersion: "velero.io/v1", Kind: "Restore"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "velero", Name: "r1"},
		Spec: velerov1.RestoreSpec{
			BackupName:           "b1",
			RestorePVs:           restorePVs,
			NamespaceMapping:     map[string]string{"app": "app-restored"},
			ItemOperationTimeout: metav1.Duration{Duration: 4 * time.Hour},
		},
		Status: velerov1.RestoreStatus{Phase: velerov1.RestorePhaseInProgress},
	}
}

// A VolumeSnapshotClass as read from the API server, with fields this test does not
// know (a future field, an int64 beyond float64 precision) that must come back intact.
func volumeSnapshotClass(annotations string) string {
	meta := `"name":"csi-hostpath-snapclass","uid":"6f1c1d2e-0000-4000-8000-000000000001","resourceVersion":"4242","creationTimestamp":"2024-03-01T09:00:00Z","generation":9007199254740993`
	if annotations != "" {
		meta += `,"annotations":` + annotations
	}
	return `{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotClass","metadata":{` + meta +
		`},"driver":"hostpath.csi.k8s.io","deletionPolicy":"Delete","parameters":{"a":"\u003cb\u003e"},"futureField":{"nested":[1,2.5,"x",null,true]}}`
}

const (
	listSecretAnnotations    = `{"csi.storage.k8s.io/snapshotter-list-secret-name":"ls","csi.storage.k8s.io/snapshotter-list-secret-namespace":"kube-system"}`
	listSecretAndMustInclude = `{"backup.velero.io/must-include-additional-items":"true","csi.storage.k8s.io/snapshotter-list-secret-name":"ls","csi.storage.k8s.io/snapshotter-list-secret-namespace":"kube-system"}`
)

// bigVolumeSnapshotClass is over 4 MiB, gRPC's default message limit (a Go plugin's limit).
func bigVolumeSnapshotClass() string {
	return `{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotClass","metadata":{"name":"big"},"driver":"d","deletionPolicy":"Delete","parameters":{"blob":"` +
		strings.Repeat("x", 6<<20) + `"}}`
}

// A PersistentVolumeClaim as read from the API server, with a field from a newer Kubernetes.
const persistentVolumeClaim = `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data","namespace":"app","uid":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","labels":{"app":"web"}},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"5Gi"}},"storageClassName":"sc-csi","volumeName":"pv-1","volumeAttributesClassName":"gold"},"status":{"phase":"Bound"}}`

// A VolumeSnapshot, labelled for `backup` (no label when empty).
func volumeSnapshot(backup string) string {
	labels := ""
	if backup != "" {
		labels = `,"labels":{"velero.io/backup-name":"` + backup + `"}`
	}
	return `{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot","metadata":{"name":"velero-data-abcde","namespace":"app"` + labels +
		`},"spec":{"source":{"persistentVolumeClaimName":"data"},"volumeSnapshotClassName":"snap-default"},"status":{"boundVolumeSnapshotContentName":"c1","readyToUse":true}}`
}

// A VolumeSnapshotContent with these annotations and labels (JSON objects, or "").
func volumeSnapshotContent(annotations, labels string) string {
	meta := `"name":"c1"`
	if annotations != "" {
		meta += `,"annotations":` + annotations
	}
	if labels != "" {
		meta += `,"labels":` + labels
	}
	return `{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotContent","metadata":{` + meta +
		`},"spec":{"deletionPolicy":"Delete","driver":"hostpath.csi.k8s.io","source":{"volumeHandle":"v1"},"sourceVolumeMode":"Filesystem"},"status":{"snapshotHandle":"h1","readyToUse":true}}`
}

const (
	snapshotterSecretAnnotations    = `{"csi.storage.k8s.io/snapshotter-secret-name":"s1","csi.storage.k8s.io/snapshotter-secret-namespace":"kube-system"}`
	snapshotterSecretAndMustInclude = `{"backup.velero.io/must-include-additional-items":"true","csi.storage.k8s.io/snapshotter-secret-name":"s1","csi.storage.k8s.io/snapshotter-secret-namespace":"kube-system"}`
)

// finalizingBackup is testBackup in the finalize pass.
func finalizingBackup() *velerov1.Backup {
	b := testBackup()
	b.Status.Phase = velerov1.BackupPhaseFinalizing
	return b
}

// Progress and Cancel of actions whose operations are looked up in the cluster: only the
// ID checks that precede any API call are exercised here (the scenario corpus covers the
// rest against a simulated cluster).
var emptyIDRefused = []operationCase{{operationID: "", wantErr: "operation ID  is invalid"}}

// Progress of an action without asynchronous operations: an empty ID is refused, any
// other ID has made no progress (all zero, times unknown).
var noOperations = []operationCase{
	{operationID: "", wantErr: "operation ID  is invalid"},
	{operationID: "x", want: velero.OperationProgress{}},
	{operationID: "du-6f1c1d2e.2024-03-01T10:00:00Z", want: velero.OperationProgress{}},
}

var cancelAnything = []operationCase{{operationID: ""}, {operationID: "x"}}

var backupActions = []backupAction{
	{
		name:      "velero.io/csi-pvc-backupper",
		appliesTo: selector("persistentvolumeclaims"),
		execute: []backupCase{
			{
				name:   "snapshotVolumes explicitly false: skipped, no API call",
				item:   persistentVolumeClaim,
				backup: func() *velerov1.Backup { b := testBackup(); b.Spec.SnapshotVolumes = boolPtr(false); return b }(),
			},
			{name: "finalize pass: skipped, no API call", item: persistentVolumeClaim, backup: finalizingBackup()},
			{
				name:    "no cluster: the PV lookup fails with the client's error",
				item:    persistentVolumeClaim,
				wantErr: "failed to get PV pv-1 for PVC app/data: cannot configure the Kubernetes client",
			},
		},
		progress: emptyIDRefused,
		cancel:   emptyIDRefused,
	},
	{
		name:      "velero.io/csi-volumesnapshot-backupper",
		appliesTo: selector("volumesnapshots.snapshot.storage.k8s.io"),
		execute: []backupCase{
			{
				name:    "no cluster: reading the bound content fails with the client's error",
				item:    volumeSnapshot(""),
				wantErr: "error getting volume snapshot content from API: cannot configure the Kubernetes client",
			},
		},
		progress: []operationCase{
			{operationID: "", wantErr: "operation ID  is invalid"},
			{operationID: "app/vs", wantErr: "operation ID app/vs is invalid"},
			{operationID: "app/vs/yesterday", wantErr: "parsing time"},
		},
		cancel: cancelAnything,
	},
	{
		name:      "velero.io/csi-volumesnapshotclass-backupper",
		appliesTo: selector("volumesnapshotclasses.snapshot.storage.k8s.io"),
		execute: []backupCase{
			{
				name:                "list secret becomes an additional item",
				item:                volumeSnapshotClass(listSecretAnnotations),
				wantItem:            volumeSnapshotClass(listSecretAndMustInclude),
				wantAdditionalItems: []velero.ResourceIdentifier{secret("kube-system", "ls")},
				wantLogs: []logLine{
					info("Executing VolumeSnapshotClassBackupItemAction"),
					info("Returning 1 additionalItems to backup"),
				},
			},
			{
				name: "no annotations",
				item: volumeSnapshotClass(""),
				wantLogs: []logLine{
					info("Executing VolumeSnapshotClassBackupItemAction"),
					info("Returning 0 additionalItems to backup"),
				},
			},
			{
				name: "only the secret name",
				item: volumeSnapshotClass(`{"csi.storage.k8s.io/snapshotter-list-secret-name":"ls","other":"x"}`),
				wantLogs: []logLine{
					info("Returning 0 additionalItems to backup"),
				},
			},
			{
				name: "only the secret namespace",
				item: volumeSnapshotClass(`{"csi.storage.k8s.io/snapshotter-list-secret-namespace":"kube-system"}`),
			},
			{
				name:                "finalizing phase, backup without defaults",
				item:                volumeSnapshotClass(listSecretAnnotations),
				backup:              &velerov1.Backup{Status: velerov1.BackupStatus{Phase: velerov1.BackupPhaseFinalizing}},
				wantItem:            volumeSnapshotClass(listSecretAndMustInclude),
				wantAdditionalItems: []velero.ResourceIdentifier{secret("kube-system", "ls")},
			},
			{
				name: "item over 4 MiB",
				item: bigVolumeSnapshotClass(),
			},
			{
				name:    "item without kind",
				item:    `{"apiVersion":"snapshot.storage.k8s.io/v1","metadata":{"name":"c"}}`,
				wantErr: "Object 'Kind' is missing",
			},
			{
				name:    "item that is JSON null",
				item:    `null`,
				wantErr: "item",
			},
		},
		progress: noOperations,
		cancel:   cancelAnything,
		concurrent: func(i int) backupCase {
			name := fmt.Sprintf("ls-%d", i)
			return backupCase{
				item:                volumeSnapshotClass(`{"csi.storage.k8s.io/snapshotter-list-secret-name":"` + name + `","csi.storage.k8s.io/snapshotter-list-secret-namespace":"kube-system"}`),
				wantItem:            volumeSnapshotClass(`{"backup.velero.io/must-include-additional-items":"true","csi.storage.k8s.io/snapshotter-list-secret-name":"` + name + `","csi.storage.k8s.io/snapshotter-list-secret-namespace":"kube-system"}`),
				wantAdditionalItems: []velero.ResourceIdentifier{secret("kube-system", name)},
			}
		},
	},
}

var restoreActions = []restoreAction{
	{
		name:      "velero.io/csi-pvc-restorer",
		appliesTo: selector("persistentvolumeclaims"),
		execute: []restoreCase{
			{
				name:    "no cluster: reading the Backup fails with the client's error",
				item:    persistentVolumeClaim,
				wantErr: "fail to get backup for restore: cannot configure the Kubernetes client",
			},
		},
		progress: emptyIDRefused,
		cancel:   emptyIDRefused,
		ready:    []readyCase{{items: nil, want: true}},
	},
	{
		name:      "velero.io/csi-volumesnapshot-restorer",
		appliesTo: selector("volumesnapshots.snapshot.storage.k8s.io"),
		execute: []restoreCase{
			{
				name:            "restorePVs explicitly false: skipped, no API call",
				item:            volumeSnapshot("b1"),
				restore:         testRestore(boolPtr(false)),
				wantSkipRestore: true,
			},
		},
		progress: noOperations,
		cancel:   cancelAnything,
		ready:    []readyCase{{items: nil, want: true}},
	},
	{
		name:      "velero.io/csi-volumesnapshotclass-restorer",
		appliesTo: selector("volumesnapshotclasses.snapshot.storage.k8s.io"),
		execute: []restoreCase{
			{
				name:                "list secret is restored first",
				item:                volumeSnapshotClass(listSecretAnnotations),
				wantAdditionalItems: []velero.ResourceIdentifier{secret("kube-system", "ls")},
				wantLogs: []logLine{
					info("Starting VolumeSnapshotClassRestoreItemAction"),
					info("Returning from VolumeSnapshotClassRestoreItemAction with 1 additionalItems"),
				},
			},
			{
				name:                "restorePVs explicitly true",
				item:                volumeSnapshotClass(listSecretAnnotations),
				restore:             testRestore(boolPtr(true)),
				wantAdditionalItems: []velero.ResourceIdentifier{secret("kube-system", "ls")},
			},
			{
				name: "no annotations",
				item: volumeSnapshotClass(""),
				wantLogs: []logLine{
					info("Starting VolumeSnapshotClassRestoreItemAction"),
					info("Returning from VolumeSnapshotClassRestoreItemAction with 0 additionalItems"),
				},
			},
			{
				name: "only one annotation of the pair",
				item: volumeSnapshotClass(`{"csi.storage.k8s.io/snapshotter-list-secret-name":"ls"}`),
			},
			{
				name:            "restorePVs explicitly false",
				item:            volumeSnapshotClass(listSecretAnnotations),
				restore:         testRestore(boolPtr(false)),
				wantSkipRestore: true,
				wantLogs: []logLine{
					info("Starting VolumeSnapshotClassRestoreItemAction"),
				},
			},
			{
				name:           "item differs from itemFromBackup",
				item:           volumeSnapshotClass(""),
				itemFromBackup: volumeSnapshotClass(listSecretAnnotations),
			},
			{
				name: "item over 4 MiB",
				item: bigVolumeSnapshotClass(),
			},
			{
				name:    "item without kind",
				item:    `{"apiVersion":"snapshot.storage.k8s.io/v1","metadata":{"name":"c"}}`,
				wantErr: "Object 'Kind' is missing",
			},
		},
		progress: noOperations,
		cancel:   cancelAnything,
		ready: []readyCase{
			{items: nil, want: true},
			{items: []velero.ResourceIdentifier{secret("kube-system", "ls")}, want: true},
		},
	},
}

var deleteActions = []deleteAction{
	{
		name:      "velero.io/csi-volumesnapshot-delete",
		appliesTo: selector("volumesnapshots.snapshot.storage.k8s.io"),
		execute: []deleteCase{
			{name: "not labelled for the backup: nothing to do", item: volumeSnapshot("")},
			{name: "labelled for another backup: nothing to do", item: volumeSnapshot("other")},
		},
	},
	{
		name:      "velero.io/csi-volumesnapshotcontent-delete",
		appliesTo: selector("volumesnapshotcontents.snapshot.storage.k8s.io"),
		execute: []deleteCase{
			{name: "not labelled for the backup: nothing to do", item: volumeSnapshotContent("", "")},
			{name: "labelled for another backup: nothing to do", item: volumeSnapshotContent("", `{"velero.io/backup-name":"other"}`)},
		},
	},
}

func init() {
	backupActions = append(backupActions, backupAction{
		name:      "velero.io/csi-volumesnapshotcontent-backupper",
		appliesTo: selector("volumesnapshotcontents.snapshot.storage.k8s.io"),
		execute: []backupCase{
			{
				name:                "snapshotter secret becomes an additional item",
				item:                volumeSnapshotContent(snapshotterSecretAnnotations, ""),
				wantItem:            volumeSnapshotContent(snapshotterSecretAndMustInclude, ""),
				wantAdditionalItems: []velero.ResourceIdentifier{secret("kube-system", "s1")},
			},
			{name: "not labelled for the backup: no operation", item: volumeSnapshotContent("", `{"velero.io/backup-name":"other"}`)},
			{name: "finalize pass: returned unchanged", item: volumeSnapshotContent(snapshotterSecretAnnotations, ""), backup: finalizingBackup()},
		},
		progress: []operationCase{
			{operationID: "", wantErr: "operation ID  is invalid"},
			{operationID: "c1", wantErr: "operation ID c1 is invalid"},
			{operationID: "c1/notatime", wantErr: "fail to parse StartedTime"},
		},
		cancel: cancelAnything,
	})
	restoreActions = append(restoreActions, restoreAction{
		name:      "velero.io/csi-volumesnapshotcontent-restorer",
		appliesTo: selector("volumesnapshotcontents.snapshot.storage.k8s.io"),
		execute: []restoreCase{
			{
				// v0.7.1 reads the Secret from other keys and returns an empty reference; we
				// read it from the keys it tests (Velero core v1.14's fix; docs/behaviour.md, L7).
				name:                "snapshotter secret is restored first",
				item:                volumeSnapshotContent(snapshotterSecretAnnotations, ""),
				wantAdditionalItems: []velero.ResourceIdentifier{secret("kube-system", "s1")},
			},
			{name: "no secret", item: volumeSnapshotContent("", "")},
			{
				name:            "restorePVs explicitly false",
				item:            volumeSnapshotContent("", ""),
				restore:         testRestore(boolPtr(false)),
				wantSkipRestore: true,
			},
		},
		progress: noOperations,
		cancel:   cancelAnything,
		ready:    []readyCase{{items: nil, want: true}},
	})
}
