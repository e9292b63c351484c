package buildcontext

import (
	"fmt"
	"sort"
	"strings"
)

// Manifest maps each path of a context (slash-separated, relative) to a
// digest of what the build sees of it ("dir", "symlink:TARGET", "f:SHA" or
// "x:SHA" for an executable file).
type Manifest map[string]string

// Diff lists how cur differs from prev, sorted by path, one line per path:
// "changed: PATH", "added: PATH" or "removed: PATH". A nil prev gives nil
// (there is nothing to compare with).
func Diff(prev, cur Manifest) []string {
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

func diffPath(line string) string {
	_, p, _ := strings.Cut(line, ": ")
	return p
}

// DiffSummary condenses Diff(prev, cur) into one short line such as
// "changed: app/main.go, +1 file", naming at most max paths.
func DiffSummary(prev, cur Manifest, max int) string {
	d := Diff(prev, cur)
	if len(d) == 0 {
		return "no change"
	}
	var changed, added, removed []string
	for _, l := range d {
		switch {
		case strings.HasPrefix(l, "changed: "):
			changed = append(changed, diffPath(l))
		case strings.HasPrefix(l, "added: "):
			added = append(added, diffPath(l))
		default:
			removed = append(removed, diffPath(l))
		}
	}
	var parts []string
	named := 0
	group := func(verb, sign string, paths []string) {
		if len(paths) == 0 {
			return
		}
		if named < max {
			n := min(len(paths), max-named)
			named += n
			s := verb + ": " + strings.Join(paths[:n], ", ")
			if rest := len(paths) - n; rest > 0 {
				s += fmt.Sprintf(" and %d more", rest)
			}
			parts = append(parts, s)
			return
		}
		parts = append(parts, fmt.Sprintf("%s%d %s", sign, len(paths), plural(len(paths), "file")))
	}
	group("changed", "~", changed)
	group("added", "+", added)
	group("removed", "-", removed)
	return strings.Join(parts, ", ")
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}
