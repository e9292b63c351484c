package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func fixedNow() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }

func TestAddPersistsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "notes.json")
	s, err := OpenStore(path, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.List(); len(got) != 0 {
		t.Fatalf("new store has %d notes", len(got))
	}
	for _, text := range []string{"first", "  second  "} {
		if _, err := s.Add(text); err != nil {
			t.Fatal(err)
		}
	}
	reopened, err := OpenStore(path, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	got := reopened.List()
	if len(got) != 2 || got[0].Text != "first" || got[1].Text != "second" || got[0].ID != 1 || got[1].ID != 2 {
		t.Fatalf("reopened notes = %+v", got)
	}
	n, err := reopened.Add("third")
	if err != nil {
		t.Fatal(err)
	}
	if n.ID != 3 {
		t.Fatalf("id after reopen = %d, want 3", n.ID)
	}
}

func TestAddRejectsEmptyText(t *testing.T) {
	s, err := OpenStore(filepath.Join(t.TempDir(), "notes.json"), fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(" \n "); err != ErrEmptyText {
		t.Fatalf("err = %v, want ErrEmptyText", err)
	}
}

func TestWriteLeavesNoTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notes.json")
	s, err := OpenStore(path, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := s.Add(fmt.Sprintf("note %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "notes.json" {
		t.Fatalf("directory holds %v, want only notes.json", entries)
	}
	var st fileState
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("file is not valid JSON: %v", err)
	}
	if len(st.Notes) != 5 || st.NextID != 6 {
		t.Fatalf("file state = %+v", st)
	}
}

// A write that cannot replace the file leaves both the file and the store's
// memory as they were: the note is either fully stored or not at all.
func TestFailedWriteKeepsOldState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notes.json")
	s, err := OpenStore(path, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add("kept"); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Make the rename fail: point the store at a non-empty directory.
	blocked := filepath.Join(dir, "blocked")
	if err := os.MkdirAll(filepath.Join(blocked, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	s.path = blocked
	if _, err := s.Add("lost"); err == nil {
		t.Fatal("Add succeeded although the file could not be replaced")
	}
	if got := s.List(); len(got) != 1 || got[0].Text != "kept" {
		t.Fatalf("memory after failed write = %+v", got)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Fatal("the old file changed after a failed write")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".tmp" {
			t.Fatalf("temporary file %s left behind", e.Name())
		}
	}
}

func TestOpenRejectsCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(path, fixedNow); err == nil {
		t.Fatal("a corrupt file was accepted")
	}
}

func TestConcurrentAddsGetDistinctIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.json")
	s, err := OpenStore(path, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Add(fmt.Sprintf("n%d", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	reopened, err := OpenStore(path, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, n := range reopened.List() {
		if seen[n.ID] {
			t.Fatalf("duplicate id %d", n.ID)
		}
		seen[n.ID] = true
	}
	if len(seen) != 20 {
		t.Fatalf("%d notes on disk, want 20", len(seen))
	}
}
