package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

type harness struct {
	t      *testing.T
	out    chan ChangeSet
	cancel context.CancelFunc
	done   chan error
	n      int
}

// start runs a watcher over roots until the test ends.
func start(t *testing.T, opts Options, roots ...Root) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, out: make(chan ChangeSet), cancel: cancel, done: make(chan error, 1)}
	w := New(zaptest.NewLogger(t), opts)
	go func() { h.done <- w.Run(ctx, roots, h.out) }()
	select {
	case <-w.Ready():
	case err := <-h.done:
		t.Fatalf("watcher stopped early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("watcher not ready after 10s")
	}
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		h.t.Error("Run did not return within 5s of cancel")
	}
}

// next waits for the next change set.
func (h *harness) next() ChangeSet {
	h.t.Helper()
	select {
	case cs := <-h.out:
		return cs
	case <-time.After(10 * time.Second):
		h.t.Fatal("no change set within 10s")
		return ChangeSet{}
	}
}

// sentinel writes a uniquely named file into dir and returns every change set
// received up to and including the one holding it, minus the sentinel itself.
// Changes made before the call are thus known to have been processed.
func (h *harness) sentinel(dir string) []ChangeSet {
	h.t.Helper()
	h.n++
	p := filepath.Join(dir, fmt.Sprintf("sentinel-%d", h.n))
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		h.t.Fatal(err)
	}
	var sets []ChangeSet
	for {
		cs := h.next()
		found := false
		var rest []Change
		for _, c := range cs.Paths {
			if c.Path == p {
				found = true
				continue
			}
			rest = append(rest, c)
		}
		cs.Paths = rest
		if len(rest) > 0 || cs.Rescan {
			sets = append(sets, cs)
		}
		if found {
			return sets
		}
	}
}

func mustWrite(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func paths(cs ChangeSet) []string {
	var out []string
	for _, c := range cs.Paths {
		s := c.Path
		if c.Removed {
			s = "-" + s
		}
		out = append(out, s)
	}
	return out
}

func TestFileEditGivesOneSet(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "a.go"), "1")
	h2 := start(t, Options{Quiet: 30 * time.Millisecond}, Root{Dir: dir})
	mustWrite(t, filepath.Join(dir, "a.go"), "2")
	cs := h2.next()
	if got := paths(cs); len(got) != 1 || got[0] != filepath.Join(dir, "a.go") {
		t.Fatalf("paths = %v", got)
	}
	if cs.First.IsZero() || cs.Last.Before(cs.First) {
		t.Fatalf("bad times %v %v", cs.First, cs.Last)
	}
}

func TestNewSubdirectory(t *testing.T) {
	dir := t.TempDir()
	h := start(t, Options{Quiet: 30 * time.Millisecond}, Root{Dir: dir})
	// Created together with the directory: possibly before the watch on it
	// is added, so they must come from the scan of the new directory.
	mustWrite(t, filepath.Join(dir, "new/deep/x.go"), "x")
	h.sentinel(dir)
	// Now the new directories are watched: a later file in them is seen.
	mustWrite(t, filepath.Join(dir, "new/deep/y.go"), "y")
	sets := h.sentinel(filepath.Join(dir, "new/deep"))
	all := strings.Join(flatten(sets), " ")
	if !strings.Contains(all, filepath.Join(dir, "new/deep/y.go")) {
		t.Fatalf("write in new subdirectory not seen: %v", all)
	}
}

func TestNewSubdirectoryContentsReported(t *testing.T) {
	dir := t.TempDir()
	h := start(t, Options{Quiet: 30 * time.Millisecond}, Root{Dir: dir})
	mustWrite(t, filepath.Join(dir, "new/deep/x.go"), "x")
	all := strings.Join(flatten(h.sentinel(dir)), " ")
	for _, want := range []string{"new", "new/deep", "new/deep/x.go"} {
		if !strings.Contains(all+" ", filepath.Join(dir, want)+" ") {
			t.Errorf("%s not reported in %q", want, all)
		}
	}
}

func flatten(sets []ChangeSet) []string {
	var out []string
	for _, cs := range sets {
		out = append(out, paths(cs)...)
	}
	return out
}

func TestIgnoredAndTempFilesGiveNoSet(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, ".git/HEAD"), "ref")
	mustWrite(t, filepath.Join(dir, "node_modules/x.js"), "x")
	ignore := func(rel string, isDir bool) bool {
		return rel == "node_modules" || strings.HasSuffix(rel, ".log")
	}
	h := start(t, Options{Quiet: 30 * time.Millisecond}, Root{Dir: dir, Ignore: ignore})
	for _, name := range []string{
		".git/HEAD", ".git/objects/ab/cd", "node_modules/x.js", "node_modules/y/z.js", "debug.log",
		".main.go.swp", ".main.go.swx", "4913", "main.go~", "main.go___jb_tmp___", "main.go___jb_old___",
		"#main.go#", ".#main.go",
	} {
		mustWrite(t, filepath.Join(dir, name), "x")
	}
	if sets := h.sentinel(dir); len(sets) != 0 {
		t.Fatalf("ignored files gave change sets: %v", flatten(sets))
	}
}

func TestAtomicSave(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "main.go")
	mustWrite(t, orig, "v1")
	h := start(t, Options{Quiet: 50 * time.Millisecond}, Root{Dir: dir})

	// Generic atomic save: write a temp file, rename it over the original.
	tmp := filepath.Join(dir, ".main.go.tmp.12345")
	mustWrite(t, tmp, "v2")
	if err := os.Rename(tmp, orig); err != nil {
		t.Fatal(err)
	}
	cs := h.next()
	if got := paths(cs); len(got) != 1 || got[0] != orig {
		t.Fatalf("atomic save: paths = %v, want only %s", got, orig)
	}

	// JetBrains style: write ___jb_tmp___, move the original to ___jb_old___,
	// move the temp in place, delete the old one.
	jbTmp, jbOld := orig+"___jb_tmp___", orig+"___jb_old___"
	mustWrite(t, jbTmp, "v3")
	if err := os.Rename(orig, jbOld); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(jbTmp, orig); err != nil {
		t.Fatal(err)
	}
	os.Remove(jbOld)
	cs = h.next()
	if got := paths(cs); len(got) != 1 || got[0] != orig {
		t.Fatalf("JetBrains save: paths = %v, want only %s", got, orig)
	}
}

func TestBurstGivesOneSet(t *testing.T) {
	dir := t.TempDir()
	h := start(t, Options{Quiet: 150 * time.Millisecond, MaxWait: 30 * time.Second}, Root{Dir: dir})
	for i := range 1000 {
		mustWrite(t, filepath.Join(dir, fmt.Sprintf("d%d/f%d.txt", i%10, i)), "x")
	}
	cs := h.next()
	if n := len(cs.Paths); n != 1010 {
		t.Fatalf("burst: first set has %d paths, want 1000 files + 10 dirs", n)
	}
	if sets := h.sentinel(dir); len(sets) != 0 {
		t.Fatalf("burst gave more sets: %d", len(sets)+1)
	}
}

func TestMaxWaitBoundsAStream(t *testing.T) {
	dir := t.TempDir()
	h := start(t, Options{Quiet: 100 * time.Millisecond, MaxWait: 300 * time.Millisecond}, Root{Dir: dir})
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			_ = os.WriteFile(filepath.Join(dir, "stream.txt"), []byte(fmt.Sprint(i)), 0o644) // a goroutine: a failed write shows as missing sets
		}
	}()
	defer func() { close(stop); <-finished }()
	start := time.Now()
	h.next()
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("a never-ending stream gave its first set after %v", d)
	}
}

func TestDirectoryRemoval(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "sub/inner/a.go"), "a")
	h := start(t, Options{Quiet: 30 * time.Millisecond}, Root{Dir: dir})
	if err := os.RemoveAll(filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}
	sets := h.sentinel(dir)
	var removedDir, removedFile bool
	for _, cs := range sets {
		for _, c := range cs.Paths {
			if c.Path == filepath.Join(dir, "sub") && c.Removed && c.Dir {
				removedDir = true
			}
			if c.Path == filepath.Join(dir, "sub/inner/a.go") && c.Removed {
				removedFile = true
			}
		}
	}
	if !removedDir || !removedFile {
		t.Fatalf("removal not reported (dir %v, file %v): %v", removedDir, removedFile, flatten(sets))
	}
	// Recreating it works: it is watched again.
	mustWrite(t, filepath.Join(dir, "sub/b.go"), "b")
	all := flatten(h.sentinel(dir))
	if !strings.Contains(strings.Join(all, " "), filepath.Join(dir, "sub/b.go")) {
		t.Fatalf("recreated dir not seen: %v", all)
	}
}

func TestSingleFileRoot(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "devloop.yaml")
	mustWrite(t, cfg, "a: 1")
	h := start(t, Options{Quiet: 30 * time.Millisecond}, Root{Dir: cfg})
	mustWrite(t, filepath.Join(dir, "other.txt"), "x")
	tmp := filepath.Join(dir, "devloop.yaml.tmp")
	mustWrite(t, tmp, "a: 2")
	if err := os.Rename(tmp, cfg); err != nil {
		t.Fatal(err)
	}
	cs := h.next()
	if got := paths(cs); len(got) != 1 || got[0] != cfg {
		t.Fatalf("paths = %v, want only %s", got, cfg)
	}
}

func TestSymlinkLoop(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "a/x.go"), "x")
	if err := os.Symlink("..", filepath.Join(dir, "a/up")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(".", filepath.Join(dir, "self")); err != nil {
		t.Fatal(err)
	}
	h := start(t, Options{Quiet: 30 * time.Millisecond}, Root{Dir: dir})
	mustWrite(t, filepath.Join(dir, "a/x.go"), "y")
	all := flatten(h.sentinel(dir))
	if len(all) != 1 || all[0] != filepath.Join(dir, "a/x.go") {
		t.Fatalf("paths = %v", all)
	}
}

func TestMissingRoot(t *testing.T) {
	w := New(zap.NewNop(), Options{})
	err := w.Run(context.Background(), []Root{{Dir: filepath.Join(t.TempDir(), "nope")}}, make(chan ChangeSet))
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err = %v, want one naming the root", err)
	}
}

func TestCancelWhileSendingReturnsAndLeaksNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	w := New(zap.NewNop(), Options{Quiet: 10 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, []Root{{Dir: dir}}, make(chan ChangeSet)) }() // nobody receives
	<-w.Ready()
	mustWrite(t, filepath.Join(dir, "a"), "a")
	time.Sleep(50 * time.Millisecond) // let a set become pending on the unread channel
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestIsEditorTemp(t *testing.T) {
	for name, want := range map[string]bool{
		".main.go.swp": true, ".main.go.swo": true, ".x.swa": true, ".x.swx": true, "4913": true,
		"main.go~": true, "a___jb_tmp___": true, "a___jb_old___": true, "#a.go#": true, ".#a.go": true,
		"main.go": false, "swap.swp": false, "#": false, "a#": false, ".swp": false, "49130": false,
	} {
		if got := isEditorTemp(name); got != want {
			t.Errorf("isEditorTemp(%q) = %v, want %v", name, got, want)
		}
	}
}
