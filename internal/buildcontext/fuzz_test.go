package buildcontext

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzExcluded(f *testing.F) {
	f.Add("node_modules\n**/*.log\n!keep.log\n", "a/b/keep.log")
	f.Add("[a-\n", "x")
	f.Add("!\n", "x")
	f.Add("*\n!src/**\n", "src/a/b.go")
	f.Add("/abs/path\n\\\n", "abs/path/x")
	f.Fuzz(func(t *testing.T, ignore, rel string) {
		c, err := NewFromPatterns("/ctx", "/ctx/Dockerfile", strings.Split(ignore, "\n"))
		if err != nil {
			return // invalid patterns are reported at load, never panic
		}
		ex := c.Excluded(rel)
		if c.SkipDir(rel) && !ex {
			t.Fatalf("SkipDir(%q) without Excluded", rel)
		}
		c.Ignore(rel, true)
		c.Ignore(rel, false)
	})
}

// fuzzNames turns fuzz input into a few valid relative file paths (at most
// one directory level) with contents.
func fuzzNames(data string) map[string]string {
	files := map[string]string{}
	for i, part := range strings.Split(data, "|") {
		if i >= 12 {
			break
		}
		name, content, _ := strings.Cut(part, "=")
		name = strings.Map(func(r rune) rune {
			if r == 0 || r == '\\' {
				return 'x'
			}
			return r
		}, name)
		segs := strings.Split(name, "/")
		var keep []string
		for _, s := range segs {
			if s == "" || s == "." || s == ".." || len(s) > 40 {
				continue
			}
			keep = append(keep, s)
		}
		if len(keep) == 0 || len(keep) > 2 {
			continue
		}
		files[strings.Join(keep, "/")] = content
	}
	// A name that is both a file and a directory prefix cannot exist.
	for n := range files {
		if d, _, ok := strings.Cut(n, "/"); ok {
			delete(files, d)
		}
	}
	return files
}

func FuzzHashStable(f *testing.F) {
	f.Add("a=1|b/c=2|d e=3")
	f.Add("z=|y=|x/w=q")
	f.Add("\xff\xfe=bin|.dockerignore=z|z=1")
	f.Fuzz(func(t *testing.T, data string) {
		files := fuzzNames(data)
		if len(files) == 0 {
			return
		}
		var names []string
		for n := range files {
			names = append(names, n)
		}
		hash := func(order []string) Digest {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch"), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, n := range order {
				p := filepath.Join(dir, n)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Skip(err)
				}
				if err := os.WriteFile(p, []byte(files[n]), 0o644); err != nil {
					t.Skip(err)
				}
			}
			c, err := Load(dir, "")
			if err != nil {
				t.Skip(err) // e.g. a fuzzed .dockerignore with a bad pattern
			}
			r, err := NewHasher().Hash(context.Background(), c, Inputs{})
			if err != nil {
				t.Fatal(err)
			}
			return r.Digest
		}
		rev := make([]string, len(names))
		for i, n := range names {
			rev[len(names)-1-i] = n
		}
		if a, b := hash(names), hash(rev); a != b {
			t.Fatalf("creation order changed the hash: %s vs %s for %q", a, b, names)
		}
	})
}
