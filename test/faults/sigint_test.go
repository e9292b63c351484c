package faults

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// childWatch samples a process's children every 20 ms until it exits.
type childWatch struct {
	mu   sync.Mutex
	last []int     // the last sample taken while the process ran
	at   time.Time // when
	done chan struct{}
}

func watchChildren(p *devproc.Proc) *childWatch {
	w := &childWatch{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for !p.Exited() {
			kids := devproc.Children(p.Pid())
			if p.Exited() {
				return // the sample may be of an exited process
			}
			w.mu.Lock()
			w.last, w.at = kids, time.Now()
			w.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return w
}

// buildxOf lists running docker-buildx processes whose command line names dir.
func buildxOf(dir string) []string {
	var found []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmd, "buildx") && strings.Contains(cmd, dir) {
			found = append(found, e.Name()+": "+cmd)
		}
	}
	return found
}

// TestSIGINT interrupts `devloop dev` right after the first build, apply
// and status wait starts: devloop must exit within a bound with exit code 0
// or 130, having run its cleanup (nothing left but PersistentVolumeClaims),
// with no child process left behind and the port free.
func TestSIGINT(t *testing.T) {
	env := requireFaults(t)
	for _, phase := range []string{"build", "apply", "status", "cycle"} {
		name := "during " + phase
		if phase == "cycle" {
			name = "idle after the first cycle"
		}
		t.Run(name, func(t *testing.T) {
			dir, ns, url := notesCopy(t, env)
			port := strings.TrimPrefix(url, "http://127.0.0.1:")
			if phase == "build" {
				// A version no image has yet: the web image must be built.
				devproc.SetVersion(t, dir, fmt.Sprintf("v-sigint-%d", time.Now().UnixNano()))
			}
			p := devproc.Start(t, testenv.Binary(t), dir, "dev", "-o", "json")
			w := watchChildren(p)
			status := "start"
			if phase == "cycle" {
				status = "done"
			}
			_, next := p.Next(t, 0, 6*time.Minute, phase+" "+status, func(e devproc.Event) bool { return e.Is(phase, status) })
			if phase == "cycle" {
				// A client with a keep-alive connection through the
				// port-forward, as a browser has.
				if _, err := devproc.WaitBody(url+"/version", version(t, dir), time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			sent := time.Now()
			p.Signal(t, syscall.SIGINT)
			code, ok := p.WaitExit(2 * time.Minute)
			if !ok {
				t.Fatalf("devloop still running 2m after SIGINT during %s\n%s", phase, p.Tail(40))
			}
			took := p.ExitedAt().Sub(sent)
			<-w.done
			t.Logf("SIGINT during %s: exit code %d after %s", phase, code, took.Round(time.Millisecond))
			if code != 0 && code != 130 {
				t.Errorf("exit code %d, want 0 or 130\n%s", code, p.Tail(30))
			}
			if took > 60*time.Second {
				t.Errorf("exit took %s after SIGINT, want at most 60s", took.Round(time.Second))
			}
			cleanup, _, err := p.NextErr(next, 0, func(e devproc.Event) bool { return e.Phase == "cleanup" && e.Status != "start" && e.Status != "info" })
			if err != nil {
				t.Errorf("no cleanup done/failed event after SIGINT during %s\n%s", phase, p.Tail(30))
			} else {
				began := cleanup.Seen.Add(-time.Duration(cleanup.DurationMs) * time.Millisecond).Sub(sent)
				t.Logf("cleanup: %s (%dms, started %s after SIGINT)", cleanup, cleanup.DurationMs, began.Round(time.Millisecond))
				if began > 5*time.Second {
					t.Errorf("cleanup started %s after SIGINT, want within 5s", began.Round(time.Millisecond))
				}
				if cleanup.Status != "done" {
					t.Errorf("cleanup %s: %s", cleanup.Status, cleanup.Message)
				}
			}
			w.mu.Lock()
			if len(w.last) > 0 {
				t.Errorf("devloop still had children %v %s before it exited", w.last, time.Since(w.at).Round(time.Millisecond))
			}
			w.mu.Unlock()
			if left := buildxOf(dir); len(left) > 0 {
				t.Errorf("buildx processes of this build still run after devloop exited: %v", left)
			}
			var left []string
			for _, o := range liveObjects(t, env, ns) {
				// The claim is kept, and the inventory that names it (so that
				// a later delete --data can remove it and the namespace).
				if !strings.HasPrefix(o, "persistentvolumeclaim/") && !strings.HasPrefix(o, "configmap/devloop-inventory-") {
					left = append(left, o)
				}
			}
			if len(left) > 0 {
				t.Errorf("left in namespace %s after cleanup: %v", ns, left)
			}
			var n int
			_, _ = fmt.Sscan(port, &n) // not a number: n stays 0, which is not free
			if !devproc.PortFree(n) {
				t.Errorf("port %d still in use after devloop exited", n)
			}
		})
	}
}

// TestSecondSIGINT sends a second SIGINT while the cleanup runs: devloop
// must exit at once (any exit code).
func TestSecondSIGINT(t *testing.T) {
	env := requireFaults(t)
	dir, _, url := notesCopy(t, env)
	p, next := startDev(t, dir, url, version(t, dir))
	p.Signal(t, syscall.SIGINT)
	first := time.Now()
	start, upto := p.Next(t, next, time.Minute, "cleanup start", func(e devproc.Event) bool { return e.Is("cleanup", "start") })
	for _, e := range p.Events()[next:upto] {
		t.Logf("  %s after SIGINT: %s", e.Seen.Sub(first).Round(time.Millisecond), e)
	}
	p.Signal(t, syscall.SIGINT)
	second := time.Now()
	code, ok := p.WaitExit(10 * time.Second)
	if !ok {
		t.Fatalf("devloop still running 10s after the second SIGINT\n%s", p.Tail(30))
	}
	took := p.ExitedAt().Sub(second)
	t.Logf("cleanup started %s after the first SIGINT; exit code %d %s after the second",
		start.Seen.Sub(first).Round(time.Millisecond), code, took.Round(time.Millisecond))
	if d := start.Seen.Sub(first); d > 5*time.Second {
		t.Errorf("cleanup started %s after the first SIGINT (a client had a keep-alive connection through the port-forward), want within 5s", d.Round(time.Millisecond))
	}
	if took > time.Second {
		t.Errorf("exit took %s after the second SIGINT, want at once (< 1s)", took)
	}
}
