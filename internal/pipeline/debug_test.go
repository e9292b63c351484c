package pipeline

import (
	"testing"

	"github.com/devloop-dev/devloop/internal/config"
)

func TestDebugBuildArgs(t *testing.T) {
	cfg := &config.Config{}
	cfg.Build.Artifacts = []config.Artifact{
		{Image: "web", BuildArgs: map[string]string{"A": "1"}},
		{Image: "api"},
		{Image: "own", BuildArgs: map[string]string{GoGCFlagsArg: "all=-N"}},
	}
	d := &DebugOptions{}
	web := debugBuild(d, cfg, cfg.Build.Artifacts[0])
	if web.BuildArgs[GoGCFlagsArg] != "all=-N -l" || web.BuildArgs["A"] != "1" {
		t.Errorf("web build args %v", web.BuildArgs)
	}
	if _, set := cfg.Build.Artifacts[0].BuildArgs[GoGCFlagsArg]; set {
		t.Error("the configuration's build args were changed")
	}
	if got := debugBuild(d, cfg, cfg.Build.Artifacts[2]).BuildArgs[GoGCFlagsArg]; got != "all=-N" {
		t.Errorf("devloop.yaml's %s replaced by %q", GoGCFlagsArg, got)
	}
	if got := debugBuild(d, cfg, config.Artifact{Image: "devloop-helper"}).BuildArgs; got != nil {
		t.Errorf("an image outside the configuration got %v", got)
	}
	d.Artifacts = []string{"api"}
	if got := debugBuild(d, cfg, cfg.Build.Artifacts[0]).BuildArgs[GoGCFlagsArg]; got != "" {
		t.Errorf("an artifact not named got %q", got)
	}
	if got := debugBuild(d, cfg, cfg.Build.Artifacts[1]).BuildArgs[GoGCFlagsArg]; got == "" {
		t.Error("the named artifact got no debug build argument")
	}
	d = nil
	if got := debugBuild(d, cfg, cfg.Build.Artifacts[1]).BuildArgs; got != nil {
		t.Errorf("without debug: %v", got)
	}
}
