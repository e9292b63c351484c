package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/kube"
	"github.com/devloop-dev/devloop/internal/pipeline"
)

// Exit codes are a contract with scripts.
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // a build, deploy or rollout failed
	ExitUsage   = 2 // bad flags, bad config, a refused or unknown kube context
	ExitSignal  = 130
)

// UsageError marks an error as the user's input being wrong (exit code 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ExitCode maps an error to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ue *UsageError
	var ce *config.Error
	var cl config.ErrorList
	var na *kube.NotAllowedError
	var kc *kube.ContextError
	var ie *pipeline.InputError
	switch {
	case errors.As(err, &ue), errors.As(err, &ce), errors.As(err, &cl), errors.As(err, &na), errors.As(err, &kc), errors.As(err, &ie):
		return ExitUsage
	case errors.Is(err, context.Canceled):
		return ExitSignal
	}
	return ExitFailure
}
