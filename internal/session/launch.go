package session

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/debug"
	"github.com/devloop-dev/devloop/internal/events"
)

// LaunchFile is where `devloop debug --write-launch` writes its attach
// configurations: VS Code's launch.json of the project's folder.
func LaunchFile(cfg *config.Config) string {
	return filepath.Join(cfg.Dir, ".vscode", "launch.json")
}

// launchTargets are the attach configurations of the debug forwards, with
// the local port each keeps for the session: the artifact's context
// mapped to where its files are in the container (for Go, the directory
// the Dockerfile compiles in; for Python and Node, the working directory).
func launchTargets(cfg *config.Config, ds []debug.Forward, ports map[string]int) []debug.LaunchTarget {
	var out []debug.LaunchTarget
	for _, d := range ds {
		local, ok := ports[d.Key()]
		if !ok {
			continue
		}
		t := debug.LaunchTarget{Artifact: d.Artifact, Container: d.Container, Runtime: d.Runtime, LocalPort: local,
			LocalRoot: ".", RemoteRoot: d.WorkingDir}
		for _, a := range cfg.Build.Artifacts {
			if a.Image != d.Artifact {
				continue
			}
			if rel, err := filepath.Rel(cfg.Dir, a.ContextDir); err == nil {
				t.LocalRoot = filepath.ToSlash(rel)
			}
			if d.Runtime == debug.Go {
				t.RemoteRoot = ""
				if b, err := os.ReadFile(a.DockerfilePath); err == nil {
					t.RemoteRoot = debug.GoBuildDir(string(b))
				}
			}
		}
		out = append(out, t)
	}
	return out
}

// writeLaunch updates the launch file with the attach configurations of
// ds (when it changed) and says so; a file it cannot read or write is
// reported, and debugging goes on.
func (f *Forwards) writeLaunch(cfg *config.Config, ds []debug.Forward) {
	f.mu.Lock()
	targets := launchTargets(cfg, ds, f.debugPorts)
	f.mu.Unlock()
	if len(targets) == 0 {
		return
	}
	err := func() error {
		old, err := os.ReadFile(f.launchFile)
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("reading %s: %w", f.launchFile, err)
		}
		b, err := debug.UpdateLaunch(old, targets)
		if err != nil {
			return fmt.Errorf("%s: %w", f.launchFile, err)
		}
		if bytes.Equal(b, old) {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(f.launchFile), 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", f.launchFile, err)
		}
		if err := os.WriteFile(f.launchFile, b, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", f.launchFile, err)
		}
		f.sink.Emit(events.Event{Phase: events.PhaseDebug, Status: events.StatusInfo,
			Message: fmt.Sprintf("wrote %d attach configurations to %s (named %q...)", len(targets), f.launchFile, debug.LaunchPrefix)})
		return nil
	}()
	if err != nil {
		f.sink.Emit(events.Event{Phase: events.PhaseDebug, Status: events.StatusFailed, Message: err.Error()})
	}
}
