// Package syncer is the sync stage: the files an edit changed go into the
// running containers of their artifact without a rebuild. A sync rule with
// a run command runs it here first and copies its output; rules may restart
// the process (through devloop's helper) and run after-sync hooks in the
// container.
package syncer

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deploy"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/livesync"
	"github.com/devloop-dev/devloop/internal/plan"
)

// Copier copies files into running containers (livesync.Syncer).
type Copier interface {
	Sync(ctx context.Context, target livesync.Target, files []livesync.File) (livesync.Result, error)
}

// Stage syncs artifacts' changed files into their pods.
type Stage struct {
	sink     events.Sink
	copier   Copier
	platform func(cfg *config.Config, image string) string
}

// New returns the sync stage. platform is the platform (os/arch) an
// artifact runs on, for the DEVLOOP_OS and DEVLOOP_ARCH of run commands;
// nil means linux, no arch.
func New(sink events.Sink, c Copier, platform func(cfg *config.Config, image string) string) *Stage {
	return &Stage{sink: sink, copier: c, platform: platform}
}

// Sync copies an artifact's changed files into its running containers.
func (s *Stage) Sync(ctx context.Context, cfg *config.Config, a plan.ArtifactPlan) error {
	sel, err := labels.Parse(deploy.Selector(cfg.Metadata.Name))
	if err != nil {
		return fmt.Errorf("devloop's label selector: %w", err)
	}
	sw, err := s.files(ctx, cfg, a) // runs the rules' host commands
	if err != nil {
		return fmt.Errorf("syncing %s: %w", a.Image, err)
	}
	t := events.Start(s.sink, events.Event{Phase: events.PhaseSync, Artifact: a.Image})
	target := livesync.Target{Namespace: cfg.Deploy.Namespace, Selector: sel, Image: a.Image, After: afterHooks(cfg, a), Restart: sw.restart}
	if sw.helper {
		target.Helper = deploy.HelperPath
	}
	r, err := s.copier.Sync(ctx, target, sw.files)
	if err != nil {
		t.Fail(err)
		return fmt.Errorf("syncing %s: %w", a.Image, err)
	}
	t.Done(fmt.Sprintf("%d files into %d pods (%s)", r.Files, r.Pods, strings.Join(a.Changed, ", ")),
		func(e *events.Event) { e.Bytes = r.Bytes })
	return nil
}

// afterHooks are the after-sync hooks of the sync rules that matched the
// artifact's changed paths, in rule order.
func afterHooks(cfg *config.Config, a plan.ArtifactPlan) []livesync.Command {
	var out []livesync.Command
	for _, art := range cfg.Build.Artifacts {
		if art.Image != a.Image {
			continue
		}
		for _, r := range art.Sync {
			matched := false
			for _, rel := range a.Changed {
				matched = matched || r.Match(rel)
			}
			if !matched {
				continue
			}
			for _, h := range r.Hooks.After {
				out = append(out, livesync.Command{Args: h.Command, Timeout: h.Timeout})
			}
		}
	}
	return out
}
