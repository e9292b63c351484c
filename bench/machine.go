package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Machine describes where the figures come from.
type Machine struct {
	CPUModel string            `json:"cpuModel"`
	Cores    int               `json:"cores"`
	MemoryMB int               `json:"memoryMB"`
	Kernel   string            `json:"kernel"`
	OS       string            `json:"os"`
	Versions map[string]string `json:"versions"`
}

func (b *Bench) machine(ctx context.Context) Machine {
	m := Machine{Cores: runtime.NumCPU(), Versions: map[string]string{}}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "model name") {
				if i := strings.IndexByte(l, ':'); i > 0 {
					m.CPUModel = strings.TrimSpace(l[i+1:])
					break
				}
			}
		}
	}
	if kb, err := procStatusKBFile("/proc/meminfo", "MemTotal"); err == nil {
		m.MemoryMB = int(kb / 1024)
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	if data, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "PRETTY_NAME=") {
				m.OS = strings.Trim(strings.TrimPrefix(l, "PRETTY_NAME="), `"`)
			}
		}
	}
	version := func(key, name string, args ...string) {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		_, out, err := b.cmd(cctx, "", name, args...)
		if err != nil {
			m.Versions[key] = "unknown"
			return
		}
		m.Versions[key] = strings.TrimSpace(firstLines(out, 3))
	}
	version("devloop", b.devloop, "version")
	version("go", "go", "version")
	version("docker", "docker", "version", "--format", "client {{.Client.Version}}, engine {{.Server.Version}}")
	version("buildx", "docker", "buildx", "version")
	version("kubectl", "kubectl", "version", "--client")
	version("kubernetes", "kubectl", "version")
	version("containerd", "ctr", "--version")
	if out, err := os.ReadFile(filepath.Join(b.root, ".git", "HEAD")); err == nil {
		m.Versions["gitHEAD"] = strings.TrimSpace(string(out))
	}
	if _, out, err := b.cmd(ctx, b.root, "git", "describe", "--always", "--dirty"); err == nil {
		m.Versions["git"] = strings.TrimSpace(out)
	}
	return m
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "; ")
}

func procStatusKBFile(path, field string) (float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, field+":") {
			var v float64
			if _, err := fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, field+":")), "%f", &v); err == nil {
				return v, nil
			}
		}
	}
	return 0, fmt.Errorf("no %s in %s", field, path)
}

// profileScenarios are the scenarios whose devloop runs with --cpu-profile.
var profileScenarios = []string{"change", "change-kind", "change-kind-import", "noop", "warm", "idle", "apply", "deliver", "sync", "restart"}

// keepProfiles drops the profiles of scenarios that met every target and
// returns the `go tool pprof -top` of the others, by profile file name.
func (b *Bench) keepProfiles(ctx context.Context) map[string]string {
	tops := map[string]string{}
	for _, sc := range profileScenarios {
		for _, p := range []string{b.profilePath(sc), b.heapProfilePath(sc)} {
			if _, err := os.Stat(p); err != nil {
				continue
			}
			if !b.res.missed(sc) {
				_ = os.Remove(p)
				continue
			}
			tops[filepath.Base(p)] = b.pprofTop(ctx, p)
		}
	}
	return tops
}

// cpuTops are the CPU profile tops of tops (keepProfiles) by scenario.
func (b *Bench) cpuTops(tops map[string]string) map[string]string {
	out := map[string]string{}
	for _, sc := range profileScenarios {
		if t, ok := tops[filepath.Base(b.profilePath(sc))]; ok {
			out[sc] = t
		}
	}
	return out
}

// writeJSON writes the results file, with the tops of the profiles kept.
func (b *Bench) writeJSON(ctx context.Context, path string, tops map[string]string) error {
	for _, m := range b.res.metrics {
		m.finish()
	}
	doc := map[string]any{
		"date":      time.Now().Format(time.RFC3339),
		"quick":     b.quick,
		"wallSec":   b.wall.Seconds(),
		"machine":   b.machine(ctx),
		"metrics":   b.res.metrics,
		"errors":    b.res.Errors,
		"raw":       b.samples,
		"profiling": b.profile,
		// The top of each kept profile (scenarios that missed a target),
		// so the results file says where the time or memory goes.
		"profiles": tops,
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("results dir: %w", err)
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// pprofTop is `go tool pprof -top` of a profile (heap profiles by the
// memory in use), or the error.
func (b *Bench) pprofTop(ctx context.Context, profile string) string {
	args := []string{"tool", "pprof", "-top", "-nodecount=25"}
	if strings.HasSuffix(profile, "-heap.pprof") {
		args = append(args, "-sample_index=inuse_space")
	}
	out, err := exec.CommandContext(ctx, "go", append(args, b.devloop, profile)...).Output()
	if err != nil {
		return fmt.Sprintf("go tool pprof: %v", err)
	}
	return string(out)
}
