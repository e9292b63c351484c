package config

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/devloop-dev/devloop/internal/plan"
)

// Match reports whether rel, a slash-separated path relative to the build context,
// matches the rule's Src glob as plan.MatchGlob does: each segment matches as with
// path.Match; a segment "**" matches any number of segments, none included, so
// "**/*.py" matches "app.py" and "a/b/c.py", and "templates/**" matches everything
// under templates. rel is cleaned first; a path outside the context matches nothing.
func (r SyncRule) Match(rel string) bool {
	rel = strings.TrimPrefix(path.Clean(strings.ReplaceAll(rel, "\\", "/")), "./")
	if rel == "." || rel == "" || strings.HasPrefix(rel, "../") || rel == ".." || path.IsAbs(rel) {
		return false
	}
	return plan.MatchGlob(r.Src, rel)
}

// Target returns where the file at context-relative path rel lands in the container,
// path.Join(Dest, rel), and whether the rule applies to it at all. With a run command
// every matched file maps to Dest: what lands there is the command's output.
func (r SyncRule) Target(rel string) (string, bool) {
	if !r.Match(rel) {
		return "", false
	}
	if r.Runs() {
		return r.Dest, true
	}
	return path.Join(r.Dest, path.Clean(strings.ReplaceAll(rel, "\\", "/"))), true
}

// checkSrc validates the Src glob: relative, inside the context, every segment a valid
// path.Match pattern.
func (r SyncRule) checkSrc() error {
	s := r.Src
	switch {
	case path.IsAbs(s):
		return fmt.Errorf("%q is absolute; expected a glob relative to the build context, e.g. app/**/*.py", s)
	case path.Clean(s) == ".." || strings.HasPrefix(path.Clean(s), "../"):
		return fmt.Errorf("%q leaves the build context; expected a glob relative to it", s)
	}
	for _, seg := range plan.SplitGlob(s) {
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("%q is not a valid glob (segment %q): %w", s, seg, err)
		}
	}
	return nil
}

// syncRun validates a rule's run command: a command if anything of it is set,
// a directory inside the context, environment names without "=", and an output
// path that is a file, not a directory.
func (v *validator) syncRun(sp string, r SyncRule) {
	run := r.Run
	rp := sp + ".run"
	if len(run.Command) == 0 {
		if run.Dir != "" || len(run.Env) > 0 || run.Timeout != 0 {
			v.errorf(rp, nil, "%s: expected run.command, e.g. [go, build, -o, \"${DEVLOOP_OUTPUT}\", .]", rp)
		}
		return
	}
	if run.Command[0] == "" {
		v.errorf(rp+".command", nil, "%s.command: the program name is empty", rp)
	}
	if d := path.Clean(filepath.ToSlash(run.Dir)); path.IsAbs(d) || d == ".." || strings.HasPrefix(d, "../") {
		v.errorf(rp+".dir", nil, "%s.dir: %q must be relative to the build context and inside it", rp, run.Dir)
	}
	for k := range run.Env {
		if k == "" || strings.ContainsAny(k, "= ") {
			v.errorf(rp+".env", nil, "%s.env: %q is not a valid variable name", rp, k)
		}
	}
	if run.Timeout < 0 {
		v.errorf(rp+".timeout", nil, "%s.timeout: %v is negative", rp, run.Timeout)
	}
	if strings.HasSuffix(r.Dest, "/") {
		v.errorf(sp+".dest", nil, "%s.dest: %q ends in /; with run, dest is the path of the output file in the container, such as /app/server", sp, r.Dest)
	}
}

// Runs reports whether the rule runs a command on this machine before the copy.
func (r SyncRule) Runs() bool { return len(r.Run.Command) > 0 }

// RunDir is the absolute directory the rule's command runs in.
func (r SyncRule) RunDir(a Artifact) string {
	return filepath.Join(a.ContextDir, filepath.FromSlash(r.Run.Dir))
}

// RunTimeout bounds the rule's command.
func (r SyncRule) RunTimeout() time.Duration {
	if r.Run.Timeout > 0 {
		return r.Run.Timeout
	}
	return DefaultHookTimeout
}

// NeedsHelper reports whether any sync rule of the artifact restarts the
// process (which devloop's helper does).
func (a Artifact) NeedsHelper() bool {
	for _, r := range a.Sync {
		if r.Restart {
			return true
		}
	}
	return false
}
