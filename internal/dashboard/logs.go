package dashboard

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
)

// LogLine is one line a container printed, as the page receives it.
type LogLine struct {
	Time      time.Time `json:"time"`
	Pod       string    `json:"pod"`
	Container string    `json:"container"`
	Text      string    `json:"text"`
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// LogWriter returns a writer for the log streamer's output ("pod/container |
// text" lines, colored or not): each whole line goes to the page.
func (s *Server) LogWriter() io.Writer { return &logWriter{s: s} }

type logWriter struct {
	s   *Server
	mu  sync.Mutex
	buf []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.s.feed.publish("log", parseLogLine(string(w.buf[:i])))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a line with no end: send what there is
		w.s.feed.publish("log", parseLogLine(string(w.buf)))
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

// parseLogLine splits "pod/container | text".
func parseLogLine(line string) LogLine {
	line = ansi.ReplaceAllString(line, "")
	l := LogLine{Time: time.Now(), Text: line}
	prefix, text, ok := strings.Cut(line, " | ")
	if !ok {
		return l
	}
	pod, container, _ := strings.Cut(prefix, "/")
	l.Pod, l.Container, l.Text = pod, container, text
	return l
}
