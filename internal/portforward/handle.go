package portforward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
)

var errNoReadyPod = errors.New("no Ready pod")

// handle forwards one accepted local connection. While no pod is Ready it
// waits up to waitReady for one; a broken API server connection is re-dialed
// within the same window.
func (f *Forwarder) handle(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	deadline := time.Now().Add(f.waitReady)
	for {
		t, c, err := f.open(ctx, deadline)
		if err != nil {
			f.log.Warn("dropping a local connection", zap.String("from", conn.RemoteAddr().String()), zap.Error(err))
			return
		}
		err = f.pipe(ctx, conn, t, c)
		t.release()
		if err == nil {
			return
		}
		var retry *retryableError
		if !errors.As(err, &retry) || time.Now().After(deadline) || ctx.Err() != nil {
			f.log.Warn("forwarding a connection", zap.String("pod", t.pod), zap.Error(err))
			return
		}
		f.log.Debug("retrying a connection", zap.String("pod", t.pod), zap.Error(err))
	}
}

// open waits until deadline for a target, then returns a live connection
// to it. A target that cannot be reached marks the forward down at once:
// waiting would only make the client hang.
func (f *Forwarder) open(ctx context.Context, deadline time.Time) (*target, httpstream.Connection, error) {
	for {
		if f.health.isDown() {
			return nil, nil, errors.New("the port-forward is down")
		}
		t, changed := f.current()
		if t != nil {
			c, err := t.acquire(ctx, f.dialer)
			if err != nil {
				f.health.down(fmt.Sprintf("reaching pod/%s through the API server: %v", t.pod, err))
				return nil, nil, err
			}
			return t, c, nil
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil, nil, errNoReadyPod
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, nil, ctx.Err()
		case <-changed:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// streamTimeout bounds creating a stream on a connection: the API server
// answers in milliseconds, and a connection that does not answer is dead
// even if no error said so.
const streamTimeout = 3 * time.Second

// createStream is c.CreateStream bounded by streamTimeout.
func createStream(c httpstream.Connection, h http.Header) (httpstream.Stream, error) {
	type result struct {
		s   httpstream.Stream
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := c.CreateStream(h)
		done <- result{s, err}
	}()
	timer := time.NewTimer(streamTimeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.s, r.err
	case <-timer.C:
		go func() {
			if r := <-done; r.s != nil {
				_ = r.s.Reset()
			}
		}()
		return nil, fmt.Errorf("no answer from the API server within %v", streamTimeout)
	}
}

// retryableError marks a failure before any byte reached the pod.
type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// pipe copies between conn and a fresh stream pair on c, as kubectl does,
// until either side ends or ctx is done (an idle keep-alive connection must
// not hold up the forwarder's shutdown).
func (f *Forwarder) pipe(ctx context.Context, conn net.Conn, t *target, c httpstream.Connection) error {
	id := strconv.FormatInt(f.requestIDs.Add(1), 10)
	headers := http.Header{}
	headers.Set(corev1.StreamType, corev1.StreamTypeError)
	headers.Set(corev1.PortHeader, strconv.Itoa(t.port))
	headers.Set(corev1.PortForwardRequestIDHeader, id)
	errStream, err := createStream(c, headers)
	if err != nil {
		t.broken(c)
		return &retryableError{fmt.Errorf("creating the error stream: %w", err)}
	}
	_ = errStream.Close() // nothing is written to it
	defer c.RemoveStreams(errStream)
	errc := make(chan string, 1)
	go func() {
		msg, _ := io.ReadAll(errStream)
		errc <- string(msg)
	}()

	headers.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := createStream(c, headers)
	if err != nil {
		t.broken(c)
		return &retryableError{fmt.Errorf("creating the data stream: %w", err)}
	}
	defer c.RemoveStreams(data)

	p := t.addPipe()
	defer t.removePipe(p)
	remoteDone := make(chan struct{})
	localDone := make(chan struct{})
	go func() {
		_, _ = io.Copy(p.writer(conn, dirToClient), data)
		close(remoteDone)
	}()
	go func() {
		_, _ = io.Copy(p.writer(data, dirToPod), conn)
		_ = data.Close() // half-close: no more data from the local side
		close(localDone)
	}()
	select {
	case <-remoteDone:
	case <-c.CloseChan():
	case <-ctx.Done():
	case <-p.stop: // the pod was replaced and this connection is between requests
	}
	_ = data.Reset()
	_ = conn.Close()
	<-localDone
	select {
	case <-remoteDone:
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
	select {
	case msg := <-errc:
		if msg != "" {
			return fmt.Errorf("pod/%s port %d: %s", t.pod, t.port, msg)
		}
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
	return nil
}
