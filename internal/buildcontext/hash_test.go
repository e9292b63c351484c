package buildcontext

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ageFiles sets every file's mtime an hour back so that digests are cacheable
// (files modified in the last moments are deliberately not cached).
func ageFiles(t testing.TB, dir string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return nil
		}
		return os.Chtimes(p, old, old)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func hashDir(t testing.TB, h *Hasher, dir string, in Inputs) Result {
	t.Helper()
	c, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.Hash(context.Background(), c, in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sampleContext(t testing.TB) string {
	dir := t.TempDir()
	write(t, dir, "Dockerfile", "FROM scratch\nCOPY . /\n")
	write(t, dir, ".dockerignore", "*.log\n")
	write(t, dir, "app/main.go", "package main\n")
	write(t, dir, "app/lib/util.go", "package lib\n")
	write(t, dir, "with space/ünï\xffcode.txt", "bytes")
	write(t, dir, "debug.log", "noise")
	if err := os.Symlink("app", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(".", filepath.Join(dir, "app", "loop")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestHashIgnoresLocationAndTimes(t *testing.T) {
	a, b := sampleContext(t), sampleContext(t)
	ageFiles(t, b)
	ra := hashDir(t, NewHasher(), a, Inputs{})
	rb := hashDir(t, NewHasher(), b, Inputs{})
	if ra.Digest != rb.Digest {
		t.Fatalf("same content in two places: %s != %s\n%v", ra.Digest, rb.Digest, Diff(ra.Manifest, rb.Manifest))
	}
	if tag := ra.Digest.Tag(); len(tag) != TagLength || strings.Trim(tag, "0123456789abcdef") != "" {
		t.Fatalf("tag %q is not %d hex digits", tag, TagLength)
	}
	for _, p := range []string{"app/main.go", "link", "app/loop", "with space/ünï\xffcode.txt", "app", ".dockerignore", "Dockerfile"} {
		if _, ok := ra.Manifest.Lookup(p); !ok {
			t.Errorf("manifest lacks %q", p)
		}
	}
	if _, ok := ra.Manifest.Lookup("debug.log"); ok {
		t.Error("manifest holds the excluded debug.log")
	}
}

func TestHashChangesWithEveryInput(t *testing.T) {
	dir := sampleContext(t)
	h := NewHasher()
	base := hashDir(t, h, dir, Inputs{BuildArgs: map[string]string{"A": "1"}, Platforms: []string{"linux/amd64", "linux/arm64"}})

	same := hashDir(t, h, dir, Inputs{BuildArgs: map[string]string{"A": "1"}, Platforms: []string{"linux/arm64", "linux/amd64"}})
	if same.Digest != base.Digest {
		t.Fatal("platform order changed the hash")
	}
	write(t, dir, "debug.log", "other noise")
	if r := hashDir(t, h, dir, Inputs{BuildArgs: map[string]string{"A": "1"}, Platforms: []string{"linux/amd64", "linux/arm64"}}); r.Digest != base.Digest {
		t.Fatal("an excluded file changed the hash")
	}

	mutations := map[string]func() Inputs{
		"content": func() Inputs { write(t, dir, "app/main.go", "package main // edit\n"); return Inputs{} },
		"exec bit": func() Inputs {
			if err := os.Chmod(filepath.Join(dir, "app/main.go"), 0o755); err != nil {
				t.Fatal(err)
			}
			return Inputs{}
		},
		"symlink target": func() Inputs {
			os.Remove(filepath.Join(dir, "link"))
			if err := os.Symlink("app/lib", filepath.Join(dir, "link")); err != nil {
				t.Fatal(err)
			}
			return Inputs{}
		},
		"new empty dir": func() Inputs {
			if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
				t.Fatal(err)
			}
			return Inputs{}
		},
		"dockerfile": func() Inputs { write(t, dir, "Dockerfile", "FROM scratch\n"); return Inputs{} },
		"build arg":  func() Inputs { return Inputs{BuildArgs: map[string]string{"A": "2"}} },
		"target":     func() Inputs { return Inputs{Target: "dev"} },
		"platforms":  func() Inputs { return Inputs{Platforms: []string{"linux/arm64"}} },
	}
	seen := map[Digest]string{}
	prev := hashDir(t, h, dir, Inputs{})
	seen[prev.Digest] = "start"
	for _, name := range []string{"content", "exec bit", "symlink target", "new empty dir", "dockerfile", "build arg", "target", "platforms"} {
		in := mutations[name]()
		r := hashDir(t, h, dir, in)
		if other, dup := seen[r.Digest]; dup {
			t.Errorf("after %s the hash equals the one after %s", name, other)
		}
		seen[r.Digest] = name
	}
}

func TestHashDockerfileOutsideContext(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "ctx/a.txt", "a")
	write(t, dir, "docker/app.Dockerfile", "FROM scratch\n")
	c, err := Load(filepath.Join(dir, "ctx"), filepath.Join(dir, "docker/app.Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	h := NewHasher()
	r1, err := h.Hash(context.Background(), c, Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "docker/app.Dockerfile", "FROM scratch\nCOPY a.txt /\n")
	r2, err := h.Hash(context.Background(), c, Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Digest == r2.Digest {
		t.Fatal("editing the Dockerfile outside the context left the hash unchanged")
	}
	os.Remove(filepath.Join(dir, "docker/app.Dockerfile"))
	if _, err := h.Hash(context.Background(), c, Inputs{}); err == nil || !strings.Contains(err.Error(), "app.Dockerfile") {
		t.Fatalf("missing Dockerfile: err = %v, want one naming it", err)
	}
}

func TestHashCacheReadsNothingWhenUnchanged(t *testing.T) {
	dir := sampleContext(t)
	ageFiles(t, dir)
	h := NewHasher()
	r1 := hashDir(t, h, dir, Inputs{})
	if r1.FilesRead == 0 {
		t.Fatal("cold hash read no file")
	}
	r2 := hashDir(t, h, dir, Inputs{})
	if r2.FilesRead != 0 || r2.Digest != r1.Digest {
		t.Fatalf("warm rehash read %d files (want 0), digest equal=%v", r2.FilesRead, r2.Digest == r1.Digest)
	}
	// Same size, same mtime, other content: the inode/ctime part of the key
	// must still catch it.
	p := filepath.Join(dir, "app/main.go")
	fi, _ := os.Stat(p)
	write(t, dir, "app/main.go", "package main\n"[:len("package main\n")-2]+"x\n")
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	r3 := hashDir(t, h, dir, Inputs{})
	if r3.FilesRead != 1 || r3.Digest == r1.Digest {
		t.Fatalf("after an edit: read %d files (want 1), digest changed=%v", r3.FilesRead, r3.Digest != r1.Digest)
	}
	if d := Diff(r1.Manifest, r3.Manifest); len(d) != 1 || d[0] != "changed: app/main.go" {
		t.Fatalf("Diff = %v", d)
	}
}

func TestHashUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: permissions cannot make a directory unreadable")
	}
	dir := sampleContext(t)
	locked := filepath.Join(dir, "locked")
	write(t, dir, "locked/x", "x")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(locked, 0o755) })
	c, _ := Load(dir, "")
	_, err := NewHasher().Hash(context.Background(), c, Inputs{})
	if err == nil || !strings.Contains(err.Error(), locked) {
		t.Fatalf("err = %v, want one naming %s", err, locked)
	}
}

func TestHashCanceled(t *testing.T) {
	dir := sampleContext(t)
	c, _ := Load(dir, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewHasher().Hash(ctx, c, Inputs{}); err == nil {
		t.Fatal("canceled context: want error")
	}
}

func TestDiffSummary(t *testing.T) {
	prev := manifestOf(map[string]string{"a": "f:1", "b": "f:2", "c": "f:3"})
	cur := manifestOf(map[string]string{"a": "f:9", "b": "f:2", "d": "f:4", "e": "f:5"})
	want := []string{"changed: a", "removed: c", "added: d", "added: e"}
	got := Diff(prev, cur)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("Diff = %v, want %v", got, want)
	}
	if s := DiffSummary(prev, cur, 1); s != "changed: a, +2 files, -1 file" {
		t.Fatalf("DiffSummary = %q", s)
	}
	if s := DiffSummary(prev, cur, 10); s != "changed: a, added: d, e, removed: c" {
		t.Fatalf("DiffSummary = %q", s)
	}
	if s := DiffSummary(prev, prev, 3); s != "no change" {
		t.Fatalf("DiffSummary = %q", s)
	}
}
