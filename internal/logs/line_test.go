package logs

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestColorStable(t *testing.T) {
	if a, b := colorFor("ns/web/app"), colorFor("ns/web/app"); a != b {
		t.Fatal("same key, different colors")
	}
	colors := map[string]bool{}
	for i := range 50 {
		colors[colorFor(fmt.Sprintf("ns/web-%d/app", i))] = true
	}
	if len(colors) < 4 {
		t.Fatalf("50 containers share only %d colors", len(colors))
	}
	// A replaced pod of the same Deployment keeps its containers' colors.
	a := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-5d9c7b-abcde", GenerateName: "web-5d9c7b-",
		Labels: map[string]string{"pod-template-hash": "5d9c7b"}}}
	b := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-77f6c9-xyz12", GenerateName: "web-77f6c9-",
		Labels: map[string]string{"pod-template-hash": "77f6c9"}}}
	if colorKey(a, "app") != colorKey(b, "app") || colorKey(a, "app") != "ns/web/app" {
		t.Fatalf("keys differ across a rollout: %q vs %q", colorKey(a, "app"), colorKey(b, "app"))
	}
	if colorKey(a, "app") == colorKey(a, "sidecar") {
		t.Fatal("two containers of a pod share a key")
	}
	sts := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "db-0", GenerateName: "db-"}}
	if colorKey(sts, "db") != "ns/db/db" {
		t.Fatalf("statefulset key %q", colorKey(sts, "db"))
	}
}

func TestSplitTimestampAndDedup(t *testing.T) {
	line := []byte("2024-05-01T10:00:00.123456789Z hello world\n")
	ts, text, ok := splitTimestamp(line)
	if !ok || string(text) != "hello world\n" || ts.Nanosecond() != 123456789 {
		t.Fatalf("splitTimestamp = %v %q %v", ts, text, ok)
	}
	if _, text, ok := splitTimestamp([]byte("no timestamp here\n")); ok || string(text) != "no timestamp here\n" {
		t.Fatalf("a line without timestamp: ok=%v text=%q", ok, text)
	}

	var d dedup
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	// First stream: three lines.
	for i := range 3 {
		if !d.keep(t0.Add(time.Duration(i) * time.Millisecond)) {
			t.Fatalf("line %d dropped on first sight", i)
		}
	}
	// Reconnect with SinceTime truncated to the second: the server sends
	// the same three lines again and a new one.
	var kept []int
	for i := range 4 {
		if d.keep(t0.Add(time.Duration(i) * time.Millisecond)) {
			kept = append(kept, i)
		}
	}
	if len(kept) != 1 || kept[0] != 3 {
		t.Fatalf("after reconnect kept %v, want only [3]", kept)
	}
}

func TestLineWriterWholeLines(t *testing.T) {
	var buf bytes.Buffer
	w := &lineWriter{out: &buf}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				_ = w.writeLine(fmt.Sprintf("p/c%d | ", g), "31", []byte(fmt.Sprintf("line %d of %d %s\n", i, g, strings.Repeat("x", 100))))
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 1600 {
		t.Fatalf("%d lines, want 1600", len(lines))
	}
	for _, l := range lines {
		var g, i, g2 int
		if _, err := fmt.Sscanf(l, "p/c%d | line %d of %d", &g, &i, &g2); err != nil || g != g2 || !strings.HasSuffix(l, strings.Repeat("x", 100)) {
			t.Fatalf("mangled line %q", l)
		}
	}

	buf.Reset()
	cw := &lineWriter{out: &buf, colors: true}
	_ = cw.writeLine("pod/app | ", "32", []byte("partial line without newline"))
	if got, want := buf.String(), "\x1b[32mpod/app | \x1b[0mpartial line without newline\n"; got != want {
		t.Fatalf("colored line %q, want %q", got, want)
	}
	if isTerminal(&buf) {
		t.Fatal("a buffer is not a terminal")
	}
}
