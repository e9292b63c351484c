package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Note is one stored note.
type Note struct {
	ID      int       `json:"id"`
	Text    string    `json:"text"`
	Created time.Time `json:"created"`
}

// ErrEmptyText is returned when a note without text is added.
var ErrEmptyText = errors.New("note text is empty")

// fileState is the on-disk format of the store's file.
type fileState struct {
	NextID int    `json:"nextId"`
	Notes  []Note `json:"notes"`
}

// Store keeps notes in one JSON file. Every write goes to a temporary file
// in the same directory, is fsync'd, then renamed over the old file and the
// directory is fsync'd: a crash leaves either the old or the new file whole.
type Store struct {
	path string
	now  func() time.Time

	mu    sync.Mutex
	state fileState
}

// OpenStore loads the store kept at path, creating its directory; a missing
// file is an empty store.
func OpenStore(path string, now func() time.Time) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	s := &Store{path: path, now: now, state: fileState{NextID: 1}}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &s.state); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	if s.state.NextID < 1 {
		s.state.NextID = 1
	}
	for _, n := range s.state.Notes {
		if n.ID >= s.state.NextID {
			s.state.NextID = n.ID + 1
		}
	}
	return s, nil
}

// List returns a copy of every note, oldest first.
func (s *Store) List() []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Note, len(s.state.Notes))
	copy(out, s.state.Notes)
	return out
}

// Add stores a new note and returns it once it is on disk.
func (s *Store) Add(text string) (Note, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Note{}, ErrEmptyText
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := Note{ID: s.state.NextID, Text: text, Created: s.now().UTC()}
	next := fileState{NextID: n.ID + 1, Notes: append(append([]Note(nil), s.state.Notes...), n)}
	if err := writeAtomic(s.path, next); err != nil {
		return Note{}, err
	}
	s.state = next
	return n, nil
}

// writeAtomic writes st to path through a fsync'd temporary file and a rename.
func writeAtomic(path string, st fileState) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding notes: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".notes-*.tmp")
	if err != nil {
		return fmt.Errorf("creating temporary file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("syncing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
