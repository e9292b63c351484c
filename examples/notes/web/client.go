package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Note is one note as the store returns it.
type Note struct {
	ID      int       `json:"id"`
	Text    string    `json:"text"`
	Created time.Time `json:"created"`
}

// StoreClient talks to the storage service's HTTP API.
type StoreClient struct {
	base string
	http *http.Client
}

// NewStoreClient returns a client for the store at base (for example
// http://notes-store-0.notes-store:9090); every request is bounded by timeout.
func NewStoreClient(base string, timeout time.Duration) *StoreClient {
	return &StoreClient{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: timeout}}
}

// List returns every note, oldest first.
func (c *StoreClient) List(ctx context.Context) ([]Note, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/notes", nil)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	var notes []Note
	if err := c.do(req, http.StatusOK, &notes); err != nil {
		return nil, fmt.Errorf("listing notes: %w", err)
	}
	return notes, nil
}

// Add stores a note and returns it as stored.
func (c *StoreClient) Add(ctx context.Context, text string) (Note, error) {
	body, err := json.Marshal(map[string]string{"text": text})
	if err != nil {
		return Note{}, fmt.Errorf("encoding note: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/notes", bytes.NewReader(body))
	if err != nil {
		return Note{}, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	var n Note
	if err := c.do(req, http.StatusCreated, &n); err != nil {
		return Note{}, fmt.Errorf("adding note: %w", err)
	}
	return n, nil
}

// StatusError is a response from the store with an unexpected status.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("store answered %d: %s", e.Code, e.Body)
}

func (c *StoreClient) do(req *http.Request, want int, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &StatusError{Code: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding response: %w", err)
	}
	return nil
}
