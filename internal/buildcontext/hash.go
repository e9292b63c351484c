package buildcontext

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// Digest is a content hash, "sha256:" followed by 64 hex digits.
type Digest string

// TagLength is the number of hex digits of a Digest used as an image tag.
const TagLength = 20

// Tag returns the image tag for the digest: its first TagLength hex digits,
// always a valid Docker tag.
func (d Digest) Tag() string {
	h := strings.TrimPrefix(string(d), "sha256:")
	if len(h) > TagLength {
		h = h[:TagLength]
	}
	return h
}

// Inputs are the build parameters that enter the hash besides the files.
type Inputs struct {
	BuildArgs map[string]string
	Target    string
	Platforms []string
}

// Result is the outcome of hashing a context.
type Result struct {
	// Digest is the content hash; Digest.Tag() is the image tag.
	Digest Digest
	// Manifest lists each included path with what the build sees of it.
	Manifest Manifest
	// FilesRead is the number of files whose contents were read (cache misses).
	FilesRead int

	// ctx and entries let Update patch this result instead of walking.
	// entries is shared with Manifest and the Hasher, never modified.
	ctx     *Context
	entries []entry
}

// racyWindow: a file modified less than this long before it was examined may
// change again without its mtime moving (coarse kernel clocks), so its digest
// is not cached.
const racyWindow = 50 * time.Millisecond

// Hasher hashes build contexts, reusing per-file content digests while a
// file's key (size, mtime, ctime, inode, device) is unchanged, so that
// rehashing an unchanged context reads no file contents. It is safe for
// concurrent use; the zero value is not usable, use NewHasher.
//
// Memory matters: a watched tree may hold 100,000 files. The cache is no
// map of its own but the sorted entries of the last Hash or Update of each
// context directory, the very slice its Result holds: a file's previous
// digest is found by binary search on its relative path.
type Hasher struct {
	mu      sync.Mutex
	last    map[string][]entry    // context directory → entries of its last hash
	files   map[string]cacheEntry // absolute path → digest, for fileDigest
	workers int
	bufs    sync.Pool // *[]byte read buffers
}

// sum is a SHA-256 content digest.
type sum [sha256.Size]byte

func (s sum) hex() string { return hex.EncodeToString(s[:]) }

// fileKey identifies a version of a file without reading it.
type fileKey struct {
	size  int64
	mtime int64
	ctime int64
	ino   uint64
	dev   uint64
}

// cacheEntry is a file's stable digest with the key it was read under.
type cacheEntry struct {
	key    fileKey
	digest sum
}

// NewHasher returns a Hasher with an empty cache.
func NewHasher() *Hasher {
	w := runtime.GOMAXPROCS(0) * 2
	if w < 4 {
		w = 4
	}
	h := &Hasher{last: map[string][]entry{}, files: map[string]cacheEntry{}, workers: w}
	h.bufs.New = func() any { b := make([]byte, readBuffer); return &b }
	return h
}

// readBuffer is the size of the pooled buffers files are read through.
const readBuffer = 32 << 10

// publish makes entries, complete and sorted, the cache of context
// directory dir. They must not be modified afterwards.
func (h *Hasher) publish(dir string, entries []entry) {
	h.mu.Lock()
	h.last[dir] = entries
	h.mu.Unlock()
}

// Hash computes the content hash of c with the given inputs.
func (h *Hasher) Hash(ctx context.Context, c *Context, in Inputs) (Result, error) {
	entries, err := walk(ctx, c)
	if err != nil {
		return Result{}, err
	}
	read, err := h.fill(ctx, c.Dir, entries)
	if err != nil {
		return Result{}, err
	}
	h.publish(c.Dir, entries)
	return h.finish(c, entries, read, in)
}

// finish computes the digest of the sorted entries and the other inputs.
func (h *Hasher) finish(c *Context, entries []entry, read int, in Inputs) (Result, error) {
	dfDigest, err := h.fileDigest(c.Dockerfile)
	if err != nil {
		return Result{}, fmt.Errorf("reading Dockerfile %s: %w", c.Dockerfile, err)
	}
	sum := sha256.New()
	_, _ = io.WriteString(sum, "devloop-context-v1\x00") // a hash.Hash never fails
	buf := make([]byte, 0, 4096)
	d := make([]byte, 0, 128) // scratch for each entry's manifest value
	for i := range entries {
		e := &entries[i]
		d = e.appendDigest(d[:0])
		// Lengths make the encoding unambiguous whatever bytes names hold.
		buf = strconv.AppendInt(buf, int64(len(e.rel)), 10)
		buf = append(buf, ':')
		buf = append(buf, e.rel...)
		buf = strconv.AppendInt(buf, int64(len(d)), 10)
		buf = append(buf, ':')
		buf = append(buf, d...)
		if len(buf) > 3072 {
			sum.Write(buf)
			buf = buf[:0]
		}
	}
	sum.Write(buf)
	fmt.Fprintf(sum, "\x00dockerfile:%s", dfDigest)
	keys := make([]string, 0, len(in.BuildArgs))
	for k := range in.BuildArgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := in.BuildArgs[k]
		fmt.Fprintf(sum, "\x00arg:%d:%s%d:%s", len(k), k, len(v), v)
	}
	fmt.Fprintf(sum, "\x00target:%d:%s", len(in.Target), in.Target)
	plats := append([]string(nil), in.Platforms...)
	sort.Strings(plats)
	for _, p := range plats {
		fmt.Fprintf(sum, "\x00platform:%d:%s", len(p), p)
	}
	return Result{
		Digest:    Digest("sha256:" + hex.EncodeToString(sum.Sum(nil))),
		Manifest:  Manifest{entries: entries},
		FilesRead: read,
		ctx:       c,
		entries:   entries,
	}, nil
}

// fill computes the content digest of every regular file of entries (but
// those whose rel is "", superseded ones): taken from the last entries of
// dir when the file is there with the same key and a stable digest, else
// read (in parallel). It returns the number of files read.
func (h *Hasher) fill(ctx context.Context, dir string, entries []entry) (int, error) {
	h.mu.Lock()
	last := h.last[dir] // published, hence never modified: searched unlocked
	h.mu.Unlock()
	var misses []int
	for i := range entries {
		e := &entries[i]
		if e.kind != kindFile || e.rel == "" {
			continue
		}
		if j, ok := search(last, e.rel); ok {
			if old := &last[j]; old.kind == kindFile && old.stable && old.key == e.key {
				e.digest, e.stable = old.digest, true
				continue
			}
		}
		misses = append(misses, i)
	}
	if len(misses) == 0 {
		return 0, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(h.workers)
	for _, i := range misses {
		e := &entries[i]
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			d, key, stable, err := h.digestFile(e.abs(dir))
			if err != nil {
				return err
			}
			e.digest = d
			e.stable = stable && key == e.key
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, fmt.Errorf("hashing context %s: %w", dir, err)
	}
	return len(misses), nil
}

// fileDigest returns the hex content digest of one file by path, using the
// cache of single files (a Dockerfile may lie outside its context).
func (h *Hasher) fileDigest(abs string) (string, error) {
	fi, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	key := keyOf(fi)
	h.mu.Lock()
	ce, ok := h.files[abs]
	h.mu.Unlock()
	if ok && ce.key == key {
		return ce.digest.hex(), nil
	}
	d, k2, stable, err := h.digestFile(abs)
	if err != nil {
		return "", err
	}
	if stable && k2 == key {
		h.mu.Lock()
		h.files[abs] = cacheEntry{key: key, digest: d}
		h.mu.Unlock()
	}
	return d.hex(), nil
}

// readerOnly hides a file's WriterTo, so io.CopyBuffer uses the buffer it
// is given instead of allocating 32 KiB per file.
type readerOnly struct{ io.Reader }

// digestFile reads and hashes a file. stable is false when the file changed
// while it was read or was modified too recently for its key to be trusted.
func (h *Hasher) digestFile(abs string) (digest sum, key fileKey, stable bool, err error) {
	f, err := os.Open(abs)
	if err != nil {
		return sum{}, fileKey{}, false, fmt.Errorf("reading %s: %w", abs, err)
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return sum{}, fileKey{}, false, fmt.Errorf("reading %s: %w", abs, err)
	}
	buf := h.bufs.Get().(*[]byte)
	defer h.bufs.Put(buf)
	s := sha256.New()
	if _, err := io.CopyBuffer(s, readerOnly{f}, *buf); err != nil {
		return sum{}, fileKey{}, false, fmt.Errorf("reading %s: %w", abs, err)
	}
	after, err := f.Stat()
	if err != nil {
		return sum{}, fileKey{}, false, fmt.Errorf("reading %s: %w", abs, err)
	}
	key = keyOf(after)
	stable = keyOf(before) == key && time.Since(after.ModTime()) > racyWindow
	s.Sum(digest[:0])
	return digest, key, stable, nil
}

func keyOf(fi os.FileInfo) fileKey {
	k := fileKey{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.ino = st.Ino
		k.dev = uint64(st.Dev)
		k.ctime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
	}
	return k
}
