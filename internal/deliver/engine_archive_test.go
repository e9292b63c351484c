package deliver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/system"
)

// memBlobs is a blobSource over a map, recording what was read.
type memBlobs struct {
	blobs map[string][]byte
	read  []string
}

func (m *memBlobs) add(mediaType string, b []byte) descriptor {
	d := fmt.Sprintf("sha256:%x", sha256.Sum256(b))
	m.blobs[d] = b
	return descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}
}

func (m *memBlobs) copyBlob(_ context.Context, w io.Writer, digest string) error {
	b, ok := m.blobs[digest]
	if !ok {
		return fmt.Errorf("%s: not found", digest)
	}
	m.read = append(m.read, digest)
	_, err := w.Write(b)
	return err
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A two-platform index of which the engine holds amd64: the archive names
// the image, carries index, manifest, config and the new layer, and leaves
// out (and never reads) the big layer the target has and the other
// platform.
func TestWriteImageArchive(t *testing.T) {
	src := &memBlobs{blobs: map[string][]byte{}}
	base := src.add("application/vnd.oci.image.layer.v1.tar+gzip", []byte(strings.Repeat("b", 100000)))
	top := src.add("application/vnd.oci.image.layer.v1.tar+gzip", []byte("one line"))
	cfg := src.add("application/vnd.oci.image.config.v1+json", []byte(`{"architecture":"amd64","os":"linux"}`))
	man := src.add("application/vnd.oci.image.manifest.v1+json", mustJSON(t, map[string]any{
		"schemaVersion": 2, "config": cfg, "layers": []descriptor{base, top}}))
	man.Platform = &platformSpec{OS: "linux", Architecture: "amd64"}
	other := descriptor{MediaType: man.MediaType, Digest: "sha256:" + strings.Repeat("0", 64), Size: 10,
		Platform: &platformSpec{OS: "linux", Architecture: "arm64", Variant: "v8"}}
	att := descriptor{MediaType: man.MediaType, Digest: "sha256:" + strings.Repeat("1", 64), Size: 10,
		Platform: &platformSpec{OS: "unknown", Architecture: "unknown"}}
	root := src.add("application/vnd.oci.image.index.v1+json", mustJSON(t, map[string]any{
		"schemaVersion": 2, "manifests": []descriptor{other, att, man}}))

	var out bytes.Buffer
	st, err := writeImageArchive(context.Background(), &out, src, root, "docker.io/library/app:abc123", "linux/amd64", blobSet([]string{base.Digest}))
	if err != nil {
		t.Fatal(err)
	}
	got := names(t, out.Bytes())
	for _, d := range []descriptor{root, man, cfg, top} {
		if string(got[blobPath(d.Digest)]) != string(src.blobs[d.Digest]) {
			t.Errorf("%s missing or wrong in the archive", d.Digest)
		}
	}
	if _, ok := got[blobPath(base.Digest)]; ok {
		t.Errorf("the layer the target has was sent")
	}
	for _, d := range src.read {
		if d == base.Digest {
			t.Errorf("the layer the target has was read from the engine")
		}
	}
	if got["oci-layout"] != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout %q", got["oci-layout"])
	}
	var idx struct{ Manifests []descriptor }
	if err := json.Unmarshal([]byte(got["index.json"]), &idx); err != nil || len(idx.Manifests) != 1 {
		t.Fatalf("index.json %s: %v", got["index.json"], err)
	}
	if m := idx.Manifests[0]; m.Digest != root.Digest || m.Annotations["io.containerd.image.name"] != "docker.io/library/app:abc123" ||
		m.Annotations["org.opencontainers.image.ref.name"] != "abc123" {
		t.Errorf("index.json names %+v", m)
	}
	if st.Blobs != 5 || st.Skipped != 1 || st.Sent > 2000 || st.Read < 100000 {
		t.Errorf("stats %+v", st)
	}

	// No manifest for the platform: a clear error.
	if _, err := writeImageArchive(context.Background(), io.Discard, src, root, "docker.io/library/app:t", "linux/s390x", blobSet(nil)); err == nil ||
		!strings.Contains(err.Error(), "no manifest for linux/s390x") {
		t.Errorf("err = %v", err)
	}
	// A single manifest as the root (no index).
	out.Reset()
	man.Platform = nil
	if _, err := writeImageArchive(context.Background(), &out, src, man, "docker.io/library/app:t", "linux/amd64", blobSet(nil)); err != nil {
		t.Fatal(err)
	}
	if got := names(t, out.Bytes()); len(got) != 6 {
		t.Errorf("single-manifest archive entries %d, want 6", len(got))
	}
}

func TestEngineContainerdCandidates(t *testing.T) {
	info := system.Info{Containerd: &system.ContainerdInfo{Address: "/run/x.sock", Namespaces: system.ContainerdNamespaces{Containers: "moby"}}}
	got := engineContainerdCandidates(info, "/run/env.sock")
	if len(got) != 4 || got[0] != [2]string{"/run/x.sock", "moby"} || got[1] != [2]string{"/run/env.sock", "moby"} {
		t.Errorf("candidates %v", got)
	}
	if got := engineContainerdCandidates(system.Info{}, ""); len(got) != 2 {
		t.Errorf("candidates without info %v", got)
	}
}
