// Command web is the notes example's frontend: an HTML page listing notes
// with a form to add one, a JSON API, /version and /healthz. It keeps no
// data itself; notes live in the store at STORE_URL.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	logger := log.New(os.Stderr, "web: ", log.LstdFlags)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, logger, os.Getenv); err != nil {
		logger.Print(err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, logger *log.Logger, getenv func(string) string) error {
	storeURL := envOr(getenv, "STORE_URL", "http://notes-store-0.notes-store:9090")
	addr := envOr(getenv, "LISTEN_ADDR", ":8080")
	title := envOr(getenv, "PAGE_TITLE", "Notes")
	h, err := newHandler(NewStoreClient(storeURL, 3*time.Second), title, logger)
	if err != nil {
		return fmt.Errorf("building handler: %w", err)
	}
	srv := &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Printf("version %s listening on %s, store at %s", Version, addr, storeURL)
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
