package build

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

const inactiveRemote = `Name:          bk
Driver:        remote

Nodes:
Name:             bk0
Endpoint:         tcp://127.0.0.1:1
Status:           inactive
`

// TestInspectBootstrapsAnInactiveBuilder: a builder outside the engine that
// is not running is bootstrapped; when that fails the error names the
// builder, its driver, its endpoint and the likely cause.
func TestInspectBootstrapsAnInactiveBuilder(t *testing.T) {
	b := fakeDocker(t, `if [ "$3" = --bootstrap ]; then echo 'ERROR: failed to connect: dial tcp 127.0.0.1:1: connect: connection refused' >&2; exit 1; fi
cat <<'EOF2'
`+inactiveRemote+`EOF2
`)
	_, err := b.Inspect(context.Background(), "bk")
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("Inspect of an unreachable remote builder: %v, want an UnreachableError", err)
	}
	for _, want := range []string{`"bk"`, "driver remote", "tcp://127.0.0.1:1", "nothing listens on 127.0.0.1:1 (connection refused)", "docker buildx inspect --bootstrap bk"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	if _, cached := b.inspect["bk"]; cached {
		t.Error("an unreachable builder was cached")
	}
}

func TestInspectTimesOut(t *testing.T) {
	b := fakeDocker(t, `if [ "$3" = --bootstrap ]; then sleep 30; fi
cat <<'EOF2'
`+inactiveRemote+`EOF2
`)
	b.reachTimeout = 300 * time.Millisecond
	start := time.Now()
	_, err := b.Inspect(context.Background(), "bk")
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Timeout == 0 || !strings.Contains(err.Error(), "did not answer within 300ms") {
		t.Fatalf("Inspect of a silent builder: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the bound did not hold: %s", d)
	}
}

func TestInspectRunningBuilderIsNotBootstrapped(t *testing.T) {
	b := fakeDocker(t, `if [ "$3" = --bootstrap ]; then exit 1; fi
cat <<'EOF2'
`+strings.Replace(inactiveRemote, "inactive", "running", 1)+`EOF2
`)
	info, err := b.Inspect(context.Background(), "bk")
	if err != nil || info.Endpoint != "tcp://127.0.0.1:1" || info.Status != "running" {
		t.Fatalf("Inspect: %+v %v", info, err)
	}
}

func TestPlanOutputPushesFromOutsideTheEngine(t *testing.T) {
	k8s := BuilderInfo{Name: "k8s", Driver: "kubernetes"}
	if o, err := PlanOutput(k8s, []string{"linux/amd64"}, "127.0.0.1:5000", false); err != nil || o != OutputPush {
		t.Fatalf("kubernetes driver with a registry: %v %v, want push", o, err)
	}
	if o, err := PlanOutput(k8s, []string{"linux/amd64"}, "", false); err != nil || o != OutputLoad {
		t.Fatalf("kubernetes driver without a registry: %v %v, want load", o, err)
	}
	if o, err := PlanOutput(BuilderInfo{Driver: "docker"}, []string{"linux/amd64"}, "127.0.0.1:5000", false); err != nil || o != OutputLoad {
		t.Fatalf("docker driver with a registry: %v %v, want load", o, err)
	}
}

func TestBuildErrorExplainsCacheExport(t *testing.T) {
	e := &BuildError{Image: "web", Err: errors.New("exit status 1"),
		Tail: []string{"ERROR: failed to build: Cache export is not supported for the docker driver."}}
	if !strings.Contains(e.Error(), "cacheTo needs a builder") {
		t.Fatalf("%q does not explain the cache export", e)
	}
	e.Builder = BuilderInfo{Name: "bk", Driver: "remote", Endpoint: "tcp://h:1"}
	if !strings.Contains(e.Error(), "building web on buildx builder \"bk\" (driver remote, endpoint tcp://h:1)") {
		t.Fatalf("%q does not name the builder", e)
	}
}
