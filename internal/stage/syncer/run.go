package syncer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/livesync"
	"github.com/devloop-dev/devloop/internal/plan"
)

// syncWork is what a sync of one artifact does: the files to copy and
// delete, and whether the containers' processes restart after.
type syncWork struct {
	files   []livesync.File
	restart bool
	// helper is set when the artifact's pods run devloop's helper.
	helper bool
}

// files turns an artifact's sync plan into files: the matched files of
// plain rules, and for every rule with a run command that matched, the
// command's output instead (the command runs here, first). A failing
// command fails the sync with its output.
func (s *Stage) files(ctx context.Context, cfg *config.Config, a plan.ArtifactPlan) (syncWork, error) {
	var w syncWork
	var art *config.Artifact
	for i := range cfg.Build.Artifacts {
		if cfg.Build.Artifacts[i].Image == a.Image {
			art = &cfg.Build.Artifacts[i]
		}
	}
	runDest := map[string]bool{}
	if art != nil {
		w.helper = art.NeedsHelper()
		for i, r := range art.Sync {
			matched := false
			for _, rel := range a.Changed {
				matched = matched || r.Match(rel)
			}
			if !matched {
				continue
			}
			w.restart = w.restart || r.Restart
			if !r.Runs() {
				continue
			}
			runDest[r.Dest] = true
			out, err := s.run(ctx, cfg, *art, i, r)
			if err != nil {
				return w, err
			}
			w.files = append(w.files, livesync.File{Local: out, Dest: r.Dest})
		}
	}
	for _, c := range a.Copy {
		if !runDest[c.Dest] {
			w.files = append(w.files, livesync.File{Local: c.Src, Dest: c.Dest})
		}
	}
	for _, d := range a.Delete {
		if !runDest[d] { // a deleted source: the command's output stays
			w.files = append(w.files, livesync.File{Dest: d, Delete: true})
		}
	}
	return w, nil
}

// run runs rule i's command of art in its directory and returns
// the output file it wrote (DEVLOOP_OUTPUT).
func (s *Stage) run(ctx context.Context, cfg *config.Config, art config.Artifact, i int, r config.SyncRule) (string, error) {
	out := outputPath(cfg, art, i)
	_ = os.Remove(out) // a stale output must not pass for this run's own
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", fmt.Errorf("sync rule %d of %s: %w", i, art.Image, err)
	}
	goos, goarch := "linux", ""
	if s.platform != nil {
		if p := s.platform(cfg, art.Image); p != "" {
			parts := strings.Split(p, "/")
			goos = parts[0]
			if len(parts) > 1 {
				goarch = parts[1]
			}
		}
	}
	vars := map[string]string{"DEVLOOP_OS": goos, "DEVLOOP_ARCH": goarch, "DEVLOOP_OUTPUT": out,
		"DEVLOOP_IMAGE": art.Image, "DEVLOOP_CONTEXT": art.ContextDir}
	expand := func(s string) string { return expandVars(s, vars) }
	args := make([]string, len(r.Run.Command))
	for j, a := range r.Run.Command {
		args[j] = expand(a)
	}
	env := os.Environ()
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	for k, v := range r.Run.Env {
		env = append(env, k+"="+expand(v))
	}
	cctx, cancel := context.WithTimeout(ctx, r.RunTimeout())
	defer cancel()
	t := events.Start(s.sink, events.Event{Phase: events.PhaseSync, Artifact: art.Image,
		Message: "running " + strings.Join(args, " ")})
	cmd := exec.CommandContext(cctx, args[0], args[1:]...)
	cmd.Dir, cmd.Env = r.RunDir(art), env
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		err = fmt.Errorf("sync rule %d of %s: %s failed: %w%s", i, art.Image, strings.Join(args, " "), err, tail(output.String()))
		t.Fail(err)
		return "", err
	}
	if st, err := os.Stat(out); err != nil || !st.Mode().IsRegular() {
		err = fmt.Errorf("sync rule %d of %s: %s wrote no file at $DEVLOOP_OUTPUT (%s)", i, art.Image, strings.Join(args, " "), out)
		t.Fail(err)
		return "", err
	}
	t.Done("ran " + strings.Join(args, " "))
	return out, nil
}

// outputPath is where rule i of art writes its output: a directory of
// devloop's own per configuration file and rule, outside every watched tree.
func outputPath(cfg *config.Config, art config.Artifact, i int) string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d", cfg.File, art.Image, i)))
	return filepath.Join(base, "devloop", "sync", hex.EncodeToString(h[:8]), filepath.Base(art.Image))
}

// tail is the last lines of a command's output, for an error.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return ":\n" + strings.Join(lines, "\n")
}

// expandVars replaces ${NAME} for the names of vars only: anything else,
// $NAME included, is left for the command (a shell script keeps its own).
func expandVars(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "${"+k+"}", v)
	}
	return s
}
