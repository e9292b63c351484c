package testenv

import (
	"bufio"
	"encoding/json"
	"errors"
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

	mu        sync.Mutex
	events    []dap.EventMessage
	responses map[int]dap.ResponseMessage
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
	seq, err := c.Send(req)
	if err != nil {
		return nil, err
	}
	return c.Response(seq, req.GetRequest().Command, timeout)
}

// Send sends a request (Seq and Type are filled) without waiting for its
// response (debugpy answers attach only after configurationDone) and
// returns its sequence number for Response.
func (c *DAP) Send(req dap.RequestMessage) (int, error) {
	c.seq++
	r := req.GetRequest()
	r.Seq, r.Type = c.seq, "request"
	if err := c.conn.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
		return 0, err
	}
	if err := dap.WriteProtocolMessage(c.conn, req); err != nil {
		return 0, fmt.Errorf("sending %s: %w", r.Command, err)
	}
	return r.Seq, nil
}

// Response waits for the response to the request seq (command names it
// in errors); an unsuccessful response is an error.
func (c *DAP) Response(seq int, command string, timeout time.Duration) (dap.ResponseMessage, error) {
	c.mu.Lock()
	resp, ok := c.responses[seq]
	delete(c.responses, seq)
	c.mu.Unlock()
	if !ok {
		if err := c.conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return nil, err
		}
		for !ok {
			if _, err := c.read(); err != nil {
				return nil, fmt.Errorf("waiting for the %s response: %w", command, err)
			}
			c.mu.Lock()
			resp, ok = c.responses[seq]
			delete(c.responses, seq)
			c.mu.Unlock()
		}
	}
	if !resp.GetResponse().Success {
		return resp, fmt.Errorf("%s failed: %s %s", command, resp.GetResponse().Message, errorBody(resp))
	}
	return resp, nil
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
	if err := c.conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
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

// read reads the next message this client knows; messages go-dap cannot
// decode (an adapter's own events, such as debugpy's) are skipped.
func (c *DAP) read() (dap.Message, error) {
	var m dap.Message
	for m == nil {
		b, err := dap.ReadBaseMessage(c.r)
		if err != nil {
			return nil, err
		}
		if m, err = dap.DecodeProtocolMessage(b); err != nil {
			var fe *dap.DecodeProtocolMessageFieldError
			if !errors.As(err, &fe) {
				return nil, err
			}
			c.t.Logf("dap: skipped a message go-dap does not decode (%v): %.300s", err, b)
			m = nil
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch m := m.(type) {
	case dap.EventMessage:
		c.events = append(c.events, m)
	case dap.ResponseMessage:
		if c.responses == nil {
			c.responses = map[int]dap.ResponseMessage{}
		}
		c.responses[m.GetResponse().RequestSeq] = m
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
