// Package fspath answers questions about file paths as strings, without
// touching the disk: whether one path lies in a directory.
package fspath

import (
	"path/filepath"
	"strings"
)

// Within reports whether p is dir or lies below it. Both are cleaned first;
// an absolute path is never within a relative directory, nor the reverse.
// Symbolic links are not followed.
func Within(p, dir string) bool {
	p, dir = filepath.Clean(p), filepath.Clean(dir)
	switch {
	case p == dir:
		return true
	case filepath.IsAbs(p) != filepath.IsAbs(dir):
		return false
	case dir == ".":
		return p != ".." && !strings.HasPrefix(p, ".."+string(filepath.Separator))
	case dir == string(filepath.Separator):
		return true
	}
	return len(p) > len(dir) && p[len(dir)] == filepath.Separator && strings.HasPrefix(p, dir)
}
