package buildcontext

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

type kind uint8

const (
	kindFile kind = iota
	kindDir
	kindSymlink
)

// entry is one included path of a context.
type entry struct {
	rel    string // slash-separated, relative to the context
	kind   kind
	exec   bool
	target string // symlink target
	key    fileKey
	digest sum // content digest of a regular file
}

func (e *entry) abs(dir string) string { return filepath.Join(dir, filepath.FromSlash(e.rel)) }

// entryDigest is the manifest value of the entry: what the hash sees of it.
func (e *entry) entryDigest() string {
	switch e.kind {
	case kindDir:
		return "dir"
	case kindSymlink:
		return "symlink:" + e.target
	default:
		if e.exec {
			return "x:" + e.digest.hex()
		}
		return "f:" + e.digest.hex()
	}
}

// walk lists the included entries of c, sorted by relative path. It never
// follows symlinks. Sockets, FIFOs and devices are left out (a build cannot
// copy them).
func walk(ctx context.Context, c *Context) ([]entry, error) {
	return walkFrom(ctx, c, c.Dir, "")
}

// walkFrom lists the included entries below absDir, whose path relative to
// the context is relDir ("" for the context itself), sorted.
func walkFrom(ctx context.Context, c *Context, absDir, relDir string) ([]entry, error) {
	var out []entry
	var visit func(absDir, relDir string) (bool, error)
	// visit appends the entries under absDir and reports whether it added any.
	visit = func(absDir, relDir string) (bool, error) {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		des, err := os.ReadDir(absDir)
		if err != nil {
			return false, fmt.Errorf("reading directory %s: %w", absDir, err)
		}
		added := false
		for _, de := range des {
			rel := de.Name()
			if relDir != "" {
				rel = relDir + "/" + rel
			}
			abs := filepath.Join(absDir, de.Name())
			t := de.Type()
			if t.IsDir() {
				excluded := c.Excluded(rel)
				if excluded && c.SkipDir(rel) {
					continue
				}
				at := len(out)
				if !excluded {
					out = append(out, entry{rel: rel, kind: kindDir})
				}
				sub, err := visit(abs, rel)
				if err != nil {
					return false, err
				}
				if excluded && sub {
					// Re-included content below: the directory itself
					// is part of the context too.
					out = append(out, entry{})
					copy(out[at+1:], out[at:])
					out[at] = entry{rel: rel, kind: kindDir}
				}
				added = added || sub || !excluded
				continue
			}
			if c.Excluded(rel) {
				continue
			}
			fi, err := de.Info()
			if err != nil {
				if os.IsNotExist(err) {
					continue // removed meanwhile
				}
				return false, fmt.Errorf("reading %s: %w", abs, err)
			}
			switch {
			case t&fs.ModeSymlink != 0:
				target, err := os.Readlink(abs)
				if err != nil {
					return false, fmt.Errorf("reading symlink %s: %w", abs, err)
				}
				out = append(out, entry{rel: rel, kind: kindSymlink, target: target})
			case t.IsRegular():
				out = append(out, entry{rel: rel, kind: kindFile, exec: fi.Mode().Perm()&0o111 != 0, key: keyOf(fi)})
			default:
				continue
			}
			added = true
		}
		return added, nil
	}
	if _, err := visit(absDir, relDir); err != nil {
		return nil, err
	}
	// ReadDir sorts per directory, but "a/b" vs "a.txt" ordering across
	// levels differs from a plain string sort: sort once globally.
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, nil
}
