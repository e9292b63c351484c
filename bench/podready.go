package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// readyWatch is the bench's own view of readiness: a `kubectl get pods -w`
// of one namespace, recording when each pod whose name has a prefix was
// first seen Ready. The change scenario compares devloop's status and the
// served answer with it (issue 14: devloop sees Ready within 100 ms of the
// pod's Ready condition, and the port-forward moves at once).
type readyWatch struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	ready map[string]time.Time // pod → first seen Ready
}

const readyJSONPath = `jsonpath={.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}`

func (b *Bench) watchReady(ctx context.Context, kubeContext, ns, prefix string) (*readyWatch, error) {
	ctx, cancel := context.WithCancel(ctx)
	args := []string{"get", "pods", "-n", ns, "-w", "-o", readyJSONPath}
	if kubeContext != "" {
		args = append([]string{"--context", kubeContext}, args...)
	}
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("watching pods: %w", err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("watching pods: %w", err)
	}
	w := &readyWatch{cancel: cancel, done: make(chan struct{}), ready: map[string]time.Time{}}
	listed := make(chan struct{}) // the first line: kubectl's list of the pods there already
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(out)
		first := true
		for sc.Scan() {
			if first {
				close(listed)
				first = false
			}
			now := time.Now()
			name, status, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
			if status != "True" || !strings.HasPrefix(name, prefix) {
				continue
			}
			w.mu.Lock()
			if _, ok := w.ready[name]; !ok {
				w.ready[name] = now
			}
			w.mu.Unlock()
		}
		_ = cmd.Wait()
	}()
	// Edits start once the pods already Ready are known as such: seen
	// later, the old pod would pass for the new one.
	select {
	case <-listed:
		time.Sleep(200 * time.Millisecond) // the rest of the list follows at once
	case <-w.done:
	case <-time.After(10 * time.Second):
	}
	return w, nil
}

// readyAfter returns when the first pod seen Ready after t was seen so.
func (w *readyWatch) readyAfter(t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first time.Time
	for _, at := range w.ready {
		if at.After(t) && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	return first, !first.IsZero()
}

func (w *readyWatch) stop() {
	w.cancel()
	<-w.done
}
