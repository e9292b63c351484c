// Package docker finds and connects to the Docker Engine that the user's
// `docker` CLI talks to: DOCKER_HOST, else the current docker context, else
// the default socket.
package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultHost is the engine address used when neither DOCKER_HOST nor a docker
// context names another one.
const DefaultHost = "unix:///var/run/docker.sock"

// Endpoint is where the engine is and why devloop chose it.
type Endpoint struct {
	// Host is the engine address, e.g. unix:///var/run/docker.sock.
	Host string
	// Context is the docker context the address came from; empty when it came
	// from DOCKER_HOST or the default.
	Context string
	// Source says where Host came from, for messages ("DOCKER_HOST",
	// `docker context "colima"`, "the default socket").
	Source string
	// ConfigDir is the docker CLI configuration directory (DOCKER_CONFIG or
	// ~/.docker): it holds contexts, buildx builders and CLI plugins.
	ConfigDir string
	// TLS holds the client certificate files of a context that uses TLS; nil
	// otherwise.
	TLS *TLSFiles
	// SkipTLSVerify is the context's SkipTLSVerify setting.
	SkipTLSVerify bool
	// fromEnv is true when Host came from DOCKER_HOST, whose TLS settings
	// (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) then apply too.
	fromEnv bool
}

// TLSFiles are the PEM files of a docker context's TLS material.
type TLSFiles struct {
	CA, Cert, Key string
}

// Getenv reads an environment variable; os.Getenv in production, a map in tests.
type Getenv func(string) string

// Resolve finds the engine endpoint the docker CLI would use, reading the
// environment through getenv and the docker configuration from disk.
func Resolve(getenv Getenv) (Endpoint, error) {
	cfgDir := getenv("DOCKER_CONFIG")
	if cfgDir == "" {
		home := getenv("HOME")
		if home == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return Endpoint{}, fmt.Errorf("finding the docker config directory: %w", err)
			}
			home = h
		}
		cfgDir = filepath.Join(home, ".docker")
	}
	if host := getenv("DOCKER_HOST"); host != "" {
		return Endpoint{Host: host, Source: "DOCKER_HOST", ConfigDir: cfgDir, fromEnv: true}, nil
	}
	name := getenv("DOCKER_CONTEXT")
	source := "DOCKER_CONTEXT"
	if name == "" {
		n, err := currentContext(cfgDir)
		if err != nil {
			return Endpoint{}, err
		}
		name, source = n, "currentContext in "+filepath.Join(cfgDir, "config.json")
	}
	if name == "" || name == "default" {
		return Endpoint{Host: DefaultHost, Source: "the default socket", ConfigDir: cfgDir}, nil
	}
	ep, err := contextEndpoint(cfgDir, name)
	if err != nil {
		return Endpoint{}, fmt.Errorf("reading docker context %q (%s): %w", name, source, err)
	}
	ep.Source = fmt.Sprintf("docker context %q", name)
	return ep, nil
}

func currentContext(cfgDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(cfgDir, "config.json"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading docker config: %w", err)
	}
	var cfg struct {
		CurrentContext string `json:"currentContext"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return "", fmt.Errorf("parsing %s: %w", filepath.Join(cfgDir, "config.json"), err)
	}
	return cfg.CurrentContext, nil
}

// contextDir is the directory name the docker CLI gives a context: the hex
// SHA-256 of its name.
func contextDir(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

func contextEndpoint(cfgDir, name string) (Endpoint, error) {
	id := contextDir(name)
	metaPath := filepath.Join(cfgDir, "contexts", "meta", id, "meta.json")
	b, err := os.ReadFile(metaPath)
	if err != nil {
		return Endpoint{}, fmt.Errorf("reading context metadata: %w", err)
	}
	var meta struct {
		Endpoints map[string]struct {
			Host          string `json:"Host"`
			SkipTLSVerify bool   `json:"SkipTLSVerify"`
		} `json:"Endpoints"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return Endpoint{}, fmt.Errorf("parsing %s: %w", metaPath, err)
	}
	d, ok := meta.Endpoints["docker"]
	if !ok || d.Host == "" {
		return Endpoint{}, fmt.Errorf("%s has no docker endpoint", metaPath)
	}
	ep := Endpoint{Host: d.Host, Context: name, ConfigDir: cfgDir, SkipTLSVerify: d.SkipTLSVerify}
	tlsDir := filepath.Join(cfgDir, "contexts", "tls", id, "docker")
	files := TLSFiles{
		CA:   filepath.Join(tlsDir, "ca.pem"),
		Cert: filepath.Join(tlsDir, "cert.pem"),
		Key:  filepath.Join(tlsDir, "key.pem"),
	}
	if exists(files.Cert) && exists(files.Key) {
		if !exists(files.CA) {
			files.CA = ""
		}
		ep.TLS = &files
	}
	return ep, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// CommandEnv returns the variables a `docker` CLI subprocess (buildx) needs to
// talk to this same engine and find the same builders and plugins. Append
// them to os.Environ(); they override inherited values.
func (e Endpoint) CommandEnv() []string {
	var env []string
	if e.ConfigDir != "" {
		env = append(env, "DOCKER_CONFIG="+e.ConfigDir)
	}
	switch {
	case e.fromEnv:
		env = append(env, "DOCKER_HOST="+e.Host)
	case e.Context != "":
		// DOCKER_HOST would win over the context; the context also carries TLS.
		env = append(env, "DOCKER_HOST=", "DOCKER_CONTEXT="+e.Context)
	default:
		env = append(env, "DOCKER_HOST="+e.Host, "DOCKER_CONTEXT=")
	}
	return env
}

// String describes the endpoint for messages.
func (e Endpoint) String() string {
	return fmt.Sprintf("%s (from %s)", e.Host, e.Source)
}

// MergeEnv overlays extra KEY=VALUE entries on base; an entry with an empty
// value removes the variable.
func MergeEnv(base, extra []string) []string {
	override := map[string]string{}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		override[k] = v
	}
	out := make([]string, 0, len(base)+len(extra))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := override[k]; !ok {
			out = append(out, kv)
		}
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}
