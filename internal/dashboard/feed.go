package dashboard

import (
	"encoding/json"
	"sync"
)

// message is one server-sent event: its SSE event name and JSON data.
type message struct {
	kind string // "event" or "log"
	data []byte
}

// feed keeps the recent messages of each kind in bounded rings and fans
// new ones out to subscribers. A subscriber that falls behind loses
// messages (its channel is bounded) rather than slowing devloop down.
type feed struct {
	mu     sync.Mutex
	rings  map[string]*ring
	subs   map[chan message]struct{}
	closed bool
}

// ringSize bounds one kind's history: at most count messages and bytes of
// their JSON.
type ringSize struct{ count, bytes int }

func newFeed(sizes map[string]ringSize) *feed {
	f := &feed{rings: map[string]*ring{}, subs: map[chan message]struct{}{}}
	for kind, n := range sizes {
		f.rings[kind] = newRing(kind, n.count, n.bytes)
	}
	return f
}

// publish records v (JSON-encoded) under kind and sends it to subscribers.
func (f *feed) publish(kind string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	m := message{kind: kind, data: data}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r := f.rings[kind]; r != nil {
		r.add(data)
	}
	for ch := range f.subs {
		select {
		case ch <- m:
		default: // a slow page drops messages; it catches up on reload
		}
	}
}

// subscribe returns the backlog, oldest first, and a channel of what comes
// next; cancel stops the channel.
func (f *feed) subscribe(buffer int) (backlog []message, ch <-chan message, cancel func()) {
	c := make(chan message, buffer)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, kind := range []string{"event", "log"} {
		if r := f.rings[kind]; r != nil {
			backlog = append(backlog, r.items()...)
		}
	}
	if !f.closed {
		f.subs[c] = struct{}{}
	} else {
		close(c)
	}
	return backlog, c, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.subs[c]; ok {
			delete(f.subs, c)
			close(c)
		}
	}
}

// close ends every subscription.
func (f *feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for c := range f.subs {
		delete(f.subs, c)
		close(c)
	}
}
