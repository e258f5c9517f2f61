// Builds the Go reference plugin (github.com/vmware-tanzu/velero-plugin-for-csi v0.7.1)
// from the module proxy for the side-by-side benchmark; see tests/velero-client/bench.
// Its own go.mod has a replace directive, which `go install pkg@version` refuses, so this
// wrapper requires it as a tool and copies that replace line verbatim:
//
//	go build -o <out> github.com/vmware-tanzu/velero-plugin-for-csi
module github.com/velero-csi-wasm/velero-plugin-for-csi/tests/bench-go-plugin

go 1.24

replace github.com/kopia/kopia => github.com/project-velero/kopia v0.0.0-20231023031817-cf7bbc7f8519
