package livesync

import (
	"archive/tar"
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
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/fake"
)

func TestRepository(t *testing.T) {
	for in, want := range map[string]string{
		"app":                               "app",
		"app:v1":                            "app",
		"127.0.0.1:5000/app:abc":            "127.0.0.1:5000/app",
		"127.0.0.1:5000/team/app":           "127.0.0.1:5000/team/app",
		"app@sha256:0123":                   "app",
		"localhost:5000/app:v1@sha256:0123": "localhost:5000/app",
	} {
		if got := repository(in); got != want {
			t.Errorf("repository(%q) = %q, want %q", in, got, want)
		}
	}
	if !sameRepository("docker.io/library/app:v2", "app") || sameRepository("other/app:v1", "app") {
		t.Error("sameRepository normalization")
	}
}

func runningPod(name string, containers map[string]string) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": "web"}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	for n, img := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: img})
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: n, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}})
	}
	return p
}

func TestMatchContainers(t *testing.T) {
	a := runningPod("a", map[string]string{"app": "reg/app:1", "side": "reg/proxy:1"})
	b := runningPod("b", map[string]string{"app": "reg/app:2"})
	b.Status.Phase = corev1.PodPending
	c := runningPod("c", map[string]string{"app": "reg/app:2"})
	now := metav1.Now()
	c.DeletionTimestamp = &now
	got := matchContainers([]corev1.Pod{a, b, c}, "reg/app")
	if len(got) != 1 || got[0] != (container{ns: "ns", pod: "a", name: "app"}) {
		t.Fatalf("matchContainers = %v, want only a/app", got)
	}
}

type call struct {
	pod, container string
	cmd            []string
	tar            []byte
}

// fakeExec records the commands and the tar streams it receives.
type fakeExec struct {
	mu     sync.Mutex
	calls  []call
	stderr string
	err    error
}

func (f *fakeExec) Exec(_ context.Context, _, pod, ctr string, cmd []string, stdin func(*countingWriter) error) (string, error) {
	var buf bytes.Buffer
	if stdin != nil {
		if err := stdin(&countingWriter{w: &buf}); err != nil {
			return "", err
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, call{pod, ctr, cmd, buf.Bytes()})
	f.mu.Unlock()
	return f.stderr, f.err
}

func TestSyncCopiesAndDeletesInEveryContainer(t *testing.T) {
	dir := t.TempDir()
	local := filepath.Join(dir, "main.py")
	if err := os.WriteFile(local, []byte("print('v2')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p1 := runningPod("p1", map[string]string{"app": "reg/app:1"})
	p2 := runningPod("p2", map[string]string{"app": "reg/app:1"})
	client := fake.NewSimpleClientset(&p1, &p2)
	ex := &fakeExec{}
	s := &Syncer{client: client, exec: ex, log: zap.NewNop(), parallel: 4}
	res, err := s.Sync(context.Background(), Target{Namespace: "ns", Selector: labels.SelectorFromSet(labels.Set{"app": "web"}), Image: "reg/app"},
		[]File{{Local: local, Dest: "/code/app/main.py"}, {Dest: "/code/app/old.py", Delete: true}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pods != 2 || res.Files != 2 || res.Bytes <= 0 {
		t.Fatalf("result %+v", res)
	}
	if len(ex.calls) != 4 {
		t.Fatalf("%d exec calls, want 4 (tar and rm in 2 pods)", len(ex.calls))
	}
	pods := map[string]int{}
	for _, c := range ex.calls {
		pods[c.pod]++
		switch c.cmd[0] {
		case "tar":
			if strings.Join(c.cmd, " ") != "tar xf - -C /" {
				t.Fatalf("tar command %v", c.cmd)
			}
			tr := tar.NewReader(bytes.NewReader(c.tar))
			h, err := tr.Next()
			if err != nil || h.Name != "code/app/main.py" || h.Mode != 0o644 {
				t.Fatalf("tar entry %+v, %v", h, err)
			}
			body, _ := io.ReadAll(tr)
			if string(body) != "print('v2')\n" {
				t.Fatalf("tar body %q", body)
			}
		case "rm":
			if strings.Join(c.cmd, " ") != "rm -f -- /code/app/old.py" {
				t.Fatalf("rm command %v", c.cmd)
			}
		default:
			t.Fatalf("unexpected command %v", c.cmd)
		}
	}
	if pods["p1"] != 2 || pods["p2"] != 2 {
		t.Fatalf("calls per pod %v", pods)
	}
}

func TestSyncWithoutTar(t *testing.T) {
	dir := t.TempDir()
	local := filepath.Join(dir, "f")
	_ = os.WriteFile(local, []byte("x"), 0o644)
	p := runningPod("p", map[string]string{"app": "reg/app:1"})
	ex := &fakeExec{err: errors.New(`OCI runtime exec failed: exec failed: unable to start container process: exec: "tar": executable file not found in $PATH: unknown`)}
	s := &Syncer{client: fake.NewSimpleClientset(&p), exec: ex, log: zap.NewNop(), parallel: 1}
	_, err := s.Sync(context.Background(), Target{Namespace: "ns", Image: "reg/app"}, []File{{Local: local, Dest: "/f"}})
	if !errors.Is(err, ErrNoTar) || !strings.Contains(err.Error(), "live sync needs tar in the image") {
		t.Fatalf("err = %v, want ErrNoTar", err)
	}
}

func TestSyncRejectsRelativeDest(t *testing.T) {
	s := &Syncer{client: fake.NewSimpleClientset(), exec: &fakeExec{}, log: zap.NewNop(), parallel: 1}
	if _, err := s.Sync(context.Background(), Target{Namespace: "ns", Image: "x"}, []File{{Local: "/a", Dest: "rel"}}); err == nil {
		t.Fatal("a relative destination must fail")
	}
}

func TestSyncRunsTheAfterHooksInEachContainerAfterItsFiles(t *testing.T) {
	dir := t.TempDir()
	local := filepath.Join(dir, "app.conf")
	if err := os.WriteFile(local, []byte("x=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p1 := runningPod("p1", map[string]string{"app": "reg/app:1"})
	ex := &fakeExec{}
	s := &Syncer{client: fake.NewSimpleClientset(&p1), exec: ex, log: zap.NewNop(), parallel: 4}
	_, err := s.Sync(context.Background(), Target{Namespace: "ns", Image: "reg/app",
		After: []Command{{Args: []string{"kill", "-HUP", "1"}, Timeout: time.Second}, {Args: []string{"touch", "/tmp/reloaded"}, Timeout: time.Second}}},
		[]File{{Local: local, Dest: "/etc/app/app.conf"}})
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, c := range ex.calls {
		cmds = append(cmds, strings.Join(c.cmd, " "))
	}
	if strings.Join(cmds, "; ") != "tar xf - -C /; kill -HUP 1; touch /tmp/reloaded" {
		t.Fatalf("commands %v", cmds)
	}
	ex.err = errors.New("exit 3")
	ex.stderr = "no such process"
	if _, err := s.Sync(context.Background(), Target{Namespace: "ns", Image: "reg/app", After: []Command{{Args: []string{"kill", "-HUP", "1"}, Timeout: time.Second}}},
		[]File{{Local: local, Dest: "/etc/app/app.conf"}}); err == nil {
		t.Fatal("a failing copy or hook must fail the sync")
	}
}

func TestSyncThroughTheHelperNeedsNoTarAndRestarts(t *testing.T) {
	dir := t.TempDir()
	local := filepath.Join(dir, "web")
	if err := os.WriteFile(local, []byte("\x7fELF"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := runningPod("p", map[string]string{"app": "reg/app:1"})
	ex := &fakeExec{}
	s := &Syncer{client: fake.NewSimpleClientset(&p), exec: ex, log: zap.NewNop(), parallel: 1}
	_, err := s.Sync(context.Background(), Target{Namespace: "ns", Image: "reg/app", Helper: "/devloop/helper", Restart: true},
		[]File{{Local: local, Dest: "/app/web"}, {Dest: "/app/old", Delete: true}})
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, c := range ex.calls {
		cmds = append(cmds, strings.Join(c.cmd, " "))
	}
	if strings.Join(cmds, "; ") != "/devloop/helper rm /app/old; /devloop/helper recv --restart" {
		t.Fatalf("commands %v; want the helper's rm, then its recv with the restart last", cmds)
	}
	h, err := tar.NewReader(bytes.NewReader(ex.calls[1].tar)).Next()
	if err != nil || h.Name != "app/web" || h.Mode != 0o755 {
		t.Fatalf("tar entry %+v, %v", h, err)
	}
	if _, err := s.Sync(context.Background(), Target{Namespace: "ns", Image: "reg/app", Restart: true}, []File{{Local: local, Dest: "/app/web"}}); err == nil {
		t.Fatal("a restart without the helper must fail")
	}
}
