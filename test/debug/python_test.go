package debugtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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

	write(".vscode/launch.json", "{\n  // the user's own\n  \"version\": \"0.2.0\",\n  \"configurations\": [{\"name\": \"mine\", \"type\": \"debugpy\", \"request\": \"launch\"},]\n}\n")

	p := devproc.Start(t, testenv.Binary(t), dir, "debug", "-o", "json", "--no-ui", "--write-launch")
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
	checkLaunch(t, filepath.Join(dir, ".vscode", "launch.json"), "mine", "devloop: debug-py-app (app)", func(c map[string]any) bool {
		conn, _ := c["connect"].(map[string]any)
		maps, _ := c["pathMappings"].([]any)
		if conn == nil || len(maps) != 1 {
			return false
		}
		m, _ := maps[0].(map[string]any)
		return c["type"] == "debugpy" && c["request"] == "attach" && conn["host"] == "127.0.0.1" &&
			conn["port"] == float64(a.LocalPort) && m["localRoot"] == "${workspaceFolder}/app" && m["remoteRoot"] == "/app"
	}, fail)
	py := dapTarget{adapter: "debugpy", attach: `{"justMyCode":false}`, source: "/app/app.py", line: flaskBreakLine, frame: "hello"}
	breakAndContinue(t, py, a.Address, fmt.Sprintf("http://127.0.0.1:%d/", appPort), "hello v1-"+ns, fail)
}

// checkLaunch waits for the launch.json that --write-launch writes to hold
// the user's configuration named kept and devloop's named name, for which
// ok holds.
func checkLaunch(t *testing.T, file, kept, name string, ok func(map[string]any) bool, fail func(string, ...any)) {
	t.Helper()
	var last string
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(file)
		last = string(b)
		var launch struct {
			Configurations []map[string]any `json:"configurations"`
		}
		if err == nil && json.Unmarshal(b, &launch) == nil {
			names := map[string]map[string]any{}
			for _, c := range launch.Configurations {
				if n, _ := c["name"].(string); n != "" {
					names[n] = c
				}
			}
			if c := names[name]; names[kept] != nil && c != nil && ok(c) {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	fail("%s never held %q beside %q as expected:\n%s", file, name, kept, last)
}
