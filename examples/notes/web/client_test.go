package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestClientListAndAdd(t *testing.T) {
	var stored []Note
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/notes" {
			http.NotFound(w, r)
			return
		}
		switch r.Method {
		case http.MethodGet:
			_ = json.NewEncoder(w).Encode(stored)
		case http.MethodPost:
			var in struct{ Text string }
			_ = json.NewDecoder(r.Body).Decode(&in)
			n := Note{ID: len(stored) + 1, Text: in.Text}
			stored = append(stored, n)
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(n)
		}
	}))
	defer store.Close()
	c := NewStoreClient(store.URL+"/", time.Second)
	ctx := context.Background()
	n, err := c.Add(ctx, "one")
	if err != nil {
		t.Fatal(err)
	}
	if n.ID != 1 || n.Text != "one" {
		t.Fatalf("added %+v", n)
	}
	notes, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || notes[0].Text != "one" {
		t.Fatalf("listed %+v", notes)
	}
}

func TestClientReportsStatus(t *testing.T) {
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "disk full", http.StatusInternalServerError)
	}))
	defer store.Close()
	_, err := NewStoreClient(store.URL, time.Second).Add(context.Background(), "x")
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusInternalServerError || se.Body != "disk full" {
		t.Fatalf("err = %v", err)
	}
}

func TestClientTimesOut(t *testing.T) {
	release := make(chan struct{})
	store := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer store.Close()
	defer close(release)
	start := time.Now()
	if _, err := NewStoreClient(store.URL, 100*time.Millisecond).List(context.Background()); err == nil {
		t.Fatal("a hanging store did not fail the call")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("call took %v, the timeout is 100ms", d)
	}
}
