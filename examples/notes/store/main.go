// Command store is the notes example's storage service: it keeps notes in a
// JSON file under DATA_DIR (default /data, a PersistentVolume in the cluster)
// and serves them over HTTP on LISTEN_ADDR (default :9090).
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	logger := log.New(os.Stderr, "store: ", log.LstdFlags)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, logger, os.Getenv); err != nil {
		logger.Print(err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, logger *log.Logger, getenv func(string) string) error {
	dir := envOr(getenv, "DATA_DIR", "/data")
	addr := envOr(getenv, "LISTEN_ADDR", ":9090")
	s, err := OpenStore(filepath.Join(dir, "notes.json"), time.Now)
	if err != nil {
		return fmt.Errorf("opening store: %w", err)
	}
	logger.Printf("loaded %d notes from %s", len(s.List()), dir)
	srv := &http.Server{
		Addr:              addr,
		Handler:           newHandler(s, logger),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Printf("listening on %s", addr)
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
