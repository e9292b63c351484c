package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestMetricFinishMedianAndTarget(t *testing.T) {
	m := &Metric{Samples: []float64{30, 10, 20, 40}, Target: le(25, "≤ 25")}
	m.finish()
	if m.Median != 25 || m.Min != 10 || m.Max != 40 {
		t.Fatalf("median/min/max = %v/%v/%v, want 25/10/40", m.Median, m.Min, m.Max)
	}
	if m.Met == nil || !*m.Met {
		t.Fatalf("median 25 should meet ≤ 25")
	}
	m.Samples = append(m.Samples, 50)
	m.finish()
	if m.Median != 30 || *m.Met {
		t.Fatalf("median %v met %v, want 30 missed", m.Median, *m.Met)
	}
}

func TestTableMarksMissedAndNoData(t *testing.T) {
	var r Results
	r.add("a", "fast", "ms", le(100, "≤ 100ms")).Samples = []float64{50}
	r.add("a", "slow", "ms", le(100, "≤ 100ms")).Samples = []float64{150}
	r.add("b", "empty", "ms", le(1, "≤ 1ms"))
	var buf bytes.Buffer
	r.printTable(&buf)
	out := buf.String()
	for _, want := range []string{"fast", "met", "MISSED", "no data"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if !r.missed("a") || r.missed("b") {
		t.Fatalf("missed(a)=%v missed(b)=%v, want true false", r.missed("a"), r.missed("b"))
	}
}

func TestCPUSecondsOfSelf(t *testing.T) {
	s, err := cpuSeconds(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s < 0 {
		t.Fatalf("cpu seconds %v", s)
	}
	hwm, err := procStatusKB(os.Getpid(), "VmHWM")
	if err != nil || hwm <= 0 {
		t.Fatalf("VmHWM %v, %v", hwm, err)
	}
}

func TestObjects500Count(t *testing.T) {
	if n := strings.Count(objects500(), "\nkind: "); n != 500 {
		t.Fatalf("%d objects, want 500", n)
	}
}

func TestDockerRef(t *testing.T) {
	for in, want := range map[string]string{
		"web:1":                  "docker.io/library/web:1",
		"team/web:1":             "docker.io/team/web:1",
		"127.0.0.1:5000/web:1":   "127.0.0.1:5000/web:1",
		"localhost/web:1":        "localhost/web:1",
		"registry.io/a/web:tag1": "registry.io/a/web:tag1",
	} {
		if got := dockerRef(in); got != want {
			t.Errorf("dockerRef(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPrintMissesGivesTheProfile(t *testing.T) {
	var r Results
	r.add("a", "added wait", "ms", le(1000, "≤ 1.0 s")).Samples = []float64{1900}
	r.add("a", "rollout", "ms", nil).Samples = []float64{1400}
	r.add("a", "detect", "ms", le(150, "≤ 150ms")).Samples = []float64{51}
	r.add("b", "fine", "ms", le(1, "≤ 1ms")).Samples = []float64{0}
	r.add("b", "b's phase", "ms", nil).Samples = []float64{7}
	var buf bytes.Buffer
	r.printMisses(&buf, map[string]string{"a": "File: devloop\nflat  flat%\n10ms 50% runtime.futex"})
	out := buf.String()
	for _, want := range []string{"MISSED in a:", "added wait: 1900ms, target ≤ 1.0 s", "rollout", "1400ms", "detect", "runtime.futex"} {
		if !strings.Contains(out, want) {
			t.Errorf("misses lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "b's phase") || strings.Contains(out, "MISSED in b") {
		t.Errorf("a scenario that met its targets is printed:\n%s", out)
	}
}
