// Command profiled is devloop with a CPU profile: the same CLI
// (internal/cli.Run) wrapped in runtime/pprof, writing the profile to
// $DEVLOOP_BENCH_CPUPROFILE when set. `make bench` uses it only with
// BENCH_PROFILE=1, to explain missed targets while devloop itself has no
// --profile-cpu flag; the published figures come from bin/devloop.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/devloop-dev/devloop/internal/cli"
)

func main() {
	os.Exit(run())
}

func run() int {
	if path := os.Getenv("DEVLOOP_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "profiled:", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "profiled:", err)
			return 1
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Run(ctx, stop, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
}
