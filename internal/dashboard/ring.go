package dashboard

// ring keeps the last messages of one kind: at most len(spans) of them and
// at most len(arena) bytes of their data, copied into one buffer allocated
// once. A long session's history thus stays in the same pages: thousands of
// small long-lived slices among each cycle's short-lived garbage would each
// keep the page they sit on resident (a 75-cycle soak grew RSS by 2 MB for
// 0.4 MB of history kept that way).
type ring struct {
	kind  string
	arena []byte
	spans []span // circular: count of them from first, oldest first
	first int
	count int
	end   int64 // virtual offset where the next message may start
}

// span is a kept message: its virtual offset (arena index = at mod its
// length) and length.
type span struct {
	at int64
	n  int
}

func newRing(kind string, count, bytes int) *ring {
	if count <= 0 || bytes <= 0 {
		return &ring{kind: kind}
	}
	return &ring{kind: kind, arena: make([]byte, bytes), spans: make([]span, count)}
}

// add copies data in, dropping the oldest messages it overwrites or that
// exceed the count; a message larger than the arena is not kept.
func (r *ring) add(data []byte) {
	size := int64(len(r.arena))
	if len(r.spans) == 0 || int64(len(data)) > size {
		return
	}
	at := r.end
	if p := at % size; p+int64(len(data)) > size {
		at += size - p // a message is contiguous: wrap to the arena's start
	}
	end := at + int64(len(data))
	for r.count > 0 && (r.count == len(r.spans) || r.spans[r.first].at < end-size) {
		r.first = (r.first + 1) % len(r.spans)
		r.count--
	}
	copy(r.arena[at%size:], data)
	r.spans[(r.first+r.count)%len(r.spans)] = span{at: at, n: len(data)}
	r.count++
	r.end = end
}

// items returns copies of the kept messages, oldest first.
func (r *ring) items() []message {
	out := make([]message, 0, r.count)
	size := int64(len(r.arena))
	for i := 0; i < r.count; i++ {
		s := r.spans[(r.first+i)%len(r.spans)]
		p := s.at % size
		out = append(out, message{kind: r.kind, data: append([]byte(nil), r.arena[p:p+int64(s.n)]...)})
	}
	return out
}
