package syncer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/plan"
)

type discard struct{}

func (discard) Emit(events.Event) {}

func runRuleConfig(t *testing.T, command []string) (*config.Config, string) {
	t.Helper()
	ctxDir := t.TempDir()
	cfg := &config.Config{File: filepath.Join(ctxDir, "devloop.yaml")}
	cfg.Build.Artifacts = []config.Artifact{{Image: "web", ContextDir: ctxDir, Sync: []config.SyncRule{
		{Src: "**/*.go", Dest: "/app/web", Restart: true, Run: config.SyncRun{Command: command, Env: map[string]string{"GOARCH": "${DEVLOOP_ARCH}"}}},
		{Src: "static/**", Dest: "/app"},
	}}}
	return cfg, ctxDir
}

// A rule with a run command copies the command's output to its dest, not
// the matched sources; deleting a source deletes nothing in the container.
func TestSyncFilesRunsTheCommandAndCopiesItsOutput(t *testing.T) {
	cfg, ctxDir := runRuleConfig(t, []string{"sh", "-c", `echo "built for $GOARCH in $(basename "$(pwd -P)")" > "${DEVLOOP_OUTPUT}"`})
	l := New(discard{}, nil, func(*config.Config, string) string { return "linux/arm64" })
	a := plan.ArtifactPlan{Image: "web", Action: plan.Sync, Changed: []string{"main.go", "old.go", "static/a.css"},
		Copy:   []plan.SyncFile{{Src: filepath.Join(ctxDir, "main.go"), Rel: "main.go", Dest: "/app/web"}, {Src: filepath.Join(ctxDir, "static/a.css"), Rel: "static/a.css", Dest: "/app/static/a.css"}},
		Delete: []string{"/app/web"}}
	w, err := l.files(context.Background(), cfg, a)
	if err != nil {
		t.Fatal(err)
	}
	if !w.restart || !w.helper {
		t.Errorf("restart %v helper %v; want both", w.restart, w.helper)
	}
	if len(w.files) != 2 || w.files[0].Dest != "/app/web" || w.files[1].Dest != "/app/static/a.css" || w.files[0].Delete || w.files[1].Delete {
		t.Fatalf("files %+v; want the output at /app/web and the css, nothing deleted", w.files)
	}
	b, err := os.ReadFile(w.files[0].Local)
	if want := "built for arm64 in " + filepath.Base(ctxDir) + "\n"; err != nil || string(b) != want {
		t.Fatalf("output %q, %v; want %q", b, err, want)
	}
	if strings.HasPrefix(w.files[0].Local, ctxDir) {
		t.Errorf("output %s inside the watched context", w.files[0].Local)
	}
}

func TestSyncFilesReportsAFailingCommand(t *testing.T) {
	cfg, _ := runRuleConfig(t, []string{"sh", "-c", "echo 'main.go:3:1: syntax error' >&2; exit 1"})
	l := New(discard{}, nil, nil)
	_, err := l.files(context.Background(), cfg, plan.ArtifactPlan{Image: "web", Action: plan.Sync, Changed: []string{"main.go"}})
	if err == nil || !strings.Contains(err.Error(), "main.go:3:1: syntax error") || !strings.Contains(err.Error(), "sync rule 0 of web") {
		t.Fatalf("err = %v; want the rule and the command's output", err)
	}
	cfg, _ = runRuleConfig(t, []string{"true"})
	_, err = l.files(context.Background(), cfg, plan.ArtifactPlan{Image: "web", Action: plan.Sync, Changed: []string{"main.go"}})
	if err == nil || !strings.Contains(err.Error(), "wrote no file at $DEVLOOP_OUTPUT") {
		t.Fatalf("err = %v; want the missing output named", err)
	}
}
