package config

import (
	"fmt"
	"path"
	"strings"

	"github.com/devloop-dev/devloop/internal/plan"
)

// Match reports whether rel, a slash-separated path relative to the build context,
// matches the rule's Src glob as plan.MatchGlob does: each segment matches as with
// path.Match; a segment "**" matches any number of segments, none included, so
// "**/*.py" matches "app.py" and "a/b/c.py", and "templates/**" matches everything
// under templates. rel is cleaned first; a path outside the context matches nothing.
func (r SyncRule) Match(rel string) bool {
	rel = strings.TrimPrefix(path.Clean(strings.ReplaceAll(rel, "\\", "/")), "./")
	if rel == "." || rel == "" || strings.HasPrefix(rel, "../") || rel == ".." || path.IsAbs(rel) {
		return false
	}
	return plan.MatchGlob(r.Src, rel)
}

// Target returns where the file at context-relative path rel lands in the container,
// path.Join(Dest, rel), and whether the rule applies to it at all.
func (r SyncRule) Target(rel string) (string, bool) {
	if !r.Match(rel) {
		return "", false
	}
	return path.Join(r.Dest, path.Clean(strings.ReplaceAll(rel, "\\", "/"))), true
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
	for _, seg := range plan.SplitGlob(s) {
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("%q is not a valid glob (segment %q): %w", s, seg, err)
		}
	}
	return nil
}
