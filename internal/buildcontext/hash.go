package buildcontext

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// Hex returns the digest's hex digits without the algorithm prefix.
func (d Digest) Hex() string { return strings.TrimPrefix(string(d), "sha256:") }

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
	// Manifest maps each included path (slash-separated, relative to the
	// context) to the digest of its entry.
	Manifest Manifest
	// FilesRead is the number of files whose contents were read (cache misses).
	FilesRead int

	// ctx and entries let Update patch this result instead of walking.
	ctx     *Context
	entries []entry
}

// racyWindow: a file modified less than this long before it was examined may
// change again without its mtime moving (coarse kernel clocks), so its digest
// is not cached.
const racyWindow = 50 * time.Millisecond

// Hasher hashes build contexts, caching per-file content digests keyed by
// (path, size, mtime, inode, ctime) so that rehashing an unchanged context
// reads no file contents. It is safe for concurrent use; the zero value is
// not usable, use NewHasher.
//
// Memory matters: a watched tree may hold 100,000 files. The cache is kept
// per directory and keyed by the path relative to it (sharing the string
// the walk made), digests are kept as bytes, and file contents are read
// through pooled buffers.
type Hasher struct {
	mu      sync.Mutex
	cache   map[string]map[string]cacheEntry // directory → relative path → entry
	workers int
	bufs    sync.Pool // *[]byte read buffers
}

// sum is a SHA-256 content digest.
type sum [sha256.Size]byte

func (s sum) hex() string { return hex.EncodeToString(s[:]) }

type fileKey struct {
	size  int64
	mtime int64
	ctime int64
	ino   uint64
	dev   uint64
}

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
	h := &Hasher{cache: map[string]map[string]cacheEntry{}, workers: w}
	h.bufs.New = func() any { b := make([]byte, readBuffer); return &b }
	return h
}

// readBuffer is the size of the pooled buffers files are read through.
const readBuffer = 32 << 10

// cached returns the cache entry of rel under dir.
func (h *Hasher) cached(dir, rel string) (cacheEntry, bool) {
	ce, ok := h.cache[dir][rel]
	return ce, ok
}

// store records a digest; h.mu must be held.
func (h *Hasher) store(dir, rel string, ce cacheEntry) {
	m := h.cache[dir]
	if m == nil {
		m = map[string]cacheEntry{}
		h.cache[dir] = m
	}
	m[rel] = ce
}

// Hash computes the content hash of c with the given inputs.
func (h *Hasher) Hash(ctx context.Context, c *Context, in Inputs) (Result, error) {
	entries, err := walk(ctx, c)
	if err != nil {
		return Result{}, err
	}
	files := make([]int, 0, len(entries))
	for i := range entries {
		if entries[i].kind == kindFile {
			files = append(files, i)
		}
	}
	read, err := h.fill(ctx, c.Dir, entries, files)
	if err != nil {
		return Result{}, err
	}

	man := make(Manifest, len(entries))
	for i := range entries {
		man[entries[i].rel] = entries[i].entryDigest()
	}
	return h.finish(c, entries, man, read, in)
}

// finish computes the digest of the sorted entries and the other inputs.
func (h *Hasher) finish(c *Context, entries []entry, man Manifest, read int, in Inputs) (Result, error) {
	dfDigest, err := h.fileDigest(c.Dockerfile)
	if err != nil {
		return Result{}, fmt.Errorf("reading Dockerfile %s: %w", c.Dockerfile, err)
	}
	sum := sha256.New()
	io.WriteString(sum, "devloop-context-v1\x00")
	buf := make([]byte, 0, 4096)
	for i := range entries {
		e := &entries[i]
		d := man[e.rel]
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
		Manifest:  man,
		FilesRead: read,
		ctx:       c,
		entries:   entries,
	}, nil
}

// fill computes the content digest of every regular file in idx, from the
// cache when the file's key is unchanged, else by reading it (in parallel).
func (h *Hasher) fill(ctx context.Context, dir string, entries []entry, idx []int) (int, error) {
	var misses []int
	h.mu.Lock()
	for _, i := range idx {
		e := &entries[i]
		if ce, ok := h.cached(dir, e.rel); ok && ce.key == e.key {
			e.digest = ce.digest
			continue
		}
		misses = append(misses, i)
	}
	h.mu.Unlock()
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
			if stable && key == e.key {
				h.mu.Lock()
				h.store(dir, e.rel, cacheEntry{key: key, digest: d})
				h.mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, fmt.Errorf("hashing context %s: %w", dir, err)
	}
	return len(misses), nil
}

// fileDigest returns the hex content digest of one file by path, using the
// cache.
func (h *Hasher) fileDigest(abs string) (string, error) {
	fi, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	key := keyOf(fi)
	dir, rel := filepath.Split(abs)
	dir = filepath.Clean(dir)
	h.mu.Lock()
	ce, ok := h.cached(dir, rel)
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
		h.store(dir, rel, cacheEntry{key: key, digest: d})
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
