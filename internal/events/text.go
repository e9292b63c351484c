package events

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// Text prints events for people: one line per finished step, and a summary of
// per-phase timings when asked.
type Text struct {
	mu     sync.Mutex
	w      io.Writer
	totals map[string]time.Duration
	order  []string
}

// NewText returns a sink writing to w.
func NewText(w io.Writer) *Text { return &Text{w: w, totals: map[string]time.Duration{}} }

// Emit prints finished, skipped and failed steps and informational events;
// start events stay quiet except for long phases (build, status) so the user
// knows what devloop is waiting on.
func (t *Text) Emit(e Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.Status == StatusStart && e.Phase != PhaseBuild && e.Phase != PhaseStatus && e.Phase != PhaseCycle {
		return
	}
	if e.Status == StatusDone && e.Phase != PhaseCycle && e.Phase != PhaseRun {
		if _, seen := t.totals[e.Phase]; !seen {
			t.order = append(t.order, e.Phase)
		}
		t.totals[e.Phase] += time.Duration(e.DurationMs) * time.Millisecond
	}
	fmt.Fprintln(t.w, Format(e))
}

// Summary returns the per-phase timings since the last Reset, in the order
// phases first finished, e.g. "build 1.2s · deliver 0.3s · apply 80ms".
func (t *Text) Summary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	parts := make([]string, 0, len(t.order))
	for _, p := range t.order {
		parts = append(parts, p+" "+Round(t.totals[p]).String())
	}
	return strings.Join(parts, " · ")
}

// Reset forgets the accumulated timings (the dev loop calls it per cycle).
func (t *Text) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.totals = map[string]time.Duration{}
	t.order = nil
}

// Format renders one event as a line of text.
func Format(e Event) string {
	var b strings.Builder
	mark := map[string]string{StatusStart: "…", StatusDone: "✓", StatusSkipped: "-", StatusFailed: "✗", StatusInfo: "•"}[e.Status]
	fmt.Fprintf(&b, "%s %-11s", mark, e.Phase)
	if e.Artifact != "" {
		b.WriteString(" " + e.Artifact)
	} else if e.Object != "" {
		b.WriteString(" " + e.Object)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.URL != "" && !strings.Contains(e.Message, e.URL) {
		b.WriteString(" " + e.URL)
	}
	if len(e.Counts) > 0 {
		keys := make([]string, 0, len(e.Counts))
		for k := range e.Counts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%d", k, e.Counts[k]))
		}
		b.WriteString(" [" + strings.Join(parts, " ") + "]")
	}
	if e.Status != StatusStart && e.Status != StatusInfo && e.DurationMs > 0 {
		b.WriteString(" (" + Round(time.Duration(e.DurationMs)*time.Millisecond).String() + ")")
	}
	// An object's field changes (an adoption), one indented line each.
	if e.Phase == PhaseApply && e.Object != "" {
		for _, c := range e.Changes {
			b.WriteString("\n      " + c)
		}
	}
	return b.String()
}

// Round shortens a duration for display: ms below a second, 0.1 s above.
func Round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
