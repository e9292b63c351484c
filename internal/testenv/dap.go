package testenv

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-dap"
)

// DAP is a Debug Adapter Protocol client over TCP, for the end-to-end tests
// of `devloop debug`: it sends requests and waits for their responses or
// for events, keeping the events it read on the way.
type DAP struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	seq  int

	mu     sync.Mutex
	events []dap.EventMessage
}

// DialDAP connects to a debug adapter at addr, retrying until timeout
// (the port-forward may still be switching to a new pod); the connection
// closes when the test ends.
func DialDAP(t testing.TB, addr string, timeout time.Duration) *DAP {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err == nil {
			t.Cleanup(func() { _ = conn.Close() })
			return &DAP{t: t, conn: conn, r: bufio.NewReader(conn)}
		}
		if time.Now().After(deadline) {
			t.Fatalf("dap: connecting to %s: %v", addr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Request sends a request (Seq and Type are filled) and returns its
// response; an unsuccessful response fails the test.
func (c *DAP) Request(req dap.RequestMessage, timeout time.Duration) dap.ResponseMessage {
	c.t.Helper()
	resp, err := c.Try(req, timeout)
	if err != nil {
		c.t.Fatalf("dap: %v", err)
	}
	return resp
}

// Try is Request returning an error instead of failing the test.
func (c *DAP) Try(req dap.RequestMessage, timeout time.Duration) (dap.ResponseMessage, error) {
	c.seq++
	r := req.GetRequest()
	r.Seq, r.Type = c.seq, "request"
	if err := c.conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	if err := dap.WriteProtocolMessage(c.conn, req); err != nil {
		return nil, fmt.Errorf("sending %s: %w", r.Command, err)
	}
	for {
		m, err := c.read()
		if err != nil {
			return nil, fmt.Errorf("waiting for the %s response: %w", r.Command, err)
		}
		resp, ok := m.(dap.ResponseMessage)
		if !ok || resp.GetResponse().RequestSeq != r.Seq {
			continue
		}
		if !resp.GetResponse().Success {
			return resp, fmt.Errorf("%s failed: %s %s", r.Command, resp.GetResponse().Message, errorBody(resp))
		}
		return resp, nil
	}
}

// WaitEvent returns the first event read (before or now) that matches,
// within timeout; it fails the test otherwise.
func (c *DAP) WaitEvent(timeout time.Duration, what string, match func(dap.EventMessage) bool) dap.EventMessage {
	c.t.Helper()
	c.mu.Lock()
	for i, e := range c.events {
		if match(e) {
			c.events = append(c.events[:i:i], c.events[i+1:]...)
			c.mu.Unlock()
			return e
		}
	}
	c.mu.Unlock()
	if err := c.conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		c.t.Fatal(err)
	}
	for {
		m, err := c.read()
		if err != nil {
			c.t.Fatalf("dap: waiting for %s: %v", what, err)
		}
		if e, ok := m.(dap.EventMessage); ok && match(e) {
			c.mu.Lock()
			c.events = c.events[:len(c.events)-1] // read() kept it
			c.mu.Unlock()
			return e
		}
	}
}

func (c *DAP) read() (dap.Message, error) {
	m, err := dap.ReadProtocolMessage(c.r)
	if err != nil {
		return nil, err
	}
	if e, ok := m.(dap.EventMessage); ok {
		c.mu.Lock()
		c.events = append(c.events, e)
		c.mu.Unlock()
	}
	return m, nil
}

// Close ends the connection.
func (c *DAP) Close() { _ = c.conn.Close() }

func errorBody(resp dap.ResponseMessage) string {
	if e, ok := resp.(*dap.ErrorResponse); ok && e.Body.Error != nil {
		b, _ := json.Marshal(e.Body.Error)
		return string(b)
	}
	return ""
}
