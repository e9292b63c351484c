package logs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/devloop-dev/devloop/internal/podwatch"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// follower streams one container of one pod across its restarts.
type follower struct {
	s         *Streamer
	w         *lineWriter
	st        *podState
	ns        string
	pod       string
	container string
	prefix    string
	color     string
}

// run follows the container until its pod is gone and its last stream has
// ended, or ctx is done. Each container instance (containerID) is streamed
// from its start; a reconnect resumes after the last line seen.
func (f *follower) run(ctx context.Context) {
	var (
		id   string // the container instance being followed
		done string // an instance that exited and was read to its end
		seen dedup  // lines seen of instance id
		b    = podwatch.Backoff{Min: 250 * time.Millisecond, Max: 5 * time.Second}
	)
	defer func() {
		if _, gone, _ := f.st.snapshot(); gone {
			f.s.forget(id, done)
		}
	}()
	for ctx.Err() == nil {
		pod, gone, changed := f.st.snapshot()
		cs, ok := statusOf(pod, f.container)
		if !ok || !started(cs) || cs.ContainerID == done {
			if gone {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
			continue
		}
		if cs.ContainerID != id {
			// A new instance starts fresh, or after what an earlier Run of
			// the same Streamer printed of it (a restarted stream).
			id, seen = cs.ContainerID, dedup{last: f.s.printed(cs.ContainerID)}
		}
		n, err := f.stream(ctx, &seen)
		f.s.remember(id, seen.last)
		if ctx.Err() != nil {
			return
		}
		if n > 0 {
			b.Reset()
		}
		if err != nil {
			d := b.Next()
			f.s.log.Debug("log stream failed; reconnecting", zap.String("pod", f.pod), zap.String("container", f.container), zap.Error(err), zap.Duration("in", d))
			sleep(ctx, d)
			continue
		}
		// The stream ended: the container exited, or the connection was cut.
		pod, gone, _ = f.st.snapshot()
		cs, _ = statusOf(pod, f.container)
		if cs.ContainerID == id && cs.State.Terminated != nil || gone {
			done = id
			continue
		}
		sleep(ctx, b.Next())
	}
}

// stream reads one log stream of the current instance, resuming after the
// last line seen, and returns how many lines it wrote.
func (f *follower) stream(ctx context.Context, seen *dedup) (int, error) {
	opts := &corev1.PodLogOptions{Container: f.container, Follow: true, Timestamps: true}
	if !seen.last.IsZero() {
		// SinceTime is sent with one-second precision: lines of that second
		// come again and are dropped by seen.
		opts.SinceTime = &metav1.Time{Time: seen.last}
	}
	rc, err := f.s.client.CoreV1().Pods(f.ns).GetLogs(f.pod, opts).Stream(ctx)
	if err != nil {
		return 0, fmt.Errorf("opening the log stream: %w", err)
	}
	defer rc.Close()
	r := bufio.NewReaderSize(rc, 64*1024)
	n := 0
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			t, text, ok := splitTimestamp(line)
			if !ok || seen.keep(t) {
				if werr := f.w.writeLine(f.prefix, f.color, text); werr != nil {
					return n, fmt.Errorf("writing a log line: %w", werr)
				}
				n++
			}
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("reading the log stream: %w", err)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
