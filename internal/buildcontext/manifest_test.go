package buildcontext

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// manifestOf builds a Manifest from path → value ("dir", "symlink:T",
// "f:X", "x:X"). X is a content digest in hex, or any other string, which
// stands for the digest of that string. A nil map gives the zero Manifest.
func manifestOf(m map[string]string) Manifest {
	if m == nil {
		return Manifest{}
	}
	entries := make([]entry, 0, len(m))
	for rel, v := range m {
		e := entry{rel: rel}
		switch {
		case v == "dir":
			e.kind = kindDir
		case strings.HasPrefix(v, "symlink:"):
			e.kind, e.target = kindSymlink, strings.TrimPrefix(v, "symlink:")
		case strings.HasPrefix(v, "f:"), strings.HasPrefix(v, "x:"):
			e.kind, e.exec = kindFile, v[0] == 'x'
			if b, err := hex.DecodeString(v[2:]); err == nil && len(b) == len(e.digest) {
				copy(e.digest[:], b)
			} else {
				e.digest = sha256.Sum256([]byte(v[2:]))
			}
		default:
			panic("manifestOf: bad value " + v)
		}
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].rel < entries[j].rel })
	return Manifest{entries: entries}
}

// diffMaps is Diff as it was on map[string]string manifests, the reference
// the merge of sorted entries must agree with.
func diffMaps(prev, cur map[string]string) []string {
	if prev == nil {
		return nil
	}
	var out []string
	for p, d := range cur {
		if old, ok := prev[p]; !ok {
			out = append(out, "added: "+p)
		} else if old != d {
			out = append(out, "changed: "+p)
		}
	}
	for p := range prev {
		if _, ok := cur[p]; !ok {
			out = append(out, "removed: "+p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return diffPath(out[i]) < diffPath(out[j]) })
	return out
}

func TestDiffMatchesMaps(t *testing.T) {
	hexA := strings.Repeat("ab", sha256.Size)
	values := []string{"dir", "symlink:a", "symlink:b", "symlink:", "f:1", "f:2", "x:1", "x:2", "f:" + hexA, "x:" + hexA}
	paths := []string{"a", "a.txt", "a/b", "a/b/c", "a-b", "b", "\xff", "with space/x", "z"}
	rng := rand.New(rand.NewSource(1))
	randomMap := func() map[string]string {
		m := map[string]string{}
		for _, p := range paths {
			if rng.Intn(3) > 0 {
				m[p] = values[rng.Intn(len(values))]
			}
		}
		return m
	}
	for range 2000 {
		prev, cur := randomMap(), randomMap()
		if rng.Intn(10) == 0 {
			prev = nil
		}
		if rng.Intn(10) == 0 {
			cur = nil
		}
		want := diffMaps(prev, cur)
		got := Diff(manifestOf(prev), manifestOf(cur))
		if !slices.Equal(got, want) || (got == nil) != (want == nil) {
			t.Fatalf("Diff(%v, %v) = %#v, want %#v", prev, cur, got, want)
		}
	}
	// Each thing the build sees is a change.
	for _, c := range [][2]string{{"f:1", "x:1"}, {"f:1", "f:2"}, {"symlink:a", "symlink:b"}, {"dir", "f:1"}, {"dir", "symlink:"}, {"f:1", "symlink:1"}} {
		got := Diff(manifestOf(map[string]string{"p": c[0]}), manifestOf(map[string]string{"p": c[1]}))
		if !slices.Equal(got, []string{"changed: p"}) {
			t.Errorf("%s → %s: Diff = %v", c[0], c[1], got)
		}
	}
}

func TestManifestLookup(t *testing.T) {
	hexA := strings.Repeat("0f", sha256.Size)
	m := manifestOf(map[string]string{"d": "dir", "d/l": "symlink:../x", "d/x": "x:" + hexA, "f": "f:" + hexA})
	if m.Len() != 4 {
		t.Fatalf("Len = %d, want 4", m.Len())
	}
	for p, want := range map[string]string{"d": "dir", "d/l": "symlink:../x", "d/x": "x:" + hexA, "f": "f:" + hexA} {
		if got, ok := m.Lookup(p); !ok || got != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", p, got, ok, want)
		}
	}
	if got, ok := m.Lookup("e"); ok {
		t.Errorf("Lookup(e) = %q, want none", got)
	}
	if (Manifest{}).Len() != 0 {
		t.Error("zero Manifest has paths")
	}
}

// TestDiffEmptyContext: an empty context hashed is no zero Manifest, so
// what is added to it is reported.
func TestDiffEmptyContext(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "Dockerfile", "FROM scratch\n")
	if err := os.Mkdir(filepath.Join(dir, "ctx"), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := Load(filepath.Join(dir, "ctx"), filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	h := NewHasher()
	empty, err := h.Hash(context.Background(), c, Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	if empty.Manifest.Len() != 0 {
		t.Fatalf("empty context: %d paths", empty.Manifest.Len())
	}
	write(t, dir, "ctx/a", "a")
	r, err := h.Hash(context.Background(), c, Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(empty.Manifest, r.Manifest); !slices.Equal(d, []string{"added: a"}) {
		t.Fatalf("Diff from the empty context = %v", d)
	}
	if d := Diff(Manifest{}, r.Manifest); d != nil {
		t.Fatalf("Diff from the zero Manifest = %v, want nil", d)
	}
}

// TestHashCacheStability: a digest read in the racy window is read again
// next time; once a file is old its digest is reused, also from the
// entries an Update published.
func TestHashCacheStability(t *testing.T) {
	dir := sampleContext(t)
	ageFiles(t, dir)
	c, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	h := NewHasher()
	ctx := context.Background()
	hash := func(want int) Result {
		t.Helper()
		r, err := h.Hash(ctx, c, Inputs{})
		if err != nil {
			t.Fatal(err)
		}
		if r.FilesRead != want {
			t.Fatalf("read %d files, want %d", r.FilesRead, want)
		}
		return r
	}
	prev := hash(5)
	p := filepath.Join(dir, "app", "main.go")
	write(t, dir, "app/main.go", "package main // fresh\n")
	// An mtime in the future is always in the racy window, however slow
	// the machine: the digest is not trusted.
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(p, future, future); err != nil {
		t.Fatal(err)
	}
	hash(1)
	hash(1)
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	hash(1)
	r := hash(0)

	write(t, dir, "app/main.go", "package main // edit\n")
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	u, err := h.Update(ctx, c, r, []string{p}, Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	if u.FilesRead != 1 {
		t.Fatalf("Update read %d files, want 1", u.FilesRead)
	}
	if w := hash(0); w.Digest != u.Digest || w.Digest == prev.Digest {
		t.Fatalf("Hash after Update: digest %s, Update gave %s", w.Digest, u.Digest)
	}
}
