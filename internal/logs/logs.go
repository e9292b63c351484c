// Package logs streams the logs of every pod matching a selector, following
// pods as they are created and replaced, with each line prefixed by
// pod/container in a stable color per container.
package logs

import (
	"context"
	"io"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// Options says which pods to follow and how to print their lines.
type Options struct {
	// Namespaces to watch; empty means every namespace.
	Namespaces []string
	// Fallback are the namespaces watched instead of every namespace when
	// Namespaces is empty and the user may not list the pods of every
	// namespace (a user confined to their own); with none, Run then waits
	// for ctx to end.
	Fallback []string
	// Selector of the pods, e.g. devloop's
	// app.kubernetes.io/managed-by=devloop,devloop.dev/config=NAME.
	Selector labels.Selector
	// Colors forces ANSI colors; without it they are used only when out is
	// a terminal.
	Colors bool
}

// Streamer follows the logs of pods.
type Streamer struct {
	client kubernetes.Interface
	log    *zap.Logger

	// last is the time of the last line printed of each container
	// instance (by container ID), across Runs: a stream restarted for a
	// reload never prints a line twice.
	mu   sync.Mutex
	last map[string]time.Time
}

// printed is the time of the last line printed of a container instance.
func (s *Streamer) printed(containerID string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[containerID]
}

// remember records the last line printed of a container instance.
func (s *Streamer) remember(containerID string, t time.Time) {
	if containerID == "" || t.IsZero() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = map[string]time.Time{}
	}
	if t.After(s.last[containerID]) {
		s.last[containerID] = t
	}
}

// forget drops what was printed of container instances whose pod is gone:
// they never come back, and a session of hundreds of rollouts would keep one
// entry for each.
func (s *Streamer) forget(containerIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range containerIDs {
		delete(s.last, id)
	}
}

// New returns a Streamer that reads logs through client and reports its own
// trouble (reconnects, failures) to log.
func New(client kubernetes.Interface, log *zap.Logger) *Streamer {
	return &Streamer{client: client, log: log}
}

// Run writes the lines of every container (init and ephemeral ones included)
// of every matching pod to out until ctx is done, starting each container's
// stream as soon as it starts. It survives API server outages by reconnecting
// with backoff and never repeats a line. It returns nil when ctx ends.
func (s *Streamer) Run(ctx context.Context, opts Options, out io.Writer) error {
	sel := opts.Selector
	if sel == nil {
		sel = labels.Everything()
	}
	w := &lineWriter{out: out, colors: opts.Colors || isTerminal(out)}
	namespaces := opts.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{corev1.NamespaceAll}
		if s.forbiddenEverywhere(ctx, sel) {
			if len(opts.Fallback) == 0 {
				s.log.Debug("the pods of every namespace may not be listed, and no namespace to fall back on")
				<-ctx.Done()
				return nil
			}
			s.log.Info("the pods of every namespace may not be listed: following the app's namespaces", zap.Strings("namespaces", opts.Fallback))
			namespaces = opts.Fallback
		}
	}
	var wg sync.WaitGroup
	for _, ns := range namespaces {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nw := &nsWatch{s: s, ns: ns, sel: sel, w: w, pods: map[string]*podState{}}
			nw.run(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// forbiddenEverywhere reports whether listing the selected pods of every
// namespace is refused (one list of at most one pod).
func (s *Streamer) forbiddenEverywhere(ctx context.Context, sel labels.Selector) bool {
	_, err := s.client.CoreV1().Pods(corev1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: sel.String(), Limit: 1})
	return apierrors.IsForbidden(err)
}
