package cli

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestFreeOSMemory(t *testing.T) {
	rec := httptest.NewRecorder()
	freeOSMemory(rec, httptest.NewRequest(http.MethodPost, "/debug/devloop/free-os-memory", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	n, err := strconv.Atoi(strings.TrimSpace(rec.Body.String()))
	if err != nil || n <= 0 {
		t.Fatalf("POST answered %q, want the live heap in bytes", rec.Body)
	}

	rec = httptest.NewRecorder()
	freeOSMemory(rec, httptest.NewRequest(http.MethodGet, "/debug/devloop/free-os-memory", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
		t.Fatalf("GET: %d, Allow %q; want 405 naming POST", rec.Code, rec.Header().Get("Allow"))
	}
}
