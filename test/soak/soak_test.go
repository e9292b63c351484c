// Package soak runs `devloop dev` through many edit cycles in a row and
// checks that it neither leaks nor drifts: every cycle serves the version
// just written, and the process's resident memory, open file descriptors and
// threads at the end stay close to what they were after the first 10 cycles.
// It runs only with DEVLOOP_SOAK=1 (make soak); DEVLOOP_SOAK_CYCLES sets the
// number of cycles (default 300).
package soak

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

const (
	warmup = 10 // cycles before the baseline sample
	// end anonymous RSS (heap, stacks) at most 10% above the baseline; the
	// file-backed rest of RSS (the binary's pages) is reported, not judged:
	// it grows as code first runs and is no leak.
	rssTolerance = 0.10
	fdTolerance  = 4 // open descriptors beyond the baseline
	thrTolerance = 4 // OS threads beyond the baseline
	// goroutines beyond the baseline: a cycle in flight or a log stream
	// being replaced has a few; a leak of one per cycle gives hundreds.
	goTolerance  = 25
	cycleTimeout = 4 * time.Minute
)

func cycles(t *testing.T) int {
	s := os.Getenv("DEVLOOP_SOAK_CYCLES")
	if s == "" {
		return 300
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= warmup {
		t.Fatalf("DEVLOOP_SOAK_CYCLES=%q: want a number above %d", s, warmup)
	}
	return n
}

// settled samples the process 5 times over 3 s once a cycle has ended and
// keeps the smallest anonymous RSS (with its sample's other figures): the
// heap between two GCs swings by 10 MB and more, which a single sample
// would take for growth or hide.
func settled(pid int) (devproc.ProcStat, error) {
	var best devproc.ProcStat
	for i := 0; i < 5; i++ {
		time.Sleep(600 * time.Millisecond)
		s, err := devproc.Stat(pid)
		if err != nil {
			return s, err
		}
		if i == 0 || s.AnonKiB < best.AnonKiB {
			best = s
		}
	}
	return best, nil
}

func pctChange(from, to int) float64 {
	if from == 0 {
		return 0
	}
	return 100 * float64(to-from) / float64(from)
}

// goroutines reads the goroutine count from devloop's pprof server.
func goroutines(t *testing.T, addr string) int {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatalf("reading devloop's goroutines: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`goroutine profile: total (\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no goroutine total in %q", b)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func TestSoak(t *testing.T) {
	if os.Getenv("DEVLOOP_SOAK") != "1" {
		t.Skip("the soak runs for a long time; set DEVLOOP_SOAK=1 (make soak)")
	}
	env := testenv.Require(t)
	n := cycles(t)
	dir, ns := testenv.CopyExample(t, "notes")
	port := devproc.FreePort(t)
	devproc.SetLocalPort(t, dir, port)
	url := fmt.Sprintf("http://127.0.0.1:%d/version", port)
	t.Cleanup(func() {
		cmd := env.Command(t.Context(), testenv.Binary(t), "delete", "--data", "--wait=false")
		cmd.Dir = dir
		_ = cmd.Run()
		_ = env.Command(t.Context(), "kubectl", "delete", "namespace", ns, "--wait=false", "--ignore-not-found").Run()
	})

	pprof := fmt.Sprintf("127.0.0.1:%d", devproc.FreePort(t))
	p := devproc.Start(t, testenv.Binary(t), dir, "dev", "-o", "json", "--pprof-addr", pprof)
	_, next := p.Next(t, 0, 8*time.Minute, "the first cycle", func(e devproc.Event) bool {
		return e.Phase == "cycle" && e.Status != "start"
	})
	b, err := os.ReadFile(filepath.Join(dir, "web", "version.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`const Version = "(.*)"`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no Version in web/version.go")
	}
	if _, err := devproc.WaitBody(url, string(m[1]), time.Minute); err != nil {
		t.Fatalf("first pass: %v\n%s", err, p.Tail(40))
	}
	t.Logf("first pass serving after %s; %d cycles follow", time.Since(p.Started).Round(time.Second), n)

	var base devproc.ProcStat
	var baseG int
	var served []time.Duration
	failed := 0
	start := time.Now()
	for i := 1; i <= n; i++ {
		v := fmt.Sprintf("soak-%d-%d", i, time.Now().UnixNano())
		devproc.SetVersion(t, dir, v)
		d, err := devproc.WaitBody(url, v, cycleTimeout)
		if err != nil {
			t.Fatalf("cycle %d: %v\n%s", i, err, p.Tail(40))
		}
		// The cycle that served v has ended by now or ends shortly: count
		// its outcome before the next edit so cycles never overlap.
		e, nx, err := p.NextErr(next, 30*time.Second, func(e devproc.Event) bool {
			return e.Phase == "cycle" && e.Status != "start"
		})
		if err != nil {
			t.Fatalf("cycle %d: served %q but no end of cycle: %v\n%s", i, v, err, p.Tail(40))
		}
		next = nx
		if e.Status == "failed" {
			failed++
			t.Errorf("cycle %d failed: %s", i, e)
		}
		served = append(served, d)
		if i == warmup {
			if base, err = settled(p.Pid()); err != nil {
				t.Fatal(err)
			}
			baseG = goroutines(t, pprof)
			t.Logf("after %d cycles: RSS %d KiB (anonymous %d KiB), %d fds, %d threads, %d goroutines", warmup, base.RSSKiB, base.AnonKiB, base.FDs, base.Threads, baseG)
		}
		if i%25 == 0 {
			s, _ := devproc.Stat(p.Pid())
			t.Logf("after %d cycles (%s): RSS %d KiB (anonymous %d KiB), %d fds, %d threads, %d goroutines", i, time.Since(start).Round(time.Second), s.RSSKiB, s.AnonKiB, s.FDs, s.Threads, goroutines(t, pprof))
		}
	}
	end, err := settled(p.Pid())
	if err != nil {
		t.Fatal(err)
	}
	endG := goroutines(t, pprof)
	sorted := append([]time.Duration(nil), served...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a] < sorted[b] })
	pct := func(q float64) time.Duration { return sorted[int(q*float64(len(sorted)-1))].Round(time.Millisecond) }
	t.Logf("%d cycles in %s, %d failed; edit→served median %s, p90 %s, max %s",
		n, time.Since(start).Round(time.Second), failed, pct(0.5), pct(0.9), pct(1))
	t.Logf("after cycle %d: RSS %d KiB (anonymous %d KiB), %d fds, %d threads, %d goroutines; at the end: RSS %d KiB (%+.1f%%), anonymous %d KiB (%+.1f%%), %d fds (%+d), %d threads (%+d), %d goroutines (%+d)",
		warmup, base.RSSKiB, base.AnonKiB, base.FDs, base.Threads, baseG,
		end.RSSKiB, pctChange(base.RSSKiB, end.RSSKiB), end.AnonKiB, pctChange(base.AnonKiB, end.AnonKiB),
		end.FDs, end.FDs-base.FDs, end.Threads, end.Threads-base.Threads, endG, endG-baseG)
	if float64(end.AnonKiB) > float64(base.AnonKiB)*(1+rssTolerance) {
		t.Errorf("anonymous RSS grew from %d KiB after %d cycles to %d KiB after %d (more than %.0f%%)", base.AnonKiB, warmup, end.AnonKiB, n, 100*rssTolerance)
	}
	if end.FDs > base.FDs+fdTolerance {
		t.Errorf("open file descriptors grew from %d after %d cycles to %d after %d", base.FDs, warmup, end.FDs, n)
	}
	if end.Threads > base.Threads+thrTolerance {
		t.Errorf("OS threads grew from %d after %d cycles to %d after %d", base.Threads, warmup, end.Threads, n)
	}
	if endG > baseG+goTolerance {
		t.Errorf("goroutines grew from %d after %d cycles to %d after %d", baseG, warmup, endG, n)
	}
}
