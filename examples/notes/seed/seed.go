package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"time"
)

// Welcome holds the notes the seed job writes once.
var Welcome = []string{
	"Welcome to notes! This note was written by the notes-seed Job.",
	"Notes live in notes-store on a PersistentVolume: delete its pod and they stay.",
}

type note struct {
	ID   int    `json:"id"`
	Text string `json:"text"`
}

// Seeder writes the welcome notes into a store that lacks them.
type Seeder struct {
	Base   string        // the store's base URL
	Client *http.Client  // with a timeout
	Poll   time.Duration // interval between readiness checks
	Logger *log.Logger
}

// WaitReady polls the store's /healthz until it answers 200 or ctx ends.
func (s *Seeder) WaitReady(ctx context.Context) error {
	for {
		err := s.healthy(ctx)
		if err == nil {
			return nil
		}
		s.Logger.Printf("waiting for the store: %v", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the store at %s: %w (last error: %v)", s.Base, ctx.Err(), err)
		case <-time.After(s.Poll):
		}
	}
}

func (s *Seeder) healthy(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Base+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %d", resp.StatusCode)
	}
	return nil
}

// Seed adds each of texts that the store does not hold yet and returns how
// many it added. Running it again adds nothing.
func (s *Seeder) Seed(ctx context.Context, texts []string) (int, error) {
	existing, err := s.list(ctx)
	if err != nil {
		return 0, err
	}
	have := make(map[string]bool, len(existing))
	for _, n := range existing {
		have[n.Text] = true
	}
	added := 0
	for _, t := range texts {
		if have[t] {
			continue
		}
		if err := s.add(ctx, t); err != nil {
			return added, err
		}
		have[t] = true
		added++
	}
	return added, nil
}

func (s *Seeder) list(ctx context.Context) ([]note, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Base+"/notes", nil)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("listing notes: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("listing notes: store answered %d", resp.StatusCode)
	}
	var notes []note
	if err := json.NewDecoder(resp.Body).Decode(&notes); err != nil {
		return nil, fmt.Errorf("decoding notes: %w", err)
	}
	return notes, nil
}

func (s *Seeder) add(ctx context.Context, text string) error {
	body, err := json.Marshal(map[string]string{"text": text})
	if err != nil {
		return fmt.Errorf("encoding note: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Base+"/notes", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client.Do(req)
	if err != nil {
		return fmt.Errorf("adding note: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("adding note: store answered %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return nil
}
