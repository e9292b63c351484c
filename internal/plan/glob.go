package plan

import (
	"path"
	"strings"
)

// This file is the one implementation of sync-rule path matching: config's
// SyncRule.Match and Target, and the Src/Dest fallback of plan's SyncRule,
// all call it.

// SplitGlob splits a sync-rule Src glob into its segments, after path.Clean
// and without a leading "./": "./static/**/*.css" is [static ** *.css].
func SplitGlob(src string) []string {
	return strings.Split(strings.TrimPrefix(path.Clean(src), "./"), "/")
}

// MatchGlob reports whether rel, a clean slash-separated path relative to the
// context, matches the sync-rule glob src. Each segment matches as with
// path.Match (a malformed segment matches nothing); a "**" segment matches
// any number of segments, none included, so "**/*.py" matches "app.py" and
// "a/b/c.py", and "templates/**" matches everything under templates.
func MatchGlob(src, rel string) bool {
	return matchGlob(SplitGlob(src), strings.Split(rel, "/"))
}

// matchGlob matches a slash-separated path against a glob whose "**"
// segments match any number of segments.
func matchGlob(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 1 && pat[1] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 1 {
				return true
			}
			for i := range len(name) + 1 {
				if matchGlob(pat[1:], name[i:]) {
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
