package portforward

import (
	"context"
	"sync"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/httpstream"
)

// target is one pod being served and its port-forward connection, dialed on
// first use and re-dialed when it breaks. A retired target closes its
// connection once no local connection uses it any more.
type target struct {
	namespace string
	pod       string
	uid       types.UID
	port      int

	// onLost is called when the connection closes under a target not
	// retired (set before the target is shared).
	onLost func(*target)

	mu       sync.Mutex
	conn     httpstream.Connection
	active   int
	retired  bool
	pipes    map[*piped]struct{} // local connections piped to this pod
	draining bool                // drain is running
}

func (t *target) same(o *target) bool {
	if t == nil || o == nil {
		return t == o
	}
	return t.uid == o.uid && t.pod == o.pod && t.port == o.port
}

// acquire returns a live connection to the pod, dialing when needed; release
// must be called when done with it.
func (t *target) acquire(ctx context.Context, d podDialer) (httpstream.Connection, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn != nil {
		select {
		case <-t.conn.CloseChan():
			t.conn = nil
		default:
		}
	}
	if t.conn == nil {
		c, err := d.Dial(ctx, t.namespace, t.pod)
		if err != nil {
			return nil, err
		}
		t.conn = c
		go t.watch(c)
	}
	t.active++
	return t.conn, nil
}

// watch waits for c to close and tells onLost when it was still in use.
func (t *target) watch(c httpstream.Connection) {
	<-c.CloseChan()
	t.mu.Lock()
	lost := !t.retired && t.conn == c
	if lost {
		t.conn = nil
	}
	t.mu.Unlock()
	if lost && t.onLost != nil {
		t.onLost(t)
	}
}

func (t *target) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active--
	t.closeIfIdleLocked()
}

// broken drops c so that the next acquire dials again.
func (t *target) broken(c httpstream.Connection) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn == c {
		_ = c.Close()
		t.conn = nil
	}
}

func (t *target) retire() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.retired = true
	if len(t.pipes) > 0 && !t.draining {
		t.draining = true
		go t.drain()
	}
	t.closeIfIdleLocked()
}

func (t *target) closeIfIdleLocked() {
	if t.retired && t.active <= 0 && t.conn != nil {
		_ = t.conn.Close()
		t.conn = nil
	}
}

// warm dials ahead of the first local connection so that it is served at once.
func (t *target) warm(ctx context.Context, d podDialer, log *zap.Logger) {
	c, err := t.acquire(ctx, d)
	if err != nil {
		log.Debug("pre-dialing the pod", zap.String("pod", t.pod), zap.Error(err))
		return
	}
	_ = c
	t.release()
}
