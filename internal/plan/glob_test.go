package plan

import (
	"reflect"
	"testing"
)

func TestSplitGlob(t *testing.T) {
	for _, tt := range []struct {
		src  string
		want []string
	}{
		{"app/**/*.py", []string{"app", "**", "*.py"}},
		{"./static/*.css", []string{"static", "*.css"}},
		{"templates/", []string{"templates"}},
		{"a//b/./c", []string{"a", "b", "c"}},
		{"**", []string{"**"}},
	} {
		if got := SplitGlob(tt.src); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitGlob(%q) = %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestMatchGlobSrc(t *testing.T) {
	for _, tt := range []struct {
		src, rel string
		want     bool
	}{
		// "**" alone and at either end.
		{"**", "a", true},
		{"**", "a/b/c", true},
		{"**/*.py", "app.py", true},
		{"**/*.py", "a/b/c.py", true},
		{"**/*.py", "a/b/c.pyc", false},
		{"templates/**", "templates/index.html", true},
		{"templates/**", "templates/a/b/c.html", true},
		{"templates/**", "templates", true}, // "**" matches no segment too
		{"templates/**", "static/index.html", false},
		{"templates/**", "templatesx/index.html", false},
		// "**" in the middle, repeated, consecutive.
		{"app/**/*.py", "app/x.py", true},
		{"app/**/*.py", "app/a/b/x.py", true},
		{"app/**/*.py", "lib/app/x.py", false},
		{"a/**/b/**/c", "a/b/c", true},
		{"a/**/b/**/c", "a/x/y/b/z/c", true},
		{"a/**/b/**/c", "a/x/y/z/c", false},
		{"a/**/**/b", "a/b", true},
		{"a/**/**/b", "a/x/y/b", true},
		// "*" stays within one segment.
		{"*.go", "main.go", true},
		{"*.go", "cmd/main.go", false},
		{"app/*.py", "app/x.py", true},
		{"app/*.py", "app/a/x.py", false},
		{"app/*", "app", false},
		{"*/*.py", "a/x.py", true},
		// Directories: a plain segment matches only that name, whole.
		{"static", "static", true},
		{"static", "static/a.css", false},
		{"static/css/a.css", "static/css/a.css", true},
		// Src is cleaned; character classes; a bad pattern matches nothing.
		{"./static/*.css", "static/site.css", true},
		{"static/./css/", "static/css", true},
		{"[a-c].txt", "b.txt", true},
		{"[a-c].txt", "d.txt", false},
		{"app/[.py", "app/[.py", false},
		{"[", "[", false},
	} {
		if got := MatchGlob(tt.src, tt.rel); got != tt.want {
			t.Errorf("MatchGlob(%q, %q) = %v, want %v", tt.src, tt.rel, got, tt.want)
		}
	}
}

func TestSyncRuleDest(t *testing.T) {
	for _, tt := range []struct {
		rule SyncRule
		rel  string
		dest string
		ok   bool
	}{
		{SyncRule{Src: "static/**", Dest: "/srv"}, "static/css/a.css", "/srv/static/css/a.css", true},
		{SyncRule{Src: "app/**/*.py", Dest: "/code/"}, "app/m.py", "/code/app/m.py", true},
		{SyncRule{Src: "**", Dest: "/"}, "a/b", "/a/b", true},
		{SyncRule{Src: "*.py", Dest: "/code"}, "lib/m.py", "", false},
		{SyncRule{Src: "static/**", Dest: "/srv", Target: func(rel string) (string, bool) { return "/t/" + rel, true }},
			"lib/m.py", "/t/lib/m.py", true}, // Target replaces Src and Dest
	} {
		dest, ok := tt.rule.target(tt.rel)
		if dest != tt.dest || ok != tt.ok {
			t.Errorf("%+v: target(%q) = %q %v, want %q %v", tt.rule, tt.rel, dest, ok, tt.dest, tt.ok)
		}
	}
}
