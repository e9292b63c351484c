package logs

import (
	"bytes"
	"hash/fnv"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// palette holds the ANSI colors that prefixes cycle through.
var palette = [...]string{"31", "32", "33", "34", "35", "36", "91", "92", "93", "94", "95", "96"}

// colorFor returns the ANSI color of key; the same key always gets the same
// color.
func colorFor(key string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return palette[h.Sum32()%uint32(len(palette))]
}

// colorKey names a container independently of its pod's generated suffix, so
// that a container keeps its color when its pod is replaced.
func colorKey(pod *corev1.Pod, container string) string {
	base := pod.Name
	if g := pod.GenerateName; g != "" {
		base = strings.TrimSuffix(g, "-")
		if h := pod.Labels["pod-template-hash"]; h != "" {
			base = strings.TrimSuffix(base, "-"+h)
		}
	}
	return pod.Namespace + "/" + base + "/" + container
}

// splitTimestamp splits a line returned with Timestamps: true into its time
// and its text. ok is false when the line has no timestamp.
func splitTimestamp(line []byte) (t time.Time, text []byte, ok bool) {
	i := bytes.IndexByte(line, ' ')
	if i <= 0 {
		return time.Time{}, line, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(line[:i]))
	if err != nil {
		return time.Time{}, line, false
	}
	return t, line[i+1:], true
}

// dedup drops lines at or before the last line seen of one container.
type dedup struct{ last time.Time }

// keep reports whether a line stamped t is new, and records it.
func (d *dedup) keep(t time.Time) bool {
	if !d.last.IsZero() && !t.After(d.last) {
		return false
	}
	d.last = t
	return true
}

// lineWriter writes whole prefixed lines, one Write each, so that lines of
// concurrent streams never interleave.
type lineWriter struct {
	mu     sync.Mutex
	out    io.Writer
	colors bool
}

func (w *lineWriter) writeLine(prefix, color string, text []byte) error {
	text = bytes.TrimRight(text, "\r\n")
	buf := make([]byte, 0, len(prefix)+len(text)+16)
	if w.colors {
		buf = append(buf, "\x1b["+color+"m"+prefix+"\x1b[0m"...)
	} else {
		buf = append(buf, prefix...)
	}
	buf = append(buf, text...)
	buf = append(buf, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.out.Write(buf)
	return err
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
