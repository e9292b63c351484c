package debug

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
)

// LaunchTarget is one debug port an editor attaches to: where it listens on
// this machine, and where the container's source files are locally.
type LaunchTarget struct {
	Artifact  string
	Container string
	Runtime   Runtime
	LocalPort int
	// LocalRoot is the artifact's context relative to the workspace folder
	// (the directory of devloop.yaml), slash-separated; "." is the folder.
	LocalRoot string
	// RemoteRoot is the directory LocalRoot's files are at in the container
	// (for Go, in the build that compiled it); empty when unknown, and then
	// no path mapping is written.
	RemoteRoot string
}

// LaunchPrefix starts the name of every configuration devloop writes into
// launch.json: those are the ones it replaces, the rest are the user's.
const LaunchPrefix = "devloop: "

// Name is the configuration's name in the editor's debug menu.
func (t LaunchTarget) Name() string {
	return fmt.Sprintf("%s%s (%s)", LaunchPrefix, t.Artifact, t.Container)
}

type pathMapping struct {
	LocalRoot  string `json:"localRoot"`
	RemoteRoot string `json:"remoteRoot"`
}

type substitute struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type connect struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

// launchConfig is one attach configuration, in the fields of the VS Code
// extension of its runtime: Go (mode remote, substitutePath), Python
// (debugpy: connect, pathMappings) and Node (address, localRoot/remoteRoot).
type launchConfig struct {
	Name           string        `json:"name"`
	Type           string        `json:"type"`
	Request        string        `json:"request"`
	Mode           string        `json:"mode,omitempty"`
	Host           string        `json:"host,omitempty"`
	Address        string        `json:"address,omitempty"`
	Port           int           `json:"port,omitempty"`
	Connect        *connect      `json:"connect,omitempty"`
	SubstitutePath []substitute  `json:"substitutePath,omitempty"`
	PathMappings   []pathMapping `json:"pathMappings,omitempty"`
	LocalRoot      string        `json:"localRoot,omitempty"`
	RemoteRoot     string        `json:"remoteRoot,omitempty"`
}

func (t LaunchTarget) config() (launchConfig, bool) {
	local := "${workspaceFolder}"
	if t.LocalRoot != "" && t.LocalRoot != "." {
		local += "/" + strings.TrimPrefix(t.LocalRoot, "./")
	}
	c := launchConfig{Name: t.Name(), Request: "attach"}
	switch t.Runtime {
	case Go:
		c.Type, c.Mode, c.Host, c.Port = "go", "remote", "127.0.0.1", t.LocalPort
		if t.RemoteRoot != "" {
			c.SubstitutePath = []substitute{{From: local, To: t.RemoteRoot}}
		}
	case Python:
		c.Type, c.Connect = "debugpy", &connect{Host: "127.0.0.1", Port: t.LocalPort}
		if t.RemoteRoot != "" {
			c.PathMappings = []pathMapping{{LocalRoot: local, RemoteRoot: t.RemoteRoot}}
		}
	case Node:
		c.Type, c.Address, c.Port = "node", "127.0.0.1", t.LocalPort
		if t.RemoteRoot != "" {
			c.LocalRoot, c.RemoteRoot = local, t.RemoteRoot
		}
	default:
		return c, false
	}
	return c, true
}

// UpdateLaunch returns the VS Code launch.json existing (nil or empty for
// none; comments and trailing commas are accepted, as VS Code accepts
// them) with one attach configuration per target in place of those devloop
// wrote before (named with LaunchPrefix); every other configuration and
// field is kept. Comments are not kept.
func UpdateLaunch(existing []byte, targets []LaunchTarget) ([]byte, error) {
	top := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(existing)) > 0 {
		if err := json.Unmarshal(stripJSONC(existing), &top); err != nil {
			return nil, fmt.Errorf("not a launch.json devloop can read (fix it or move it away): %w", err)
		}
	}
	var configs []json.RawMessage
	if raw, ok := top["configurations"]; ok {
		if err := json.Unmarshal(raw, &configs); err != nil {
			return nil, fmt.Errorf("configurations: not a list: %w", err)
		}
	}
	kept := configs[:0]
	for _, raw := range configs {
		var named struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(raw, &named) == nil && strings.HasPrefix(named.Name, LaunchPrefix) {
			continue
		}
		kept = append(kept, raw)
	}
	sorted := append([]LaunchTarget(nil), targets...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name() < sorted[j].Name() })
	for _, t := range sorted {
		c, ok := t.config()
		if !ok {
			continue
		}
		b, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("configuration %s: %w", t.Name(), err)
		}
		kept = append(kept, b)
	}
	if kept == nil {
		kept = []json.RawMessage{}
	}
	b, err := json.Marshal(kept)
	if err != nil {
		return nil, fmt.Errorf("configurations: %w", err)
	}
	top["configurations"] = b
	if _, ok := top["version"]; !ok {
		top["version"] = json.RawMessage(`"0.2.0"`)
	}
	out, err := json.MarshalIndent(top, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("launch.json: %w", err)
	}
	return append(out, '\n'), nil
}

// stripJSONC drops the // and /* */ comments and the trailing commas of
// JSON with comments, leaving strings as they are.
func stripJSONC(in []byte) []byte {
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(in) && in[j] != '"' {
				if in[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(in) {
				return append(out, in[i:]...)
			}
			out = append(out, in[i:j+1]...)
			i = j
		case c == '/' && i+1 < len(in) && in[i+1] == '/':
			for i < len(in) && in[i] != '\n' {
				i++
			}
			if i < len(in) {
				out = append(out, '\n')
			}
		case c == '/' && i+1 < len(in) && in[i+1] == '*':
			end := bytes.Index(in[i+2:], []byte("*/"))
			if end < 0 {
				return out
			}
			i += 2 + end + 1
		case c == ']' || c == '}':
			k := len(out) - 1
			for k >= 0 && (out[k] == ' ' || out[k] == '\t' || out[k] == '\n' || out[k] == '\r') {
				k--
			}
			if k >= 0 && out[k] == ',' {
				out = append(out[:k], out[k+1:]...)
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	return out
}

// GoBuildDir is the directory a Dockerfile compiles its Go program in: the
// WORKDIR of the stage at its first RUN of `go build` or `go install`
// (where the compiler records the source paths Delve reports); "" when
// there is none.
func GoBuildDir(dockerfile string) string {
	dir := ""
	for _, line := range dockerfileInstructions(dockerfile) {
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(word) {
		case "FROM":
			dir = ""
		case "WORKDIR":
			rest = strings.Trim(rest, `"'`)
			if path.IsAbs(rest) || dir == "" {
				dir = path.Clean("/" + rest)
			} else {
				dir = path.Join(dir, rest)
			}
		case "RUN":
			if strings.Contains(rest, "go build") || strings.Contains(rest, "go install") {
				if dir == "" {
					return "/"
				}
				return dir
			}
		}
	}
	return ""
}

// dockerfileInstructions are the instructions of a Dockerfile, one per
// element, continuation lines joined and comments left out.
func dockerfileInstructions(dockerfile string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(dockerfile, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "#") || (t == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(t, `\`) {
			cur.WriteString(strings.TrimSuffix(t, `\`) + " ")
			continue
		}
		cur.WriteString(t)
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
