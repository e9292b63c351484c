package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/devloop-dev/devloop/internal/deploy"
	"github.com/devloop-dev/devloop/internal/logs"
)

// Logs streams the logs of every pod devloop applied for the current
// configuration to Out, restarting the stream when a reload changes the
// configuration's name (its label selector).
type Logs struct {
	log    *zap.Logger
	stream *logs.Streamer
	feed   *Feed
	out    io.Writer
	// allNamespaces watches every namespace (dev: pods stream before the
	// first rollout is healthy); otherwise those of the rendered objects.
	allNamespaces bool
}

var _ Runnable = (*Logs)(nil)

// NewLogs returns the logs component. With allNamespaces the pods of every
// namespace are followed; otherwise those of the namespaces of the state's
// objects.
func NewLogs(client kubernetes.Interface, log *zap.Logger, feed *Feed, out io.Writer, allNamespaces bool) *Logs {
	return &Logs{log: log, stream: logs.New(client, log), feed: feed, out: out, allNamespaces: allNamespaces}
}

// Start streams until ctx ends.
func (l *Logs) Start(ctx context.Context) error {
	var cur *stream
	defer func() { cur.stop() }()
	for {
		st, next := l.feed.Current()
		var ns, fallback []string
		if !l.allNamespaces {
			ns = namespacesOf(st.Objects)
		} else {
			fallback = namespacesOf(st.Objects) // for a user who may not list every namespace
		}
		if cur == nil || st.Config.Metadata.Name != cur.config || !slices.Equal(ns, cur.namespaces) || !slices.Equal(fallback, cur.fallback) {
			cur.stop()
			sel, err := labels.Parse(deploy.Selector(st.Config.Metadata.Name))
			if err != nil {
				return fmt.Errorf("devloop's label selector: %w", err)
			}
			l.log.Debug("streaming logs", zap.String("config", st.Config.Metadata.Name), zap.Strings("namespaces", ns))
			cur = l.start(ctx, st.Config.Metadata.Name, ns, fallback, sel)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-next:
		case <-cur.done:
			if cur.err != nil && !errors.Is(cur.err, context.Canceled) {
				return fmt.Errorf("streaming logs: %w", cur.err)
			}
			return nil
		}
	}
}

// stream is one run of the streamer, for one selector and namespaces.
type stream struct {
	config     string
	namespaces []string
	fallback   []string
	cancel     context.CancelFunc
	done       chan struct{} // closed when the run returned, err set
	err        error
}

func (l *Logs) start(ctx context.Context, config string, ns, fallback []string, sel labels.Selector) *stream {
	sctx, cancel := context.WithCancel(ctx)
	s := &stream{config: config, namespaces: ns, fallback: fallback, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.err = l.stream.Run(sctx, logs.Options{Namespaces: ns, Fallback: fallback, Selector: sel}, l.out)
	}()
	return s
}

// stop ends the run and waits for it; a nil stream is stopped.
func (s *stream) stop() {
	if s == nil {
		return
	}
	s.cancel()
	<-s.done
}

// namespacesOf lists the namespaces of the rendered objects.
func namespacesOf(objs []*unstructured.Unstructured) []string {
	set := map[string]bool{}
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" {
			set[ns] = true
		}
		if o.GetKind() == "Namespace" {
			set[o.GetName()] = true
		}
	}
	out := make([]string, 0, len(set))
	for ns := range set {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}
