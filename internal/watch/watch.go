// Package watch reports file changes under a set of roots as debounced change
// sets.
//
// Promises:
//   - Directory roots are watched recursively: every directory that is not
//     ignored at start, and every one created later (the files already in a
//     new directory when its watch is added are reported too). Removed
//     directories are dropped. Symlinks are never followed, so loops are harmless.
//   - A root may be a single file (such as devloop.yaml): its directory is
//     watched and only that file is reported.
//   - `.git` and editor temporaries (vim swap files and its 4913 probe, `~`
//     backups, JetBrains ___jb_tmp___/___jb_old___, emacs #...# and .#...) are
//     never reported, nor anything a root's Ignore function rejects.
//   - Events are coalesced into one ChangeSet after a quiet period
//     (DefaultQuiet, 50 ms) or after MaxWait at the latest, so a burst (git checkout) gives one
//     set and a never-ending stream still gives sets. Each path appears once;
//     Removed tells whether it is gone when the set is made. A file created and
//     removed within one set (an editor's temp file in an atomic save) is left
//     out, so an atomic save gives one change of the original path.
//   - When the kernel's event queue overflowed, the set has Rescan set: the
//     caller must treat everything as possibly changed.
//   - When inotify limits are hit, one warning names the limit and how to
//     raise it, and watching goes on with what could be watched.
//   - Run never blocks on a send once ctx is done, and leaves no goroutine
//     behind when it returns.
package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// DefaultQuiet is the default quiet period that ends a change set.
const DefaultQuiet = 50 * time.Millisecond

// DefaultMaxWait is the default longest time a change set stays open while
// events keep coming.
const DefaultMaxWait = 2 * time.Second

// Root is a directory watched recursively, or a single file.
type Root struct {
	// Dir is the directory (or file) to watch; it is made absolute.
	Dir string
	// Ignore, when set, tells whether a path (slash-separated, relative to
	// Dir) is of no interest. For directories, true means the whole subtree
	// is neither watched nor reported. Unused for a file root.
	Ignore func(rel string, isDir bool) bool
}

// Change is one changed path of a ChangeSet.
type Change struct {
	// Path is the absolute path.
	Path string
	// Removed is true when the path no longer exists.
	Removed bool
	// Dir is true when the path is (or, removed, was) a watched directory.
	Dir bool
}

// ChangeSet is a debounced batch of changes.
type ChangeSet struct {
	// Paths are sorted by path, each path once.
	Paths []Change
	// First and Last are the times of the first and last event of the set.
	First, Last time.Time
	// Rescan is true when events were lost (kernel queue overflow): the
	// caller must consider every root changed.
	Rescan bool
}

// Options tune a Watcher. Zero values mean the defaults.
type Options struct {
	Quiet   time.Duration
	MaxWait time.Duration
}

// Watcher watches roots and sends change sets. Use New, then Run once.
type Watcher struct {
	log     *zap.Logger
	quiet   time.Duration
	maxWait time.Duration
	ready   chan struct{}

	// Run's own state, touched only by the Run goroutine.
	fw          *fsnotify.Watcher
	roots       []root
	watched     map[string]bool
	warnedLimit bool
	unwatched   int
}

type root struct {
	dir    string
	file   bool
	ignore func(rel string, isDir bool) bool
}

// New returns a Watcher logging to log.
func New(log *zap.Logger, opts Options) *Watcher {
	if opts.Quiet <= 0 {
		opts.Quiet = DefaultQuiet
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	if opts.MaxWait < opts.Quiet {
		opts.MaxWait = opts.Quiet
	}
	return &Watcher{log: log, quiet: opts.Quiet, maxWait: opts.MaxWait, ready: make(chan struct{}), watched: map[string]bool{}}
}

// Ready is closed once the initial watches are in place: changes made after
// that are reported.
func (w *Watcher) Ready() <-chan struct{} { return w.ready }

// Run watches roots and sends change sets to out until ctx is done; it then
// returns nil. It returns an error when the watcher cannot start or a root
// cannot be read.
func (w *Watcher) Run(ctx context.Context, roots []Root, out chan<- ChangeSet) error {
	fw, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		if errors.Is(err, syscall.EMFILE) {
			return fmt.Errorf("starting file watcher: the inotify instance limit is reached (fs.inotify.max_user_instances=%s); raise it with `sudo sysctl fs.inotify.max_user_instances=1024`: %w", readLimit("max_user_instances"), err)
		}
		return fmt.Errorf("starting file watcher: %w", err)
	}
	w.fw = fw
	defer fw.Close()

	for _, r := range roots {
		abs, err := filepath.Abs(r.Dir)
		if err != nil {
			return fmt.Errorf("watching %s: %w", r.Dir, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return fmt.Errorf("watching %s: %w", abs, err)
		}
		w.roots = append(w.roots, root{dir: abs, file: !fi.IsDir(), ignore: r.Ignore})
	}
	for _, r := range w.roots {
		if r.file {
			w.addWatch(filepath.Dir(r.dir))
			continue
		}
		if err := w.addTree(ctx, r.dir, nil); err != nil {
			return err
		}
	}
	if w.unwatched > 0 {
		w.log.Warn("some directories are not watched: changes in them go unnoticed", zap.Int("directories", w.unwatched))
	}
	close(w.ready)
	return w.loop(ctx, out)
}

// addTree watches dir and every directory under it that some root accepts.
// When b is not nil, every accepted path found is recorded as created (a
// directory that appeared after start may already hold files).
func (w *Watcher) addTree(ctx context.Context, dir string, b *batch) error {
	if err := ctx.Err(); err != nil {
		return nil
	}
	if w.watched[dir] {
		return nil
	}
	w.addWatch(dir)
	des, err := os.ReadDir(dir)
	if err != nil {
		if b != nil || errors.Is(err, os.ErrNotExist) {
			// A new directory that vanished or cannot be read: keep going.
			w.log.Debug("reading new directory", zap.String("dir", dir), zap.Error(err))
			return nil
		}
		return fmt.Errorf("watching %s: %w", dir, err)
	}
	for _, de := range des {
		p := filepath.Join(dir, de.Name())
		isDir := de.IsDir() // false for symlinks: never followed
		if !w.accept(p, isDir) {
			continue
		}
		if b != nil {
			b.add(p, true, time.Now())
		}
		if isDir {
			if err := w.addTree(ctx, p, b); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *Watcher) addWatch(dir string) {
	err := w.fw.Add(dir)
	if err == nil {
		w.watched[dir] = true
		return
	}
	switch {
	case errors.Is(err, syscall.ENOSPC):
		w.unwatched++
		if !w.warnedLimit {
			w.warnedLimit = true
			w.log.Warn("the inotify watch limit is reached: directories beyond it are not watched; raise it with `sudo sysctl fs.inotify.max_user_watches=524288` (make it permanent in /etc/sysctl.conf)",
				zap.String("fs.inotify.max_user_watches", readLimit("max_user_watches")), zap.String("dir", dir))
		}
	case errors.Is(err, syscall.EMFILE):
		w.unwatched++
		if !w.warnedLimit {
			w.warnedLimit = true
			w.log.Warn("the inotify instance limit is reached; raise it with `sudo sysctl fs.inotify.max_user_instances=1024`",
				zap.String("fs.inotify.max_user_instances", readLimit("max_user_instances")))
		}
	case errors.Is(err, os.ErrNotExist):
		// Gone before we got to it.
	default:
		w.unwatched++
		w.log.Warn("cannot watch directory", zap.String("dir", dir), zap.Error(err))
	}
}

// removeTree forgets dir and every watched directory under it.
func (w *Watcher) removeTree(dir string) {
	prefix := dir + string(filepath.Separator)
	for d := range w.watched {
		if d == dir || strings.HasPrefix(d, prefix) {
			delete(w.watched, d)
			_ = w.fw.Remove(d) // the kernel may have dropped it already
		}
	}
}

func readLimit(name string) string {
	b, err := os.ReadFile("/proc/sys/fs/inotify/" + name)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
