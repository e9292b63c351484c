package cli

import (
	"fmt"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"go.uber.org/zap"
)

// profiling is what startProfiling started.
type profiling struct {
	cpu    *os.File
	server *http.Server
}

// startProfiling starts the CPU profile and the pprof server the flags ask for.
func startProfiling(g *globalOptions) error {
	if g.CPUProfile != "" {
		f, err := os.Create(g.CPUProfile)
		if err != nil {
			return usageErrorf("--cpu-profile: %v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return fmt.Errorf("starting the CPU profile: %w", err)
		}
		g.profiling.cpu = f
	}
	if g.PprofAddr != "" {
		ln, err := net.Listen("tcp", g.PprofAddr)
		if err != nil {
			return usageErrorf("--pprof-addr: %v", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", httppprof.Index)
		mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
		mux.HandleFunc("/debug/devloop/free-os-memory", freeOSMemory)
		g.profiling.server = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = g.profiling.server.Serve(ln) }()
		g.log.Info("pprof", zap.String("addr", ln.Addr().String()))
	}
	return nil
}

// freeOSMemory runs a garbage collection and returns the freed memory to
// the OS at once (POST only), then answers the live heap in bytes. What is
// resident afterwards is what devloop holds, not where the collector happened
// to be: the soak compares that across cycles.
func freeOSMemory(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	_, _ = fmt.Fprintf(w, "%d\n", m.HeapAlloc)
}

// stopProfiling flushes the CPU profile and stops the pprof server.
func stopProfiling(g *globalOptions) {
	if g.profiling.cpu != nil {
		pprof.StopCPUProfile()
		_ = g.profiling.cpu.Close()
	}
	if g.profiling.server != nil {
		_ = g.profiling.server.Close()
	}
}
