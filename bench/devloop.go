package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// Event is one line of `devloop -o json` as the shared driver records it:
// devloop's own events.Event (so the benchmark reads exactly the contract
// devloop writes) and when it was read. Its JSON form is the events.Event's.
type Event = devproc.Event

// Proc is a running devloop process whose JSON events are recorded, driven
// by the driver the end-to-end tests use.
type Proc = devproc.Proc

// startDevloop starts `devloop ARGS -o json` in dir, in a process group of
// its own; the run stops it at the end of the scenario if it still runs.
func (b *Bench) startDevloop(dir string, args ...string) (*Proc, error) {
	p, err := devproc.Launch(devproc.Command{Binary: b.devloop, Dir: dir, Args: append(args, "-o", "json")})
	if err != nil {
		return nil, err
	}
	b.track(p)
	return p, nil
}

// cpuSeconds is utime+stime of the process from /proc/<pid>/stat.
func cpuSeconds(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading stat: %w", err)
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+2:])
	// Fields after the command: state(0) ... utime(11) stime(12).
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks, nil
}

// idleCPU is the process's CPU over d, from now, in % of one core.
func idleCPU(pid int, d time.Duration) (float64, error) {
	c0, err := cpuSeconds(pid)
	if err != nil {
		return 0, err
	}
	time.Sleep(d)
	c1, err := cpuSeconds(pid)
	if err != nil {
		return 0, err
	}
	return 100 * (c1 - c0) / d.Seconds(), nil
}

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100

// procStatusKB reads a kB field (VmHWM, VmRSS) of /proc/<pid>/status.
func procStatusKB(pid int, field string) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading status: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				return strconv.ParseFloat(f[1], 64)
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// phaseSum sums the durations of done events of a phase within evs.
func phaseSum(evs []Event, phase string) float64 {
	var t int64
	for _, e := range evs {
		if e.Phase == phase && e.Status == "done" {
			t += e.DurationMs
		}
	}
	return float64(t)
}

// lastPhase returns the time of the last done event of phase.
func lastPhase(evs []Event, phase string) (time.Time, bool) {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Phase == phase && evs[i].Status == "done" {
			return evs[i].Time, true
		}
	}
	return time.Time{}, false
}

// countBuilds counts the build done events: images built.
func countBuilds(evs []Event) int {
	n := 0
	for _, e := range evs {
		if e.Phase == "build" && e.Status == "done" {
			n++
		}
	}
	return n
}

// writes sums counts.writes of apply done/failed events.
func writes(evs []Event) int {
	n := 0
	for _, e := range evs {
		if e.Phase == "apply" && (e.Status == "done" || e.Status == "failed") {
			n += e.Counts["writes"]
		}
	}
	return n
}
