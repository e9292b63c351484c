package hooks

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/events"
)

type recorder struct {
	mu  sync.Mutex
	evs []events.Event
}

func (r *recorder) Emit(e events.Event) { r.mu.Lock(); r.evs = append(r.evs, e); r.mu.Unlock() }

func hook(dir string, cmd ...string) config.Hook {
	return config.Hook{Command: cmd, DirPath: dir, Timeout: 10 * time.Second}
}

func TestHostHooksRunInOrderWithTheirEnvironment(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	rec := &recorder{}
	r := New(zap.NewNop(), rec, &out, nil)
	env := Env{Image: "api", Tag: "abc", ImageRef: "api:abc", KubeContext: "kind-dev", Namespace: "dev", ConfigDir: dir, Profiles: []string{"a", "b"}}
	hs := []config.Hook{
		hook(dir, "sh", "-c", `echo "$DEVLOOP_IMAGE $DEVLOOP_TAG $DEVLOOP_IMAGE_REF $DEVLOOP_KUBE_CONTEXT $DEVLOOP_NAMESPACE $DEVLOOP_PROFILES $PWD" > first`),
		hook(dir, "sh", "-c", "cat first; echo second >> first"),
	}
	if err := r.Run(context.Background(), "before build", "api", hs, env); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "first"))
	want := "api abc api:abc kind-dev dev a,b " + dir + "\nsecond\n"
	if string(b) != want {
		t.Fatalf("hook output file %q, want %q", b, want)
	}
	if !strings.Contains(out.String(), "[hook before build api] api abc api:abc") {
		t.Fatalf("output not streamed with its prefix:\n%s", out.String())
	}
	var phases []string
	for _, e := range rec.evs {
		phases = append(phases, e.Phase+" "+e.Status+" "+e.Artifact)
	}
	if strings.Join(phases, ",") != "hook start api,hook done api,hook start api,hook done api" {
		t.Fatalf("events %v", phases)
	}
}

func TestFailingHookStopsTheRestWithItsExitCodeAndLastLines(t *testing.T) {
	dir := t.TempDir()
	r := New(zap.NewNop(), &recorder{}, io.Discard, nil)
	hs := []config.Hook{
		hook(dir, "sh", "-c", "for i in $(seq 1 30); do echo line $i; done; exit 3"),
		hook(dir, "touch", "never"),
	}
	err := r.Run(context.Background(), "before deploy", "", hs, Env{})
	var he *Error
	if !errors.As(err, &he) || he.ExitCode != 3 || len(he.Tail) != tailLines || he.Tail[len(he.Tail)-1] != "line 30" {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(err.Error(), "exited 3") || !strings.Contains(err.Error(), "line 30") {
		t.Fatalf("message %q", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "never")); err == nil {
		t.Fatal("the hook after a failing one ran")
	}
}

func TestHookTimeoutAndOSFilter(t *testing.T) {
	dir := t.TempDir()
	rec := &recorder{}
	r := New(zap.NewNop(), rec, io.Discard, nil)
	slow := hook(dir, "sleep", "30")
	slow.Timeout = 200 * time.Millisecond
	start := time.Now()
	err := r.Run(context.Background(), "after build", "api", []config.Hook{slow}, Env{})
	if err == nil || !strings.Contains(err.Error(), "timed out after 200ms") || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
	other := hook(dir, "touch", "ran")
	other.OS = []string{"plan9"}
	if err := r.Run(context.Background(), "after build", "api", []config.Hook{other}, Env{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("a hook for another OS ran")
	}
	if last := rec.evs[len(rec.evs)-1]; last.Status != events.StatusSkipped {
		t.Fatalf("last event %+v, want skipped", last)
	}
}

type fakePods struct {
	pods  []string
	codes map[string]int
	ran   []string
}

func (f *fakePods) Pods(context.Context, string, string) ([]string, error) { return f.pods, nil }
func (f *fakePods) Exec(_ context.Context, ns, pod, ctr string, cmd []string, stdout, _ io.Writer) (int, error) {
	f.ran = append(f.ran, ns+"/"+pod+"/"+ctr+":"+strings.Join(cmd, " "))
	_, _ = io.WriteString(stdout, "hello from "+pod+"\n")
	return f.codes[pod], nil
}

func TestContainerHooksRunInEveryMatchingPod(t *testing.T) {
	fp := &fakePods{pods: []string{"api-1", "api-2"}, codes: map[string]int{}}
	var out bytes.Buffer
	r := New(zap.NewNop(), &recorder{}, &out, fp)
	h := config.Hook{Command: []string{"/api", "-selfcheck"}, Timeout: time.Second, Container: config.ContainerHook{Selector: "app=api", Container: "api"}}
	if err := r.Run(context.Background(), "after deploy", "", []config.Hook{h}, Env{Namespace: "dev"}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(fp.ran, ";") != "dev/api-1/api:/api -selfcheck;dev/api-2/api:/api -selfcheck" ||
		!strings.Contains(out.String(), "[hook after deploy api-2/api] hello from api-2") {
		t.Fatalf("ran %v, out %q", fp.ran, out.String())
	}
	fp.codes["api-2"] = 7
	err := r.Run(context.Background(), "after deploy", "", []config.Hook{h}, Env{Namespace: "dev"})
	var he *Error
	if !errors.As(err, &he) || he.ExitCode != 7 || he.Where != "api-2/api" {
		t.Fatalf("err = %v", err)
	}
	fp.pods = nil
	if err := r.Run(context.Background(), "after deploy", "", []config.Hook{h}, Env{Namespace: "dev"}); err == nil || !strings.Contains(err.Error(), "no running pod") {
		t.Fatalf("no pods: %v", err)
	}
}
