// Package teams holds the end-to-end tests of devloop past one laptop:
// builds on the buildx kubernetes driver in the test cluster and
// on a remote BuildKit over TLS, per-person namespaces, and the refusal to
// share a namespace with another devloop config. The builders come from
// hack/env/builders.sh (make env-up).
package teams

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

type result = testenv.Result

// devloop runs the binary in dir with extra environment entries; a hang or
// a panic fails the test.
func devloop(t testing.TB, dir string, env []string, timeout time.Duration, args ...string) result {
	t.Helper()
	return testenv.RunDevloop(t, dir, env, timeout, args...)
}

func events(t testing.TB, stdout string) []devproc.Event {
	t.Helper()
	evs, err := devproc.ParseEvents(stdout)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// doneBuilds returns the build done events by artifact.
func doneBuilds(evs []devproc.Event) map[string]devproc.Event {
	m := map[string]devproc.Event{}
	for _, e := range evs {
		if e.Phase == "build" && e.Status == "done" && e.Artifact != "" {
			m[e.Artifact] = e
		}
	}
	return m
}

func tail(s string, n int) string { return testenv.Tail(s, n) }

func writeFile(t testing.TB, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// edit replaces old by new in dir/rel, failing when old is absent.
func edit(t testing.TB, dir, rel, old, new string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", rel, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// requireBuilder returns the builder named by the variable, skipping the
// test when the environment was brought up without it (hack/env/builders.sh
// makes it; make test runs env-up, which does).
func requireBuilder(t testing.TB, env *testenv.Env, variable string) string {
	t.Helper()
	name := os.Getenv(variable)
	if name == "" {
		t.Skipf("%s is not set: the environment has no such builder (hack/env/builders.sh up; make env-up makes it)", variable)
	}
	if out, err := env.Command(context.Background(), "docker", "buildx", "inspect", name).CombinedOutput(); err != nil {
		t.Skipf("buildx builder %s (%s) is absent: %s (hack/env/builders.sh up; make env-up makes it)", name, variable, strings.TrimSpace(string(out)))
	}
	return name
}

// manifest returns the media type and body of a manifest in the registry.
func manifest(t testing.TB, env *testenv.Env, repo, ref string) (string, string) {
	t.Helper()
	out, err := env.Command(context.Background(), "curl", "-fsS", "-D", "-",
		"-H", "Accept: application/vnd.oci.image.index.v1+json",
		"-H", "Accept: application/vnd.docker.distribution.manifest.list.v2+json",
		"-H", "Accept: application/vnd.oci.image.manifest.v1+json",
		"-H", "Accept: application/vnd.docker.distribution.manifest.v2+json",
		"http://"+env.Registry+"/v2/"+repo+"/manifests/"+ref).CombinedOutput()
	if err != nil {
		t.Fatalf("registry has no %s:%s: %v\n%s", repo, ref, err, out)
	}
	head, body, _ := strings.Cut(strings.ReplaceAll(string(out), "\r", ""), "\n\n")
	for _, l := range strings.Split(head, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "content-type") {
			return strings.TrimSpace(v), body
		}
	}
	return "", body
}
