package build

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// BuilderInfo is what `docker buildx inspect` says about a builder.
type BuilderInfo struct {
	Name      string
	Driver    string
	Platforms []string
	// Endpoint is the first node's endpoint (a socket, tcp://HOST:PORT, or
	// kubernetes:///NAME?deployment=...).
	Endpoint string
	// Status is the first node's status (running, inactive, stopped, ...).
	Status string
	// DriverOpts are the first node's driver options (cacert, cert, key, ...).
	DriverOpts map[string]string
}

// MultiPlatform reports whether the builder's driver can produce a
// multi-platform image in one build (the engine's own `docker` driver cannot).
func (i BuilderInfo) MultiPlatform() bool {
	return i.Driver != "docker"
}

// OutsideEngine reports whether the builder builds outside the engine the
// docker CLI talks to (every driver but `docker`): an image it loads travels
// back to the engine as a tarball, so pushing to a registry is cheaper.
func (i BuilderInfo) OutsideEngine() bool {
	return i.Driver != "" && i.Driver != "docker"
}

// Describe names the builder, its driver and, for drivers that reach a
// daemon elsewhere, its endpoint.
func (i BuilderInfo) Describe() string {
	s := fmt.Sprintf("buildx builder %q (driver %s", i.Name, i.Driver)
	if i.Endpoint != "" && i.Driver != "docker" {
		s += ", endpoint " + i.Endpoint
	}
	return s + ")"
}

// Inspect returns the capabilities of the named builder, or of the current
// one when name is empty. Results are cached per name.
func (b *Builder) Inspect(ctx context.Context, name string) (BuilderInfo, error) {
	b.mu.Lock()
	info, ok := b.inspect[name]
	b.mu.Unlock()
	if ok {
		return info, nil
	}
	args := []string{"buildx", "inspect"}
	if name != "" {
		args = append(args, name)
	}
	// One bound for the status query and the bootstrap: buildx's status
	// query alone waits 20 s for a daemon that does not answer.
	deadline := time.Now().Add(b.reachTimeout)
	ictx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var out bytes.Buffer
	cmd := command(ictx, b.env, b.docker, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ictx.Err() != nil && ctx.Err() == nil {
			return BuilderInfo{}, fmt.Errorf("inspecting buildx builder %q: no answer within %s: is its endpoint reachable? (`docker buildx inspect --bootstrap %s`)",
				name, b.reachTimeout, name)
		}
		if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); missingBuildx(lines) {
			return BuilderInfo{}, fmt.Errorf("inspecting the buildx builder: %w", errNoBuildx(lines[0]))
		}
		what := "the current buildx builder"
		if name != "" {
			what = fmt.Sprintf("buildx builder %q", name)
		}
		return BuilderInfo{}, fmt.Errorf("inspecting %s: %w: %s (list builders with `docker buildx ls`)",
			what, err, strings.TrimSpace(out.String()))
	}
	info = parseInspect(out.Bytes())
	if info.Driver == "" {
		return BuilderInfo{}, fmt.Errorf("inspecting buildx builder %q: no driver in output: %s", name, strings.TrimSpace(out.String()))
	}
	if err := b.reach(ctx, info, deadline); err != nil {
		return BuilderInfo{}, err
	}
	b.mu.Lock()
	b.inspect[name] = info
	b.mu.Unlock()
	b.log.Debug("buildx builder", zap.String("name", info.Name), zap.String("driver", info.Driver),
		zap.Strings("platforms", info.Platforms))
	return info, nil
}

// parseInspect reads the text output of `docker buildx inspect`.
func parseInspect(out []byte) BuilderInfo {
	var info BuilderInfo
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "Name":
			if info.Name == "" {
				info.Name = val
			}
		case "Driver":
			if info.Driver == "" {
				info.Driver = val
			}
		case "Endpoint":
			if info.Endpoint == "" {
				info.Endpoint = val
			}
		case "Status":
			if info.Status == "" {
				info.Status = val
			}
		case "Driver Options":
			if info.DriverOpts == nil {
				info.DriverOpts = parseDriverOpts(val)
			}
		case "Platforms":
			for _, p := range strings.Split(val, ",") {
				p = NormalizePlatform(strings.TrimSuffix(strings.TrimSpace(p), "*"))
				if p != "" && !slices.Contains(info.Platforms, p) {
					info.Platforms = append(info.Platforms, p)
				}
			}
		}
	}
	return info
}

// PlanOutput decides how a build of platforms on the builder info must
// output its image. One platform loads into the engine (any driver can, also
// for a foreign architecture through emulation) unless a registry is set and
// push is preferred or the builder builds outside the engine (kubernetes,
// remote, docker-container drivers: only missing layers then travel, once). Several platforms need a multi-platform driver and a
// registry to push the manifest list to; otherwise a *CapabilityError says
// what to configure.
func PlanOutput(info BuilderInfo, platforms []string, registry string, preferPush bool) (Output, error) {
	if len(platforms) <= 1 {
		if registry != "" && (preferPush || info.OutsideEngine()) {
			return OutputPush, nil
		}
		return OutputLoad, nil
	}
	list := strings.Join(platforms, ",")
	if !info.MultiPlatform() {
		return 0, &CapabilityError{Builder: info.Name, Driver: info.Driver, Reason: fmt.Sprintf(
			"cannot build several platforms (%s) in one build: set build.builder in devloop.yaml "+
				"(or --builder) to a multi-platform builder (remote, docker-container or kubernetes driver, "+
				"e.g. `docker buildx create --driver docker-container`; in the test environment $DEVLOOP_BUILDER_MULTI), "+
				"and set registry to push the manifest list to", list)}
	}
	if registry == "" {
		return 0, &CapabilityError{Builder: info.Name, Driver: info.Driver, Reason: fmt.Sprintf(
			"builds several platforms (%s) as one manifest list, which only a registry can hold: "+
				"set registry in devloop.yaml (e.g. registry: 127.0.0.1:5000), or build one platform with --platform", list)}
	}
	return OutputPush, nil
}
