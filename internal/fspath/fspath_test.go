package fspath

import "testing"

func TestWithin(t *testing.T) {
	for _, c := range []struct {
		p, dir string
		want   bool
	}{
		{"/a/b/c.go", "/a/b", true},
		{"/a/b", "/a/b", true},
		{"/a/b/", "/a/b", true},
		{"/a/b/../c", "/a/b", false},
		{"/a/bc/d", "/a/b", false},
		{"/a", "/a/b", false},
		{"/a", "/", true},
		{"/", "/", true},
		{"a/b", "a", true},
		{"a", ".", true},
		{"../a", ".", false},
		{"..", ".", false},
		{"..a", ".", true},
		{"/a/b", "a", false},
		{"a/b", "/a", false},
	} {
		if got := Within(c.p, c.dir); got != c.want {
			t.Errorf("Within(%q, %q) = %v, want %v", c.p, c.dir, got, c.want)
		}
	}
}
