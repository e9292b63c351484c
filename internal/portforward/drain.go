package portforward

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// When the forward moves to a new pod, a local connection still piped to
// the old one would keep answering from it: browsers and HTTP clients keep
// connections alive between requests, so the new version would only show
// once the old pod has gone (about a second after a rollout completes, in
// the benchmark). A retired target therefore ends each of its connections
// as soon as it is between requests: the last bytes went to the client
// (a response, or nothing yet) and nothing moved for drainIdle. A request
// still waiting for its answer is left to finish.
const (
	drainIdle  = 100 * time.Millisecond
	drainEvery = 25 * time.Millisecond
)

// Directions of a piped connection's last transfer.
const (
	dirNone int32 = iota
	dirToPod
	dirToClient
)

// piped is one local connection being forwarded to a target.
type piped struct {
	last atomic.Int64 // unix nanoseconds of the last transfer either way
	dir  atomic.Int32 // direction of the last transfer
	stop chan struct{}
	once sync.Once
}

func newPiped() *piped {
	p := &piped{stop: make(chan struct{})}
	p.last.Store(time.Now().UnixNano())
	return p
}

// betweenRequests: the pod has answered (or was asked nothing) and the
// connection has been quiet for drainIdle.
func (p *piped) betweenRequests(now time.Time) bool {
	return p.dir.Load() != dirToPod && now.Sub(time.Unix(0, p.last.Load())) >= drainIdle
}

func (p *piped) end() { p.once.Do(func() { close(p.stop) }) }

// writer counts a transfer in direction dir before writing it.
func (p *piped) writer(w io.Writer, dir int32) io.Writer {
	return &activityWriter{w: w, p: p, dir: dir}
}

type activityWriter struct {
	w   io.Writer
	p   *piped
	dir int32
}

func (a *activityWriter) Write(b []byte) (int, error) {
	a.p.dir.Store(a.dir)
	a.p.last.Store(time.Now().UnixNano())
	return a.w.Write(b)
}

// addPipe registers a connection piped to t; removePipe when it ends.
func (t *target) addPipe() *piped {
	p := newPiped()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pipes == nil {
		t.pipes = map[*piped]struct{}{}
	}
	t.pipes[p] = struct{}{}
	if t.retired && !t.draining {
		t.draining = true
		go t.drain()
	}
	return p
}

func (t *target) removePipe(p *piped) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pipes, p)
}

// drain ends the retired target's connections as each comes between
// requests, until none is left.
func (t *target) drain() {
	tick := time.NewTicker(drainEvery)
	defer tick.Stop()
	for now := range tick.C {
		t.mu.Lock()
		if len(t.pipes) == 0 {
			t.draining = false
			t.mu.Unlock()
			return
		}
		for p := range t.pipes {
			if p.betweenRequests(now) {
				p.end()
			}
		}
		t.mu.Unlock()
	}
}
