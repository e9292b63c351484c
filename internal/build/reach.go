package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"
)

// ReachTimeout bounds how long devloop waits for a builder that is not
// running to answer (`docker buildx inspect --bootstrap`): a remote daemon
// that is unreachable, or that accepts connections and never answers, fails
// the build within it instead of hanging `devloop dev`.
const ReachTimeout = 30 * time.Second

// UnreachableError says a builder outside the engine did not answer: the
// endpoint is wrong or down, its certificates are refused, or its pods do
// not start. Output holds buildx's last lines.
type UnreachableError struct {
	Info    BuilderInfo
	Timeout time.Duration // set when devloop gave up waiting
	Output  string
	// Cause is what devloop found probing a tcp:// endpoint itself, when
	// buildx only says a deadline passed.
	Cause string
	Err   error
}

func (e *UnreachableError) Error() string {
	var b strings.Builder
	b.WriteString(e.Info.Describe())
	if e.Timeout > 0 {
		fmt.Fprintf(&b, " did not answer within %s", e.Timeout)
	} else {
		fmt.Fprintf(&b, " is not reachable: %v", e.Err)
	}
	if e.Cause != "" {
		b.WriteString(": " + e.Cause)
	} else if hint := reachHint(e.Output); hint != "" {
		b.WriteString(" (" + hint + ")")
	}
	if e.Output != "" {
		b.WriteString("; buildx said: " + lastLines(e.Output, 4))
	}
	b.WriteString("; check the endpoint and the certificates with `docker buildx inspect --bootstrap " + e.Info.Name + "`")
	return b.String()
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// reach makes sure a builder outside the engine answers before anything is
// built on it: a builder that is not running is bootstrapped (the remote
// driver connects, the kubernetes driver starts its pods) by deadline (the
// ReachTimeout that began with the status query). The engine's own builder
// is always there.
func (b *Builder) reach(ctx context.Context, info BuilderInfo, deadline time.Time) error {
	if !info.OutsideEngine() || info.Status == "running" {
		return nil
	}
	start := time.Now()
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var out bytes.Buffer
	cmd := command(rctx, b.env, b.docker, "buildx", "inspect", "--bootstrap", info.Name)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	b.log.Debug("buildx bootstrap", zap.String("builder", info.Name), zap.String("driver", info.Driver),
		zap.Duration("took", time.Since(start)), zap.Error(err))
	if err == nil {
		if st := parseInspect(out.Bytes()).Status; st == "" || st == "running" {
			return nil
		}
		err = errors.New("it is not running after bootstrap")
	}
	if ctx.Err() != nil {
		return fmt.Errorf("reaching %s: %w", info.Describe(), ctx.Err())
	}
	ue := &UnreachableError{Info: info, Output: strings.TrimSpace(out.String()), Err: err,
		Cause: probe(info.Endpoint, info.DriverOpts)}
	if rctx.Err() != nil {
		ue.Timeout = b.reachTimeout
	}
	return ue
}

// reachHint names the likely cause in buildx's output.
func reachHint(out string) string {
	o := strings.ToLower(out)
	switch {
	case strings.Contains(o, "certificate") || strings.Contains(o, "tls:") || strings.Contains(o, "x509"):
		return "TLS: the daemon and the builder's cacert, cert and key do not match"
	case strings.Contains(o, "connection refused"):
		return "nothing listens there"
	case strings.Contains(o, "deadline exceeded") || strings.Contains(o, "timeout"):
		return "no answer in time"
	}
	return ""
}

// lastLines joins the last n non-empty lines of s with " | ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
