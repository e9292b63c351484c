package config

import (
	"testing"

	"github.com/devloop-dev/devloop/internal/plan"
)

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

// TestSyncRuleMatchesPlan: on clean paths inside the context, config's rule and
// the planner's Src/Dest fallback are one matcher and map to the same place.
func TestSyncRuleMatchesPlan(t *testing.T) {
	rels := []string{"app.py", "app/x.py", "app/a/b/x.py", "lib/app/x.py", "templates/index.html", "templates", "static/site.css", "b.txt"}
	for _, src := range []string{"**/*.py", "app/**/*.py", "templates/**", "./static/*.css", "[a-c].txt", "app/[.py", "**"} {
		for _, rel := range rels {
			r := SyncRule{Src: src, Dest: "/app"}
			if got, want := r.Match(rel), plan.MatchGlob(src, rel); got != want {
				t.Errorf("%q on %q: config %v, plan %v", src, rel, got, want)
			}
			got, gok := r.Target(rel)
			p := plan.Decide(plan.Layout{Artifacts: []plan.Artifact{{Context: "/c", Dockerfile: "/c/Dockerfile",
				Sync: []plan.SyncRule{{Src: src, Dest: "/app"}}}}}, plan.ChangeSet{Changes: []plan.Change{{Path: "/c/" + rel}}})
			a := p.Artifacts[0]
			if pok := a.Action == plan.Sync; gok != pok || (pok && a.Copy[0].Dest != got) {
				t.Errorf("%q on %q: config %q %v, plan %+v", src, rel, got, gok, a)
			}
		}
	}
}
