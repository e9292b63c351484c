package docker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func envOf(m map[string]string) Getenv { return func(k string) string { return m[k] } }

func writeContext(t *testing.T, cfg, name, host string) {
	t.Helper()
	dir := filepath.Join(cfg, "contexts", "meta", contextDir(name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	meta := `{"Name":"` + name + `","Metadata":{},"Endpoints":{"docker":{"Host":"` + host + `","SkipTLSVerify":false}}}`
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestResolve(t *testing.T) {
	cfg := t.TempDir()
	writeContext(t, cfg, "colima", "unix:///home/u/.colima/default/docker.sock")
	writeContext(t, cfg, "other", "tcp://127.0.0.1:2376")
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"auths":{},"currentContext":"colima"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// sha256("default") is the directory the docker CLI uses; check the scheme once.
	if got := contextDir("default"); got != "37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f" {
		t.Fatalf("contextDir(default) = %s", got)
	}
	cases := []struct {
		name    string
		env     map[string]string
		host    string
		context string
	}{
		{"DOCKER_HOST wins", map[string]string{"DOCKER_CONFIG": cfg, "DOCKER_HOST": "unix:///run/x.sock", "DOCKER_CONTEXT": "other"}, "unix:///run/x.sock", ""},
		{"DOCKER_CONTEXT over currentContext", map[string]string{"DOCKER_CONFIG": cfg, "DOCKER_CONTEXT": "other"}, "tcp://127.0.0.1:2376", "other"},
		{"currentContext", map[string]string{"DOCKER_CONFIG": cfg}, "unix:///home/u/.colima/default/docker.sock", "colima"},
		{"default context", map[string]string{"DOCKER_CONFIG": cfg, "DOCKER_CONTEXT": "default"}, DefaultHost, ""},
		{"no config", map[string]string{"DOCKER_CONFIG": t.TempDir()}, DefaultHost, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ep, err := Resolve(envOf(c.env))
			if err != nil {
				t.Fatal(err)
			}
			if ep.Host != c.host || ep.Context != c.context {
				t.Fatalf("got host %q context %q, want %q %q", ep.Host, ep.Context, c.host, c.context)
			}
		})
	}
	if _, err := Resolve(envOf(map[string]string{"DOCKER_CONFIG": cfg, "DOCKER_CONTEXT": "missing"})); err == nil || !strings.Contains(err.Error(), `"missing"`) {
		t.Fatalf("missing context: err = %v", err)
	}
}

func TestCommandEnv(t *testing.T) {
	ep := Endpoint{Host: "tcp://h:1", Context: "other", ConfigDir: "/cfg"}
	env := MergeEnv([]string{"PATH=/bin", "DOCKER_HOST=unix:///stale.sock", "DOCKER_CONFIG=/old"}, ep.CommandEnv())
	slices.Sort(env)
	want := []string{"DOCKER_CONFIG=/cfg", "DOCKER_CONTEXT=other", "PATH=/bin"}
	if !slices.Equal(env, want) {
		t.Fatalf("env = %v, want %v", env, want)
	}
}

func TestConnectNoEngine(t *testing.T) {
	ep := Endpoint{Host: "unix://" + filepath.Join(t.TempDir(), "none.sock"), Source: "test"}
	_, err := Connect(context.Background(), ep)
	var ne *NoEngineError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "no Docker Engine at unix://") || !strings.Contains(err.Error(), "is it running?") {
		t.Fatalf("err = %v", err)
	}
}
