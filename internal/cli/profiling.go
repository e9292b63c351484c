package cli

import (
	"fmt"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"os"
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
		g.profiling.server = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = g.profiling.server.Serve(ln) }()
		g.log.Info("pprof", zap.String("addr", ln.Addr().String()))
	}
	return nil
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
