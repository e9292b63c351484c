// Package hooks runs the commands devloop.yaml attaches to a build, a deploy
// or a sync: on this machine, with an environment that names what happened
// and their output streamed with a prefix, or in the containers of the pods
// a selector matches. Each hook is a "hook" event (start, then done or
// failed, with its duration); a failing hook stops the hooks after it and is
// a *Error carrying its exit code and last lines.
package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/events"
)

// tailLines is how many of a failing hook's last lines its error keeps.
const tailLines = 20

// Env names what a hook runs for; it becomes DEVLOOP_* variables.
type Env struct {
	Image, Tag, ImageRef   string
	KubeContext, Namespace string
	ConfigDir              string
	Profiles               []string
}

// Vars returns the environment variables of e.
func (e Env) Vars() []string {
	return []string{
		"DEVLOOP_IMAGE=" + e.Image, "DEVLOOP_TAG=" + e.Tag, "DEVLOOP_IMAGE_REF=" + e.ImageRef,
		"DEVLOOP_KUBE_CONTEXT=" + e.KubeContext, "DEVLOOP_NAMESPACE=" + e.Namespace,
		"DEVLOOP_CONFIG_DIR=" + e.ConfigDir, "DEVLOOP_PROFILES=" + strings.Join(e.Profiles, ","),
	}
}

// PodExecer runs a command in a container and streams its output.
type PodExecer interface {
	// Pods lists the running pods a selector matches in a namespace.
	Pods(ctx context.Context, namespace, selector string) ([]string, error)
	// Exec runs cmd in the container (empty: the pod's first) and returns
	// its exit code.
	Exec(ctx context.Context, namespace, pod, container string, cmd []string, stdout, stderr io.Writer) (int, error)
}

// Runner runs hooks.
type Runner struct {
	log  *zap.Logger
	sink events.Sink
	out  io.Writer
	pods PodExecer
	goos string
}

// New returns a Runner that reports to sink and streams hook output to out
// (each line prefixed); pods may be nil when no container hook is used.
func New(log *zap.Logger, sink events.Sink, out io.Writer, pods PodExecer) *Runner {
	return &Runner{log: log, sink: sink, out: out, pods: pods, goos: runtime.GOOS}
}

// Error is a failed hook.
type Error struct {
	// Stage names where it ran, e.g. "before build of notes-web".
	Stage   string
	Command []string
	// Where is "this machine" or "pod/container".
	Where    string
	ExitCode int
	// Tail is the hook's last output lines.
	Tail []string
	Err  error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s hook %q on %s", e.Stage, strings.Join(e.Command, " "), e.Where)
	switch {
	case e.Err != nil:
		msg += ": " + e.Err.Error()
	default:
		msg += fmt.Sprintf(" exited %d", e.ExitCode)
	}
	if len(e.Tail) > 0 {
		msg += "; last lines:\n  " + strings.Join(e.Tail, "\n  ")
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Run runs hooks in order for stage ("before build", "after deploy", ...);
// artifact is empty for deploy hooks. The first failure stops the rest.
func (r *Runner) Run(ctx context.Context, stage, artifact string, hs []config.Hook, env Env) error {
	for i, h := range hs {
		if len(h.OS) > 0 && !h.InContainer() && !slices.Contains(h.OS, r.goos) {
			r.sink.Emit(events.Event{Phase: events.PhaseHook, Status: events.StatusSkipped, Artifact: artifact,
				Message: fmt.Sprintf("%s hook %d (%s): not for %s", stage, i+1, strings.Join(h.Command, " "), r.goos)})
			continue
		}
		name := fmt.Sprintf("%s hook %d: %s", stage, i+1, strings.Join(h.Command, " "))
		t := events.Start(r.sink, events.Event{Phase: events.PhaseHook, Artifact: artifact, Message: name})
		var err error
		if h.InContainer() {
			err = r.inContainers(ctx, stage, h, env.Namespace)
		} else {
			err = r.onHost(ctx, stage, artifact, h, env)
		}
		if err != nil {
			t.Fail(err)
			return err
		}
		t.Done(name)
	}
	return nil
}

// onHost runs a hook on this machine.
func (r *Runner) onHost(ctx context.Context, stage, artifact string, h config.Hook, env Env) error {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.Command[0], h.Command[1:]...)
	cmd.Dir = h.DirPath
	cmd.Env = append(os.Environ(), env.Vars()...)
	cmd.WaitDelay = 2 * time.Second
	prefix := "[hook " + stage
	if artifact != "" {
		prefix += " " + artifact
	}
	w := newTailWriter(r.out, prefix+"] ")
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	w.flush()
	if err == nil {
		return nil
	}
	he := &Error{Stage: stage, Command: h.Command, Where: "this machine", Tail: w.tail()}
	var ee *exec.ExitError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		he.Err = fmt.Errorf("timed out after %s", h.Timeout)
	case errors.As(err, &ee):
		he.ExitCode = ee.ExitCode()
	default:
		he.Err = err
	}
	return he
}

// inContainers runs a hook in the container of every pod the selector
// matches; none matching is an error (the hook would silently not run).
func (r *Runner) inContainers(ctx context.Context, stage string, h config.Hook, ns string) error {
	if r.pods == nil {
		return &Error{Stage: stage, Command: h.Command, Where: "containers", Err: errors.New("no cluster connection for container hooks")}
	}
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	pods, err := r.pods.Pods(ctx, ns, h.Container.Selector)
	if err != nil {
		return &Error{Stage: stage, Command: h.Command, Where: "pods " + h.Container.Selector, Err: err}
	}
	if len(pods) == 0 {
		return &Error{Stage: stage, Command: h.Command, Where: "pods " + h.Container.Selector,
			Err: fmt.Errorf("no running pod in namespace %s matches %s", ns, h.Container.Selector)}
	}
	for _, pod := range pods {
		where := pod
		if h.Container.Container != "" {
			where += "/" + h.Container.Container
		}
		w := newTailWriter(r.out, "[hook "+stage+" "+where+"] ")
		code, err := r.pods.Exec(ctx, ns, pod, h.Container.Container, h.Command, w, w)
		w.flush()
		if err != nil || code != 0 {
			he := &Error{Stage: stage, Command: h.Command, Where: where, ExitCode: code, Tail: w.tail(), Err: err}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				he.Err = fmt.Errorf("timed out after %s", h.Timeout)
			}
			return he
		}
	}
	return nil
}

// tailWriter prefixes each line written to out and keeps the last ones.
type tailWriter struct {
	mu     sync.Mutex
	out    io.Writer
	prefix string
	buf    []byte
	last   []string
}

func newTailWriter(out io.Writer, prefix string) *tailWriter {
	if out == nil {
		out = io.Discard
	}
	return &tailWriter{out: out, prefix: prefix}
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *tailWriter) line(l string) {
	l = strings.TrimRight(l, "\r")
	_, _ = io.WriteString(w.out, w.prefix+l+"\n")
	w.last = append(w.last, l)
	if len(w.last) > tailLines {
		w.last = w.last[len(w.last)-tailLines:]
	}
}

func (w *tailWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.line(string(w.buf))
		w.buf = nil
	}
}

func (w *tailWriter) tail() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.last...)
}
