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
	changed chan struct{} // closed and replaced when cur changes
	ready   func()
	runCtx  context.Context
	bg      sync.WaitGroup // connection warm-ups

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
// connections until ctx is done. onReady (may be nil) is called once with the
// local URL when the first pod is being served. Run is called once per
// Forwarder. It returns nil when ctx ends
// and an error only when it cannot start (such as a taken local port, as a
// *PortInUseError).
func (f *Forwarder) Run(ctx context.Context, onReady func(url string)) error {
	ln, err := f.listen()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	f.mu.Lock()
	f.runCtx = ctx
	f.ready = func() {
		once.Do(func() {
			f.log.Info("forwarding", zap.String("url", f.URL()))
			if onReady != nil {
				onReady(f.URL())
			}
		})
	}
	f.mu.Unlock()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f.track(ctx)
	}()
	go func() {
		<-ctx.Done()
		_ = ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
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
	wg.Wait()
	f.mu.Lock()
	old := f.cur
	f.cur, f.ready = nil, nil
	f.mu.Unlock()
	if old != nil {
		old.retire()
	}
	f.bg.Wait()
	return nil
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
	ready, ctx := f.ready, f.runCtx
	if t != nil && ctx != nil {
		f.bg.Add(1)
		go func() {
			defer f.bg.Done()
			t.warm(ctx, f.dialer, f.log)
		}()
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
	if t != nil && ready != nil {
		ready()
	}
}
