package buildcontext

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // never fails for RUSAGE_SELF
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds a cpu-ms/op metric: wall time on a shared, loaded machine
// says little, CPU time says what the hash costs.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// genTree writes files files spread over dirs directories (two levels deep)
// and a Dockerfile, with mtimes aged so that digests are cacheable.
func genTree(tb testing.TB, files, dirs int) string {
	tb.Helper()
	root := tb.TempDir()
	if err := os.WriteFile(filepath.Join(root, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	for d := 0; d < dirs; d++ {
		dir := filepath.Join(root, fmt.Sprintf("pkg%03d", d/50), fmt.Sprintf("sub%03d", d%50))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		for f := 0; f < files/dirs; f++ {
			content := fmt.Sprintf("package p%d\n// file %d of dir %d\nvar x = %d\n", d, f, d, f*d)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file%03d.go", f)), []byte(content), 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
	ageFiles(tb, root)
	return root
}

func benchTree(b *testing.B) (string, *Context) {
	if testing.Short() {
		b.Skip("generates a 100,000-file tree")
	}
	root := genTree(b, 100_000, 5_000)
	c, err := Load(root, "")
	if err != nil {
		b.Fatal(err)
	}
	return root, c
}

// BenchmarkHashCold hashes a 100,000-file tree with an empty cache (file
// contents come from the page cache, not the disk).
func BenchmarkHashCold(b *testing.B) {
	_, c := benchTree(b)
	b.ResetTimer()
	cpu := cpuTime()
	for b.Loop() {
		if _, err := NewHasher().Hash(context.Background(), c, Inputs{}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkHashWarmOneEdit rehashes a 100,000-file tree after one file changed.
func BenchmarkHashWarmOneEdit(b *testing.B) {
	root, c := benchTree(b)
	h := NewHasher()
	if _, err := h.Hash(context.Background(), c, Inputs{}); err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(root, "pkg050", "sub025", "file010.go")
	i := 0
	b.ResetTimer()
	cpu := cpuTime()
	for b.Loop() {
		i++
		if err := os.WriteFile(p, []byte(fmt.Sprintf("edit %d\n", i)), 0o644); err != nil {
			b.Fatal(err)
		}
		r, err := h.Hash(context.Background(), c, Inputs{})
		if err != nil {
			b.Fatal(err)
		}
		if r.FilesRead != 1 {
			b.Fatalf("read %d files, want 1", r.FilesRead)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkUpdateOneEdit patches the hash of a 100,000-file tree after one
// edit, as the dev loop does with a watcher's change set.
func BenchmarkUpdateOneEdit(b *testing.B) {
	root, c := benchTree(b)
	h := NewHasher()
	prev, err := h.Hash(context.Background(), c, Inputs{})
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(root, "pkg050", "sub025", "file010.go")
	i := 0
	b.ResetTimer()
	cpu := cpuTime()
	for b.Loop() {
		i++
		if err := os.WriteFile(p, []byte(fmt.Sprintf("edit %d\n", i)), 0o644); err != nil {
			b.Fatal(err)
		}
		r, err := h.Update(context.Background(), c, prev, []string{p}, Inputs{})
		if err != nil {
			b.Fatal(err)
		}
		if r.FilesRead != 1 || r.Digest == prev.Digest {
			b.Fatalf("read %d files, digest moved %v", r.FilesRead, r.Digest != prev.Digest)
		}
		prev = r
	}
	reportCPU(b, cpu)
}

// heapAlloc returns the live heap after a full collection. Two cycles empty
// the sync.Pool victim cache too.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkRetainedHeap reports the live heap a Hasher plus its last Result
// keep for a 100,000-file tree: after a full Hash (hash-MB), and after one
// Update from it with the older Result dropped, as the dev loop holds them
// (update-MB).
func BenchmarkRetainedHeap(b *testing.B) {
	root, c := benchTree(b)
	p := filepath.Join(root, "pkg050", "sub025", "file010.go")
	var hashMB, updateMB float64
	i := 0
	for b.Loop() {
		i++
		base := heapAlloc()
		h := NewHasher()
		r, err := h.Hash(context.Background(), c, Inputs{})
		if err != nil {
			b.Fatal(err)
		}
		hashMB += float64(int64(heapAlloc())-int64(base)) / (1 << 20)
		if err := os.WriteFile(p, []byte(fmt.Sprintf("edit %d\n", i)), 0o644); err != nil {
			b.Fatal(err)
		}
		r, err = h.Update(context.Background(), c, r, []string{p}, Inputs{})
		if err != nil {
			b.Fatal(err)
		}
		updateMB += float64(int64(heapAlloc())-int64(base)) / (1 << 20)
		runtime.KeepAlive(h)
		runtime.KeepAlive(r)
	}
	b.ReportMetric(hashMB/float64(b.N), "hash-MB")
	b.ReportMetric(updateMB/float64(b.N), "update-MB")
}
