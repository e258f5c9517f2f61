"""A one-machine Kubernetes + CSI + Velero stack, every listener on loopback.

Started and stopped by `Stack.up()` / `Stack.down()`; every process is started in its own
session (process group) and killed by group on teardown, so plugin processes that Velero
spawns go with it. PIDs are also written to <state>/pids so that a run killed with SIGKILL
is cleaned up by the next one. Binaries come from `build` (<cache>/bin/<name>-<version>).
"""
import ctypes
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent  # the repository
DRIVER = "hostpath.csi.k8s.io"
TOKEN = "e2e-admin-token"


def versions():
    out = {}
    for line in (HERE / "versions.sh").read_text().splitlines():
        m = re.match(r"^([A-Z0-9_]+)=([^$\s]+)", line)
        if m:
            out[m.group(1)] = m.group(2)
    for key, src in (("CSI_DRIVER_HASH", "csi-hostpath"), ("OBJECTSTORE_HASH", "objectstore")):
        out[key] = hashlib.sha256((HERE / src / "main.go").read_bytes()).hexdigest()[:12]
    return out


def _pdeathsig():
    # If the suite itself is SIGKILLed, the kernel kills the direct children too.
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def claim(stack):
    """Makes this process the only run on `stack`'s state dir, and turns SIGINT, SIGTERM and
    SIGHUP into KeyboardInterrupt so that the caller's clean-up runs. SIGINT too: a shell
    without job control starts background jobs with SIGINT ignored. Returns the lock file,
    which the caller keeps open for the whole run (a second run would kill the first one's
    processes)."""
    def on_signal(sig, _frame):
        raise KeyboardInterrupt(f"signal {sig}")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    lock = open(f"{stack.E}.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"another e2e run is using {stack.E}")
    return lock


class Stack:
    """plugin_binary=None: no CSI plugin of ours in the plugin dir (only the S3 stand-in).
    velero_version: which bin/velero-<version> runs the server and CLI (default VELERO_VERSION).
    features: the server's --features (default EnableCSI; "" for none; restart_velero changes it).
    server_flags: more `velero server` flags. server_env: more environment of the server, which
    its plugin processes inherit (e.g. VELERO_CSI_NAMES)."""

    def __init__(self, state: Path, cache: Path, plugin_binary, log=print, velero_version=None,
                 features="EnableCSI", server_flags=(), server_env=None):
        self.E = Path(state)
        self.cache = Path(cache)
        self.bin = self.cache / "bin"
        self.plugin_binary = Path(plugin_binary) if plugin_binary else None
        self.v = versions()
        self.velero_version = velero_version or self.v["VELERO_VERSION"]
        self.log = log
        self.procs = []  # (name, Popen)
        self.kubeconfig = self.E / "admin.kubeconfig"
        self.statedir = self.E / "csi-data"
        self.env = dict(os.environ)
        self.env.update(
            KUBECONFIG=str(self.kubeconfig),
            AWS_SHARED_CREDENTIALS_FILE=str(self.E / "aws-creds"),
            VELERO_NAMESPACE="velero",
        )
        self.features = features
        self.server_flags = list(server_flags)
        self.server_env = dict(server_env or {})
        self.velero_logs = []  # the server's log files, one per start

    # ---------------------------------------------------------------- helpers
    def b(self, name, key):
        p = self.bin / f"{name}-{self.velero_version if key == 'VELERO_VERSION' else self.v[key]}"
        if not os.access(p, os.X_OK):
            sys.exit(f"missing {p}: run tests/e2e/build first")
        return str(p)

    def run(self, *cmd, input=None, check=True, timeout=300):
        r = subprocess.run(cmd, input=input, capture_output=True, text=True, env=self.env, timeout=timeout,
                           preexec_fn=_pdeathsig)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def kubectl(self, *args, **kw):
        return self.run(self.b("kubectl", "KUBE_VERSION"), "--kubeconfig", str(self.kubeconfig), *args, **kw).stdout

    def kget(self, *args):
        return json.loads(self.kubectl("get", "-o", "json", *args))

    def apply(self, manifest: str):
        return self.kubectl("apply", "-f", "-", input=manifest)

    def velero(self, *args, **kw):
        return self.run(self.b("velero", "VELERO_VERSION"), "--kubeconfig", str(self.kubeconfig),
                        "-n", "velero", *args, **kw).stdout

    def start(self, name, *cmd, env=None, log_name=None):
        logf = open(self.E / "logs" / f"{log_name or name}.log", "w")
        p = subprocess.Popen(list(map(str, cmd)), stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env or self.env, cwd=self.E, start_new_session=True, preexec_fn=_pdeathsig)
        self.procs.append((name, p))
        with open(self.E / "pids", "a") as f:
            f.write(f"{p.pid} {name}\n")
        time.sleep(0.2)
        if p.poll() is not None:
            raise RuntimeError(f"{name} exited at once ({p.returncode}); see {self.E}/logs/{name}.log")
        return p

    def wait(self, what, fn, timeout=60, interval=0.5):
        t0 = time.time()
        last = None
        while time.time() - t0 < timeout:
            for name, p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{name} died ({p.returncode}) while waiting for {what}; "
                                       f"see {self.E}/logs/{name}.log")
            try:
                v = fn()
                if v:
                    return v
            except Exception as e:  # noqa: BLE001 -- retried until timeout
                last = e
            time.sleep(interval)
        raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last error: {last})")

    @staticmethod
    def port_free(port, host="127.0.0.1"):
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
            return True
        except OSError:
            return False
        finally:
            s.close()

    # ---------------------------------------------------------------- lifecycle
    def kill_leftovers(self):
        """Kill processes of an earlier run of this state dir that died without teardown."""
        pidfile = self.E / "pids"
        if not pidfile.exists():
            return
        for line in pidfile.read_text().split("\n"):
            if not line.strip():
                continue
            pid = int(line.split()[0])
            try:
                os.killpg(pid, signal.SIGKILL)
                self.log(f"killed leftover process group {pid} ({line.split()[1]})")
            except (ProcessLookupError, PermissionError):
                pass

    def up(self):
        self.kill_leftovers()
        shutil.rmtree(self.E, ignore_errors=True)
        for d in ("pki", "logs", "etcd", "csi", "csi-data", "plugins", "hostpath-pv"):
            (self.E / d).mkdir(parents=True)
        for port in (2379, 2380, 6443, 10257, 5000, 8085, 6060):
            if not self.port_free(port):
                raise RuntimeError(f"127.0.0.1:{port} is in use; is another stack running?")
        if not self.port_free(8080, "0.0.0.0"):
            raise RuntimeError("port 8080 is in use (Velero's controller-runtime metrics bind :8080)")
        self._pki()
        self._plugins()
        t0 = time.time()

        self.start("etcd", self.b("etcd", "ETCD_VERSION"), "--name", "e2e", "--data-dir", self.E / "etcd",
                   "--listen-client-urls", "http://127.0.0.1:2379", "--advertise-client-urls", "http://127.0.0.1:2379",
                   "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
                   "--initial-cluster", "e2e=http://127.0.0.1:2380", "--initial-cluster-state", "new",
                   "--unsafe-no-fsync", "--log-level", "warn")
        self.wait("etcd health", lambda: b'"health":"true"' in subprocess.run(
            ["curl", "-s", "http://127.0.0.1:2379/health"], capture_output=True).stdout)

        pki = self.E / "pki"
        self.start("kube-apiserver", self.b("kube-apiserver", "KUBE_VERSION"),
                   "--etcd-servers=http://127.0.0.1:2379",
                   "--bind-address=127.0.0.1", "--secure-port=6443", "--advertise-address=127.0.0.1",
                   f"--tls-cert-file={pki}/apiserver.crt", f"--tls-private-key-file={pki}/apiserver.key",
                   f"--client-ca-file={pki}/ca.crt", f"--token-auth-file={pki}/tokens.csv",
                   "--authorization-mode=RBAC",
                   "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                   f"--service-account-key-file={pki}/sa.pub", f"--service-account-signing-key-file={pki}/sa.key",
                   "--service-cluster-ip-range=10.0.0.0/24", "--endpoint-reconciler-type=none",
                   "--enable-priority-and-fairness=false", "--allow-privileged=true", "--v=1")
        self.wait("apiserver /readyz", lambda: self.kubectl("get", "--raw", "/readyz", check=False,
                                                             timeout=10) == "ok", timeout=120)
        self.log(f"  apiserver ready after {time.time() - t0:.1f}s")

        crds = self.cache / "crds" / f"snapshot-{self.v['SNAPSHOTTER_VERSION']}"
        self.kubectl("apply", *sum((["-f", str(f)] for f in sorted(crds.glob("*.yaml"))), []))
        self.velero("install", "--crds-only")
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
        self.kubectl("create", "namespace", "velero")
        self.apply(BASE_OBJECTS)

        self.start("kube-controller-manager", self.b("kube-controller-manager", "KUBE_VERSION"),
                   f"--kubeconfig={self.kubeconfig}", "--leader-elect=false",
                   "--controllers=persistentvolume-binder-controller,persistentvolume-protection-controller,"
                   "persistentvolumeclaim-protection-controller,namespace-controller,"
                   "garbage-collector-controller,serviceaccount-controller",
                   "--bind-address=127.0.0.1", "--secure-port=10257",
                   f"--authentication-kubeconfig={self.kubeconfig}", f"--authorization-kubeconfig={self.kubeconfig}",
                   "--pvclaimbinder-sync-period=2s", "--v=2")
        sock = self.E / "csi" / "csi.sock"
        self.start("csi-driver", self.b("csi-hostpath-e2e", "CSI_DRIVER_HASH"),
                   f"--endpoint=unix://{sock}", "--nodeid=e2e-node", f"--drivername={DRIVER}",
                   f"--statedir={self.statedir}", "--enable-topology=false", "--v=4")
        self.wait("CSI socket", sock.exists, timeout=30)
        self.start("csi-provisioner", self.b("csi-provisioner", "PROVISIONER_VERSION"),
                   f"--kubeconfig={self.kubeconfig}", f"--csi-address={sock}", "--v=4")
        self.start("snapshot-controller", self.b("snapshot-controller", "SNAPSHOTTER_VERSION"),
                   f"--kubeconfig={self.kubeconfig}", "--v=4")
        self.start("csi-snapshotter", self.b("csi-snapshotter", "SNAPSHOTTER_VERSION"),
                   f"--kubeconfig={self.kubeconfig}", f"--csi-address={sock}", "--v=4")
        self.start("moto", self.b("moto_server", "MOTO_VERSION"), "-H", "127.0.0.1", "-p", "5000")
        self.wait("moto", lambda: self.s3().create_bucket(Bucket="velero"), timeout=60)

        self.start_velero()
        self.wait("BSL Available", lambda: self.kget("-n", "velero", "backupstoragelocation", "default")
                  .get("status", {}).get("phase") == "Available", timeout=120)
        self.log(f"  stack ready after {time.time() - t0:.1f}s")
        self.check_listeners()

    def start_velero(self):
        """Starts `velero server` (log velero.log, then velero-2.log... after restarts)."""
        log_name = "velero" if not self.velero_logs else f"velero-{len(self.velero_logs) + 1}"
        self.velero_logs.append(self.E / "logs" / f"{log_name}.log")
        features = [f"--features={self.features}"] if self.features else []
        self.start("velero", self.b("velero", "VELERO_VERSION"), "server", "--kubeconfig", self.kubeconfig,
                   "--namespace", "velero", *features, "--plugin-dir", self.E / "plugins",
                   "--metrics-address", "127.0.0.1:8085", "--log-level", "debug",
                   "--store-validation-frequency", "5s", "--item-operation-sync-frequency", "2s",
                   *self.server_flags, env={**self.env, **self.server_env}, log_name=log_name)

    def restart_velero(self, features):
        """Stops the server with its plugin processes (one process group) and starts it again
        with other --features; returns once its backup and restore controllers run."""
        name, p = next((n, p) for n, p in self.procs if n == "velero")
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        try:
            os.killpg(p.pid, signal.SIGKILL)  # plugin processes left in the group
        except ProcessLookupError:
            pass
        self.procs.remove((name, p))
        self.wait("port 8085 free", lambda: self.port_free(8085), timeout=30)
        self.wait("port 8080 free", lambda: self.port_free(8080, "0.0.0.0"), timeout=30)
        self.features = features
        self.start_velero()
        log = self.velero_logs[-1]
        self.wait("velero controllers started", lambda: all(
            re.search(rf'msg="Starting workers" controller={c} ', log.read_text(errors="replace"))
            for c in ("backup", "restore", "deletebackuprequest")), timeout=60)

    def check_listeners(self):
        """Every TCP listener of our process groups is on loopback, except Velero's :8080."""
        groups = {p.pid for _, p in self.procs}
        out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
        bad, mine = [], []
        for line in out.splitlines():
            f = line.split()
            local = f[3]
            for pid in map(int, re.findall(r"pid=(\d+)", line)):
                try:
                    pgid = os.getpgid(pid)
                except ProcessLookupError:
                    continue
                if pgid in groups:
                    name = re.search(r'\(\("([^"]+)"', line).group(1)
                    mine.append(f"{local} {name}")
                    host = local.rsplit(":", 1)[0]
                    if host not in ("127.0.0.1", "[::1]", "[::ffff:127.0.0.1]") and \
                            not (local.endswith(":8080") and name.startswith("velero")):
                        bad.append(f"{local} {name}")
        (self.E / "logs" / "listeners.txt").write_text("\n".join(sorted(set(mine))) + "\n")
        if bad:
            raise RuntimeError(f"non-loopback listeners: {bad}")

    def down(self):
        for name, p in reversed(self.procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.time() + 10
        for name, p in reversed(self.procs):
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(p.pid, signal.SIGKILL)  # also plugin processes left in the group
            except ProcessLookupError:
                pass
            p.wait()
        self.procs.clear()
        left = self.leftovers()
        for pid, cmd in left:
            self.log(f"  killing straggler {pid}: {cmd}")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        (self.E / "pids").unlink(missing_ok=True)

    def leftovers(self):
        """Processes whose command line mentions the state dir (plugins, servers)."""
        out = []
        for d in Path("/proc").iterdir():
            if not d.name.isdigit() or int(d.name) == os.getpid():
                continue
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(self.E) + "/" in cmd:
                out.append((int(d.name), cmd.strip()))
        return out

    # ---------------------------------------------------------------- setup pieces
    def _pki(self):
        pki = self.E / "pki"

        def ssl(*a):
            subprocess.run(["openssl", *a], cwd=pki, check=True, capture_output=True)
        ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=e2e-ca",
            "-keyout", "ca.key", "-out", "ca.crt")
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver",
            "-keyout", "apiserver.key", "-out", "apiserver.csr")
        (pki / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n"
                                     "extendedKeyUsage=serverAuth\n")
        ssl("x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "3650", "-extfile", "san.ext", "-out", "apiserver.crt")
        ssl("genrsa", "-out", "sa.key", "2048")
        ssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")
        (pki / "tokens.csv").write_text(f'{TOKEN},admin,admin-uid,"system:masters"\n')
        self.kubeconfig.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: e2e, cluster: {{server: "https://127.0.0.1:6443", certificate-authority: {pki}/ca.crt}}}}]
users: [{{name: admin, user: {{token: {TOKEN}}}}}]
contexts: [{{name: e2e, context: {{cluster: e2e, user: admin}}}}]
current-context: e2e
""")
        (self.E / "aws-creds").write_text("[default]\naws_access_key_id = test\naws_secret_access_key = test\n")

    def _plugins(self):
        # Only go-plugin executables may live here: Velero runs every executable file it finds.
        shutil.copy2(self.b("velero-plugin-e2e-s3", "OBJECTSTORE_HASH"),
                     self.E / "plugins" / "velero-plugin-e2e-s3")
        if self.plugin_binary and self.plugin_binary.name.endswith(".oci.tar"):
            # The plugin image: its entrypoint copies the plugin in, as Velero's init container
            # does (image/extract runs it under podman, as user 65532, the directory at /target).
            plugins = self.E / "plugins"
            plugins.chmod(0o777)
            subprocess.run([ROOT / "image" / "extract", self.plugin_binary, plugins], check=True,
                           stdout=subprocess.DEVNULL)
            plugins.chmod(0o755)
        elif self.plugin_binary:
            shutil.copy2(self.plugin_binary, self.E / "plugins" / "velero-plugin-for-csi")

    def s3(self):
        import boto3  # from the moto venv the suite runs in
        return boto3.client("s3", endpoint_url="http://127.0.0.1:5000", region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test")


# The Deployment stands in for Velero's own (never scheduled: no deployment controller runs).
# Velero v1.18.3 needs it for every restore: the velero.io/pod-volume-restore action reads the
# server image from Deployment velero/velero when it is created, and the restore fails
# without it ('deployments.apps "velero" not found').
BASE_OBJECTS = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: velero, namespace: velero, labels: {{component: velero}}}}
spec:
  replicas: 0
  selector: {{matchLabels: {{component: velero}}}}
  template:
    metadata: {{labels: {{component: velero}}}}
    spec:
      containers: [{{name: velero, image: velero/velero:e2e-stand-in, command: [/velero]}}]
---
apiVersion: velero.io/v1
kind: BackupStorageLocation
metadata: {{name: default, namespace: velero}}
spec:
  provider: e2e.local/s3
  default: true
  objectStorage: {{bucket: velero, prefix: e2e}}
  config: {{region: us-east-1, s3ForcePathStyle: "true", s3Url: "http://127.0.0.1:5000"}}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {{name: csi-hostpath-sc}}
provisioner: {DRIVER}
reclaimPolicy: Delete
volumeBindingMode: Immediate
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {{name: manual}}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {{name: snapclass-label, labels: {{velero.io/csi-volumesnapshot-class: "true"}}}}
driver: {DRIVER}
deletionPolicy: Retain
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {{name: snapclass-backup-annotation}}
driver: {DRIVER}
deletionPolicy: Retain
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {{name: snapclass-pvc-annotation}}
driver: {DRIVER}
deletionPolicy: Retain
"""
