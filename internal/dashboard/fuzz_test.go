package dashboard

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/zap"
)

// FuzzRequests sends arbitrary method, path, query, Host, Origin and
// headers to the dashboard's handler: it must never panic, anything not on
// a loopback Host is refused, and a POST triggers something only with the
// dashboard's own origin, the X-Devloop header and a known artifact.
func FuzzRequests(f *testing.F) {
	f.Add("POST", "/api/rebuild", "artifact=web", "127.0.0.1:1", "http://127.0.0.1:1", "1")
	f.Add("POST", "/api/redeploy", "", "localhost:8", "", "1")
	f.Add("POST", "/api/rebuild", "artifact=%00", "evil.example:80", "http://evil.example", "1")
	f.Add("GET", "/api/resources", "", "[::1]:9", "", "")
	f.Add("GET", "/api/stream", "logs=0&events=-1", "127.0.0.1", "", "")
	f.Add("DELETE", "/../../etc/passwd", "", "127.0.0.1:1", "null", "0")
	f.Fuzz(func(t *testing.T, method, path, query, host, origin, xdevloop string) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") {
			return
		}
		trig := &fakeTrigger{}
		s := New(zap.NewNop(), Options{Trigger: trig, Events: 3, LogLines: 2})
		s.SetArtifacts([]string{"web"})
		u := &url.URL{Path: path, RawQuery: query}
		if strings.Contains(path, "/api/stream") {
			return // a stream stays open: covered by the server tests
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Method, req.URL, req.RequestURI, req.Host = method, u, "", host
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if xdevloop != "" {
			req.Header.Set("X-Devloop", xdevloop)
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		if !loopbackHost(host) && w.Code < 400 {
			t.Fatalf("%s %s with Host %q answered %d", method, u, host, w.Code)
		}
		trig.mu.Lock()
		fired := trig.redeploy + len(trig.rebuilt)
		trig.mu.Unlock()
		if fired > 0 && (method != http.MethodPost || xdevloop != "1" || !loopbackHost(host) || (origin != "" && origin != "http://"+host)) {
			t.Fatalf("%s %s (Host %q, Origin %q, X-Devloop %q) triggered a rebuild or redeploy", method, u, host, origin, xdevloop)
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, r := range m {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}
