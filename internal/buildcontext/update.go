package buildcontext

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// maxUpdate is the number of changed paths beyond which Update walks the
// whole context instead of patching.
const maxUpdate = 2000

// Update returns the hash of c after the absolute paths in changed changed,
// starting from prev (a Result of Hash or Update for the same *Context). It
// looks only at the changed paths (and below new directories), so it costs
// little however big the context. It gives the same Result as Hash would
// whenever changed lists every path that changed since prev (a watcher's
// change set; a change set that lost events must use Hash). It falls back to
// Hash when prev is of another Context, when the ignore rules hold exceptions
// (`!` patterns), or when changed is large. prev is not modified.
func (h *Hasher) Update(ctx context.Context, c *Context, prev Result, changed []string, in Inputs) (Result, error) {
	if prev.ctx != c || prev.entries == nil || len(c.exceptions) > 0 || len(changed) > maxUpdate {
		return h.Hash(ctx, c, in)
	}
	rels := make([]string, 0, len(changed))
	for _, p := range changed {
		p = filepath.Clean(p)
		if p == c.Dockerfile && !strings.HasPrefix(p, c.Dir+string(filepath.Separator)) {
			continue // read by finish anyway
		}
		if !strings.HasPrefix(p, c.Dir+string(filepath.Separator)) {
			if p == c.Dir || strings.HasPrefix(c.Dir, p+string(filepath.Separator)) {
				return h.Hash(ctx, c, in) // the context itself changed
			}
			continue // not ours
		}
		rels = append(rels, filepath.ToSlash(p[len(c.Dir)+1:]))
	}
	sort.Strings(rels)

	old := prev.entries
	drop := make([]bool, len(old))
	// parents are the directories added as parents of new paths; with the
	// kept old entries they say which paths the context already holds.
	parents := map[string]bool{}
	have := func(rel string) bool {
		if i, ok := search(old, rel); ok && !drop[i] {
			return true
		}
		return parents[rel]
	}
	var added []entry
	for _, rel := range rels {
		// Drop rel and everything below it; it is looked at afresh.
		if i, ok := search(old, rel); ok {
			drop[i] = true
		}
		prefix := rel + "/"
		for i := sort.Search(len(old), func(i int) bool { return old[i].rel >= prefix }); i < len(old) && strings.HasPrefix(old[i].rel, prefix); i++ {
			drop[i] = true
		}
		for j := range added {
			if added[j].rel == rel || strings.HasPrefix(added[j].rel, prefix) {
				delete(parents, added[j].rel)
				added[j].rel = "" // superseded
			}
		}
		if c.Excluded(rel) {
			continue
		}
		abs := filepath.Join(c.Dir, filepath.FromSlash(rel))
		fi, err := os.Lstat(abs)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Result{}, fmt.Errorf("reading %s: %w", abs, err)
		}
		// The parents of a new path are in the context too.
		for d := parentRel(rel); d != "" && !have(d); d = parentRel(d) {
			added = append(added, entry{rel: d, kind: kindDir})
			parents[d] = true
		}
		switch {
		case fi.IsDir():
			sub, err := walkFrom(ctx, c, abs, rel)
			if err != nil {
				return Result{}, err
			}
			added = append(added, entry{rel: rel, kind: kindDir})
			added = append(added, sub...)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(abs)
			if err != nil {
				return Result{}, fmt.Errorf("reading symlink %s: %w", abs, err)
			}
			added = append(added, entry{rel: rel, kind: kindSymlink, target: target})
		case fi.Mode().IsRegular():
			added = append(added, entry{rel: rel, kind: kindFile, exec: fi.Mode().Perm()&0o111 != 0, key: keyOf(fi)})
		}
	}

	// Fill in the digests of the new files.
	read, err := h.fill(ctx, c.Dir, added)
	if err != nil {
		return Result{}, err
	}
	fresh := added[:0:0]
	for _, e := range added {
		if e.rel != "" {
			fresh = append(fresh, e)
		}
	}
	sort.Slice(fresh, func(i, j int) bool { return fresh[i].rel < fresh[j].rel })

	// Merge the kept old entries with the fresh ones, both sorted.
	merged := make([]entry, 0, len(old)+len(fresh))
	i, j := 0, 0
	for i < len(old) || j < len(fresh) {
		switch {
		case i < len(old) && drop[i]:
			i++
		case j < len(fresh) && len(merged) > 0 && merged[len(merged)-1].rel == fresh[j].rel:
			j++ // a parent added twice
		case j >= len(fresh) || (i < len(old) && old[i].rel < fresh[j].rel):
			merged = append(merged, old[i])
			i++
		case i < len(old) && old[i].rel == fresh[j].rel:
			i++ // kept parent directory: the fresh entry replaces it
		default:
			merged = append(merged, fresh[j])
			j++
		}
	}
	h.publish(c.Dir, merged)
	return h.finish(c, merged, read, in)
}

func parentRel(rel string) string {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return ""
	}
	return rel[:i]
}
