package smoke

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// dockerRun runs the docker CLI against the environment and returns its
// combined output; the test fails when docker fails.
func dockerRun(t *testing.T, env *testenv.Env, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	out, err := env.Command(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// dockerImageName returns an image name unique to this test run.
func dockerImageName(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random name: %v", err)
	}
	return "devloop-smoke/" + prefix + "-" + hex.EncodeToString(b)
}

// dockerContext writes files into a fresh build context directory.
func dockerContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatalf("writing %s: %v", name, err)
		}
	}
	return dir
}

// dockerRemoveImage removes an image from the engine when the test ends.
func dockerRemoveImage(t *testing.T, env *testenv.Env, ref string) {
	t.Cleanup(func() {
		_ = env.Command(context.Background(), "docker", "image", "rm", "-f", ref).Run()
	})
}

// An image built with buildx's docker driver for linux/arm64 is an arm64
// image, and its RUN step ran an arm64 userland (under qemu).
func TestDockerBuildxArm64(t *testing.T) {
	env := testenv.Require(t)
	ref := dockerImageName(t, "arm64") + ":smoke"
	dockerRemoveImage(t, env, ref)
	dir := dockerContext(t, map[string]string{
		"Dockerfile": "FROM debian:bookworm-slim\nRUN uname -m > /uname-m.txt\n",
	})
	dockerRun(t, env, "buildx", "build", "--builder", "default", "--platform", "linux/arm64",
		"--load", "-t", ref, dir)

	if arch := strings.TrimSpace(dockerRun(t, env, "image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", ref)); arch != "linux/arm64" {
		t.Errorf("image platform = %q, want linux/arm64", arch)
	}
	if got := strings.TrimSpace(dockerRun(t, env, "run", "--rm", "--platform", "linux/arm64", ref, "cat", "/uname-m.txt")); got != "aarch64" {
		t.Errorf("uname -m in the RUN step = %q, want aarch64", got)
	}
}

// A multi-platform build with the remote BuildKit builder, pushed to the local
// registry, is an index naming both platforms.
func TestDockerMultiPlatformPush(t *testing.T) {
	env := testenv.Require(t)
	if env.MultiBuilder == "" {
		t.Fatal("DEVLOOP_BUILDER_MULTI is not set")
	}
	repo := dockerImageName(t, "multi")
	ref := env.Registry + "/" + repo + ":smoke"
	dir := dockerContext(t, map[string]string{
		"Dockerfile": "FROM debian:bookworm-slim\nRUN uname -m > /uname-m.txt\n",
	})
	dockerRun(t, env, "buildx", "build", "--builder", env.MultiBuilder,
		"--platform", "linux/amd64,linux/arm64", "--provenance=false", "--sbom=false",
		"--push", "-t", ref, dir)

	idx, digest := registryIndex(t, env.Registry, repo, "smoke")
	t.Cleanup(func() { registryDelete(t, env.Registry, repo, digest) })
	got := map[string]bool{}
	for _, m := range idx.Manifests {
		got[m.Platform.OS+"/"+m.Platform.Architecture] = true
	}
	for _, want := range []string{"linux/amd64", "linux/arm64"} {
		if !got[want] {
			t.Errorf("index of %s lacks %s; has %v", ref, want, got)
		}
	}
}

type imageIndex struct {
	MediaType string `json:"mediaType"`
	Manifests []struct {
		Digest   string `json:"digest"`
		Platform struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
		} `json:"platform"`
	} `json:"manifests"`
}

// registryIndex fetches the image index of repo:tag from the registry's HTTP
// API and returns it with its digest.
func registryIndex(t *testing.T, registry, repo, tag string) (imageIndex, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/v2/%s/manifests/%s", registry, repo, tag), nil)
	if err != nil {
		t.Fatalf("manifest request: %v", err)
	}
	req.Header.Add("Accept", "application/vnd.oci.image.index.v1+json")
	req.Header.Add("Accept", "application/vnd.docker.distribution.manifest.list.v2+json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("getting manifest of %s:%s: %v", repo, tag, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("getting manifest of %s:%s: status %s", repo, tag, resp.Status)
	}
	var idx imageIndex
	if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil {
		t.Fatalf("decoding manifest of %s:%s: %v", repo, tag, err)
	}
	if !strings.Contains(idx.MediaType+resp.Header.Get("Content-Type"), "index") &&
		!strings.Contains(idx.MediaType+resp.Header.Get("Content-Type"), "manifest.list") {
		t.Fatalf("%s:%s is not an index: media type %q", repo, tag, resp.Header.Get("Content-Type"))
	}
	return idx, resp.Header.Get("Docker-Content-Digest")
}

// registryDelete deletes a manifest from the registry (best effort).
func registryDelete(t *testing.T, registry, repo, digest string) {
	if digest == "" {
		return
	}
	req, err := http.NewRequest(http.MethodDelete, fmt.Sprintf("http://%s/v2/%s/manifests/%s", registry, repo, digest), nil)
	if err != nil {
		return
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Logf("deleting %s@%s: %v", repo, digest, err)
		return
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Logf("deleting %s@%s: status %s", repo, digest, resp.Status)
	}
}

// The base images resolve offline as users name them: from the engine's image
// store with the docker driver, and through the registry (BuildKit's docker.io
// mirror) with the remote builder.
func TestDockerBaseImagesOffline(t *testing.T) {
	env := testenv.Require(t)
	cases := []struct {
		name    string
		builder string // "" = the engine's docker driver
		files   map[string]string
		run     []string
		want    string
	}{
		{
			name: "golang",
			files: map[string]string{
				"Dockerfile": "FROM golang:1.26\nWORKDIR /src\nCOPY main.go .\n" +
					"RUN go mod init example.com/hello && CGO_ENABLED=0 go build -o /hello .\n" +
					"FROM debian:bookworm-slim\nCOPY --from=0 /hello /hello\nCMD [\"/hello\"]\n",
				"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from go\") }\n",
			},
			want: "hello from go",
		},
		{
			name: "python",
			files: map[string]string{
				"Dockerfile":       "FROM python:3.11-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"-c\", \"import flask, pymongo, gunicorn; print('flask', flask.__name__)\"]\n",
				"requirements.txt": "flask\npymongo\ngunicorn\n",
			},
			want: "flask flask",
		},
		{
			name:    "debian-remote",
			builder: "multi",
			files: map[string]string{
				"Dockerfile": "FROM debian:bookworm-slim\nRUN . /etc/os-release && echo \"$VERSION_CODENAME\" > /codename\nCMD [\"cat\", \"/codename\"]\n",
			},
			want: "bookworm",
		},
	}
	bases := []string{"golang:1.26", "python:3.11-slim", "debian:bookworm-slim"}
	before := map[string]string{}
	for _, b := range bases {
		before[b] = strings.TrimSpace(dockerRun(t, env, "image", "inspect", "-f", "{{.Id}}", b))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := dockerImageName(t, tc.name) + ":smoke"
			dockerRemoveImage(t, env, ref)
			builder := "default"
			if tc.builder == "multi" {
				builder = env.MultiBuilder
			}
			dockerRun(t, env, "buildx", "build", "--builder", builder, "--load", "-t", ref, dockerContext(t, tc.files))
			if got := strings.TrimSpace(dockerRun(t, env, "run", "--rm", ref)); got != tc.want {
				t.Errorf("output of %s = %q, want %q", ref, got, tc.want)
			}
		})
	}
	// The builds used the images in the store; nothing replaced them.
	for _, b := range bases {
		if after := strings.TrimSpace(dockerRun(t, env, "image", "inspect", "-f", "{{.Id}}", b)); after != before[b] {
			t.Errorf("%s changed during the builds: %s -> %s", b, before[b], after)
		}
	}
}
