package debugtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

const flaskApp = `from flask import Flask

app = Flask(__name__)
VERSION = "%s"


@app.route("/")
def hello():
    return "hello " + VERSION + "\n"  # breakpoint


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8080)
`

const flaskBreakLine = 9 // the line of flaskApp marked "breakpoint"

// TestDebugPythonFlask: `devloop debug` on a Flask app run as `python3
// app.py` (debugpy from the support image: the app's image has none); a
// DAP client on the forwarded port stops a real request on the handler's
// line, continuing answers it.
func TestDebugPythonFlask(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "debug-py")
	dir := t.TempDir()
	appPort := devproc.FreePort(t)
	write := writer(t, dir)
	write("app/app.py", fmt.Sprintf(flaskApp, "v1-"+ns))
	write("app/Dockerfile", "FROM python:3.11-slim\nWORKDIR /app\nCOPY app.py .\nCMD [\"python3\", \"app.py\"]\n")
	write("k8s/kustomization.yaml", "resources: [app.yaml]\n")
	write("k8s/app.yaml", fmt.Sprintf(goManifests, "debug-py", "debug-py-app"))
	write("devloop.yaml", fmt.Sprintf(`apiVersion: devloop.dev/v1alpha1
kind: Config
metadata: {name: %s}
build:
  artifacts:
  - {image: debug-py-app, context: app}
deploy:
  namespace: %s
  kustomize: {path: k8s}
portForward:
- {resource: deployment/debug-py, port: 8080, localPort: %d}
`, ns, ns, appPort))

	p := devproc.Start(t, testenv.Binary(t), dir, "debug", "-o", "json", "--no-ui")
	t.Cleanup(func() { p.Stop(3 * time.Minute) })
	fail := func(format string, args ...any) {
		t.Helper()
		t.Logf("devloop debug:\n%s", p.Tail(60))
		t.Fatalf(format, args...)
	}
	announced, _, err := p.NextErr(0, 8*time.Minute, func(e devproc.Event) bool {
		return e.Phase == "debug" && e.Status == "done" && e.Artifact == "debug-py-app"
	})
	if err != nil {
		fail("no debug port announced: %v", err)
	}
	a := announced.Event
	if a.Runtime != "python" || a.Protocol != "debugpy" || a.Container != "app" || !strings.HasPrefix(a.Pod, "debug-py-") || a.LocalPort == 0 {
		fail("debug event %+v", a)
	}
	cmd := env.Kubectl(t, "-n", ns, "get", "pod", a.Pod, "-o", "jsonpath={.spec.containers[0].command}")
	if !strings.Contains(cmd, `"-m","debugpy","--listen","0.0.0.0:5678","app.py"`) {
		fail("container command %s", cmd)
	}
	py := dapTarget{adapter: "debugpy", attach: `{"justMyCode":false}`, source: "/app/app.py", line: flaskBreakLine, frame: "hello"}
	breakAndContinue(t, py, a.Address, fmt.Sprintf("http://127.0.0.1:%d/", appPort), "hello v1-"+ns, fail)
}
