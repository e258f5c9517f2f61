// A minimal CSI controller driver with the on-disk behaviour of kubernetes-csi's
// csi-driver-host-path, for the e2e suite. It stands in for hostpathplugin because no
// version of github.com/kubernetes-csi/csi-driver-host-path is served by the module proxy
// reachable here (403). Same flags and layout as hostpathplugin:
//
//	<statedir>/<volumeID>/          a volume (mount access type), CreateVolume = mkdir
//	<statedir>/<snapshotID>.snap    a snapshot, CreateSnapshot = tar czf -C <volume> .
//	<statedir>/state.json           volumes and snapshots, so restarts keep state
//
// CreateVolume from a snapshot source unpacks the .snap with tar zxf. No node service is
// used (there is no kubelet); topology is not advertised. Built by tests/e2e/build inside
// the external-snapshotter wrapper module (CSI spec and gRPC from that build list).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type volume struct {
	ID, Name string
	Size     int64
}

type snapshot struct {
	ID, Name, VolID string
	Size            int64
	Created         time.Time
}

type state struct {
	Volumes   map[string]*volume
	Snapshots map[string]*snapshot
}

type driver struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedControllerServer
	csi.UnimplementedNodeServer
	name, nodeID, dir string
	mu                sync.Mutex
	st                state
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}

func (d *driver) save() error {
	b, err := json.MarshalIndent(d.st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(d.dir, "state.json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(d.dir, "state.json"))
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// ---- identity

func (d *driver) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: d.name, VendorVersion: "e2e"}, nil
}

func (d *driver) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	return &csi.GetPluginCapabilitiesResponse{Capabilities: []*csi.PluginCapability{{
		Type: &csi.PluginCapability_Service_{Service: &csi.PluginCapability_Service{
			Type: csi.PluginCapability_Service_CONTROLLER_SERVICE}}}}}, nil
}

func (d *driver) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{}, nil
}

// ---- controller

func (d *driver) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, c := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
	} {
		caps = append(caps, &csi.ControllerServiceCapability{Type: &csi.ControllerServiceCapability_Rpc{
			Rpc: &csi.ControllerServiceCapability_RPC{Type: c}}})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

func (d *driver) CreateVolume(_ context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name missing")
	}
	for _, c := range req.GetVolumeCapabilities() {
		if c.GetBlock() != nil {
			return nil, status.Error(codes.InvalidArgument, "block volumes are not supported")
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	size := req.GetCapacityRange().GetRequiredBytes()
	src := req.GetVolumeContentSource()
	var v *volume
	for _, x := range d.st.Volumes {
		if x.Name == req.GetName() {
			v = x // idempotent retry
		}
	}
	if v == nil {
		v = &volume{ID: newID(), Name: req.GetName(), Size: size}
		path := filepath.Join(d.dir, v.ID)
		if err := os.MkdirAll(path, 0o777); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		if s := src.GetSnapshot(); s != nil {
			snap, ok := d.st.Snapshots[s.GetSnapshotId()]
			if !ok {
				os.RemoveAll(path)
				return nil, status.Errorf(codes.NotFound, "snapshot %s not found", s.GetSnapshotId())
			}
			if err := run("tar", "zxf", filepath.Join(d.dir, snap.ID+".snap"), "-C", path); err != nil {
				os.RemoveAll(path)
				return nil, status.Error(codes.Internal, err.Error())
			}
		} else if src.GetVolume() != nil {
			os.RemoveAll(path)
			return nil, status.Error(codes.InvalidArgument, "volume cloning is not supported")
		}
		d.st.Volumes[v.ID] = v
		if err := d.save(); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		log.Printf("CreateVolume %s -> %s (source %v)", v.Name, v.ID, src)
	}
	return &csi.CreateVolumeResponse{Volume: &csi.Volume{VolumeId: v.ID, CapacityBytes: v.Size, ContentSource: src}}, nil
}

func (d *driver) DeleteVolume(_ context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id := req.GetVolumeId()
	if id == "" || strings.ContainsAny(id, "/.") {
		return nil, status.Error(codes.InvalidArgument, "bad volume id")
	}
	if err := os.RemoveAll(filepath.Join(d.dir, id)); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	delete(d.st.Volumes, id)
	log.Printf("DeleteVolume %s", id)
	return &csi.DeleteVolumeResponse{}, d.save()
}

func (d *driver) ValidateVolumeCapabilities(_ context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.st.Volumes[req.GetVolumeId()]; !ok {
		return nil, status.Errorf(codes.NotFound, "volume %s not found", req.GetVolumeId())
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeCapabilities: req.GetVolumeCapabilities()}}, nil
}

func (s *snapshot) csi() *csi.Snapshot {
	return &csi.Snapshot{SnapshotId: s.ID, SourceVolumeId: s.VolID, SizeBytes: s.Size,
		CreationTime: timestamppb.New(s.Created), ReadyToUse: true}
}

func (d *driver) CreateSnapshot(_ context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	if req.GetName() == "" || req.GetSourceVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "name and source volume required")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.st.Snapshots {
		if s.Name == req.GetName() {
			if s.VolID != req.GetSourceVolumeId() {
				return nil, status.Errorf(codes.AlreadyExists, "snapshot %s exists for another volume", s.Name)
			}
			return &csi.CreateSnapshotResponse{Snapshot: s.csi()}, nil
		}
	}
	v, ok := d.st.Volumes[req.GetSourceVolumeId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "volume %s not found", req.GetSourceVolumeId())
	}
	s := &snapshot{ID: newID(), Name: req.GetName(), VolID: v.ID, Size: v.Size, Created: time.Now()}
	if err := run("tar", "czf", filepath.Join(d.dir, s.ID+".snap"), "-C", filepath.Join(d.dir, v.ID), "."); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	d.st.Snapshots[s.ID] = s
	log.Printf("CreateSnapshot %s of %s -> %s", s.Name, v.ID, s.ID)
	return &csi.CreateSnapshotResponse{Snapshot: s.csi()}, d.save()
}

func (d *driver) DeleteSnapshot(_ context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id := req.GetSnapshotId()
	if id == "" || strings.ContainsAny(id, "/") {
		return nil, status.Error(codes.InvalidArgument, "bad snapshot id")
	}
	if err := os.Remove(filepath.Join(d.dir, id+".snap")); err != nil && !os.IsNotExist(err) {
		return nil, status.Error(codes.Internal, err.Error())
	}
	delete(d.st.Snapshots, id)
	log.Printf("DeleteSnapshot %s", id)
	return &csi.DeleteSnapshotResponse{}, d.save()
}

func (d *driver) ListSnapshots(_ context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*csi.ListSnapshotsResponse_Entry
	for _, s := range d.st.Snapshots {
		if (req.GetSnapshotId() == "" || req.GetSnapshotId() == s.ID) &&
			(req.GetSourceVolumeId() == "" || req.GetSourceVolumeId() == s.VolID) {
			out = append(out, &csi.ListSnapshotsResponse_Entry{Snapshot: s.csi()})
		}
	}
	return &csi.ListSnapshotsResponse{Entries: out}, nil
}

// ---- node (only what a client may probe; there is no kubelet)

func (d *driver) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: d.nodeID}, nil
}

func (d *driver) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{}, nil
}

func main() {
	endpoint := flag.String("endpoint", "unix:///csi/csi.sock", "CSI endpoint (unix://PATH)")
	name := flag.String("drivername", "hostpath.csi.k8s.io", "driver name")
	nodeID := flag.String("nodeid", "", "node id")
	dir := flag.String("statedir", "/csi-data-dir", "directory for volumes, snapshots and state.json")
	flag.Bool("enable-topology", false, "accepted for hostpathplugin compatibility; topology is never advertised")
	flag.Int("v", 0, "accepted for hostpathplugin compatibility")
	flag.Parse()
	if *nodeID == "" {
		log.Fatal("no node id provided")
	}
	d := &driver{name: *name, nodeID: *nodeID, dir: *dir, st: state{map[string]*volume{}, map[string]*snapshot{}}}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(*dir, "state.json")); err == nil {
		if err := json.Unmarshal(b, &d.st); err != nil {
			log.Fatal(err)
		}
	}
	path := strings.TrimPrefix(*endpoint, "unix://")
	_ = os.Remove(path)
	lis, err := net.Listen("unix", path)
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		if err != nil {
			log.Printf("%s: %v", info.FullMethod, err)
		}
		return resp, err
	}))
	csi.RegisterIdentityServer(srv, d)
	csi.RegisterControllerServer(srv, d)
	csi.RegisterNodeServer(srv, d)
	log.Printf("serving %s on %s, state in %s", *name, path, *dir)
	log.Fatal(srv.Serve(lis))
}
