package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/debug"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/kube"
	"github.com/devloop-dev/devloop/internal/portforward"
)

// Forwards runs the port-forwards of the current configuration once the
// first pass ended, and restarts them on every state the feed publishes
// (a reload may change them; the objects tell their namespaces).
type Forwards struct {
	log  *zap.Logger
	kc   *kube.Client
	sink events.Sink
	feed *Feed
	// failOnError ends Start when a forward fails (devloop run); the dev
	// loop reports the failure and keeps going.
	failOnError bool

	mu   sync.Mutex
	urls []string
	// debugPorts are the local ports of the debug forwards, by
	// debug.Forward.Key, kept for the session.
	debugPorts map[string]int
	// launchFile, when set, is the launch.json the debug forwards' attach
	// configurations are written to (`devloop debug --write-launch`).
	launchFile string
}

var _ Runnable = (*Forwards)(nil)

// NewForwards returns the port-forwards component.
func NewForwards(kc *kube.Client, log *zap.Logger, sink events.Sink, feed *Feed, failOnError bool) *Forwards {
	return &Forwards{log: log, kc: kc, sink: sink, feed: feed, failOnError: failOnError}
}

// URLs are the local URLs of the forwards running now.
func (f *Forwards) URLs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.urls...)
}

// Start runs the forwards until ctx ends.
func (f *Forwards) Start(ctx context.Context) error {
	for {
		st, next := f.feed.Current()
		fctx, cancel := context.WithCancel(ctx)
		ended := make(chan error, 1)
		if st.Deployed && (len(st.Config.PortForward) > 0 || len(debug.Forwards(st.Objects)) > 0) {
			go func() { ended <- f.run(fctx, st.Config, st.Objects) }()
		} else {
			f.setURLs(nil)
			close(ended)
		}
		select {
		case <-ctx.Done():
			cancel()
			f.drain(ended)
			return nil
		case <-next:
			cancel()
			f.drain(ended)
		case err := <-ended:
			if err != nil {
				cancel()
				return err
			}
			select { // every forward ended: wait for the next state
			case <-ctx.Done():
				cancel()
				return nil
			case <-next:
				cancel()
			}
		}
	}
}

// drain waits for forwards ended by a cancel; what they return then only
// says they were cancelled.
func (f *Forwards) drain(ended <-chan error) {
	if err := <-ended; err != nil {
		f.log.Debug("port-forwards ended", zap.Error(err))
	}
}

func (f *Forwards) setURLs(urls []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.urls = urls
}

// run runs cfg's forwards until ctx ends; with failOnError the first
// failure ends them all.
func (f *Forwards) run(ctx context.Context, cfg *config.Config, objs []*unstructured.Unstructured) error {
	var urls []string
	for _, pf := range cfg.PortForward {
		urls = append(urls, fmt.Sprintf("http://%s:%d", addrOr(pf.Address), pf.LocalPort))
	}
	f.setURLs(urls)
	eg, ctx := errgroup.WithContext(ctx)
	f.debugForwards(ctx, eg, cfg, objs)
	for _, pf := range cfg.PortForward {
		spec := portforward.Spec{
			Namespace: forwardNamespace(pf, cfg, f.kc, objs), Kind: pf.Kind(), Name: pf.Name(),
			Port: pf.Port, LocalPort: pf.LocalPort, Address: pf.Address,
		}
		fw, err := portforward.New(f.kc.Config, f.kc.Clientset, f.log, spec)
		if err != nil {
			if f.failOnError {
				return err
			}
			f.sink.Emit(events.Event{Phase: events.PhasePortForward, Status: events.StatusFailed, Object: pf.Resource, Message: err.Error()})
			continue
		}
		eg.Go(func() error {
			err := fw.Run(ctx, func(s portforward.State) { f.sink.Emit(forwardEvent(pf, s)) })
			if err != nil && !errors.Is(err, context.Canceled) {
				f.sink.Emit(events.Event{Phase: events.PhasePortForward, Status: events.StatusFailed, Object: pf.Resource, Message: err.Error()})
				if f.failOnError {
					return fmt.Errorf("port-forward %s: %w", pf.Resource, err)
				}
			}
			return nil
		})
	}
	err := eg.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// forwardEvent says what a forward's new state means to the user: serving
// (again), or down and why, with the promise that connections are refused
// meanwhile rather than left hanging.
func forwardEvent(pf config.PortForward, s portforward.State) events.Event {
	e := events.Event{Phase: events.PhasePortForward, Object: pf.Resource, URL: s.URL}
	switch {
	case s.Up && s.Down > 0:
		e.Status = events.StatusInfo
		e.Message = fmt.Sprintf("%s:%d serving again at %s (pod %s; it was down %s)", pf.Resource, pf.Port, s.URL, s.Pod, s.Down.Round(time.Millisecond))
	case s.Up:
		e.Status = events.StatusInfo
		e.Message = fmt.Sprintf("%s:%d serving at %s", pf.Resource, pf.Port, s.URL)
	default:
		e.Status = events.StatusFailed
		e.Message = fmt.Sprintf("%s:%d not reachable (%s): connections to %s are refused until it is; retrying", pf.Resource, pf.Port, s.Reason, s.URL)
	}
	return e
}

// forwardNamespace: the forward's own namespace, else the namespace of the
// rendered object it names, else the deploy namespace, else the context's.
func forwardNamespace(pf config.PortForward, cfg *config.Config, kc *kube.Client, objs []*unstructured.Unstructured) string {
	if pf.Namespace != "" {
		return pf.Namespace
	}
	for _, o := range objs {
		if o.GetKind() == config.ObjectKind(pf.Kind()) && o.GetName() == pf.Name() && o.GetNamespace() != "" {
			return o.GetNamespace()
		}
	}
	if cfg.Deploy.Namespace != "" {
		return cfg.Deploy.Namespace
	}
	return kc.Namespace
}

func addrOr(a string) string {
	if a == "" {
		return "127.0.0.1"
	}
	if strings.Contains(a, ":") {
		return "[" + a + "]"
	}
	return a
}
