package deliver

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/devloop-dev/devloop/internal/build"
)

// descriptor is an OCI content descriptor, as index.json and manifests
// hold them.
type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *platformSpec     `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type platformSpec struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

// blobSource gives a blob's content by digest (the engine's containerd).
type blobSource interface {
	copyBlob(ctx context.Context, w io.Writer, digest string) error
}

func isIndex(mediaType string) bool {
	return mediaType == "application/vnd.oci.image.index.v1+json" ||
		mediaType == "application/vnd.docker.distribution.manifest.list.v2+json"
}

func readJSONBlob(ctx context.Context, src blobSource, d descriptor) ([]byte, error) {
	if d.Size > 4<<20 {
		return nil, fmt.Errorf("%s is %d bytes: too big for a manifest", d.Digest, d.Size)
	}
	var buf bytes.Buffer
	if err := src.copyBlob(ctx, &buf, d.Digest); err != nil {
		return nil, err
	}
	if int64(buf.Len()) != d.Size {
		return nil, fmt.Errorf("%s: read %d bytes, its descriptor says %d", d.Digest, buf.Len(), d.Size)
	}
	return buf.Bytes(), nil
}

// imagePlan is the content of one platform of an image: the small JSON
// blobs (index, manifest, config) with their bytes, and the layers.
type imagePlan struct {
	meta   []descriptor
	data   map[string][]byte
	layers []descriptor
}

// planImage walks root (an index or a manifest) down to the manifest of
// platform, its config and layers.
func planImage(ctx context.Context, src blobSource, root descriptor, platform string) (imagePlan, error) {
	p := imagePlan{data: map[string][]byte{}}
	want := build.NormalizePlatform(platform)
	m := root
	if isIndex(root.MediaType) {
		b, err := readJSONBlob(ctx, src, root)
		if err != nil {
			return p, err
		}
		p.meta, p.data[root.Digest] = append(p.meta, root), b
		var idx struct{ Manifests []descriptor }
		if err := json.Unmarshal(b, &idx); err != nil {
			return p, fmt.Errorf("parsing the index %s: %w", root.Digest, err)
		}
		m = descriptor{}
		for _, c := range idx.Manifests {
			if c.Platform == nil || isIndex(c.MediaType) {
				continue
			}
			got := build.NormalizePlatform(strings.Join(nonEmpty(c.Platform.OS, c.Platform.Architecture, c.Platform.Variant), "/"))
			if got == want {
				m = c
				break
			}
		}
		if m.Digest == "" {
			return p, fmt.Errorf("the index %s has no manifest for %s", root.Digest, platform)
		}
	}
	b, err := readJSONBlob(ctx, src, m)
	if err != nil {
		return p, err
	}
	p.meta, p.data[m.Digest] = append(p.meta, m), b
	var man struct {
		Config descriptor
		Layers []descriptor
	}
	if err := json.Unmarshal(b, &man); err != nil {
		return p, fmt.Errorf("parsing the manifest %s: %w", m.Digest, err)
	}
	if man.Config.Digest == "" {
		return p, fmt.Errorf("the manifest %s names no config", m.Digest)
	}
	if b, err = readJSONBlob(ctx, src, man.Config); err != nil {
		return p, err
	}
	p.meta, p.data[man.Config.Digest] = append(p.meta, man.Config), b
	p.layers = man.Layers
	return p, nil
}

// writeImageArchive writes an OCI layout of one platform of the image root
// to w, named full, with the index, manifest and config and only the
// layers the target lacks: containerd's importer takes the others from its
// content store.
func writeImageArchive(ctx context.Context, w io.Writer, src blobSource, root descriptor, full, platform string, have haveBlob) (archiveStats, error) {
	var st archiveStats
	p, err := planImage(ctx, src, root, platform)
	if err != nil {
		return st, err
	}
	tag := full[strings.LastIndex(full, "/")+1:]
	if i := strings.LastIndex(tag, ":"); i >= 0 {
		tag = tag[i+1:]
	}
	named := root
	named.Platform = nil
	named.Annotations = map[string]string{"io.containerd.image.name": full, "org.opencontainers.image.ref.name": tag}
	index, err := json.Marshal(struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Manifests     []descriptor `json:"manifests"`
	}{2, "application/vnd.oci.image.index.v1+json", []descriptor{named}})
	if err != nil {
		return st, err
	}
	tw := tar.NewWriter(w)
	file := func(name string, size int64, body func(io.Writer) error) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o444, Size: size}); err != nil {
			return fmt.Errorf("writing the archive for containerd: %w", err)
		}
		st.Read += size
		st.Sent += size
		return body(tw)
	}
	bytesOf := func(b []byte) func(io.Writer) error {
		return func(w io.Writer) error { _, err := w.Write(b); return err }
	}
	if err := file("oci-layout", int64(len(`{"imageLayoutVersion":"1.0.0"}`)), bytesOf([]byte(`{"imageLayoutVersion":"1.0.0"}`))); err != nil {
		return st, err
	}
	if err := file("index.json", int64(len(index)), bytesOf(index)); err != nil {
		return st, err
	}
	for _, d := range p.meta {
		st.Blobs++
		if err := file(blobPath(d.Digest), d.Size, bytesOf(p.data[d.Digest])); err != nil {
			return st, err
		}
	}
	for _, l := range p.layers {
		st.Blobs++
		ok, err := have(ctx, l.Digest)
		if err != nil {
			return st, err
		}
		if ok {
			st.Skipped++
			st.Read += l.Size
			continue
		}
		if err := file(blobPath(l.Digest), l.Size, func(w io.Writer) error { return src.copyBlob(ctx, w, l.Digest) }); err != nil {
			return st, err
		}
	}
	if err := tw.Close(); err != nil {
		return st, fmt.Errorf("writing the archive for containerd: %w", err)
	}
	return st, nil
}

// blobPath is where an OCI layout keeps a blob: sha256:<hex> → blobs/sha256/<hex>.
func blobPath(digest string) string {
	return "blobs/" + strings.Replace(digest, ":", "/", 1)
}
