// Command seed runs as a Job: it waits for the notes store at STORE_URL
// (up to WAIT_TIMEOUT, default 2m) and writes the welcome notes once.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	logger := log.New(os.Stderr, "seed: ", log.LstdFlags)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, logger, os.Getenv); err != nil {
		logger.Print(err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, logger *log.Logger, getenv func(string) string) error {
	base := getenv("STORE_URL")
	if base == "" {
		base = "http://notes-store-0.notes-store:9090"
	}
	wait := 2 * time.Minute
	if v := getenv("WAIT_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("parsing WAIT_TIMEOUT: %w", err)
		}
		wait = d
	}
	s := &Seeder{
		Base:   strings.TrimRight(base, "/"),
		Client: &http.Client{Timeout: 3 * time.Second},
		Poll:   time.Second,
		Logger: logger,
	}
	waitCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := s.WaitReady(waitCtx); err != nil {
		return err
	}
	added, err := s.Seed(ctx, Welcome)
	if err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	if added == 0 {
		logger.Print("the store already holds the welcome notes; nothing to do")
	} else {
		logger.Printf("added %d welcome notes", added)
	}
	return nil
}
