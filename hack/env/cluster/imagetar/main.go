// Command imagetar packs one static binary into a single-layer image FROM
// scratch and writes it as a docker-archive tarball that `ctr images import`
// and `docker load` accept, without needing a Docker engine.
//
//	imagetar -bin pause -path /pause -tag devloop.dev/pause:1 -o pause.tar
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	bin := flag.String("bin", "", "the static binary to pack")
	path := flag.String("path", "/pause", "its path inside the image; also the entrypoint")
	tag := flag.String("tag", "", "the image reference to record in the tarball")
	out := flag.String("o", "", "the tarball to write")
	flag.Parse()
	if err := run(*bin, *path, *tag, *out); err != nil {
		fmt.Fprintln(os.Stderr, "imagetar:", err)
		os.Exit(1)
	}
}

func run(bin, path, tag, out string) error {
	if bin == "" || tag == "" || out == "" {
		return fmt.Errorf("-bin, -tag and -o are required")
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return fmt.Errorf("reading the binary: %w", err)
	}
	layerTar, err := tarOf(path, data)
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return fmt.Errorf("making the layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return fmt.Errorf("appending the layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading the config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS = "linux"
	cfg.Architecture = runtime.GOARCH
	cfg.Config = v1.Config{Entrypoint: []string{path}}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return fmt.Errorf("setting the config: %w", err)
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("parsing the tag: %w", err)
	}
	tmp := out + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		return fmt.Errorf("writing the tarball: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("renaming the tarball: %w", err)
	}
	return nil
}

// tarOf returns a layer tarball holding data as an executable file at path.
func tarOf(path string, data []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: path[1:], Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, fmt.Errorf("writing the layer header: %w", err)
	}
	if _, err := tw.Write(data); err != nil {
		return nil, fmt.Errorf("writing the layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing the layer: %w", err)
	}
	return buf.Bytes(), nil
}
