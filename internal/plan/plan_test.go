package plan

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func layout() Layout {
	return Layout{
		ConfigFile: "/p/devloop.yaml",
		Artifacts: []Artifact{
			{
				Image: "web", Context: "/p/web", Dockerfile: "/p/web/Dockerfile",
				Excluded: func(rel string) bool { return strings.HasSuffix(rel, ".log") || strings.HasPrefix(rel, "tmp") },
				Sync:     []SyncRule{{Src: "static/**", Dest: "/srv"}, {Src: "app/**/*.py", Dest: "/code"}},
			},
			{
				// Nested in web's context, Dockerfile outside it.
				Image: "api", Context: "/p/web/api", Dockerfile: "/p/docker/api.Dockerfile",
			},
		},
		ManifestDirs: []string{"/p/k8s/base", "/p/k8s/overlays/dev"},
	}
}

func cs(paths ...string) ChangeSet {
	var s ChangeSet
	for _, p := range paths {
		c := Change{Path: p}
		if strings.HasPrefix(p, "-") {
			c = Change{Path: p[1:], Removed: true}
		}
		if strings.HasSuffix(c.Path, "/") {
			c.Path, c.Dir = strings.TrimSuffix(c.Path, "/"), true
		}
		s.Changes = append(s.Changes, c)
	}
	return s
}

func TestDecide(t *testing.T) {
	type want struct {
		reload, redeploy bool
		actions          [2]Action
		reasonHas        [2]string
		copies           []SyncFile
		deletes          []string
		manifests        int
		unrelated        int
		reloadIgnore     bool
	}
	tests := []struct {
		name string
		in   ChangeSet
		want want
	}{
		{"nothing", cs(), want{actions: [2]Action{Noop, Noop}, reasonHas: [2]string{"no change", "no change"}}},
		{"config changed wins", cs("/p/web/main.go", "/p/devloop.yaml"), want{reload: true}},
		{"config dir removed", cs("-/p"), want{reload: true}},
		{"source change rebuilds and redeploys", cs("/p/web/main.go"),
			want{actions: [2]Action{Rebuild, Noop}, reasonHas: [2]string{"changed: main.go", "no change"}}},
		{"ignored file only", cs("/p/web/debug.log", "/p/web/tmp/x"),
			want{actions: [2]Action{Noop, Noop}, reasonHas: [2]string{"only ignored files changed: debug.log, tmp/x", "no change"}}},
		{"ignored plus source", cs("/p/web/debug.log", "/p/web/main.go"),
			want{actions: [2]Action{Rebuild, Noop}, reasonHas: [2]string{"changed: main.go", ""}}},
		{"sync only", cs("/p/web/static/css/a.css", "-/p/web/app/x/old.py", "/p/web/app/m.py"),
			want{actions: [2]Action{Sync, Noop}, reasonHas: [2]string{"sync 3 files", ""},
				copies:  []SyncFile{{Src: "/p/web/static/css/a.css", Rel: "static/css/a.css", Dest: "/srv/static/css/a.css"}, {Src: "/p/web/app/m.py", Rel: "app/m.py", Dest: "/code/app/m.py"}},
				deletes: []string{"/code/app/x/old.py"}}},
		{"sync with new dir", cs("/p/web/static/img/", "/p/web/static/img/a.png"),
			want{actions: [2]Action{Sync, Noop}, reasonHas: [2]string{"sync 1 file", ""},
				copies: []SyncFile{{Src: "/p/web/static/img/a.png", Rel: "static/img/a.png", Dest: "/srv/static/img/a.png"}}}},
		{"new empty dir rebuilds", cs("/p/web/static/empty/"),
			want{actions: [2]Action{Rebuild, Noop}, reasonHas: [2]string{"new directories: static/empty", ""}}},
		{"sync plus non-sync falls back to rebuild", cs("/p/web/app/m.py", "/p/web/go.mod"),
			want{actions: [2]Action{Rebuild, Noop}, reasonHas: [2]string{"changed: go.mod", ""}}},
		{"sync plus ignored still syncs", cs("/p/web/app/m.py", "/p/web/x.log"),
			want{actions: [2]Action{Sync, Noop}, reasonHas: [2]string{"sync 1 file", ""},
				copies: []SyncFile{{Src: "/p/web/app/m.py", Rel: "app/m.py", Dest: "/code/app/m.py"}}}},
		{"removed dir inside context rebuilds", cs("-/p/web/app/"),
			want{actions: [2]Action{Rebuild, Noop}, reasonHas: [2]string{"changed: app", ""}}},
		{"dockerfile rebuilds even with sync rules", cs("/p/web/Dockerfile"),
			want{actions: [2]Action{Rebuild, Noop}, reasonHas: [2]string{"build definition changed: Dockerfile", ""}}},
		{"dockerignore rebuilds and reloads", cs("/p/web/.dockerignore"),
			want{actions: [2]Action{Rebuild, Noop}, reasonHas: [2]string{"build definition changed: .dockerignore", ""}, reloadIgnore: true}},
		{"dockerfile-specific ignore file", cs("/p/docker/api.Dockerfile.dockerignore"),
			want{actions: [2]Action{Noop, Rebuild}, reasonHas: [2]string{"", "../../docker/api.Dockerfile.dockerignore"}, reloadIgnore: true}},
		{"dockerfile outside context", cs("/p/docker/api.Dockerfile"),
			want{actions: [2]Action{Noop, Rebuild}, reasonHas: [2]string{"", "build definition changed: ../../docker/api.Dockerfile"}}},
		{"nested context: file belongs to both", cs("/p/web/api/main.go"),
			want{actions: [2]Action{Rebuild, Rebuild}, reasonHas: [2]string{"changed: api/main.go", "changed: main.go"}}},
		{"context removed", cs("-/p/web/api"),
			want{actions: [2]Action{Rebuild, Rebuild}, reasonHas: [2]string{"changed: api", "build definition changed: ."}}},
		{"manifest only", cs("/p/k8s/base/cm.yaml"),
			want{redeploy: true, actions: [2]Action{Noop, Noop}, manifests: 1}},
		{"manifest dir parent removed", cs("-/p/k8s"),
			want{redeploy: true, actions: [2]Action{Noop, Noop}, manifests: 1}},
		{"manifest and sync", cs("/p/k8s/overlays/dev/kustomization.yaml", "/p/web/app/m.py"),
			want{redeploy: true, actions: [2]Action{Sync, Noop}, manifests: 1,
				copies: []SyncFile{{Src: "/p/web/app/m.py", Rel: "app/m.py", Dest: "/code/app/m.py"}}}},
		{"unrelated path", cs("/elsewhere/x", "/p/webby/x"),
			want{actions: [2]Action{Noop, Noop}, unrelated: 2}},
		{"rescan", ChangeSet{Rescan: true},
			want{redeploy: true, actions: [2]Action{Rebuild, Rebuild}, reasonHas: [2]string{"rescan", "rescan"}, reloadIgnore: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Decide(layout(), tt.in)
			if p.ReloadConfig != tt.want.reload {
				t.Fatalf("ReloadConfig = %v, want %v", p.ReloadConfig, tt.want.reload)
			}
			if p.ReloadConfig {
				if len(p.Artifacts) != 0 || p.Redeploy {
					t.Fatalf("config reload decided more: %+v", p)
				}
				return
			}
			if p.Redeploy != tt.want.redeploy {
				t.Errorf("Redeploy = %v, want %v", p.Redeploy, tt.want.redeploy)
			}
			if len(p.ManifestChanges) != tt.want.manifests || p.Unrelated != tt.want.unrelated {
				t.Errorf("manifests %d unrelated %d, want %d %d", len(p.ManifestChanges), p.Unrelated, tt.want.manifests, tt.want.unrelated)
			}
			reloadIgnore := false
			for i, a := range p.Artifacts {
				reloadIgnore = reloadIgnore || a.ReloadIgnore
				if a.Action != tt.want.actions[i] {
					t.Errorf("%s: action %v (%s), want %v", a.Image, a.Action, a.Reason, tt.want.actions[i])
				}
				if !strings.Contains(a.Reason, tt.want.reasonHas[i]) {
					t.Errorf("%s: reason %q lacks %q", a.Image, a.Reason, tt.want.reasonHas[i])
				}
			}
			if reloadIgnore != tt.want.reloadIgnore {
				t.Errorf("ReloadIgnore = %v, want %v", reloadIgnore, tt.want.reloadIgnore)
			}
			web := p.Artifacts[0]
			if !reflect.DeepEqual(web.Copy, tt.want.copies) || !reflect.DeepEqual(web.Delete, tt.want.deletes) {
				t.Errorf("copy %+v delete %v, want %+v %v", web.Copy, web.Delete, tt.want.copies, tt.want.deletes)
			}
		})
	}
}

func TestSyncRuleTargetFunc(t *testing.T) {
	l := Layout{Artifacts: []Artifact{{Image: "x", Context: "/c", Dockerfile: "/c/Dockerfile",
		Sync: []SyncRule{{Target: func(rel string) (string, bool) { return "/custom/" + rel, strings.HasSuffix(rel, ".js") }}}}}}
	p := Decide(l, cs("/c/a/b.js"))
	if a := p.Artifacts[0]; a.Action != Sync || len(a.Copy) != 1 || a.Copy[0].Dest != "/custom/a/b.js" {
		t.Fatalf("plan = %+v", a)
	}
}

func TestMatchGlob(t *testing.T) {
	for _, tt := range []struct {
		pat, name string
		want      bool
	}{
		{"**/*.py", "a.py", true}, {"**/*.py", "a/b/c.py", true}, {"app/**/*.py", "app/x.py", true},
		{"app/**/*.py", "lib/x.py", false}, {"static/**", "static/a/b", true}, {"*.go", "a/b.go", false},
		{"a/**/**/b", "a/b", true}, {"[", "[", false}, {"a/*", "a", false},
	} {
		if got := matchGlob(strings.Split(tt.pat, "/"), strings.Split(tt.name, "/")); got != tt.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", tt.pat, tt.name, got, tt.want)
		}
	}
}

func TestSummary(t *testing.T) {
	l := layout()
	for _, tt := range []struct {
		in   ChangeSet
		want string
	}{
		{cs("/p/devloop.yaml"), "config changed → reload config and redeploy"},
		{cs("/p/web/main.go", "/p/k8s/base/cm.yaml"), "web: changed: main.go → rebuild · manifests: cm.yaml → redeploy"},
		{cs("/p/web/app/m.py"), "web: app/m.py → sync"},
		{cs("/p/web/a.log"), "nothing to do (web: only ignored files changed: a.log)"},
		{cs(), "nothing to do"},
		{ChangeSet{Rescan: true}, "file events lost → rescan everything · web: file events were lost: rescan → rebuild · api: file events were lost: rescan → rebuild"},
		{cs("/p/web/api/a", "/p/web/api/b", "/p/web/api/c", "/p/web/api/d"), "web: changed: api/a, api/b, api/c and 1 more → rebuild · api: changed: a, b, c and 1 more → rebuild"},
	} {
		if got := Summary(Decide(l, tt.in)); got != tt.want {
			t.Errorf("Summary(%v)\n got %q\nwant %q", tt.in.Changes, got, tt.want)
		}
	}
}

func BenchmarkDecide10k(b *testing.B) {
	l := layout()
	var in ChangeSet
	for i := range 10_000 {
		in.Changes = append(in.Changes, Change{Path: fmt.Sprintf("/p/web/pkg%03d/sub%02d/file%d.go", i/200, i%50, i)})
	}
	b.ReportAllocs()
	for b.Loop() {
		if p := Decide(l, in); p.Artifacts[0].Action != Rebuild {
			b.Fatal("want rebuild")
		}
	}
}

func BenchmarkDecideOneEdit(b *testing.B) {
	l := layout()
	in := cs("/p/web/main.go")
	b.ReportAllocs()
	for b.Loop() {
		Decide(l, in)
	}
}
