package buildcontext

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// TestUpdateMatchesHash applies random edits, creations, removals and new
// directories, and checks that Update from the previous result always equals
// a fresh full Hash.
func TestUpdateMatchesHash(t *testing.T) {
	dir := sampleContext(t)
	write(t, dir, ".dockerignore", "*.log\nignored\n")
	c, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	h := NewHasher()
	ctx := context.Background()
	prev, err := h.Hash(ctx, c, Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	names := []string{"a.go", "b/c.go", "b/d/e.go", "ignored/x", "f.log", "app/main.go", "n/m/o/p.go", "with space/q"}
	for step := range 150 {
		var changed []string
		for range 1 + rng.Intn(3) {
			rel := names[rng.Intn(len(names))]
			abs := filepath.Join(dir, rel)
			switch rng.Intn(4) {
			case 0, 1:
				write(t, dir, rel, fmt.Sprint(step, rng.Int()))
				// A watcher reports the new directories too.
				for d := filepath.Dir(abs); d != dir; d = filepath.Dir(d) {
					changed = append(changed, d)
				}
			case 2:
				os.Remove(abs)
			case 3:
				top := filepath.Join(dir, filepath.SplitList(rel)[0])
				if d := filepath.Dir(abs); d != dir {
					top = d
				}
				os.RemoveAll(top)
				abs = top
			}
			changed = append(changed, abs)
		}
		got, err := h.Update(ctx, c, prev, changed, Inputs{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := h.Hash(ctx, c, Inputs{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Digest != want.Digest {
			t.Fatalf("step %d (changed %v): Update %s != Hash %s\nmanifest diff: %v\nentries diff: %v", step, changed, got.Digest, want.Digest,
				Diff(want.Manifest, got.Manifest), len(got.entries)-len(want.entries))
		}
		prev = got
	}
}

func TestUpdateFallsBack(t *testing.T) {
	dir := sampleContext(t)
	c, _ := Load(dir, "")
	h := NewHasher()
	ctx := context.Background()
	// No previous result: a full hash.
	r, err := h.Update(ctx, c, Result{}, []string{filepath.Join(dir, "x")}, Inputs{})
	if err != nil || r.Digest == "" {
		t.Fatalf("Update without prev: %v", err)
	}
	// Another Context (reloaded ignore rules): a full hash, which now sees
	// debug.log.
	write(t, dir, ".dockerignore", "")
	c2, _ := Load(dir, "")
	r2, err := h.Update(ctx, c2, r, nil, Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r2.Manifest.Lookup("debug.log"); !ok {
		t.Fatal("Update with a reloaded Context did not rewalk")
	}
}
