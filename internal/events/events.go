// Package events defines the phase events devloop reports while it works and
// the sinks that print them: human-readable text, or one JSON object per line
// for IDEs, scripts and the benchmark (`-o json`).
package events

import "time"

// Phases of a pass through the pipeline and of the dev loop.
const (
	PhaseConfig      = "config"
	PhaseDetect      = "detect"
	PhasePlatforms   = "platforms"
	PhaseHash        = "hash"
	PhaseBuild       = "build"
	PhaseDeliver     = "deliver"
	PhaseRender      = "render"
	PhaseApply       = "apply"
	PhasePrune       = "prune"
	PhaseStatus      = "status"
	PhaseSync        = "sync"
	PhaseHook        = "hook"
	PhaseUI          = "ui"
	PhasePortForward = "portforward"
	PhaseCycle       = "cycle"
	PhaseCleanup     = "cleanup"
	PhaseHelm        = "helm"
	PhaseRun         = "run"
	// PhaseDebug announces a debug port forwarded to this machine
	// (`devloop debug`), or a container left undebugged and why.
	PhaseDebug = "debug"
)

// Statuses of an event.
const (
	StatusStart   = "start"
	StatusDone    = "done"
	StatusSkipped = "skipped"
	StatusFailed  = "failed"
	StatusInfo    = "info"
)

// Event is one thing that happened. The JSON form is a contract for tools that
// read `-o json`: fields are only ever added.
type Event struct {
	Time       time.Time      `json:"time"`
	Phase      string         `json:"phase"`
	Status     string         `json:"status"`
	Artifact   string         `json:"artifact,omitempty"`
	Image      string         `json:"image,omitempty"`
	DurationMs int64          `json:"durationMs"`
	Message    string         `json:"message,omitempty"`
	Cycle      int            `json:"cycle,omitempty"`
	Changes    []string       `json:"changes,omitempty"`
	Counts     map[string]int `json:"counts,omitempty"`
	URL        string         `json:"url,omitempty"`
	Object     string         `json:"object,omitempty"`
	Bytes      int64          `json:"bytes,omitempty"`
	// Builder and Driver name the buildx builder of a build and its driver
	// (docker, docker-container, kubernetes, remote).
	Builder string `json:"builder,omitempty"`
	Driver  string `json:"driver,omitempty"`
	// Previous is, on the apply event of an adopted object, the object
	// the adoption replaced (without managedFields and status, Secret
	// values redacted); Changes then lists the fields it removed (-),
	// added (+) or changed (~), one line each.
	Previous map[string]any `json:"previous,omitempty"`
	// Pod, Container, Runtime (go, python, nodejs), Protocol (dap,
	// debugpy, devtools), Address (host:port on this machine) and
	// LocalPort describe a debug port on the debug event.
	Pod       string `json:"pod,omitempty"`
	Container string `json:"container,omitempty"`
	Runtime   string `json:"runtime,omitempty"`
	Protocol  string `json:"protocol,omitempty"`
	Address   string `json:"address,omitempty"`
	LocalPort int    `json:"localPort,omitempty"`
}

// Sink receives events. Implementations are safe for concurrent use.
type Sink interface {
	Emit(Event)
}

// Tee sends every event to each sink in turn (the output and the
// dashboard).
type Tee []Sink

// Emit implements Sink.
func (t Tee) Emit(e Event) {
	for _, s := range t {
		s.Emit(e)
	}
}

// Timer measures one phase and emits its start and end.
type Timer struct {
	sink  Sink
	base  Event
	start time.Time
}

// Start emits a start event and returns a Timer whose Done/Fail/Skip end it.
func Start(s Sink, base Event) *Timer {
	t := &Timer{sink: s, base: base, start: time.Now()}
	e := base
	e.Time = t.start
	e.Status = StatusStart
	s.Emit(e)
	return t
}

// Done ends the phase successfully; fill may add fields to the event.
func (t *Timer) Done(message string, fill ...func(*Event)) { t.end(StatusDone, message, fill) }

// Skip ends the phase as skipped, saying why.
func (t *Timer) Skip(message string, fill ...func(*Event)) { t.end(StatusSkipped, message, fill) }

// Fail ends the phase as failed with the error's message.
func (t *Timer) Fail(err error, fill ...func(*Event)) { t.end(StatusFailed, err.Error(), fill) }

func (t *Timer) end(status, message string, fill []func(*Event)) {
	e := t.base
	e.Time = time.Now()
	e.Status = status
	e.Message = message
	e.DurationMs = e.Time.Sub(t.start).Milliseconds()
	for _, f := range fill {
		f(&e)
	}
	t.sink.Emit(e)
}
