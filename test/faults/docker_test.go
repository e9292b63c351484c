package faults

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// TestDockerRestartDuringBuild stops the Docker Engine while buildx builds
// under `devloop dev` and starts it again: the cycle must fail (a failed
// event), devloop must keep running, and the next edit must build, deploy
// and be served.
func TestDockerRestartDuringBuild(t *testing.T) {
	env := requireFaults(t)
	dir, _, url := notesCopy(t, env)
	// A RUN step after the sources' COPY that takes a while, so that the
	// engine is surely stopped while the build runs.
	devproc.Replace(t, filepath.Join(dir, "web", "Dockerfile"), `(?m)^(COPY \. \.)$`, "${1}\nRUN sleep 12")
	p, next := startDev(t, dir, url, version(t, dir))

	restoreOnCleanup(t, startDockerd, "docker.sh", "engine26.sh")
	devproc.SetVersion(t, dir, fmt.Sprintf("v-docker-%d", time.Now().UnixNano()))
	_, next = p.Next(t, next, 2*time.Minute, "the web build to start", func(e devproc.Event) bool {
		return e.Is("build", "start")
	})
	time.Sleep(2 * time.Second) // buildx is talking to the engine now
	stopAt := time.Now()
	mustEnvShell(t, 2*time.Minute, stopDockerd, "docker.sh", "engine26.sh")
	t.Logf("Docker Engine stopped in %s", time.Since(stopAt).Round(time.Millisecond))

	failed, next := p.Next(t, next, 90*time.Second, "the cycle to fail", func(e devproc.Event) bool {
		return e.Phase == "cycle" && e.Status != "start"
	})
	t.Logf("cycle ended %s after the engine was stopped: %s", failed.Seen.Sub(stopAt).Round(time.Millisecond), failed)
	if failed.Status != "failed" {
		t.Errorf("the cycle whose build lost the engine ended %q, want failed\n%s", failed.Status, p.Tail(30))
	}
	var buildFailed bool
	for _, e := range p.Events()[:next] {
		if e.Is("build", "failed") {
			buildFailed = true
			t.Logf("build failed event: %s", e)
		}
	}
	if !buildFailed {
		t.Errorf("no build failed event for the interrupted build\n%s", p.Tail(30))
	}

	restartAt := time.Now()
	mustEnvShell(t, 3*time.Minute, startDockerd, "docker.sh", "engine26.sh")
	t.Logf("Docker Engine answering again after %s", time.Since(restartAt).Round(time.Millisecond))
	if p.Exited() {
		t.Fatalf("devloop exited after the Docker Engine restart\n%s", p.Tail(40))
	}
	v := fmt.Sprintf("v-docker-after-%d", time.Now().UnixNano())
	d := editAndServe(t, p, dir, url, v, 4*time.Minute)
	t.Logf("the next edit built, deployed and served in %s", d.Round(time.Millisecond))
}
