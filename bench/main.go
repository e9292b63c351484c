// Command bench measures devloop's inner loop on the project's real
// environment, phase by phase, against baselines taken in the same run
// (raw docker buildx, ctr import, kubectl). It prints a table, writes
// bench/results/<date>.json with every raw sample and exits 0 even when a
// target is missed: `make bench` (BENCH_QUICK=1 for a short run).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run())
}

func run() int {
	var (
		devloop = flag.String("devloop", "bin/devloop", "the devloop binary to measure")
		out     = flag.String("out", "", "JSON results file (default bench/results/<date>[-<only>][-quick].json)")
		only    = flag.String("only", "", "comma-separated scenarios to run (change,change-kind,change-kind-import,noop,warm,idle,apply,deliver,sync,cache,restart,compile,scale; default all)")
		quick   = flag.Bool("quick", os.Getenv("BENCH_QUICK") == "1", "fewer repetitions (BENCH_QUICK=1)")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	bin, err := filepath.Abs(*devloop)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if _, err := os.Stat(bin); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %s: %v (run make build)\n", bin, err)
		return 1
	}
	b := newBench(root, bin, *quick)
	defer b.cleanup()
	if *out == "" {
		// A partial run gets its own file so it never replaces a full one.
		name := time.Now().Format("2006-01-02")
		if *only != "" {
			name += "-" + strings.ReplaceAll(*only, ",", "-")
		}
		if *quick {
			name += "-quick"
		}
		*out = filepath.Join(root, "bench", "results", name+".json")
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	scenarios := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"change", b.notesScenarios}, // change, noop and warm share one deployment
		{"change-kind", b.changeKindScenario},
		{"change-kind-import", b.changeKindImportScenario},
		{"idle", b.idleScenario},
		{"apply", b.applyScenario},
		{"deliver", b.deliverScenario},
		{"sync", b.syncScenario},
		{"cache", b.cacheScenario},
		{"restart", b.restartScenario},
		{"compile", b.compileScenario},
		{"scale", b.scaleScenario},
	}
	started := time.Now()
	for _, s := range scenarios {
		if len(want) > 0 && !want[s.name] && !(s.name == "change" && (want["noop"] || want["warm"])) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		t0 := time.Now()
		fmt.Fprintf(os.Stderr, "==> %s\n", s.name)
		if err := s.fn(ctx); err != nil {
			b.res.errorf(s.name, "%v", err)
			fmt.Fprintf(os.Stderr, "    %s failed: %v\n", s.name, err)
		}
		fmt.Fprintf(os.Stderr, "    %s took %s\n", s.name, time.Since(t0).Round(time.Second))
		b.cleanupScenario()
	}
	b.wall = time.Since(started)
	fmt.Println()
	b.res.printTable(os.Stdout)
	tops := b.keepProfiles(ctx)
	b.res.printMisses(os.Stdout, b.cpuTops(tops))
	if err := b.writeJSON(ctx, *out, tops); err != nil {
		fmt.Fprintln(os.Stderr, "bench: writing results:", err)
		return 1
	}
	if len(b.chartRows) > 0 {
		svg := strings.TrimSuffix(*out, ".json") + "-cycles.svg"
		title := "examples/notes: save → new version served, by phase (devloop " + b.commit() + ")"
		if err := writeCycleChart(svg, title, b.chartRows); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
		} else {
			fmt.Printf("chart: %s\n", svg)
		}
	}
	fmt.Printf("\nresults: %s (%s)\n", *out, b.wall.Round(time.Second))
	return 0
}
