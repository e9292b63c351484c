// Package dashboard serves the local web page of `devloop dev`: the
// resources and their status, the cycle in flight and a chart of the last
// cycles' phases, the last build's output, every pod's logs, the
// port-forwards with their state, and buttons that rebuild an artifact or
// redeploy. It is fed by the same events as `-o json` and by the pod log
// lines, keeps bounded buffers of both, and streams them to the page with
// server-sent events. It listens on 127.0.0.1 only, serves assets embedded
// in the binary, and refuses requests from other origins.
package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/devloop-dev/devloop/internal/events"
)

// DefaultPort is where the dashboard listens unless told otherwise; when it
// is taken, any free port is used instead.
const DefaultPort = 7357

//go:embed assets
var assets embed.FS

// Trigger is what the buttons ask of the dev loop.
type Trigger interface {
	// Rebuild builds and deploys the artifact now, even when its content
	// did not change.
	Rebuild(artifact string) error
	// Redeploy renders, applies and waits now.
	Redeploy() error
}

// ResourceLister reads the resources devloop deployed, for the table.
type ResourceLister interface {
	Resources(ctx context.Context) ([]Resource, error)
}

// Options configure a Server.
type Options struct {
	// Port to listen on (127.0.0.1); 0 means DefaultPort. When the port is
	// taken, a free one is chosen.
	Port int
	// Trigger receives the buttons' requests; nil disables them.
	Trigger Trigger
	// Resources lists the table's rows; nil shows none.
	Resources ResourceLister
	// Events and LogLines bound the history a newly opened page receives
	// (defaults 5,000 and 10,000), EventBytes and LogBytes the memory it
	// takes (defaults 512 KiB and 2 MiB; an event is about 200 bytes).
	Events, LogLines     int
	EventBytes, LogBytes int
}

// Server is the dashboard. It implements events.Sink; LogWriter takes the
// pod log lines.
type Server struct {
	log  *zap.Logger
	opts Options
	feed *feed

	mu        sync.Mutex
	trigger   Trigger
	lister    ResourceLister
	artifacts []string
	ln        net.Listener
	url       string
}

var _ events.Sink = (*Server)(nil)

// New returns a Server; Listen binds it and Start serves it.
func New(log *zap.Logger, opts Options) *Server {
	if opts.Events <= 0 {
		opts.Events = 5000
	}
	if opts.LogLines <= 0 {
		opts.LogLines = 10000
	}
	if opts.EventBytes <= 0 {
		opts.EventBytes = 512 << 10
	}
	if opts.LogBytes <= 0 {
		opts.LogBytes = 2 << 20
	}
	return &Server{log: log, opts: opts, trigger: opts.Trigger, lister: opts.Resources,
		feed: newFeed(map[string]ringSize{
			"event": {opts.Events, opts.EventBytes},
			"log":   {opts.LogLines, opts.LogBytes},
		})}
}

// SetTrigger sets what the buttons ask (the dev loop, once it exists).
func (s *Server) SetTrigger(t Trigger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trigger = t
}

// SetResources sets what the table lists (again after a reload).
func (s *Server) SetResources(r ResourceLister) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lister = r
}

// Listen binds 127.0.0.1 on the configured port, or on a free one when that
// is taken, and returns the page's URL.
func (s *Server) Listen() (string, error) {
	port := s.opts.Port
	if port == 0 {
		port = DefaultPort
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil && s.opts.Port == 0 {
		s.log.Debug("default dashboard port taken; using a free one", zap.Int("port", port), zap.Error(err))
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return "", fmt.Errorf("listening for the dashboard on 127.0.0.1:%d: %w (choose another with --ui-port, or --no-ui)", port, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ln = ln
	s.url = "http://" + ln.Addr().String() + "/"
	return s.url, nil
}

// URL is the page's address once Listen succeeded.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// SetArtifacts names the artifacts the rebuild buttons offer (again after
// a config reload).
func (s *Server) SetArtifacts(names []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.artifacts = append([]string(nil), names...)
}

// Emit implements events.Sink.
func (s *Server) Emit(e events.Event) { s.feed.publish("event", e) }

// Start serves the page until ctx ends; Listen must have succeeded.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	if ln == nil {
		return errors.New("dashboard: Start before Listen")
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	stop := context.AfterFunc(ctx, func() {
		s.feed.close()
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	})
	defer stop()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving the dashboard: %w", err)
	}
	return nil
}

// Handler is the dashboard's HTTP handler (exported for tests).
func (s *Server) Handler() http.Handler {
	static, _ := fs.Sub(assets, "assets")
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(static))
	mux.HandleFunc("GET /api/stream", s.stream)
	mux.HandleFunc("GET /api/resources", s.resources)
	mux.HandleFunc("GET /api/artifacts", s.listArtifacts)
	mux.HandleFunc("POST /api/rebuild", s.rebuild)
	mux.HandleFunc("POST /api/redeploy", s.redeploy)
	return s.guard(mux)
}

// stream sends the backlog, then every new event and log line, as
// server-sent events until the page goes away.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	backlog, ch, cancel := s.feed.subscribe(1024)
	defer cancel()
	write := func(m message) error {
		_, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", m.kind, m.data)
		return err
	}
	for _, m := range backlog {
		if write(m) != nil {
			return
		}
	}
	_, _ = fmt.Fprint(w, "event: ready\ndata: {}\n\n")
	flusher.Flush()
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			if write(m) != nil {
				return
			}
			// Send what else is queued in the same flush.
			for drained := false; !drained; {
				select {
				case m, ok := <-ch:
					if !ok || write(m) != nil {
						return
					}
				default:
					drained = true
				}
			}
			flusher.Flush()
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}

func (s *Server) resources(w http.ResponseWriter, r *http.Request) {
	out := struct {
		Resources []Resource `json:"resources"`
		Error     string     `json:"error,omitempty"`
	}{Resources: []Resource{}}
	s.mu.Lock()
	lister := s.lister
	s.mu.Unlock()
	if lister != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		res, err := lister.Resources(ctx)
		switch {
		case err != nil:
			out.Error = "reading the resources: " + err.Error()
		case res != nil: // none found stays [], never null: the page maps over it
			out.Resources = res
		}
	}
	writeJSON(w, out)
}

func (s *Server) listArtifacts(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	names := append([]string{}, s.artifacts...)
	triggers := s.trigger != nil
	s.mu.Unlock()
	writeJSON(w, map[string]any{"artifacts": names, "triggers": triggers})
}

func (s *Server) rebuild(w http.ResponseWriter, r *http.Request) {
	artifact := r.URL.Query().Get("artifact")
	s.mu.Lock()
	known := false
	for _, a := range s.artifacts {
		known = known || a == artifact
	}
	s.mu.Unlock()
	if !known {
		http.Error(w, fmt.Sprintf("no artifact %q in devloop.yaml", artifact), http.StatusBadRequest)
		return
	}
	s.ask(w, func(t Trigger) error { return t.Rebuild(artifact) })
}

func (s *Server) redeploy(w http.ResponseWriter, _ *http.Request) {
	s.ask(w, func(t Trigger) error { return t.Redeploy() })
}

func (s *Server) ask(w http.ResponseWriter, f func(Trigger) error) {
	s.mu.Lock()
	t := s.trigger
	s.mu.Unlock()
	if t == nil {
		http.Error(w, "this devloop has no triggers", http.StatusNotImplemented)
		return
	}
	if err := f(t); err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
