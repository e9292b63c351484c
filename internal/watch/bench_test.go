package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // never fails for RUSAGE_SELF
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWatch100k watches a generated tree of 100,000 files in 5,000
// directories and reports: the time to set up the watches, the CPU used
// while idle for 5 s, the Go heap in use, and the detect latency (file write
// to change set, default 80 ms quiet period) of one edit per iteration.
func BenchmarkWatch100k(b *testing.B) {
	if testing.Short() {
		b.Skip("generates a 100,000-file tree")
	}
	root := b.TempDir()
	for d := range 5000 {
		dir := filepath.Join(root, fmt.Sprintf("pkg%03d", d/50), fmt.Sprintf("sub%02d", d%50))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 20 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.go", f)), []byte("package p\n"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	runtime.GC()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := New(zap.NewNop(), Options{})
	out := make(chan ChangeSet)
	done := make(chan error, 1)
	t0 := time.Now()
	go func() { done <- w.Run(ctx, []Root{{Dir: root}}, out) }()
	<-w.Ready()
	setup := time.Since(t0)

	cpu0 := cpuTime()
	time.Sleep(5 * time.Second)
	idleCPU := cpuTime() - cpu0
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)

	target := filepath.Join(root, "pkg050", "sub25", "f10.go")
	var total time.Duration
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		start := time.Now()
		if err := os.WriteFile(target, []byte(fmt.Sprintf("package p // %d\n", i)), 0o644); err != nil {
			b.Fatal(err)
		}
		cs := <-out
		total += time.Since(start)
		if len(cs.Paths) != 1 || cs.Paths[0].Path != target {
			b.Fatalf("change set %+v", cs.Paths)
		}
	}
	b.ReportMetric(float64(setup.Milliseconds()), "setup-ms")
	b.ReportMetric(float64(idleCPU.Milliseconds())/5, "idle-cpu-ms/s")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "detect-ms")
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
