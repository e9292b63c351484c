package session

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/debug"
)

func TestLaunchTargetsMapTheContext(t *testing.T) {
	dir := t.TempDir()
	dockerfile := filepath.Join(dir, "svc", "api", "Dockerfile")
	if err := os.MkdirAll(filepath.Dir(dockerfile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dockerfile, []byte("FROM golang\nWORKDIR /build\nRUN go build -o /api .\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Dir: dir, Build: config.Build{Artifacts: []config.Artifact{
		{Image: "api", ContextDir: filepath.Join(dir, "svc", "api"), DockerfilePath: dockerfile},
		{Image: "web", ContextDir: dir},
	}}}
	api := debug.Forward{Kind: "deployment", Name: "api", Container: "api", Artifact: "api", Runtime: debug.Go, WorkingDir: "/"}
	web := debug.Forward{Kind: "deployment", Name: "web", Container: "web", Artifact: "web", Runtime: debug.Python, WorkingDir: "/app"}
	gone := debug.Forward{Kind: "deployment", Name: "x", Container: "x", Artifact: "x", Runtime: debug.Node}
	got := launchTargets(cfg, []debug.Forward{api, web, gone}, map[string]int{api.Key(): 40001, web.Key(): 40002})
	want := []debug.LaunchTarget{
		{Artifact: "api", Container: "api", Runtime: debug.Go, LocalPort: 40001, LocalRoot: "svc/api", RemoteRoot: "/build"},
		{Artifact: "web", Container: "web", Runtime: debug.Python, LocalPort: 40002, LocalRoot: ".", RemoteRoot: "/app"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("target %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
