package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// project creates a directory with two build contexts (web, api), each with a
// Dockerfile, and two kustomize overlays (dev, prod), writes cfg as devloop.yaml and
// returns its path.
func project(t *testing.T, cfg string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"web/Dockerfile":                       "FROM scratch\n",
		"api/Dockerfile":                       "FROM scratch\n",
		"api/Dockerfile.prod":                  "FROM scratch\n",
		"k8s/overlays/dev/kustomization.yaml":  "resources: []\n",
		"k8s/overlays/prod/kustomization.yaml": "resources: []\n",
		"k8s/overlays/staging/Kustomization":   "resources: []\n",
		"k8s/overlays/empty/README":            "no kustomization here\n",
		"devloop.yaml":                         cfg,
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "devloop.yaml")
}

// configErrors returns the *Error values of err, failing when err is not an ErrorList.
func configErrors(t *testing.T, err error) ErrorList {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error, got none")
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v (%T) is not an ErrorList", err, err)
	}
	var first *Error
	if !errors.As(err, &first) || first != list[0] {
		t.Fatalf("errors.As(*Error) does not find the first error of %v", err)
	}
	return list
}

// wantError is an expected error: position and a piece of its message.
type wantError struct {
	line, col int
	msg       string
}

func checkErrors(t *testing.T, err error, want []wantError) {
	t.Helper()
	got := configErrors(t, err)
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(got), len(want), err)
	}
	for i, w := range want {
		g := got[i]
		if g.Line != w.line || g.Column != w.col || !strings.Contains(g.Msg, w.msg) {
			t.Errorf("error %d: got %d:%d %q, want %d:%d containing %q", i, g.Line, g.Column, g.Msg, w.line, w.col, w.msg)
		}
		if !strings.HasSuffix(g.File, "devloop.yaml") {
			t.Errorf("error %d names file %q, want devloop.yaml", i, g.File)
		}
	}
}

// minimal is a valid configuration to start bad cases from.
const minimal = `apiVersion: devloop.dev/v1alpha1
kind: Config
metadata:
  name: notes
build:
  artifacts:
    - image: notes-web
      context: web
deploy:
  kustomize:
    path: k8s/overlays/dev
`
