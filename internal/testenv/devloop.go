package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// RepoRoot is the repository's top directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testenv: cannot locate the repository")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var buildOnce struct {
	sync.Once
	path string
	err  error
}

// Binary returns the path of a devloop binary built from this checkout
// (once per test process, into a temporary directory).
func Binary(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "devloop-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "devloop")
		cmd := exec.Command("go", "build", "-o", buildOnce.path, "./cmd/devloop")
		cmd.Dir = root
		// As make build: the binary users get (see the Makefile's build).
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildOnce.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatalf("testenv: building devloop: %v", buildOnce.err)
	}
	return buildOnce.path
}

// CopyExample copies examples/<name> into a temporary directory and renames
// its configuration (metadata.name) and the namespace of its dev overlay
// (k8s/overlays/dev: the kustomization's namespace and its Namespace object)
// to one unique name, so that tests running at the same time never share
// objects. It returns the directory and the new name (also the namespace).
func CopyExample(t testing.TB, name string) (dir, configName string) {
	t.Helper()
	src := filepath.Join(RepoRoot(t), "examples", name)
	dir = t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("testenv: copying example %s: %v", name, err)
	}
	configName = strings.ToLower(fmt.Sprintf("%s-%s%s", name, time.Now().Format("150405"), randSuffix()))
	cfgPath := filepath.Join(dir, "devloop.yaml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	re := regexp.MustCompile(`(?m)^(metadata:\s*\n\s+name:\s*)\S+`)
	if !re.Match(b) {
		t.Fatalf("testenv: no metadata.name in %s", cfgPath)
	}
	b = re.ReplaceAll(b, []byte("${1}"+configName))
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	overlay := filepath.Join(dir, "k8s", "overlays", "dev")
	for file, re := range map[string]*regexp.Regexp{
		"kustomization.yaml": regexp.MustCompile(`(?m)^(namespace:\s*)\S+`),
		"namespace.yaml":     regexp.MustCompile(`(?m)^(\s+name:\s*)\S+`),
	} {
		p := filepath.Join(overlay, file)
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if err := os.WriteFile(p, re.ReplaceAll(b, []byte("${1}"+configName)), 0o644); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	return dir, configName
}

// Result is a finished devloop command.
type Result struct {
	Code           int
	Stdout, Stderr string
	Elapsed        time.Duration
}

// Devloop runs devloop with args in dir and returns its exit code and output;
// the test fails only if the process cannot be started.
func (e *Env) Devloop(t testing.TB, dir string, timeout time.Duration, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary(t), args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		res.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("devloop %s: %v", strings.Join(args, " "), err)
	}
	return res
}
