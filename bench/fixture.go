package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// copyTree copies the regular files and directories of src into dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// replaceIn replaces old by new in a file, failing when old is absent.
func replaceIn(path, old, new string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if !strings.Contains(string(data), old) {
		return fmt.Errorf("%s has no %q", path, old)
	}
	return os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644)
}

// notesFixture is a private copy of examples/notes with its own name,
// namespace (in the target's cluster) and local port.
type notesFixture struct {
	dir, name, ns string
	port          int
}

func (b *Bench) newNotes(t notesTarget) (*notesFixture, error) {
	dir, err := b.tempDir("notes")
	if err != nil {
		return nil, err
	}
	if err := copyTree(filepath.Join(b.root, "examples", "notes"), dir); err != nil {
		return nil, fmt.Errorf("copying examples/notes: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	f := &notesFixture{dir: dir, name: "bench-" + t.short + "-" + b.id, ns: b.namespaceIn(t.kubeContext, t.short), port: port}
	edits := []struct{ file, old, new string }{
		{"devloop.yaml", "  name: notes", "  name: " + f.name},
		{"devloop.yaml", "localPort: 8080", fmt.Sprintf("localPort: %d", port)},
		{"k8s/overlays/dev/namespace.yaml", "name: notes", "name: " + f.ns},
		{"k8s/overlays/dev/kustomization.yaml", "namespace: notes", "namespace: " + f.ns},
	}
	for _, e := range edits {
		if err := replaceIn(filepath.Join(dir, e.file), e.old, e.new); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (f *notesFixture) setVersion(v string) (time.Time, error) {
	src := fmt.Sprintf("package main\n\n// Version is shown on the page and served at /version.\nconst Version = %q\n", v)
	return writeFile(filepath.Join(f.dir, "web", "version.go"), []byte(src))
}

// waitVersion polls GET /version through the port-forward until it answers
// want, and returns when it first did.
func (f *notesFixture) waitVersion(ctx context.Context, want string, timeout time.Duration) (time.Time, error) {
	return pollFor(ctx, fmt.Sprintf("http://127.0.0.1:%d/version", f.port), want, timeout)
}

// pollFor polls url every 10 ms until a 200 answer contains want and
// returns when it first did. Each request opens a connection of its own, as
// a reload does once the browser's kept-alive connection has been idle:
// devloop ends a retired pod's kept-alive connections only between requests
// (100 ms without traffic), which a client sending one every 10 ms never
// leaves, so reusing one would measure the poller.
func pollFor(ctx context.Context, url, want string, timeout time.Duration) (time.Time, error) {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			t := time.Now()
			last = strings.TrimSpace(string(body))
			if resp.StatusCode == http.StatusOK && strings.Contains(last, want) {
				return t, nil
			}
		} else {
			last = err.Error()
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("%s did not answer %q within %s (last: %q)", url, want, timeout, last)
}

// pollWhile polls url as pollFor does (a new connection every 10 ms) until
// the returned stop is called: the load of the bench's own polling, put
// under a baseline so that it runs under the same load as devloop did.
func pollWhile(ctx context.Context, url string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = pollFor(ctx, url, "\x00never answered\x00", time.Hour)
	}()
	return func() { cancel(); <-done }
}

// isCycleEnd matches the end of dev cycle n (any n when n == 0).
func isCycleEnd(n int) func(Event) bool {
	return func(e Event) bool {
		return e.Phase == "cycle" && (e.Status == "done" || e.Status == "failed" || e.Status == "skipped") &&
			e.Cycle != 0 && (n == 0 || e.Cycle == n)
	}
}

// waitFirstCycle waits for the first dev cycle and fails if it failed.
func waitFirstCycle(ctx context.Context, p *Proc, timeout time.Duration) error {
	e, _, err := p.WaitFor(ctx, 0, timeout, isCycleEnd(1))
	if err != nil {
		return fmt.Errorf("first cycle: %w", err)
	}
	if e.Status != "done" {
		return fmt.Errorf("first cycle %s: %s", e.Status, e.Message)
	}
	return nil
}

// editCycle waits for the first dev cycle to start at or after event index
// from and for its end, and returns both and the cycle's events.
func editCycle(ctx context.Context, p *Proc, from int) (start, end Event, evs []Event, err error) {
	start, si, err := p.WaitFor(ctx, from, time.Minute, func(e Event) bool { return e.Phase == "cycle" && e.Status == "start" })
	if err != nil {
		return start, end, nil, fmt.Errorf("cycle start: %w", err)
	}
	end, ei, err := p.WaitFor(ctx, si, 5*time.Minute, isCycleEnd(start.Cycle))
	if err != nil {
		return start, end, nil, fmt.Errorf("cycle end: %w", err)
	}
	return start, end, p.Events()[si : ei+1], nil
}
