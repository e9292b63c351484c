package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// tailLines is how many lines of buildx output a BuildError carries.
const tailLines = 25

// Builder runs `docker buildx build` as a subprocess. It holds no per-build
// state, so several builds may run concurrently on one Builder.
type Builder struct {
	log    *zap.Logger
	docker string
	env    []string

	reachTimeout time.Duration // see ReachTimeout

	mu      sync.Mutex
	inspect map[string]BuilderInfo // builder name → capabilities, cached
}

// NewBuilder returns a Builder that runs the docker CLI found on PATH with
// the environment env (os.Environ() merged with the engine's CommandEnv).
func NewBuilder(log *zap.Logger, env []string) *Builder {
	return &Builder{log: log, docker: "docker", env: env, reachTimeout: ReachTimeout, inspect: map[string]BuilderInfo{}}
}

// Build builds one image. Cancelling ctx kills buildx and everything it
// started. A failed build returns a *BuildError.
func (b *Builder) Build(ctx context.Context, req Request) (Result, error) {
	if err := req.validate(); err != nil {
		return Result{}, err
	}
	dir, err := os.MkdirTemp("", "devloop-build-")
	if err != nil {
		return Result{}, fmt.Errorf("creating a temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	metaFile := filepath.Join(dir, "metadata.json")
	args := req.args(metaFile)
	b.log.Debug("buildx", zap.String("image", req.Image), zap.Strings("args", args))

	start := time.Now()
	cmd := command(ctx, b.env, b.docker, args...)
	tail := newTailWriter(tailLines)
	progress := req.Progress
	if progress == nil {
		progress = io.Discard
	}
	if f, ok := progress.(*os.File); ok && req.TTY {
		// buildx draws its interactive display only on a terminal of its own.
		cmd.Stdout, cmd.Stderr = f, f
	} else {
		out := io.MultiWriter(&lockedWriter{w: progress}, tail)
		cmd.Stdout, cmd.Stderr = out, out
	}
	runErr := cmd.Run()
	dur := time.Since(start)
	if runErr != nil {
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("building %s: cancelled: %w", req.Image, ctx.Err())
		}
		var execErr *os.PathError
		if errors.As(runErr, &execErr) {
			return Result{}, fmt.Errorf("running docker buildx: %w (is the docker CLI installed and on PATH?)", runErr)
		}
		if lines := tail.Lines(); missingBuildx(lines) {
			return Result{}, fmt.Errorf("building %s: %w", req.Image, errNoBuildx(lines[0]))
		}
		b.forget(req.Builder) // it may have gone away: ask again next time
		return Result{}, &BuildError{Image: req.Image, Builder: req.BuilderInfo, Err: runErr, Tail: tail.Lines()}
	}
	digest, err := readDigest(metaFile)
	if err != nil {
		return Result{}, fmt.Errorf("building %s: %w", req.Image, err)
	}
	res := Result{TagRef: req.TagRef(), Ref: req.TagRef(), Digest: digest, Platforms: req.Platforms, Duration: dur}
	if req.Output == OutputPush {
		if digest == "" {
			return Result{}, fmt.Errorf("building %s: buildx pushed but reported no digest", req.Image)
		}
		res.Ref = req.PushRepo + "@" + digest
	}
	b.log.Info("built", zap.String("image", req.Image), zap.String("ref", res.Ref),
		zap.Strings("platforms", req.Platforms), zap.Duration("duration", dur))
	return res, nil
}

// forget drops the cached capabilities of a builder.
func (b *Builder) forget(name string) {
	b.mu.Lock()
	delete(b.inspect, name)
	b.mu.Unlock()
}

// readDigest reads the image digest from a buildx --metadata-file.
func readDigest(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading buildx metadata: %w", err)
	}
	return parseMetadata(b)
}

func parseMetadata(b []byte) (string, error) {
	var meta map[string]any
	if err := json.Unmarshal(b, &meta); err != nil {
		return "", fmt.Errorf("parsing buildx metadata: %w", err)
	}
	d, _ := meta["containerimage.digest"].(string)
	if d != "" && !strings.HasPrefix(d, "sha256:") {
		return "", fmt.Errorf("buildx metadata: unexpected digest %q", d)
	}
	return d, nil
}

// errNoBuildx is the error for a docker CLI without the buildx plugin;
// answer is the first line the CLI printed.
func errNoBuildx(answer string) error {
	return fmt.Errorf("the docker buildx plugin is not installed (the docker CLI answered %q): "+
		"install it as a CLI plugin (docker-buildx in $DOCKER_CONFIG/cli-plugins or ~/.docker/cli-plugins)", strings.TrimSpace(answer))
}

// missingBuildx reports whether the docker CLI's output says it has no buildx
// plugin: without it, `docker buildx build --progress ...` fails on the
// first flag (or names buildx an unknown command).
func missingBuildx(lines []string) bool {
	if len(lines) == 0 {
		return false
	}
	first := strings.TrimSpace(lines[0])
	if strings.Contains(first, "'buildx' is not a docker command") || strings.Contains(first, "unknown command: docker buildx") {
		return true
	}
	// An old buildx rejecting a flag prints its own usage ("docker buildx
	// build [OPTIONS] ..."); the docker CLI without buildx prints its top-level one.
	if !strings.HasPrefix(first, "unknown flag: --") {
		return false
	}
	for _, l := range lines {
		if strings.Contains(l, "Usage:  docker [OPTIONS] COMMAND") {
			return true
		}
	}
	return false
}
