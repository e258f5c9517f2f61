# Versions of every peer of the end-to-end stack (sourced by build and run; read by stack.py).
KUBE_VERSION=v1.32.0            # k8s.io/kubernetes: kube-apiserver, kube-controller-manager, kubectl
ETCD_VERSION=v3.5.16            # go.etcd.io/etcd/server/v3
SNAPSHOTTER_VERSION=v8.2.1      # github.com/kubernetes-csi/external-snapshotter/v8 (+ CRDs of client/v8)
PROVISIONER_VERSION=v5.1.0      # github.com/kubernetes-csi/external-provisioner/v5 (v5.2.0: no checksum in sumdb here)
VELERO_VERSION=v1.13.2          # github.com/vmware-tanzu/velero (server and CLI); the suite's default
VELERO_118_VERSION=v1.18.3      # the same module, for the v1.18 stack (`run --velero v1.18.3 --smoke`)
# Velero v1.18.3 requires k8s.io/cli-runtime v0.33.12, which the proxy here refuses (403):
VELERO_118_CLI_RUNTIME_FROM=v0.33.12
VELERO_118_CLI_RUNTIME_TO=v0.33.10
# Velero v1.18.3 uses external-snapshotter client/v8 v8.4.0, but the snapshotter above stays:
# the snapshot.storage.k8s.io/v1 CRDs of client/v8 v8.2.0 and v8.4.0 are identical, and
# v1.18.3 only touches VolumeGroupSnapshot (v1beta2) objects for PVCs carrying its
# volume-group label (none here), so it starts and backs up without the VGS CRDs.
GO_CSI_PLUGIN_VERSION=v0.7.1    # github.com/vmware-tanzu/velero-plugin-for-csi (reference)
MOTO_VERSION=5.2.5              # PyPI moto[server], the local S3 server
# Our stand-ins for csi-driver-host-path and velero-plugin-for-aws (not served by the proxy
# here): binaries are named by a hash of their source.
_e2e_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CSI_DRIVER_HASH=$(sha256sum "$_e2e_dir/csi-hostpath/main.go" | cut -c1-12)
OBJECTSTORE_HASH=$(sha256sum "$_e2e_dir/objectstore/main.go" | cut -c1-12)
