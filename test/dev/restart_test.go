package devtest

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// scratchWeb is the notes web image FROM scratch: no shell, no tar. The
// binary's directory belongs to the app's user, so a synced binary can be
// renamed over the running one.
const scratchWeb = `FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
ENV CGO_ENABLED=0 GOPROXY=off GOFLAGS=-trimpath
COPY . .
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -ldflags="-s -w" -o /out/app/web . && chown -R 65532:65532 /out/app

FROM scratch
COPY --from=build --chown=65532:65532 /out/app /app
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/app/web"]
`

// restartRule builds the web binary here for the nodes' platform and
// restarts the process with it.
const restartRule = `${1}- image: notes-web${2}
${3}context: web
${3}sync:
${3}  - src: "**/*.go"
${3}    dest: /app/web
${3}    restart: true
${3}    run:
${3}      command: [go, build, -trimpath, "-ldflags=-s -w", -o, "${DEVLOOP_OUTPUT}", .]
${3}      env: {CGO_ENABLED: "0", GOOS: "${DEVLOOP_OS}", GOARCH: "${DEVLOOP_ARCH}", GOPROXY: "off"}
`

// prepareRestartCopy is a copy of examples/notes whose web image is FROM
// scratch with a sync rule that builds and restarts.
func prepareRestartCopy(t *testing.T, version string) (dir, name string, port int) {
	t.Helper()
	dir, name = testenv.CopyExample(t, "notes")
	port = devproc.FreePort(t)
	replaceIn(t, filepath.Join(dir, "devloop.yaml"), `(?m)^(\s+localPort:\s*)8080\s*$`, "${1}"+strconv.Itoa(port))
	replaceIn(t, filepath.Join(dir, "devloop.yaml"), `(?m)^(\s+)- image: notes-web(.*)\n(\s+)context: web\n`, strings.ReplaceAll(restartRule, "${DEVLOOP", "$${DEVLOOP"))
	writeFile(t, filepath.Join(dir, "web", "Dockerfile"), scratchWeb)
	writeFile(t, filepath.Join(dir, "web", "version.go"), versionSource(version))
	return dir, name, port
}

// On the real cluster: a Go edit to a FROM scratch image is
// built here, received by devloop's helper and served after a restart of
// the process, with no image build; a failing go build is reported and the
// loop keeps watching; `devloop run` afterwards deploys an image with the
// change and without the helper.
func TestDevRestartScratchGo(t *testing.T) {
	env := testenv.Require(t)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	v1, v2, v3 := "restart-v1-"+run, "restart-v2-"+run, "restart-v3-"+run
	dir, name, port := prepareRestartCopy(t, v1)
	t.Cleanup(func() {
		_ = env.Command(context.Background(), "kubectl", "delete", "namespace", name, "--wait=false", "--ignore-not-found").Run()
	})
	t.Cleanup(func() {
		if r := env.Devloop(t, dir, 3*time.Minute, "delete", "--data"); r.Code != 0 {
			t.Logf("devloop delete --data: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
	})
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	s := startDev(t, env, dir, name, "--no-ui")
	if e, _ := s.waitFor(0, 10*time.Minute, "first cycle", cycleEnd(1)); e.Status != "done" {
		s.fatalf("first cycle %s", e)
	}
	s.waitVersion(url, v1, time.Minute)
	cmd, err := s.kubectl(30*time.Second, "get", "deployment", "notes-web", "-n", name, "-o", "jsonpath={.spec.template.spec.containers[0].command}")
	if err != nil || !strings.Contains(cmd, "/devloop/helper") || !strings.Contains(cmd, "/app/web") {
		s.fatalf("web command under dev %q (%v); want /devloop/helper run -- /app/web", cmd, err)
	}

	// A good edit: built here, synced, restarted, served; no image build.
	from := s.proc.Len()
	saved := time.Now()
	s.write("web/version.go", versionSource(v2))
	served := s.waitVersion(url, v2, time.Minute)
	t.Logf("save → served through the port-forward: %v", served.Sub(saved).Round(time.Millisecond))
	_, end := s.waitFor(from, time.Minute, "the sync's cycle end", func(e event) bool { return e.Phase == "cycle" && e.Status != "start" && e.Cycle > 1 })
	for _, e := range s.proc.Events()[from:end] {
		if e.Phase == "build" && e.Artifact == "notes-web" && e.Status != "skipped" {
			s.fatalf("an image build ran for a synced Go edit: %s", e)
		}
	}
	if !hasEvent(s.proc.Events()[from:end], "sync", "done", "notes-web") {
		s.fatalf("no sync done event for notes-web")
	}

	// A failing go build: reported, nothing synced, the old version served.
	from = s.proc.Len()
	s.write("web/version.go", "package main\n\nconst Version = \n")
	e, _ := s.waitFor(from, time.Minute, "the failed sync", func(e event) bool { return e.Phase == "sync" && e.Status == "failed" })
	if !strings.Contains(e.Message, "go build") || !strings.Contains(e.Message, "version.go") {
		s.fatalf("failed sync %q; want the go build error naming version.go", e.Message)
	}
	if v, err := getVersion(url); err != nil || !strings.Contains(v, v2) {
		s.fatalf("after the failed build /version = %q, %v; want %s still", v, err, v2)
	}
	// The loop keeps watching: the next good edit is served.
	s.write("web/version.go", versionSource(v3))
	s.waitVersion(url, v3, time.Minute)
	s.proc.Stop(3 * time.Minute)

	// `devloop run`: the image built now has v3, and no helper.
	r := env.Devloop(t, dir, 10*time.Minute, "run", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("devloop run: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	got := env.Kubectl(t, "get", "deployment", "notes-web", "-n", name, "-o",
		"jsonpath={.spec.template.spec.containers[0].command}|{.spec.template.spec.initContainers}|{.spec.template.metadata.annotations}")
	if strings.Contains(got, "helper") {
		t.Errorf("devloop run deployed the helper: %q", got)
	}
	body := env.Kubectl(t, "get", "--raw", "/api/v1/namespaces/"+name+"/services/notes-web:80/proxy/version")
	if !strings.Contains(body, v3) {
		t.Errorf("after devloop run /version = %q, want %s (the image must include the synced change)", body, v3)
	}
}

func hasEvent(evs []event, phase, status, artifact string) bool {
	for _, e := range evs {
		if e.Phase == phase && e.Status == status && e.Artifact == artifact {
			return true
		}
	}
	return false
}
