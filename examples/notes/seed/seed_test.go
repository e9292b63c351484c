package main

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeStore mimics the store's API; it reports unhealthy until ready is set.
type fakeStore struct {
	mu    sync.Mutex
	notes []note
	posts int
	ready atomic.Bool
}

func (f *fakeStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.URL.Path == "/healthz":
		if !f.ready.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
		}
	case r.URL.Path == "/notes" && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(append([]note{}, f.notes...))
	case r.URL.Path == "/notes" && r.Method == http.MethodPost:
		var in note
		_ = json.NewDecoder(r.Body).Decode(&in)
		in.ID = len(f.notes) + 1
		f.notes = append(f.notes, in)
		f.posts++
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(in)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeStore) snapshot() ([]note, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]note(nil), f.notes...), f.posts
}

func newSeeder(url string) *Seeder {
	return &Seeder{Base: url, Client: &http.Client{Timeout: time.Second}, Poll: 10 * time.Millisecond, Logger: log.New(io.Discard, "", 0)}
}

func TestSeedIsIdempotent(t *testing.T) {
	f := &fakeStore{}
	f.ready.Store(true)
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := newSeeder(srv.URL)
	ctx := context.Background()
	added, err := s.Seed(ctx, Welcome)
	if err != nil || added != len(Welcome) {
		t.Fatalf("first run added %d, err %v", added, err)
	}
	added, err = s.Seed(ctx, Welcome)
	if err != nil || added != 0 {
		t.Fatalf("second run added %d, err %v", added, err)
	}
	notes, posts := f.snapshot()
	if len(notes) != len(Welcome) || posts != len(Welcome) {
		t.Fatalf("store holds %d notes after %d posts, want %d", len(notes), posts, len(Welcome))
	}
}

func TestSeedAddsOnlyWhatIsMissing(t *testing.T) {
	f := &fakeStore{notes: []note{{ID: 1, Text: "a user's note"}, {ID: 2, Text: Welcome[1]}}}
	f.ready.Store(true)
	srv := httptest.NewServer(f)
	defer srv.Close()
	added, err := newSeeder(srv.URL).Seed(context.Background(), Welcome)
	if err != nil || added != 1 {
		t.Fatalf("added %d, err %v; want 1", added, err)
	}
	notes, _ := f.snapshot()
	if len(notes) != 3 || notes[2].Text != Welcome[0] {
		t.Fatalf("notes = %+v", notes)
	}
}

func TestWaitReadyWaitsForTheStore(t *testing.T) {
	f := &fakeStore{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	go func() {
		time.Sleep(100 * time.Millisecond)
		f.ready.Store(true)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := newSeeder(srv.URL).WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if !f.ready.Load() {
		t.Fatal("WaitReady returned before the store was ready")
	}
}

func TestWaitReadyGivesUp(t *testing.T) {
	f := &fakeStore{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := newSeeder(srv.URL).WaitReady(ctx); err == nil {
		t.Fatal("WaitReady succeeded against a store that never became ready")
	}
}

func TestRunSeedsOnce(t *testing.T) {
	f := &fakeStore{}
	f.ready.Store(true)
	srv := httptest.NewServer(f)
	defer srv.Close()
	env := map[string]string{"STORE_URL": srv.URL + "/", "WAIT_TIMEOUT": "5s"}
	logger := log.New(io.Discard, "", 0)
	for range 2 {
		if err := run(context.Background(), logger, func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
	}
	if notes, _ := f.snapshot(); len(notes) != len(Welcome) {
		t.Fatalf("store holds %d notes, want %d", len(notes), len(Welcome))
	}
}
