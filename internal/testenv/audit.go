package testenv

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// AuditEvent is one write the test cluster's API server recorded in its
// audit log (hack/env: metadata of every create, update, patch and delete).
type AuditEvent struct {
	Verb      string    `json:"verb"`
	UserAgent string    `json:"userAgent"`
	URI       string    `json:"requestURI"`
	Stage     string    `json:"stage"`
	Time      time.Time `json:"stageTimestamp"`
	Code      struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// APIWrites returns the writes in namespace ns (its objects and the
// Namespace itself) that the API server completed at or after since with a
// user agent starting with agent (devloop's is "devloop/"), read from its
// audit log: what devloop wrote, counted from outside devloop. Tests run in
// parallel, hence the namespace. It waits up to 2 s for the log to reach
// until.
func (e *Env) APIWrites(t testing.TB, since, until time.Time, agent, ns string) []AuditEvent {
	t.Helper()
	path := filepath.Join(e.State, "logs", "audit.log")
	deadline := time.Now().Add(2 * time.Second)
	for {
		evs, newest := readAudit(t, path, since, agent, ns)
		if !newest.Before(until) || time.Now().After(deadline) {
			return evs
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readAudit(t testing.TB, path string, since time.Time, agent, ns string) ([]AuditEvent, time.Time) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("testenv: the API server's audit log: %v (make env-up turns it on)", err)
	}
	defer f.Close()
	var out []AuditEvent
	var newest time.Time
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	for sc.Scan() {
		var ev AuditEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Stage != "ResponseComplete" {
			continue
		}
		if ev.Time.After(newest) {
			newest = ev.Time
		}
		if ev.Time.Before(since) || !strings.HasPrefix(ev.UserAgent, agent) {
			continue
		}
		uri, _, _ := strings.Cut(ev.URI, "?")
		if !strings.Contains(uri+"/", "/namespaces/"+ns+"/") {
			continue
		}
		out = append(out, ev)
	}
	return out, newest
}
