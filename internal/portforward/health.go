package portforward

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"
)

// State is what a forward can do now, as reported to Run's caller.
type State struct {
	// Up: local connections are accepted and served.
	Up bool
	// URL is the local address.
	URL string
	// Pod is the pod served (when up).
	Pod string
	// Reason says why nothing can be served (when down).
	Reason string
	// Down is how long the forward was down, on the report that it is up
	// again (zero on the first one).
	Down time.Duration
}

// Recovery: while down, the target is probed this often, each probe
// bounded by probeTimeout; a reachable target is served again at once.
const (
	probeEvery   = 250 * time.Millisecond
	probeTimeout = 2 * time.Second
)

// health is a forward's up/down state. Going down closes downChan (serve
// closes the listener on it); going up replaces it.
type health struct {
	url     string
	log     *zap.Logger
	onState func(State)

	mu       sync.Mutex
	ln       net.Listener // the local port while up, closed on going down
	downCh   chan struct{}
	downed   bool
	downAt   time.Time
	reason   string
	reported bool // an up state was reported since the last down

	reportMu sync.Mutex // reports in the order of the transitions
}

func newHealth(url string, log *zap.Logger, onState func(State)) *health {
	return &health{url: url, log: log, onState: onState, downCh: make(chan struct{})}
}

func (h *health) downChan() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.downCh
}

// listening records the listener Run binds first, closed when the forward
// goes down (before the down state is reported: a client connecting after
// the report is refused). A listener bound again on recovery is recorded by
// up.
func (h *health) listening(ln net.Listener) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ln = ln
	if h.downed {
		_ = ln.Close()
	}
}

func (h *health) isDown() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.downed
}

// down marks the forward down for reason; only the first call of an outage
// closes the port and reports.
func (h *health) down(reason string) {
	h.mu.Lock()
	if h.downed {
		h.mu.Unlock()
		return
	}
	h.downed, h.downAt, h.reason, h.reported = true, time.Now(), reason, false
	close(h.downCh)
	if h.ln != nil {
		_ = h.ln.Close()
		h.ln = nil
	}
	h.reportMu.Lock()
	h.mu.Unlock()
	defer h.reportMu.Unlock()
	h.log.Warn("port-forward down: local connections are refused until it recovers", zap.String("url", h.url), zap.String("reason", reason))
	if h.onState != nil {
		h.onState(State{URL: h.url, Reason: reason})
	}
}

// up marks the forward serving pod; it reports only the first up after
// the start or an outage. ln (nil when the port stayed bound) is the
// listener bound again on recovery: it is recorded in the same step, so
// that a down right after closes it even before serve has started on it.
func (h *health) up(pod string, ln net.Listener) {
	h.mu.Lock()
	var was time.Duration
	if h.downed {
		was = time.Since(h.downAt)
		h.downed, h.reason = false, ""
		h.downCh = make(chan struct{})
	}
	if ln != nil {
		h.ln = ln
	}
	if h.reported {
		h.mu.Unlock()
		return
	}
	h.reported = true
	h.reportMu.Lock()
	h.mu.Unlock()
	defer h.reportMu.Unlock()
	if was > 0 {
		h.log.Info("port-forward recovered", zap.String("url", h.url), zap.String("pod", pod), zap.Duration("down", was))
	}
	if h.onState != nil {
		h.onState(State{Up: true, URL: h.url, Pod: pod, Down: was})
	}
}

// recover waits, with the local port closed, until the served target is
// reachable again through the API server, then binds the port again and
// returns its listener (nil when ctx ends first).
func (f *Forwarder) recover(ctx context.Context) net.Listener {
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	for {
		t, changed := f.current()
		if t != nil {
			if err := f.probe(ctx, t); err != nil {
				f.log.Debug("port-forward still down", zap.String("pod", t.pod), zap.Error(err))
			} else if ln, err := f.listen(); err != nil {
				f.log.Warn("binding the local port again", zap.Error(err))
			} else {
				f.health.up(t.pod, ln)
				return ln
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-tick.C:
		}
	}
}

// probe dials t (unless its connection is alive) within probeTimeout.
func (f *Forwarder) probe(ctx context.Context, t *target) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if _, err := t.acquire(ctx, f.dialer); err != nil {
		return err
	}
	t.release()
	return nil
}

// connLost is called when the connection of a target still served closed
// under it (the API server restarted, the network went away): dial again
// now, not on the next local connection, and go down if that fails.
func (f *Forwarder) connLost(t *target) {
	f.mu.Lock()
	ctx := f.runCtx
	if ctx == nil || ctx.Err() != nil || f.stopped {
		f.mu.Unlock()
		return
	}
	f.bg.Add(1)
	f.mu.Unlock()
	go func() {
		defer f.bg.Done()
		err := f.probe(ctx, t)
		if err == nil || ctx.Err() != nil {
			return
		}
		if cur, _ := f.current(); cur == t {
			f.health.down(fmt.Sprintf("reaching pod/%s through the API server: %v", t.pod, err))
		}
	}()
}
