package portforward

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Forwarder forwards one local port to the newest Ready pod behind a
// resource. It keeps its own listener for its whole life and opens one SPDY
// connection per pod, with a data and an error stream per accepted local
// connection, so that switching pods never rebinds the local port.
type Forwarder struct {
	spec   Spec
	kind   string
	name   string
	client kubernetes.Interface
	dialer podDialer
	log    *zap.Logger

	// waitReady is how long an accepted connection waits for a Ready pod.
	waitReady time.Duration
	procRoot  string

	mu      sync.Mutex
	cur     *target
	spare   *target       // dialed ahead: the pod likely served next (spare.go)
	changed chan struct{} // closed and replaced when cur changes
	health  *health
	runCtx  context.Context
	bg      sync.WaitGroup // connection warm-ups and re-dials
	noPod   *time.Timer    // marks the forward down when no pod came back
	stopped bool           // Run is ending: no more background work

	requestIDs atomic.Int64
}

// New returns a Forwarder for spec. cfg must be the config client was made
// from; it carries the credentials of the port-forward connections.
func New(cfg *rest.Config, client kubernetes.Interface, log *zap.Logger, spec Spec) (*Forwarder, error) {
	d, err := newSPDYDialer(cfg)
	if err != nil {
		return nil, err
	}
	return newForwarder(client, d, log, spec)
}

func newForwarder(client kubernetes.Interface, d podDialer, log *zap.Logger, spec Spec) (*Forwarder, error) {
	spec, err := spec.withDefaults()
	if err != nil {
		return nil, err
	}
	kind, name := spec.Kind, spec.Name
	return &Forwarder{
		spec: spec, kind: kind, name: name, client: client, dialer: d,
		log:       log.With(zap.String("forward", fmt.Sprintf("%s/%s/%s:%d", spec.Namespace, kind, name, spec.Port))),
		waitReady: 5 * time.Second,
		procRoot:  "/proc",
		changed:   make(chan struct{}),
	}, nil
}

// URL is the local address the forward serves on.
func (f *Forwarder) URL() string {
	host := f.spec.Address
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(f.spec.LocalPort))
}

// Run binds the local port, follows the resource's pods and forwards
// connections until ctx is done. onState (may be nil) is called with the
// forward's state each time it changes: up (with the URL) when a pod is
// first being served and after every recovery, down (with the reason)
// when nothing can be served. While down the local port is closed, so a
// client's connection is refused at once instead of hanging; it is bound
// again as soon as the pod is reachable. Run is called once per Forwarder.
// It returns nil when ctx ends and an error only when it cannot start
// (such as a taken local port, as a *PortInUseError).
func (f *Forwarder) Run(ctx context.Context, onState func(State)) error {
	ln, err := f.listen()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f.mu.Lock()
	f.runCtx = ctx
	f.health = newHealth(f.URL(), f.log, onState)
	f.health.listening(ln)
	f.mu.Unlock()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f.track(ctx)
	}()
	for ln != nil {
		f.serve(ctx, ln, &wg)
		if ctx.Err() != nil {
			break
		}
		ln = f.recover(ctx)
	}
	wg.Wait()
	f.mu.Lock()
	old, spare := f.cur, f.spare
	f.cur, f.spare, f.stopped = nil, nil, true
	if f.noPod != nil {
		f.noPod.Stop()
	}
	f.mu.Unlock()
	for _, t := range []*target{old, spare} {
		if t != nil {
			t.retire()
		}
	}
	f.bg.Wait()
	return nil
}

// serve accepts local connections on ln (already recorded in f.health, by
// Run or recover) until ctx ends or the forward goes down; it closes ln.
func (f *Forwarder) serve(ctx context.Context, ln net.Listener, wg *sync.WaitGroup) {
	down := f.health.downChan()
	go func() {
		select {
		case <-ctx.Done():
		case <-down:
		}
		_ = ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || f.health.isDown() {
				return
			}
			f.log.Warn("accepting a local connection", zap.Error(err))
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.handle(ctx, conn)
		}()
	}
}

func (f *Forwarder) listen() (net.Listener, error) {
	addr := net.JoinHostPort(f.spec.Address, strconv.Itoa(f.spec.LocalPort))
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		pid, comm := portHolder(f.procRoot, f.spec.LocalPort)
		return nil, fmt.Errorf("port-forward %s: %w", f.spec.resource(), &PortInUseError{Address: addr, PID: pid, Command: comm, Err: err})
	}
	return nil, fmt.Errorf("port-forward %s: listening on %s: %w", f.spec.resource(), addr, err)
}

// current returns the target being served and a channel closed when it
// changes.
func (f *Forwarder) current() (*target, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur, f.changed
}

// setTarget switches to t (nil: no Ready pod) and logs the change.
func (f *Forwarder) setTarget(t *target) {
	f.mu.Lock()
	old := f.cur
	if old.same(t) {
		f.mu.Unlock()
		return
	}
	f.cur = t
	close(f.changed)
	f.changed = make(chan struct{})
	h, ctx := f.health, f.runCtx
	if f.noPod != nil {
		f.noPod.Stop()
		f.noPod = nil
	}
	if t != nil && ctx != nil {
		f.bg.Add(1)
		go func() {
			defer f.bg.Done()
			t.warm(ctx, f.dialer, f.log)
		}()
	}
	if t == nil && h != nil {
		// Pods come and go in a rollout: down only if none is back in time.
		f.noPod = time.AfterFunc(f.waitReady, func() {
			if cur, _ := f.current(); cur == nil {
				h.down(fmt.Sprintf("no Ready pod behind %s", f.spec.resource()))
			}
		})
	}
	f.mu.Unlock()

	if old != nil {
		old.retire()
	}
	switch {
	case t == nil && old != nil:
		f.log.Info("waiting for a Ready pod", zap.String("was", old.pod))
	case t != nil && old == nil:
		f.log.Info("serving pod", zap.String("pod", t.pod), zap.Int("port", t.port))
	case t != nil:
		f.log.Info("switched to pod", zap.String("pod", t.pod), zap.String("from", old.pod), zap.Int("port", t.port))
	}
	if t != nil && h != nil && !h.isDown() {
		h.up(t.pod, nil)
	}
}
