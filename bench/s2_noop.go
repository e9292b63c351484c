package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/devloop-dev/devloop/internal/config"
)

// quietPeriod is the debounce devloop dev runs with in the benchmark: its
// default, passed explicitly so the figures say what they were taken with.
const quietPeriod = config.DefaultQuietPeriod

// noopEdits is scenario 2: changes that must not build nor write anything.
// The decision time is measured from the save to devloop's decision event
// (a skipped cycle, or the end of a cycle that found nothing changed); the
// target applies to that time minus the quiet period. A change the watcher
// filters out produces no event at all within the window: it is counted as
// such, and its builds and writes are still counted.
func (b *Bench) noopEdits(ctx context.Context, f *notesFixture, p *Proc) error {
	const sc = "noop"
	web := filepath.Join(f.dir, "web")
	handlers, err := os.ReadFile(filepath.Join(web, "handlers.go"))
	if err != nil {
		return fmt.Errorf("reading handlers.go: %w", err)
	}
	cases := []struct {
		name string
		act  func(i int) (time.Time, error)
	}{
		{"touch (mtime only)", func(int) (time.Time, error) {
			now := time.Now()
			if err := os.Chtimes(filepath.Join(web, "main.go"), now, now); err != nil {
				return time.Time{}, err
			}
			return time.Now(), nil
		}},
		{"rewrite, same content", func(int) (time.Time, error) {
			return writeFile(filepath.Join(web, "handlers.go"), handlers)
		}},
		{"edit ignored file (*.md)", func(i int) (time.Time, error) {
			return writeFile(filepath.Join(web, "BENCH.md"), []byte(fmt.Sprintf("edit %d %d\n", i, time.Now().UnixNano())))
		}},
	}
	type sample struct {
		Case     string  `json:"case"`
		Event    *Event  `json:"event,omitempty"`
		Events   []Event `json:"events"`
		DecideMs float64 `json:"decideMs,omitempty"`
	}
	var raw []sample
	defer func() { b.samples["noop.samples"] = raw }()
	n := b.reps(5, 3)
	for _, c := range cases {
		var (
			decide  = b.res.add(sc, c.name+": save → decided", "ms", nil)
			net     = b.res.add(sc, c.name+": decided − quiet period", "ms", le(20, "≤ 20ms"))
			silent  = b.res.add(sc, c.name+": no event (filtered by the watcher)", "count", nil)
			builds  = b.res.add(sc, c.name+": builds", "count", le(0, "0"))
			writesM = b.res.add(sc, c.name+": API writes (devloop's events)", "count", le(0, "0"))
			audited = b.res.add(sc, c.name+": API writes (the API server's audit log)", "count", le(0, "0"))
		)
		for i := 0; i < n; i++ {
			from := p.Len()
			save, err := c.act(i)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			e, _, werr := p.WaitFor(ctx, from, 2*time.Second, func(e Event) bool {
				return e.Phase == "cycle" && (e.Status == "skipped" || e.Status == "done" || e.Status == "failed")
			})
			// Let anything the change set off surface before counting.
			time.Sleep(700 * time.Millisecond)
			evs := p.Events()[from:]
			s := sample{Case: c.name, Events: evs}
			if werr == nil {
				d := ms(e.Time.Sub(save))
				decide.Samples = append(decide.Samples, d)
				net.Samples = append(net.Samples, d-ms(quietPeriod))
				s.Event, s.DecideMs = &e, d
				silent.Samples = append(silent.Samples, 0)
			} else {
				silent.Samples = append(silent.Samples, 1)
			}
			builds.Samples = append(builds.Samples, float64(countBuilds(evs)))
			writesM.Samples = append(writesM.Samples, float64(writes(evs)))
			if n := auditWrites(save, f.ns); n >= 0 {
				audited.Samples = append(audited.Samples, float64(n))
			}
			raw = append(raw, s)
		}
	}
	return nil
}
