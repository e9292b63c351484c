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
// first seen, scheduled, running and Ready. The change scenario compares
// devloop's status and the served answer with it (devloop should see
// Ready within 100 ms of the pod's Ready condition, and the port-forward
// moves at once) and profiles the rollout with the rest.
type readyWatch struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	pods map[string]*podTimes
}

// podTimes are when the watch first saw a pod in each state.
type podTimes struct {
	seen, scheduled, running, ready time.Time
}

const readyJSONPath = `jsonpath={.metadata.name}|{.spec.nodeName}|{.status.containerStatuses[*].state.running.startedAt}|{.status.conditions[?(@.type=="Ready")].status}{"\n"}`

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
	w := &readyWatch{cancel: cancel, done: make(chan struct{}), pods: map[string]*podTimes{}}
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
			f := strings.Split(strings.TrimSpace(sc.Text()), "|")
			if len(f) != 4 || !strings.HasPrefix(f[0], prefix) {
				continue
			}
			w.mu.Lock()
			pt := w.pods[f[0]]
			if pt == nil {
				pt = &podTimes{seen: now}
				w.pods[f[0]] = pt
			}
			mark := func(at *time.Time, on bool) {
				if on && at.IsZero() {
					*at = now
				}
			}
			mark(&pt.scheduled, f[1] != "")
			mark(&pt.running, f[2] != "")
			mark(&pt.ready, f[3] == "True")
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

// readyAfter returns the times of the first pod seen Ready after t.
func (w *readyWatch) readyAfter(t time.Time) (podTimes, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first podTimes
	for _, pt := range w.pods {
		if pt.ready.After(t) && (first.ready.IsZero() || pt.ready.Before(first.ready)) {
			first = *pt
		}
	}
	return first, !first.ready.IsZero()
}

func (w *readyWatch) stop() {
	w.cancel()
	<-w.done
}
