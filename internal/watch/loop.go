package watch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// batch accumulates the events of one change set.
type batch struct {
	paths       map[string]*pending
	first, last time.Time
	rescan      bool
}

type pending struct {
	// created: the first event of this path in the batch created it, so if
	// it is gone at the end it never mattered.
	created bool
	dir     bool
}

func newBatch() *batch { return &batch{paths: map[string]*pending{}} }

func (b *batch) empty() bool { return len(b.paths) == 0 && !b.rescan }

func (b *batch) touch(now time.Time) {
	if b.first.IsZero() {
		b.first = now
	}
	b.last = now
}

func (b *batch) add(p string, created bool, now time.Time) *pending {
	b.touch(now)
	e, ok := b.paths[p]
	if !ok {
		e = &pending{created: created}
		b.paths[p] = e
	}
	return e
}

// build turns the batch into a ChangeSet, checking which paths still exist.
// ok is false when nothing is left to report.
func (b *batch) build() (cs ChangeSet, ok bool) {
	cs = ChangeSet{First: b.first, Last: b.last, Rescan: b.rescan}
	for p, e := range b.paths {
		fi, err := os.Lstat(p)
		if err != nil {
			if e.created {
				continue // created and gone again within the set
			}
			cs.Paths = append(cs.Paths, Change{Path: p, Removed: true, Dir: e.dir})
			continue
		}
		cs.Paths = append(cs.Paths, Change{Path: p, Dir: fi.IsDir()})
	}
	sort.Slice(cs.Paths, func(i, j int) bool { return cs.Paths[i].Path < cs.Paths[j].Path })
	return cs, len(cs.Paths) > 0 || cs.Rescan
}

func (w *Watcher) loop(ctx context.Context, out chan<- ChangeSet) error {
	cur := newBatch()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var (
		ready  *ChangeSet // built and waiting for the receiver
		due    bool       // cur is due but ready is still pending
		sendCh chan<- ChangeSet
	)
	arm := func() {
		deadline := cur.last.Add(w.quiet)
		if maxAt := cur.first.Add(w.maxWait); maxAt.Before(deadline) {
			deadline = maxAt
		}
		timer.Reset(time.Until(deadline))
	}
	flush := func() {
		if ready != nil {
			due = true
			return
		}
		cs, ok := cur.build()
		cur = newBatch()
		if ok {
			ready = &cs
		}
	}
	for {
		sendCh = nil
		var next ChangeSet
		if ready != nil {
			sendCh = out
			next = *ready
		}
		select {
		case <-ctx.Done():
			return nil
		case sendCh <- next:
			ready = nil
			if due {
				due = false
				flush()
			}
		case ev, ok := <-w.fw.Events:
			if !ok {
				return nil
			}
			w.handle(ctx, ev, cur)
			if !cur.empty() {
				arm()
			}
		case err, ok := <-w.fw.Errors:
			if !ok {
				return nil
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.log.Warn("file events were lost (kernel queue overflow): rescanning; raise fs.inotify.max_queued_events if this repeats")
				cur.rescan = true
				cur.touch(time.Now())
				arm()
				continue
			}
			w.log.Warn("file watcher error", zap.Error(err))
		case <-timer.C:
			if !cur.empty() {
				flush()
			}
		}
	}
}

// handle records one fsnotify event into b, adding and dropping watches.
func (w *Watcher) handle(ctx context.Context, ev fsnotify.Event, b *batch) {
	p := ev.Name
	now := time.Now()
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		wasDir := w.watched[p]
		if wasDir {
			w.removeTree(p)
		}
		if w.accept(p, wasDir) {
			e := b.add(p, false, now)
			// A directory's removal comes from its parent's watch and its
			// own: remember it was a directory whichever came first.
			e.dir = e.dir || wasDir
		}
		return
	}
	isDir := false
	if ev.Has(fsnotify.Create) {
		fi, err := os.Lstat(p)
		if err == nil && fi.IsDir() {
			isDir = true
		}
	}
	if !w.accept(p, isDir) {
		return
	}
	b.add(p, ev.Has(fsnotify.Create), now)
	if isDir {
		_ = w.addTree(ctx, p, b)
	}
}

// accept reports whether some root is interested in the absolute path p.
func (w *Watcher) accept(p string, isDir bool) bool {
	if isEditorTemp(filepath.Base(p)) {
		return false
	}
	for _, r := range w.roots {
		if r.file {
			if p == r.dir {
				return true
			}
			continue
		}
		var rel string
		switch {
		case p == r.dir:
			return true
		case strings.HasPrefix(p, r.dir+string(filepath.Separator)):
			rel = filepath.ToSlash(p[len(r.dir)+1:])
		default:
			continue
		}
		if hasGitSegment(rel) {
			continue
		}
		if r.ignore != nil && r.ignore(rel, isDir) {
			continue
		}
		return true
	}
	return false
}

func hasGitSegment(rel string) bool {
	for {
		seg, rest, more := strings.Cut(rel, "/")
		if seg == ".git" {
			return true
		}
		if !more {
			return false
		}
		rel = rest
	}
}

// isEditorTemp reports whether a base name is an editor's temporary or
// backup file.
func isEditorTemp(base string) bool {
	switch {
	case base == "4913": // vim's probe for a writable directory
		return true
	case strings.HasSuffix(base, "~"): // vim, emacs, gedit backups
		return true
	case strings.Contains(base, "___jb_tmp___"), strings.Contains(base, "___jb_old___"):
		return true
	case strings.HasPrefix(base, ".#"): // emacs lock files
		return true
	case len(base) >= 2 && base[0] == '#' && base[len(base)-1] == '#': // emacs auto-save
		return true
	}
	// vim swap files: .name.swp, .swo, .swn ... down to .swa, and .swx.
	if ext := filepath.Ext(base); len(ext) == 4 && len(base) > 4 && strings.HasPrefix(ext, ".sw") && strings.HasPrefix(base, ".") {
		c := ext[3]
		return (c >= 'a' && c <= 'p') || c == 'x'
	}
	return false
}
