package helm

import (
	"context"
	"log/slog"

	"go.uber.org/zap"
)

// zapHandler passes Helm's slog records to devloop's zap logger, at debug
// level: Helm's own progress is detail, devloop reports the outcome.
type zapHandler struct {
	log   *zap.Logger
	attrs []zap.Field
}

func (h zapHandler) Enabled(context.Context, slog.Level) bool {
	return h.log.Core().Enabled(zap.DebugLevel)
}

func (h zapHandler) Handle(_ context.Context, r slog.Record) error {
	fields := append([]zap.Field(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		fields = append(fields, zap.Any(a.Key, a.Value.Any()))
		return true
	})
	h.log.Debug(r.Message, fields...)
	return nil
}

func (h zapHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := zapHandler{log: h.log, attrs: append([]zap.Field(nil), h.attrs...)}
	for _, a := range as {
		out.attrs = append(out.attrs, zap.Any(a.Key, a.Value.Any()))
	}
	return out
}

func (h zapHandler) WithGroup(name string) slog.Handler {
	return zapHandler{log: h.log.Named(name), attrs: h.attrs}
}
