package config

import (
	"fmt"
	"path"
	"strings"
)

// Match reports whether rel, a slash-separated path relative to the build context,
// matches the rule's Src glob. Each segment matches as with path.Match; a segment "**"
// matches any number of segments, none included, so "**/*.py" matches "app.py" and
// "a/b/c.py", and "templates/**" matches everything under templates.
func (r SyncRule) Match(rel string) bool {
	rel = strings.TrimPrefix(path.Clean(strings.ReplaceAll(rel, "\\", "/")), "./")
	if rel == "." || rel == "" || strings.HasPrefix(rel, "../") || rel == ".." || path.IsAbs(rel) {
		return false
	}
	return matchSegments(splitGlob(r.Src), strings.Split(rel, "/"))
}

// Target returns where the file at context-relative path rel lands in the container,
// path.Join(Dest, rel), and whether the rule applies to it at all.
func (r SyncRule) Target(rel string) (string, bool) {
	if !r.Match(rel) {
		return "", false
	}
	return path.Join(r.Dest, path.Clean(strings.ReplaceAll(rel, "\\", "/"))), true
}

func splitGlob(src string) []string {
	src = strings.TrimPrefix(path.Clean(src), "./")
	return strings.Split(src, "/")
}

func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 1 && pat[1] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 1 {
				return true
			}
			for i := range len(name) + 1 {
				if matchSegments(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], name[0]); err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// checkSrc validates the Src glob: relative, inside the context, every segment a valid
// path.Match pattern.
func (r SyncRule) checkSrc() error {
	s := r.Src
	switch {
	case path.IsAbs(s):
		return fmt.Errorf("%q is absolute; expected a glob relative to the build context, e.g. app/**/*.py", s)
	case path.Clean(s) == ".." || strings.HasPrefix(path.Clean(s), "../"):
		return fmt.Errorf("%q leaves the build context; expected a glob relative to it", s)
	}
	for _, seg := range splitGlob(s) {
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("%q is not a valid glob (segment %q): %w", s, seg, err)
		}
	}
	return nil
}
