package debugtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-dap"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// The Go app: a handler whose answer line is where the breakpoint goes.
const goMain = `package main

import (
	"fmt"
	"net/http"
)

func hello(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "hello %s\n", version) // breakpoint
}

func main() {
	http.HandleFunc("/", hello)
	if err := http.ListenAndServe(":8080", nil); err != nil {
		panic(err)
	}
}
`

const goBreakLine = 9 // the line of goMain marked "breakpoint"

// goDockerfile builds the app FROM scratch without using the debug build
// argument (optimised code); GOTRACEBACK tells the runtime, as Skaffold
// documents. The plain variant says nothing of its runtime.
const goDockerfile = `FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod *.go ./
RUN CGO_ENABLED=0 go build -o /app .

FROM scratch
COPY --from=build /app /app
%sENTRYPOINT ["/app"]
`

const goManifests = `apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      containers:
      - name: app
        image: %[2]s
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
        livenessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1, failureThreshold: 2}
`

// TestDebugGo: `devloop debug` on a Go app FROM scratch; a DAP client on
// the forwarded port sets a breakpoint in the handler, a real request
// stops on that line, continuing answers it; an edit rebuilds, redeploys,
// and the same local port attaches again. The artifact whose runtime is
// unknown runs undebugged and is said so.
func TestDebugGo(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "debug-go")
	dir := t.TempDir()
	appPort := devproc.FreePort(t)
	write := writer(t, dir)
	write("app/go.mod", "module debugapp\n\ngo 1.26\n")
	write("app/main.go", goMain)
	write("app/version.go", "package main\n\nconst version = \"v1-"+ns+"\"\n")
	write("app/Dockerfile", fmt.Sprintf(goDockerfile, "ENV GOTRACEBACK=single\n"))
	write("app/Dockerfile.plain", fmt.Sprintf(goDockerfile, ""))
	write("k8s/kustomization.yaml", "resources: [go.yaml, plain.yaml]\n")
	write("k8s/go.yaml", fmt.Sprintf(goManifests, "debug-go", "debug-go-app"))
	write("k8s/plain.yaml", fmt.Sprintf(goManifests, "debug-plain", "debug-plain-app"))
	write("devloop.yaml", fmt.Sprintf(`apiVersion: devloop.dev/v1alpha1
kind: Config
metadata: {name: %s}
build:
  artifacts:
  - {image: debug-go-app, context: app}
  - {image: debug-plain-app, context: app, dockerfile: Dockerfile.plain}
deploy:
  namespace: %s
  kustomize: {path: k8s}
portForward:
- {resource: deployment/debug-go, port: 8080, localPort: %d}
`, ns, ns, appPort))

	p := devproc.Start(t, testenv.Binary(t), dir, "debug", "-o", "json", "--no-ui")
	t.Cleanup(func() { p.Stop(3 * time.Minute) })
	fail := func(format string, args ...any) {
		t.Helper()
		t.Logf("devloop debug:\n%s", p.Tail(60))
		t.Fatalf(format, args...)
	}
	undebugged, _, err := p.NextErr(0, 8*time.Minute, func(e devproc.Event) bool {
		return e.Phase == "debug" && e.Artifact == "debug-plain-app"
	})
	if err != nil {
		fail("no debug event for the artifact whose runtime is unknown: %v", err)
	}
	if undebugged.Status != "info" || undebugged.Runtime != "" || !strings.Contains(undebugged.Message, "runs undebugged") ||
		!strings.Contains(undebugged.Message, "runtime is unknown") {
		fail("the unknown runtime was announced as %+v", undebugged.Event)
	}
	announced, i, err := p.NextErr(0, 8*time.Minute, func(e devproc.Event) bool {
		return e.Phase == "debug" && e.Status == "done" && e.Artifact == "debug-go-app"
	})
	if err != nil {
		fail("no debug port announced: %v", err)
	}
	a := announced.Event
	if a.Runtime != "go" || a.Protocol != "dap" || a.Container != "app" || !strings.HasPrefix(a.Pod, "debug-go-") ||
		a.LocalPort == 0 || a.Address != fmt.Sprintf("127.0.0.1:%d", a.LocalPort) {
		fail("debug event %+v", a)
	}
	// The debugged pod: under dlv, probes gone, annotated as Skaffold does.
	pod := env.Kubectl(t, "-n", ns, "get", "pod", a.Pod, "-o", "json")
	var po struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			Containers []struct {
				Command        []string `json:"command"`
				ReadinessProbe any      `json:"readinessProbe"`
				LivenessProbe  any      `json:"livenessProbe"`
			} `json:"containers"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(pod), &po); err != nil {
		t.Fatal(err)
	}
	c := po.Spec.Containers[0]
	if len(c.Command) < 2 || c.Command[0] != "/dbg/go/dlv" || c.ReadinessProbe != nil || c.LivenessProbe != nil {
		fail("debugged container: command %q, probes %v %v", c.Command, c.ReadinessProbe, c.LivenessProbe)
	}
	if ann := po.Metadata.Annotations["debug.cloud.google.com/config"]; !strings.Contains(ann, `"runtime":"go"`) {
		fail("pod annotation %q", ann)
	}
	plain := env.Kubectl(t, "-n", ns, "get", "deployment", "debug-plain", "-o", "jsonpath={.spec.template.spec.containers[0].command}")
	if strings.TrimSpace(plain) != "" {
		fail("the undebugged container's command was rewritten: %s", plain)
	}

	appURL := fmt.Sprintf("http://127.0.0.1:%d/", appPort)
	breakAndContinue(t, goTarget, a.Address, appURL, "hello v1-"+ns, fail)

	// An edit: rebuilt, redeployed, and the same local port attaches again.
	write("app/version.go", "package main\n\nconst version = \"v2-"+ns+"\"\n")
	var again devproc.Event
	for {
		again, i, err = p.NextErr(i+1, 6*time.Minute, func(e devproc.Event) bool {
			return (e.Phase == "cycle" && (e.Status == "done" || e.Status == "failed")) || (e.Phase == "debug" && e.Status == "done")
		})
		if err != nil {
			fail("no redeploy after the edit: %v", err)
		}
		if again.Phase == "cycle" {
			if again.Status == "failed" {
				fail("the cycle after the edit failed: %s", again.Message)
			}
			break
		}
		if again.LocalPort != a.LocalPort {
			fail("the debug port moved from %d to %d after the redeploy", a.LocalPort, again.LocalPort)
		}
	}
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(get(client, appURL), "v2-"+ns) {
		if time.Now().After(deadline) {
			fail("the edit was not served within 2m")
		}
		time.Sleep(200 * time.Millisecond)
	}
	breakAndContinue(t, goTarget, a.Address, appURL, "hello v2-"+ns, fail)

	// Ctrl-C: what debug applied, with its rewritten pod templates, is gone.
	if p.Stop(3 * time.Minute) {
		fail("devloop debug did not end within 3m of SIGINT")
	}
	if left := env.Kubectl(t, "-n", ns, "get", "deployments,pods", "-o", "name"); strings.Contains(left, "deployment.apps/") {
		t.Fatalf("left after Ctrl-C: %s", left)
	}
}

// dapTarget is how a DAP client attaches to a runtime's debugger and where
// the breakpoint goes.
type dapTarget struct {
	adapter string // the initialize request's adapterID
	attach  string // the attach request's arguments
	source  string // the source's path in the container
	line    int
	frame   string // part of the top frame's name when stopped
	// clear clears the breakpoints before detaching (Delve keeps them for
	// the next client; debugpy drops them on disconnect and fails a
	// setBreakpoints without breakpoints, which go-dap cannot send empty).
	clear bool
}

var goTarget = dapTarget{adapter: "go", attach: `{"mode":"remote"}`, source: "/src/main.go", line: goBreakLine, frame: "hello", clear: true}

// breakAndContinue attaches to the debugger at addr over DAP, sets the
// breakpoint, sends a real request to url, checks that it stops on the
// line (stopped event, top frame), continues, and checks the request is
// answered with want; then it detaches, leaving the app running.
func breakAndContinue(t *testing.T, tg dapTarget, addr, url, want string, fail func(string, ...any)) {
	t.Helper()
	c := testenv.DialDAP(t, addr, time.Minute)
	defer c.Close()
	c.Request(&dap.InitializeRequest{Request: dap.Request{Command: "initialize"}, Arguments: dap.InitializeRequestArguments{
		ClientID: "devloop-test", AdapterID: tg.adapter, PathFormat: "path", LinesStartAt1: true, ColumnsStartAt1: true}}, time.Minute)
	// debugpy answers attach only after configurationDone: its response
	// is collected then.
	attach, err := c.Send(&dap.AttachRequest{Request: dap.Request{Command: "attach"}, Arguments: json.RawMessage(tg.attach)})
	if err != nil {
		fail("dap: %v", err)
	}
	c.WaitEvent(time.Minute, "initialized", func(e dap.EventMessage) bool { return e.GetEvent().Event == "initialized" })
	resp := c.Request(&dap.SetBreakpointsRequest{Request: dap.Request{Command: "setBreakpoints"}, Arguments: dap.SetBreakpointsArguments{
		Source: dap.Source{Path: tg.source}, Breakpoints: []dap.SourceBreakpoint{{Line: tg.line}}}}, time.Minute)
	if bps := resp.(*dap.SetBreakpointsResponse).Body.Breakpoints; len(bps) != 1 || !bps[0].Verified {
		fail("breakpoint not verified: %+v", bps)
	}
	c.Request(&dap.ConfigurationDoneRequest{Request: dap.Request{Command: "configurationDone"}}, time.Minute)
	if _, err := c.Response(attach, "attach", time.Minute); err != nil {
		fail("dap: %v", err)
	}

	answered := make(chan string, 1)
	go func() {
		client := &http.Client{Timeout: 2 * time.Minute}
		answered <- get(client, url)
	}()
	stopped := c.WaitEvent(time.Minute, "stopped", func(e dap.EventMessage) bool { return e.GetEvent().Event == "stopped" }).(*dap.StoppedEvent)
	if stopped.Body.Reason != "breakpoint" {
		fail("stopped for %q, want breakpoint", stopped.Body.Reason)
	}
	select {
	case body := <-answered:
		fail("the request was answered (%q) while stopped on the breakpoint", body)
	default:
	}
	st := c.Request(&dap.StackTraceRequest{Request: dap.Request{Command: "stackTrace"}, Arguments: dap.StackTraceArguments{
		ThreadId: stopped.Body.ThreadId, Levels: 5}}, time.Minute).(*dap.StackTraceResponse)
	if len(st.Body.StackFrames) == 0 {
		fail("empty stack trace")
	}
	top := st.Body.StackFrames[0]
	if top.Line != tg.line || top.Source == nil || top.Source.Path != tg.source || !strings.Contains(top.Name, tg.frame) {
		fail("top frame %s at %+v:%d, want %s at %s:%d", top.Name, top.Source, top.Line, tg.frame, tg.source, tg.line)
	}
	c.Request(&dap.ContinueRequest{Request: dap.Request{Command: "continue"}, Arguments: dap.ContinueArguments{ThreadId: stopped.Body.ThreadId}}, time.Minute)
	select {
	case body := <-answered:
		if !strings.Contains(body, want) {
			fail("after continue the request got %q, want %q", body, want)
		}
	case <-time.After(time.Minute):
		fail("the request was not answered within 1m of continue")
	}
	// Detach: no breakpoint left, the debuggee running.
	if tg.clear {
		c.Request(&dap.SetBreakpointsRequest{Request: dap.Request{Command: "setBreakpoints"}, Arguments: dap.SetBreakpointsArguments{
			Source: dap.Source{Path: tg.source}}}, time.Minute)
	}
	_, _ = c.Try(&dap.DisconnectRequest{Request: dap.Request{Command: "disconnect"}, Arguments: &dap.DisconnectArguments{TerminateDebuggee: false}}, 10*time.Second)
}

// writer returns a function writing files under dir.
func writer(t *testing.T, dir string) func(rel, body string) {
	return func(rel, body string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// get returns the body of a GET of url, or the error's text.
func get(client *http.Client, url string) string {
	ctx, cancel := context.WithTimeout(context.Background(), client.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
