package deliver

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"

	"github.com/devloop-dev/devloop/internal/docker"
)

// storeEngine answers Info and ImageInspect; other Engine methods are not used.
type storeEngine struct {
	Engine
	info  system.Info
	image image.InspectResponse
	infos int
}

func (f *storeEngine) Info(context.Context) (system.Info, error) {
	f.infos++
	return f.info, nil
}

func (f *storeEngine) ImageInspect(context.Context, string, ...client.ImageInspectOption) (image.InspectResponse, error) {
	return f.image, nil
}

var c8dInfo = system.Info{Driver: "overlayfs", ServerVersion: "26.1.5", DriverStatus: [][2]string{{"driver-type", "io.containerd.snapshotter.v1"}}}

func TestExportPlatform(t *testing.T) {
	ctx := context.Background()
	arm := image.InspectResponse{ID: "sha256:cfg", Os: "linux", Architecture: "arm64", Variant: "v8"}
	for _, tc := range []struct {
		name  string
		info  system.Info
		nodes []string
		want  string
	}{
		{"graph driver: the image's one platform", system.Info{Driver: "overlay2"}, []string{"linux/amd64"}, "linux/arm64"},
		{"containerd store: the nodes' platform", c8dInfo, []string{"linux/amd64"}, "linux/amd64"},
		{"containerd store, nodes unknown: the image's", c8dInfo, nil, "linux/arm64"},
		{"containerd store, mixed nodes: the image's", c8dInfo, []string{"linux/amd64", "linux/arm64"}, "linux/arm64"},
	} {
		f := &storeEngine{info: tc.info, image: arm}
		e := &exporter{engine: f, nodePlatforms: tc.nodes}
		x, err := e.plan(ctx, "a:t")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.plan(ctx, "a:t"); err != nil || f.infos != 1 {
			t.Fatalf("%s: engine asked for its store %d times (%v)", tc.name, f.infos, err)
		}
		if x.platform != tc.want || strings.Join(x.importArgs(), " ") != "images import --platform "+tc.want+" -" {
			t.Errorf("%s: platform %q, args %v; want %s", tc.name, x.platform, x.importArgs(), tc.want)
		}
	}
}

func TestImportErrorNamesTheStore(t *testing.T) {
	x := export{ref: "web:t", platform: "linux/arm64", store: docker.StoreOf(c8dInfo)}
	ctrErr := errors.New("exit status 1: ctr: content digest sha256:99b0: not found")
	err := x.importError(ctrErr, "")
	var se *ImageStoreError
	if !errors.As(err, &se) || !errors.Is(err, ctrErr) {
		t.Fatalf("err %v is not an *ImageStoreError wrapping ctr's", err)
	}
	for _, want := range []string{"web:t cannot be imported for linux/arm64", "containerd image store", "Docker Engine 26.1.5", "docker pull --platform linux/arm64"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
	other := errors.New("exit status 1: ctr: permission denied")
	if err := x.importError(other, ""); err != other {
		t.Fatalf("other errors pass through: %v", err)
	}
}

func TestSameImage(t *testing.T) {
	c8d := export{id: "sha256:index", store: docker.StoreOf(c8dInfo)}
	graph := export{id: "sha256:config", store: docker.StoreOf(system.Info{Driver: "overlay2"})}
	for _, tc := range []struct {
		x      export
		target string
		want   bool
	}{
		{c8d, "sha256:index", true},
		{c8d, "sha256:other", false},
		{graph, "sha256:manifest", true}, // the graph-driver ID is the config digest: no target equals it
		{export{}, "sha256:x", true},
	} {
		if got := sameImage(tc.x, tc.target); got != tc.want {
			t.Errorf("sameImage(%+v, %s) = %v, want %v", tc.x, tc.target, got, tc.want)
		}
	}
}
