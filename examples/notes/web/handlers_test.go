package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeNotes is an in-memory Notes; down makes every call fail.
type fakeNotes struct {
	mu    sync.Mutex
	notes []Note
	down  bool
}

func (f *fakeNotes) List(context.Context) ([]Note, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errors.New("connection refused")
	}
	return append([]Note(nil), f.notes...), nil
}

func (f *fakeNotes) Add(_ context.Context, text string) (Note, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return Note{}, errors.New("connection refused")
	}
	n := Note{ID: len(f.notes) + 1, Text: text, Created: time.Date(2025, 1, 2, 3, 4, 0, 0, time.UTC)}
	f.notes = append(f.notes, n)
	return n, nil
}

func (f *fakeNotes) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func newTestServer(t *testing.T, notes Notes) *httptest.Server {
	t.Helper()
	h, err := newHandler(notes, "Team notes", log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// noRedirect is a client that reports redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestPageListsNotesWithTitleAndVersion(t *testing.T) {
	f := &fakeNotes{notes: []Note{{ID: 1, Text: "hello <b>world</b>"}, {ID: 2, Text: "second"}}}
	srv := newTestServer(t, f)
	code, body := get(t, srv.URL+"/")
	if code != http.StatusOK {
		t.Fatalf("status = %d", code)
	}
	for _, want := range []string{"<title>Team notes</title>", "hello &lt;b&gt;world&lt;/b&gt;", "second", `<span id="version">` + Version + "</span>", `action="/add"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestPageWhenStoreDown(t *testing.T) {
	srv := newTestServer(t, &fakeNotes{down: true})
	code, body := get(t, srv.URL+"/")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", code)
	}
	if !strings.Contains(body, "not reachable") {
		t.Fatalf("page does not explain the outage: %s", body)
	}
}

func TestUnknownPathIs404(t *testing.T) {
	srv := newTestServer(t, &fakeNotes{})
	if code, _ := get(t, srv.URL+"/nope"); code != http.StatusNotFound {
		t.Fatalf("status = %d, want 404", code)
	}
}

func TestVersionAndHealthz(t *testing.T) {
	srv := newTestServer(t, &fakeNotes{down: true})
	code, body := get(t, srv.URL+"/version")
	if code != http.StatusOK || strings.TrimSpace(body) != Version {
		t.Fatalf("/version = %d %q", code, body)
	}
	// Health does not depend on the store.
	if code, _ := get(t, srv.URL+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d", code)
	}
}

func TestFormAddsAndRedirects(t *testing.T) {
	f := &fakeNotes{}
	srv := newTestServer(t, f)
	resp, err := noRedirect.PostForm(srv.URL+"/add", url.Values{"text": {"  from the form  "}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("POST /add = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got, _ := f.List(context.Background()); len(got) != 1 || got[0].Text != "from the form" {
		t.Fatalf("stored = %+v", got)
	}
	resp, err = noRedirect.PostForm(srv.URL+"/add", url.Values{"text": {"   "}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("empty form = %d, want 400", resp.StatusCode)
	}
}

func TestJSONAPI(t *testing.T) {
	f := &fakeNotes{}
	srv := newTestServer(t, f)
	code, body := get(t, srv.URL+"/api/notes")
	if code != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Fatalf("empty list = %d %q", code, body)
	}
	resp, err := http.Post(srv.URL+"/api/notes", "application/json", strings.NewReader(`{"text":"via api"}`))
	if err != nil {
		t.Fatal(err)
	}
	var n Note
	if err := json.NewDecoder(resp.Body).Decode(&n); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || n.Text != "via api" {
		t.Fatalf("POST = %d %+v", resp.StatusCode, n)
	}
	_, body = get(t, srv.URL+"/api/notes")
	var notes []Note
	if err := json.Unmarshal([]byte(body), &notes); err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || notes[0].Text != "via api" {
		t.Fatalf("list = %+v", notes)
	}
	for _, bad := range []string{`{"text":""}`, `nope`} {
		resp, err := http.Post(srv.URL+"/api/notes", "application/json", strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s = %d, want 400", bad, resp.StatusCode)
		}
	}
	f.setDown(true)
	if code, _ := get(t, srv.URL+"/api/notes"); code != http.StatusServiceUnavailable {
		t.Fatalf("list with store down = %d, want 503", code)
	}
}
