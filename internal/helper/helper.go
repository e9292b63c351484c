// Package helper makes the build context of devloop's in-container helper
// (the program in ./agent): `devloop dev` builds it into an image like any
// artifact, content-hashed, and injects it into the pods of artifacts whose
// sync rules restart the process (see deploy.InjectHelper).
//
// Why built and not embedded as binaries: the sources are a few kilobytes
// of stdlib-only Go, so the devloop binary stays one file with nothing
// prebuilt for each architecture, and the image is built for whatever
// platform the cluster's nodes run, by the same builder as the app's images
// (cross-compiled, never emulated). The cost is one Go build the first time
// (the tag is the hash of the sources: later sessions find it built).
package helper

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Image is the helper image's name (the artifact name in devloop's events).
const Image = "devloop-helper"

//go:embed agent/*.go
var sources embed.FS

// dockerfile builds the helper statically for the target platform on the
// builder's own one, into an image with nothing else.
const dockerfile = `FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
ENV CGO_ENABLED=0 GOPROXY=off GOFLAGS=-trimpath
COPY . .
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -ldflags="-s -w" -o /devloop-helper .

FROM scratch
COPY --from=build /devloop-helper /devloop-helper
ENTRYPOINT ["/devloop-helper"]
`

const gomod = "module devloop-helper\n\ngo 1.22\n"

// Context writes the helper's build context (its sources, go.mod and
// Dockerfile) under base, in a directory named by their hash, and returns
// that directory. An existing one is reused.
func Context(base string) (string, error) {
	files, err := contextFiles()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, name := range sortedKeys(files) {
		fmt.Fprintf(h, "%s\x00%d\x00%s", name, len(files[name]), files[name])
	}
	dir := filepath.Join(base, "helper-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, "Dockerfile")); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(base, ".helper-")
	if err != nil {
		return "", fmt.Errorf("making the helper's build context: %w", err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), body, 0o644); err != nil {
			_ = os.RemoveAll(tmp)
			return "", fmt.Errorf("writing the helper's build context: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.RemoveAll(tmp)
		if _, serr := os.Stat(filepath.Join(dir, "Dockerfile")); serr == nil {
			return dir, nil // written meanwhile by another devloop
		}
		return "", fmt.Errorf("writing the helper's build context: %w", err)
	}
	return dir, nil
}

// contextFiles are the files of the context by name: the agent's sources
// without its tests, go.mod and the Dockerfile.
func contextFiles() (map[string][]byte, error) {
	files := map[string][]byte{"Dockerfile": []byte(dockerfile), "go.mod": []byte(gomod)}
	entries, err := fs.ReadDir(sources, "agent")
	if err != nil {
		return nil, fmt.Errorf("reading the helper's sources: %w", err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		b, err := sources.ReadFile("agent/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("reading the helper's sources: %w", err)
		}
		files[e.Name()] = b
	}
	return files, nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
