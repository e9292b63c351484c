package main

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	s, err := OpenStore(filepath.Join(t.TempDir(), "notes.json"), fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newHandler(s, log.New(io.Discard, "", 0)))
	t.Cleanup(srv.Close)
	return srv
}

func TestHealthz(t *testing.T) {
	srv := newTestServer(t)
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
}

func TestPostThenGetNotes(t *testing.T) {
	srv := newTestServer(t)
	resp, err := http.Post(srv.URL+"/notes", "application/json", strings.NewReader(`{"text":"buy milk"}`))
	if err != nil {
		t.Fatal(err)
	}
	var created Note
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || created.ID != 1 || created.Text != "buy milk" {
		t.Fatalf("POST = %d %+v", resp.StatusCode, created)
	}
	resp, err = http.Get(srv.URL + "/notes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var notes []Note
	if err := json.NewDecoder(resp.Body).Decode(&notes); err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || notes[0].Text != "buy milk" {
		t.Fatalf("GET = %+v", notes)
	}
}

func TestGetEmptyIsEmptyArray(t *testing.T) {
	srv := newTestServer(t)
	resp, err := http.Get(srv.URL + "/notes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if strings.TrimSpace(string(body)) != "[]" {
		t.Fatalf("body = %q, want []", body)
	}
}

func TestPostRejectsBadInput(t *testing.T) {
	srv := newTestServer(t)
	for _, body := range []string{`not json`, `{"text":"   "}`, `{}`} {
		resp, err := http.Post(srv.URL+"/notes", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s = %d, want 400", body, resp.StatusCode)
		}
	}
}
