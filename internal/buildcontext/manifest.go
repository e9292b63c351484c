package buildcontext

import (
	"fmt"
	"strings"
)

// Manifest lists the paths of a hashed context (slash-separated, relative)
// with what the build sees of each: "dir", "symlink:TARGET", "f:SHA" or
// "x:SHA" for an executable file. It shares the sorted entries of its Result
// and costs nothing to copy. The zero Manifest is "never hashed": Diff
// compares nothing with it.
type Manifest struct {
	entries []entry // sorted by rel; nil for the zero Manifest
}

// Len returns the number of paths in m.
func (m Manifest) Len() int { return len(m.entries) }

// Lookup returns the value of the path rel in m ("dir", "f:SHA", ...) and
// whether m holds it.
func (m Manifest) Lookup(rel string) (string, bool) {
	i, ok := search(m.entries, rel)
	if !ok {
		return "", false
	}
	return string(m.entries[i].appendDigest(nil)), true
}

// Diff lists how cur differs from prev, sorted by path, one line per path:
// "changed: PATH", "added: PATH" or "removed: PATH". A zero prev gives nil
// (there is nothing to compare with).
func Diff(prev, cur Manifest) []string {
	if prev.entries == nil {
		return nil
	}
	var out []string
	p, c := prev.entries, cur.entries
	i, j := 0, 0
	for i < len(p) || j < len(c) {
		switch {
		case j >= len(c) || (i < len(p) && p[i].rel < c[j].rel):
			out = append(out, "removed: "+p[i].rel)
			i++
		case i >= len(p) || c[j].rel < p[i].rel:
			out = append(out, "added: "+c[j].rel)
			j++
		default:
			if !p[i].sameAs(&c[j]) {
				out = append(out, "changed: "+c[j].rel)
			}
			i++
			j++
		}
	}
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
