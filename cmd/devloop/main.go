// Command devloop is the Kubernetes inner loop: watch, build with buildx,
// deliver to a local cluster, apply, wait, stream logs and port-forward.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/devloop-dev/devloop/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, stop, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
