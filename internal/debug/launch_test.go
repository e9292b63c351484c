package debug

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestUpdateLaunchKeepsTheUsersConfigurations(t *testing.T) {
	existing := `{
  // Use IntelliSense to learn about possible attributes.
  "version": "0.2.0",
  "configurations": [
    {"name": "Launch tests", "type": "go", "request": "launch", "program": "${workspaceFolder}", "url": "http://x//y"},
    /* written by devloop before: replaced */
    {"name": "devloop: old (app)", "type": "go", "request": "attach", "port": 1},
  ],
  "compounds": [],
}`
	targets := []LaunchTarget{
		{Artifact: "web", Container: "app", Runtime: Python, LocalPort: 5678, LocalRoot: "web", RemoteRoot: "/app"},
		{Artifact: "api", Container: "api", Runtime: Go, LocalPort: 56268, LocalRoot: ".", RemoteRoot: "/src"},
		{Artifact: "ui", Container: "ui", Runtime: Node, LocalPort: 9229, LocalRoot: "./ui"},
		{Artifact: "other", Container: "x", Runtime: "", LocalPort: 1},
	}
	out, err := UpdateLaunch([]byte(existing), targets)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Version        string           `json:"version"`
		Configurations []map[string]any `json:"configurations"`
		Compounds      []any            `json:"compounds"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Version != "0.2.0" || got.Compounds == nil {
		t.Errorf("top-level fields not kept:\n%s", out)
	}
	var names []string
	for _, c := range got.Configurations {
		names = append(names, c["name"].(string))
	}
	want := "Launch tests,devloop: api (api),devloop: ui (ui),devloop: web (app)"
	if strings.Join(names, ",") != want {
		t.Fatalf("configurations %v, want %s", names, want)
	}
	if u := got.Configurations[0]["url"]; u != "http://x//y" {
		t.Errorf("a string with // changed: %v", u)
	}
	g := got.Configurations[1]
	if g["type"] != "go" || g["mode"] != "remote" || g["host"] != "127.0.0.1" || g["port"] != float64(56268) {
		t.Errorf("go configuration: %v", g)
	}
	if sp := g["substitutePath"].([]any)[0].(map[string]any); sp["from"] != "${workspaceFolder}" || sp["to"] != "/src" {
		t.Errorf("go substitutePath: %v", sp)
	}
	n := got.Configurations[2]
	if n["type"] != "node" || n["address"] != "127.0.0.1" || n["port"] != float64(9229) || n["localRoot"] != nil {
		t.Errorf("node configuration (no remote root, so no mapping): %v", n)
	}
	p := got.Configurations[3]
	conn := p["connect"].(map[string]any)
	pm := p["pathMappings"].([]any)[0].(map[string]any)
	if p["type"] != "debugpy" || conn["host"] != "127.0.0.1" || conn["port"] != float64(5678) ||
		pm["localRoot"] != "${workspaceFolder}/web" || pm["remoteRoot"] != "/app" {
		t.Errorf("python configuration: %v", p)
	}

	again, err := UpdateLaunch(out, targets)
	if err != nil || string(again) != string(out) {
		t.Errorf("a second update changed the file (err %v):\n%s\n---\n%s", err, out, again)
	}
}

func TestUpdateLaunchNewAndBadFiles(t *testing.T) {
	out, err := UpdateLaunch(nil, []LaunchTarget{{Artifact: "a", Container: "c", Runtime: Go, LocalPort: 2345}})
	if err != nil || !strings.Contains(string(out), `"version": "0.2.0"`) || !strings.Contains(string(out), `"devloop: a (c)"`) {
		t.Errorf("new file: %v\n%s", err, out)
	}
	for _, bad := range []string{`{"configurations": {}}`, `[1, 2]`, `{"version": `} {
		if _, err := UpdateLaunch([]byte(bad), nil); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestGoBuildDir(t *testing.T) {
	for _, c := range []struct{ dockerfile, want string }{
		{"FROM golang:1.26 AS build\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nFROM scratch\nWORKDIR /\n", "/src"},
		{"FROM golang AS b\nWORKDIR /go\nWORKDIR src/app\n# RUN go build in a comment\nRUN apk add git && \\\n  go build -o /x ./cmd/x\n", "/go/src/app"},
		{"FROM golang\nRUN go install ./...\n", "/"},
		{"FROM golang\nWORKDIR /w\nFROM scratch\nCOPY x /x\n", ""},
	} {
		if got := GoBuildDir(c.dockerfile); got != c.want {
			t.Errorf("GoBuildDir(%q) = %q, want %q", c.dockerfile, got, c.want)
		}
	}
}
