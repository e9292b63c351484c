package buildcontext

import (
	"os"
	"path/filepath"
	"testing"
)

func write(t testing.TB, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadPrefersDockerfileSpecificIgnore(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ".dockerignore", "a.txt\n")
	write(t, dir, "build/app.Dockerfile", "FROM scratch\n")
	write(t, dir, "build/app.Dockerfile.dockerignore", "# comment\nb.txt\n")

	c, err := Load(dir, "build/app.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if c.IgnoreFile != filepath.Join(dir, "build/app.Dockerfile.dockerignore") {
		t.Fatalf("ignore file = %q", c.IgnoreFile)
	}
	if c.Excluded("a.txt") || !c.Excluded("b.txt") {
		t.Fatalf("a.txt excluded=%v b.txt excluded=%v, want false/true", c.Excluded("a.txt"), c.Excluded("b.txt"))
	}

	c, err = Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.IgnoreFile != filepath.Join(dir, ".dockerignore") || !c.Excluded("a.txt") || c.Excluded("b.txt") {
		t.Fatalf("default Dockerfile: ignore file %q, a=%v b=%v", c.IgnoreFile, c.Excluded("a.txt"), c.Excluded("b.txt"))
	}
	if c.Dockerfile != filepath.Join(dir, "Dockerfile") {
		t.Fatalf("dockerfile = %q", c.Dockerfile)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing"), ""); err == nil {
		t.Fatal("missing context: want error")
	}
	write(t, dir, "file", "x")
	if _, err := Load(filepath.Join(dir, "file"), ""); err == nil {
		t.Fatal("context is a file: want error")
	}
	write(t, dir, "bad/.dockerignore", "[\n")
	if _, err := Load(filepath.Join(dir, "bad"), ""); err == nil {
		t.Fatal("bad pattern: want error")
	}
}

func TestExcludedAndSkipDir(t *testing.T) {
	c, err := NewFromPatterns("/ctx", "/ctx/Dockerfile", []string{
		"node_modules", "**/*.log", "docs", "!docs/keep.md", "tmp/*", "build", "!build/out/**/*.bin",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rel            string
		excluded, skip bool
	}{
		{"main.go", false, false},
		{"node_modules", true, true},
		{"node_modules/x/y.js", true, true},
		{"a/b/c.log", true, true},
		{"docs", true, false},
		{"docs/keep.md", false, false},
		{"docs/other.md", true, true},
		{"docs/sub", true, true},
		{"tmp", false, false},
		{"tmp/x", true, true},
		{"build", true, false},
		{"build/out", true, false},
		{"build/out/a/b", true, false},
		{"build/other", true, true},
		{"./main.go", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := c.Excluded(tt.rel); got != tt.excluded {
			t.Errorf("Excluded(%q) = %v, want %v", tt.rel, got, tt.excluded)
		}
		if got := c.SkipDir(tt.rel); got != tt.skip {
			t.Errorf("SkipDir(%q) = %v, want %v", tt.rel, got, tt.skip)
		}
	}
}

func TestIgnoreKeepsBuildFiles(t *testing.T) {
	c, err := NewFromPatterns("/ctx", "/ctx/Dockerfile", []string{"*", "!src"})
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"Dockerfile", ".dockerignore"} {
		if c.Ignore(rel, false) {
			t.Errorf("Ignore(%q) = true, want false (it defines the build)", rel)
		}
	}
	if !c.Ignore("README.md", false) {
		t.Error("Ignore(README.md) = false, want true")
	}
	if c.Ignore("src", true) || c.Ignore("src/a.go", false) {
		t.Error("src is re-included and must not be ignored")
	}
	if !c.Ignore("vendor", true) {
		t.Error("Ignore(vendor dir) = false, want true")
	}
}
