package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestJSONOneObjectPerLine(t *testing.T) {
	var buf bytes.Buffer
	s := NewJSON(&buf)
	tm := Start(s, Event{Phase: PhaseBuild, Artifact: "web"})
	tm.Done("built web:abc")
	Start(s, Event{Phase: PhaseApply}).Fail(errors.New("boom"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 lines, got %d: %q", len(lines), buf.String())
	}
	var last Event
	if err := json.Unmarshal([]byte(lines[3]), &last); err != nil {
		t.Fatal(err)
	}
	if last.Phase != PhaseApply || last.Status != StatusFailed || last.Message != "boom" {
		t.Fatalf("unexpected event %+v", last)
	}
	for _, want := range []string{`"time":`, `"phase":"build"`, `"status":"start"`, `"artifact":"web"`, `"durationMs":`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("line %q lacks %s", lines[0], want)
		}
	}
}

func TestTextSummaryAddsPhases(t *testing.T) {
	var buf bytes.Buffer
	s := NewText(&buf)
	s.Emit(Event{Phase: PhaseBuild, Status: StatusDone, DurationMs: 1200, Artifact: "a"})
	s.Emit(Event{Phase: PhaseBuild, Status: StatusDone, DurationMs: 300, Artifact: "b"})
	s.Emit(Event{Phase: PhaseApply, Status: StatusDone, DurationMs: 80})
	if got, want := s.Summary(), "build 1.5s · apply 80ms"; got != want {
		t.Fatalf("summary %q, want %q", got, want)
	}
	s.Reset()
	if s.Summary() != "" {
		t.Fatal("reset kept timings")
	}
	if !strings.Contains(buf.String(), "✓ build       a (1.2s)") {
		t.Fatalf("text output: %q", buf.String())
	}
}

func TestTextPrintsAnObjectsChanges(t *testing.T) {
	got := Format(Event{Phase: PhaseApply, Status: StatusInfo, Object: "ConfigMap/ns/c", Message: "adopted",
		Changes: []string{`- data.extra: "1"`, `~ data.MODE: "prod" → "dev"`}})
	want := "• apply       ConfigMap/ns/c: adopted\n      - data.extra: \"1\"\n      ~ data.MODE: \"prod\" → \"dev\""
	if got != want {
		t.Errorf("Format:\n%s\nwant:\n%s", got, want)
	}
	if got := Format(Event{Phase: PhaseCycle, Status: StatusStart, Cycle: 2, Changes: []string{"a.go"}}); strings.Contains(got, "a.go") {
		t.Errorf("a cycle's changed paths are printed: %q", got)
	}
}
