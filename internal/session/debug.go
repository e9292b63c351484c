package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/debug"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/portforward"
)

// debugForwards starts, in eg, a forward to 127.0.0.1 of every debug port
// of the deployed objects (`devloop debug`), and announces each in a debug
// event whenever it serves a pod (after every redeploy too). A port keeps
// its local port for the whole session, so an editor's attach
// configuration keeps working across rebuilds and reloads.
func (f *Forwards) debugForwards(ctx context.Context, eg *errgroup.Group, cfg *config.Config, objs []*unstructured.Unstructured) {
	ds := debug.Forwards(objs)
	if f.launchFile != "" {
		defer f.writeLaunch(cfg, ds)
	}
	for _, d := range ds {
		ns := d.Namespace
		if ns == "" {
			ns = forwardNamespace(config.PortForward{Resource: d.Kind + "/" + d.Name}, cfg, f.kc, objs)
		}
		local, err := f.debugLocalPort(d.Key(), d.Port)
		if err == nil {
			spec := portforward.Spec{Namespace: ns, Kind: d.Kind, Name: d.Name, Port: d.Port, LocalPort: local}
			var fw *portforward.Forwarder
			if fw, err = portforward.New(f.kc.Config, f.kc.Clientset, f.log, spec); err == nil {
				eg.Go(func() error {
					err := fw.Run(ctx, func(s portforward.State) { f.sink.Emit(debugEvent(d, local, s)) })
					if err != nil && !errors.Is(err, context.Canceled) {
						f.sink.Emit(events.Event{Phase: events.PhaseDebug, Status: events.StatusFailed, Artifact: d.Artifact,
							Object: d.Kind + "/" + d.Name, Container: d.Container, Message: err.Error()})
					}
					return nil
				})
				continue
			}
		}
		f.sink.Emit(events.Event{Phase: events.PhaseDebug, Status: events.StatusFailed, Artifact: d.Artifact,
			Object: d.Kind + "/" + d.Name, Container: d.Container,
			Message: fmt.Sprintf("debug port %d of %s/%s container %s: %v", d.Port, d.Kind, d.Name, d.Container, err)})
	}
}

// debugLocalPort is the local port of the debug forward key: the one it
// had, else the pod's port when free on 127.0.0.1, else a free one.
func (f *Forwards) debugLocalPort(key string, port int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.debugPorts[key]; ok {
		return p, nil
	}
	taken := map[int]bool{}
	for _, p := range f.debugPorts {
		taken[p] = true
	}
	p, err := freeLocalPort(port, taken)
	if err != nil {
		return 0, err
	}
	if f.debugPorts == nil {
		f.debugPorts = map[string]int{}
	}
	f.debugPorts[key] = p
	return p, nil
}

func freeLocalPort(want int, taken map[int]bool) (int, error) {
	if !taken[want] {
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(want))); err == nil {
			_ = l.Close()
			return want, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free local port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// debugEvent announces a debug forward's state: the pod it serves and
// where a debugger attaches, or that it is down.
func debugEvent(d debug.Forward, local int, s portforward.State) events.Event {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(local))
	e := events.Event{Phase: events.PhaseDebug, Artifact: d.Artifact, Object: d.Kind + "/" + d.Name, Pod: s.Pod,
		Container: d.Container, Runtime: string(d.Runtime), Protocol: d.Protocol, Address: addr, LocalPort: local}
	if !s.Up {
		e.Status = events.StatusFailed
		e.Message = fmt.Sprintf("debug port of %s container %s not reachable (%s); retrying", e.Object, d.Container, s.Reason)
		return e
	}
	e.Status = events.StatusDone
	e.Message = fmt.Sprintf("%s debugger of %s (pod %s, container %s) on %s (%s)", d.Runtime, d.Artifact, s.Pod, d.Container, addr, d.Protocol)
	return e
}
