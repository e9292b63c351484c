package buildcontext

import (
	"os"
	"path/filepath"
	"testing"
)

// pinnedDigest is the digest of pinnedTree under the "devloop-context-v1"
// encoding. Image tags must not move between devloop versions: a change of
// the hash encoding needs a new "devloop-context-vN" prefix, not an edit of
// this value.
const pinnedDigest = "sha256:f05fd586b3c1439518adee8813c051bf2fde9eeaa65e7863a7f20f99c0c7872a"

// pinnedTree writes a small fixed context: files, a nested and an empty
// directory, an executable, a symlink and an excluded file, all aged so that
// nothing is in the racy window.
func pinnedTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write(t, dir, "Dockerfile", "FROM scratch\nCOPY . /\n")
	write(t, dir, ".dockerignore", "*.log\n")
	write(t, dir, "a.txt", "alpha\n")
	write(t, dir, "sub/b.txt", "beta\n")
	write(t, dir, "sub/deeper/c.txt", "")
	write(t, dir, "run.sh", "#!/bin/sh\necho hi\n")
	write(t, dir, "noise.log", "excluded\n")
	if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "a.txt"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/b.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	ageFiles(t, dir)
	return dir
}

// TestHashPinned checks that the digest of a fixed tree never changes, cold
// and warm.
func TestHashPinned(t *testing.T) {
	dir := pinnedTree(t)
	h := NewHasher()
	in := Inputs{BuildArgs: map[string]string{"B": "2", "A": "1"}, Target: "dev", Platforms: []string{"linux/arm64", "linux/amd64"}}
	for _, pass := range []string{"cold", "warm"} {
		if r := hashDir(t, h, dir, in); r.Digest != pinnedDigest {
			t.Errorf("%s: digest %s, want %s", pass, r.Digest, pinnedDigest)
		}
	}
	if r := hashDir(t, NewHasher(), dir, Inputs{}); r.Digest != pinnedDigestNoInputs {
		t.Errorf("without inputs: digest %s, want %s", r.Digest, pinnedDigestNoInputs)
	}
}

// pinnedDigestNoInputs is the digest of pinnedTree with empty Inputs.
const pinnedDigestNoInputs = "sha256:8dd75c017e4ee970adb738d8a4126c3e6ba3d3f0de2a7c24fa8dcf7d79d56e75"
