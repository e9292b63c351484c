package dashboard

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/devloop-dev/devloop/internal/events"
)

type fakeTrigger struct {
	mu       sync.Mutex
	rebuilt  []string
	redeploy int
}

func (f *fakeTrigger) Rebuild(a string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rebuilt = append(f.rebuilt, a)
	return nil
}

func (f *fakeTrigger) Redeploy() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.redeploy++
	return nil
}

func newTestServer(t *testing.T, trig Trigger) (*Server, *httptest.Server) {
	t.Helper()
	s := New(zap.NewNop(), Options{Trigger: trig, Events: 3, LogLines: 2})
	s.SetArtifacts([]string{"web"})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

func post(t *testing.T, url string, headers map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestButtonsRefuseOtherOrigins(t *testing.T) {
	trig := &fakeTrigger{}
	_, ts := newTestServer(t, trig)
	self := ts.URL // http://127.0.0.1:PORT
	cases := []struct {
		name    string
		path    string
		headers map[string]string
		want    int
	}{
		{"same origin", "/api/rebuild?artifact=web", map[string]string{"Origin": self, "X-Devloop": "1", "Sec-Fetch-Site": "same-origin"}, http.StatusAccepted},
		{"no browser headers (a local tool)", "/api/redeploy", map[string]string{"X-Devloop": "1"}, http.StatusAccepted},
		{"another origin", "/api/rebuild?artifact=web", map[string]string{"Origin": "https://evil.example", "X-Devloop": "1"}, http.StatusForbidden},
		{"cross-site fetch", "/api/redeploy", map[string]string{"Sec-Fetch-Site": "cross-site", "X-Devloop": "1"}, http.StatusForbidden},
		{"a form post (no custom header)", "/api/redeploy", map[string]string{"Origin": self}, http.StatusForbidden},
		{"unknown artifact", "/api/rebuild?artifact=nope", map[string]string{"X-Devloop": "1"}, http.StatusBadRequest},
	}
	for _, c := range cases {
		if got := post(t, ts.URL+c.path, c.headers); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	if fmt.Sprint(trig.rebuilt) != "[web]" || trig.redeploy != 1 {
		t.Errorf("triggers: rebuilt %v, redeploy %d; want [web] and 1", trig.rebuilt, trig.redeploy)
	}
}

func TestForeignHostIsRefused(t *testing.T) {
	_, ts := newTestServer(t, nil)
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/", nil)
	req.Host = "rebound.example:80" // DNS rebinding: another name for 127.0.0.1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d for a foreign Host, want 403", resp.StatusCode)
	}
}

func TestStreamSendsBoundedBacklogThenLive(t *testing.T) {
	s, ts := newTestServer(t, nil)
	for i := 1; i <= 5; i++ {
		s.Emit(events.Event{Phase: "build", Status: "done", Message: fmt.Sprint("old ", i)})
	}
	w := s.LogWriter()
	_, _ = w.Write([]byte("web-1/web | \x1b[32mone\x1b[0m\nweb-1/web | two\nweb-1/web | thr"))
	_, _ = w.Write([]byte("ee\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/api/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var got []string
	next := func() string {
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "data: ") {
				return l[len("data: "):]
			}
		}
		t.Fatalf("stream ended: %v", sc.Err())
		return ""
	}
	for i := 0; i < 5; i++ { // 3 events (bounded), 2 log lines (bounded), then ready
		got = append(got, next())
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{"old 3", "old 4", "old 5", `"text":"two"`, `"text":"three"`} {
		if !strings.Contains(joined, want) {
			t.Errorf("backlog lacks %s:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "old 2") || strings.Contains(joined, `"text":"one"`) {
		t.Errorf("backlog is not bounded:\n%s", joined)
	}
	if r := next(); r != "{}" {
		t.Fatalf("after the backlog %q, want the ready marker", r)
	}
	s.Emit(events.Event{Phase: "cycle", Status: "start", Cycle: 7})
	if live := next(); !strings.Contains(live, `"cycle":7`) {
		t.Fatalf("live event %q", live)
	}
}

func TestLogLineParsing(t *testing.T) {
	l := parseLogLine("\x1b[36mnotes-web-5d9/web | \x1b[0mGET / 200")
	if l.Pod != "notes-web-5d9" || l.Container != "web" || l.Text != "GET / 200" {
		t.Fatalf("%+v", l)
	}
	if l := parseLogLine("no prefix here"); l.Pod != "" || l.Text != "no prefix here" {
		t.Fatalf("%+v", l)
	}
}

func TestListenFallsBackWhenTheDefaultPortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", DefaultPort))
	if err != nil {
		t.Skipf("cannot take the default port to test the fallback: %v", err)
	}
	defer taken.Close()
	s := New(zap.NewNop(), Options{})
	url, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(url, fmt.Sprintf(":%d/", DefaultPort)) || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("url %s, want another port on 127.0.0.1", url)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// An explicit port that is taken is an error that says what to do.
	s2 := New(zap.NewNop(), Options{Port: DefaultPort})
	if _, err := s2.Listen(); err == nil || !strings.Contains(err.Error(), "--ui-port") {
		t.Fatalf("explicit taken port: %v", err)
	}
}
