package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/pipeline"
)

func TestDebugFlags(t *testing.T) {
	_, o := parse(t, newDebugCmd, "debug", "web", "api", "--no-logs", "--cleanup=false")
	if o.debug == nil || strings.Join(o.debug.Artifacts, ",") != "web,api" || !o.NoLogs || o.Cleanup {
		t.Errorf("debug options: %+v %+v", o, o.debug)
	}
	_, o = parse(t, newDebugCmd, "debug")
	if o.debug == nil || len(o.debug.Artifacts) != 0 || !o.Cleanup {
		t.Errorf("debug defaults: %+v %+v", o, o.debug)
	}
	_, d := parse(t, newDevCmd, "dev")
	if d.debug != nil {
		t.Error("dev debugs")
	}
}

func TestCheckDebugArtifacts(t *testing.T) {
	cfg := &config.Config{File: "/p/devloop.yaml"}
	cfg.Build.Artifacts = []config.Artifact{{Image: "web"}, {Image: "api"}}
	if err := checkDebugArtifacts(cfg, &pipeline.DebugOptions{Artifacts: []string{"api"}}); err != nil {
		t.Fatal(err)
	}
	if err := checkDebugArtifacts(cfg, nil); err != nil {
		t.Fatal(err)
	}
	err := checkDebugArtifacts(cfg, &pipeline.DebugOptions{Artifacts: []string{"web", "wbe"}})
	var ue *UsageError
	if !errors.As(err, &ue) || ExitCode(err) != 2 || !strings.Contains(err.Error(), "wbe: no such artifact in /p/devloop.yaml (artifacts: web, api)") {
		t.Fatalf("err %v (exit %d)", err, ExitCode(err))
	}
}
