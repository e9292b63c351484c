package config

import "testing"

func TestSyncRuleMatch(t *testing.T) {
	for _, tt := range []struct {
		src, rel string
		want     bool
	}{
		{"**/*.py", "app.py", true},
		{"**/*.py", "a/b/c.py", true},
		{"**/*.py", "a/b/c.pyc", false},
		{"templates/**", "templates/index.html", true},
		{"templates/**", "templates/a/b/c.html", true},
		{"templates/**", "static/index.html", false},
		{"templates/**", "templatesx/index.html", false},
		{"app/**/*.py", "app/x.py", true},
		{"app/**/*.py", "app/a/b/x.py", true},
		{"app/**/*.py", "lib/app/x.py", false},
		{"app/*.py", "app/a/x.py", false},
		{"app/*.py", "app/x.py", true},
		{"a/**/b/**/c", "a/b/c", true},
		{"a/**/b/**/c", "a/x/y/b/z/c", true},
		{"a/**/b/**/c", "a/x/y/z/c", false},
		{"**", "anything/at/all", true},
		{"./static/*.css", "static/site.css", true},
		{"*.py", "./main.py", true},
		{"[a-c].txt", "b.txt", true},
		{"*.py", "../outside.py", false},
		{"**/*.py", "/abs/x.py", false},
		{"app/[.py", "app/[.py", false}, // a bad pattern matches nothing
	} {
		if got := (SyncRule{Src: tt.src, Dest: "/app"}).Match(tt.rel); got != tt.want {
			t.Errorf("%q matches %q: got %v, want %v", tt.src, tt.rel, got, tt.want)
		}
	}
}

func TestSyncRuleTarget(t *testing.T) {
	r := SyncRule{Src: "templates/**", Dest: "/app"}
	if got, ok := r.Target("templates/a/index.html"); !ok || got != "/app/templates/a/index.html" {
		t.Errorf("Target: %q %v", got, ok)
	}
	if _, ok := r.Target("main.py"); ok {
		t.Error("Target of a file the rule does not match")
	}
}
