package helper

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestContextIsNamedByItsContentAndHasNoTests(t *testing.T) {
	base := t.TempDir()
	dir, err := Context(base)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Context(base)
	if err != nil || again != dir {
		t.Fatalf("second Context = %s, %v; want the same directory %s", again, err, dir)
	}
	for _, f := range []string{"Dockerfile", "go.mod", "main.go", "recv.go", "supervise.go"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s missing: %v", f, err)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if len(matches) > 0 {
		t.Errorf("tests in the build context: %v", matches)
	}
	df, _ := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if !strings.Contains(string(df), "FROM scratch") || !strings.Contains(string(df), "CGO_ENABLED=0") {
		t.Errorf("Dockerfile:\n%s", df)
	}
	entries, _ := os.ReadDir(base)
	if len(entries) != 1 {
		t.Errorf("%d entries under the base, want 1 (no temporary directory left)", len(entries))
	}
}
