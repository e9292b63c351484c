package buildcontext

import (
	"context"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

type kind uint8

const (
	kindFile kind = iota
	kindDir
	kindSymlink
)

// entry is one included path of a context. The sorted entries of a hash
// are its manifest and the Hasher's digest cache at once: once a Result holds
// them they are never modified.
type entry struct {
	rel    string // slash-separated, relative to the context
	kind   kind
	exec   bool
	stable bool   // digest was read outside the racy window: it may be reused while key holds
	target string // symlink target
	key    fileKey
	digest sum // content digest of a regular file
}

func (e *entry) abs(dir string) string { return filepath.Join(dir, filepath.FromSlash(e.rel)) }

// appendDigest appends the manifest value of the entry, what the hash sees
// of it: "dir", "symlink:TARGET", "f:HEX", or "x:HEX" for an executable.
func (e *entry) appendDigest(b []byte) []byte {
	switch e.kind {
	case kindDir:
		return append(b, "dir"...)
	case kindSymlink:
		return append(append(b, "symlink:"...), e.target...)
	}
	if e.exec {
		b = append(b, "x:"...)
	} else {
		b = append(b, "f:"...)
	}
	return hex.AppendEncode(b, e.digest[:])
}

// sameAs reports whether the build sees e and o alike (the same manifest
// value), whatever their paths and file keys.
func (e *entry) sameAs(o *entry) bool {
	if e.kind != o.kind {
		return false
	}
	switch e.kind {
	case kindDir:
		return true
	case kindSymlink:
		return e.target == o.target
	}
	return e.exec == o.exec && e.digest == o.digest
}

// search returns the index of rel in the sorted entries, or the index where
// it would be inserted, and whether it is there.
func search(entries []entry, rel string) (int, bool) {
	i := sort.Search(len(entries), func(i int) bool { return entries[i].rel >= rel })
	return i, i < len(entries) && entries[i].rel == rel
}

// walk lists the included entries of c, sorted by relative path. It never
// follows symlinks. Sockets, FIFOs and devices are left out (a build cannot
// copy them). The result is never nil, even for an empty context, and holds
// no spare capacity: a Hasher keeps it for as long as the context is watched.
func walk(ctx context.Context, c *Context) ([]entry, error) {
	out, err := walkFrom(ctx, c, c.Dir, "")
	switch {
	case err != nil:
		return nil, err
	case out == nil:
		return []entry{}, nil
	case cap(out)-len(out) > len(out)/16:
		return slices.Clone(out), nil
	}
	return out, nil
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
