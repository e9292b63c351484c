package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Bench is one run: the binary, the repetition counts, what to clean up and
// the results.
type Bench struct {
	root    string
	devloop string
	quick   bool
	id      string
	res     Results
	wall    time.Duration
	samples map[string]any // extra raw data for the JSON (events, outputs)
	// profile is true when devloop accepts --cpu-profile.
	profile bool
	// idleSmall is the memory of devloop dev on a small project (the idle
	// scenario's baseline), nil until measured.
	idleSmall *memory
	// scaleAdded1 is the scale scenario's 1-service added wait, the
	// reference of the 30-service target; nil until measured.
	scaleAdded1 *Metric

	mu         sync.Mutex
	procs      []*Proc
	dirs       []string
	namespaces map[string][]string // by kube context ("": the environment's)
	images     []string            // engine and cluster image references to remove
	kindImages map[string][]string // by kind cluster: references loaded into its nodes

	// chartRows are the edits of the change scenarios, split by phase, for
	// the stacked chart written beside the results.
	chartRows []chartRow
}

// commit names the checked-out commit, for titles.
func (b *Bench) commit() string {
	out, err := exec.Command("git", "-C", b.root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return "(unknown commit)"
	}
	return strings.TrimSpace(string(out))
}

func newBench(root, devloop string, quick bool) *Bench {
	buf := make([]byte, 3)
	_, _ = rand.Read(buf)
	b := &Bench{root: root, devloop: devloop, quick: quick, id: hex.EncodeToString(buf), samples: map[string]any{}}
	if out, err := exec.Command(devloop, "--help").CombinedOutput(); err == nil && strings.Contains(string(out), "--cpu-profile") {
		b.profile = true
	}
	return b
}

// reps is the number of repetitions: full or quick.
func (b *Bench) reps(full, quick int) int {
	if b.quick {
		return quick
	}
	return full
}

func (b *Bench) track(p *Proc) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.procs = append(b.procs, p)
}

// tempDir makes a directory removed at the end.
func (b *Bench) tempDir(name string) (string, error) {
	d, err := os.MkdirTemp("", "devloop-bench-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("temp dir: %w", err)
	}
	b.mu.Lock()
	b.dirs = append(b.dirs, d)
	b.mu.Unlock()
	return d, nil
}

// namespace returns a unique namespace name, deleted at the end.
func (b *Bench) namespace(name string) string { return b.namespaceIn("", name) }

// namespaceIn is namespace in the cluster of a kube context ("": the
// environment's).
func (b *Bench) namespaceIn(kubeContext, name string) string {
	ns := fmt.Sprintf("bench-%s-%s", name, b.id)
	b.mu.Lock()
	if b.namespaces == nil {
		b.namespaces = map[string][]string{}
	}
	b.namespaces[kubeContext] = append(b.namespaces[kubeContext], ns)
	b.mu.Unlock()
	return ns
}

// image records an image reference to remove from the engine and the
// cluster's containerd at the end.
func (b *Bench) image(ref string) {
	b.mu.Lock()
	b.images = append(b.images, ref)
	b.mu.Unlock()
}

// kindImage records an image reference loaded into the nodes of a kind
// cluster, to remove from their containerd at the end.
func (b *Bench) kindImage(cluster, ref string) {
	b.mu.Lock()
	if b.kindImages == nil {
		b.kindImages = map[string][]string{}
	}
	b.kindImages[cluster] = append(b.kindImages[cluster], ref)
	b.mu.Unlock()
}

// cleanupScenario stops devloop processes still running and removes the temp
// directories (namespaces are deleted at the very end, in one wait).
func (b *Bench) cleanupScenario() {
	b.mu.Lock()
	procs, dirs := b.procs, b.dirs
	b.procs, b.dirs = nil, nil
	b.mu.Unlock()
	for _, p := range procs {
		p.Stop(30 * time.Second)
	}
	for _, d := range dirs {
		_ = os.RemoveAll(d)
	}
}

// cleanup ends everything the run started.
func (b *Bench) cleanup() {
	b.cleanupScenario()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b.mu.Lock()
	nss, imgs, kimgs := b.namespaces, b.images, b.kindImages
	b.namespaces, b.images, b.kindImages = nil, nil, nil
	b.mu.Unlock()
	for kubeContext, list := range nss {
		args := append([]string{"delete", "namespace", "--ignore-not-found", "--wait=true", "--timeout=150s"}, list...)
		if kubeContext != "" {
			args = append([]string{"--context", kubeContext}, args...)
		}
		if _, out, err := b.cmd(ctx, "", "kubectl", args...); err != nil {
			fmt.Fprintf(os.Stderr, "bench: deleting namespaces %v: %v: %s\n", list, err, out)
		}
	}
	for cluster, refs := range kimgs {
		_, out, err := b.cmd(ctx, "", "kind", "get", "nodes", "--name", cluster)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: listing the nodes of kind cluster %s: %v\n", cluster, err)
			continue
		}
		for _, node := range strings.Fields(out) {
			if !strings.HasPrefix(node, cluster+"-") {
				continue // not a node name (a warning)
			}
			args := []string{"exec", node, "ctr", "-n", "k8s.io", "images", "rm"}
			for _, ref := range refs {
				args = append(args, dockerRef(ref))
			}
			_, _, _ = b.cmd(ctx, "", "docker", args...)
		}
	}
	for _, ref := range imgs {
		_, _, _ = b.cmd(ctx, "", "docker", "rmi", "-f", ref)
		_, _, _ = b.cmd(ctx, "", "ctr", "-a", os.Getenv("DEVLOOP_CONTAINERD_SOCK"), "-n", "k8s.io", "images", "rm", dockerRef(ref))
	}
}

// dockerRef is the fully qualified form containerd stores.
func dockerRef(ref string) string {
	first := strings.SplitN(ref, "/", 2)[0]
	if !strings.Contains(ref, "/") {
		return "docker.io/library/" + ref
	}
	if !strings.ContainsAny(first, ".:") && first != "localhost" {
		return "docker.io/" + ref
	}
	return ref
}

// cmd runs a command and returns its wall time and combined output.
func (b *Bench) cmd(ctx context.Context, dir, name string, args ...string) (time.Duration, string, error) {
	c := exec.CommandContext(ctx, name, args...)
	c.Dir = dir
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	t0 := time.Now()
	err := c.Run()
	d := time.Since(t0)
	if err != nil {
		return d, out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, tail(out.String(), 2000))
	}
	return d, out.String(), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// freePort returns a TCP port free on 127.0.0.1 right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeFile writes data and returns the time the write completed.
func writeFile(path string, data []byte) (time.Time, error) {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return time.Time{}, fmt.Errorf("writing %s: %w", path, err)
	}
	return time.Now(), nil
}

// profileArgs returns --cpu-profile FILE when devloop supports it.
func (b *Bench) profileArgs(scenario string) []string {
	if b.profile {
		return []string{"--cpu-profile", b.profilePath(scenario)}
	}
	return nil
}

func (b *Bench) profilePath(scenario string) string {
	dir := fmt.Sprintf("%s/bench/results/profiles", b.root)
	_ = os.MkdirAll(dir, 0o755)
	return fmt.Sprintf("%s/%s-%s.pprof", dir, time.Now().Format("2006-01-02"), scenario)
}

// heapProfilePath is where a scenario's heap profile goes.
func (b *Bench) heapProfilePath(scenario string) string {
	return strings.TrimSuffix(b.profilePath(scenario), ".pprof") + "-heap.pprof"
}

// pprofAddr returns a free loopback address for devloop's --pprof-addr.
func pprofAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// saveHeapProfile fetches the heap profile of a devloop started with
// --pprof-addr addr (after a GC, so it shows what is retained).
func saveHeapProfile(ctx context.Context, addr, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/heap?gc=1", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetching the heap profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching the heap profile: %s", resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("fetching the heap profile: %w", err)
	}
	return os.WriteFile(path, data, 0o644)
}
