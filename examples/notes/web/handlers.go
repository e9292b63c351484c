package main

import (
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"log"
	"net/http"
	"strings"
)

//go:embed templates/page.html
var templateFS embed.FS

// maxBody bounds request bodies; notes are short.
const maxBody = 64 << 10

// Notes is what the web frontend needs from the store.
type Notes interface {
	List(ctx context.Context) ([]Note, error)
	Add(ctx context.Context, text string) (Note, error)
}

type server struct {
	notes  Notes
	title  string
	logger *log.Logger
	page   *template.Template
}

type pageData struct {
	Title   string
	Version string
	Notes   []Note
	Error   string
}

// newHandler serves the page (GET /, POST /add), the JSON API
// (GET and POST /api/notes), GET /version and GET /healthz.
func newHandler(notes Notes, title string, logger *log.Logger) (http.Handler, error) {
	page, err := template.ParseFS(templateFS, "templates/page.html")
	if err != nil {
		return nil, err
	}
	s := &server{notes: notes, title: title, logger: logger, page: page}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(Version + "\n"))
	})
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("POST /add", s.addForm)
	mux.HandleFunc("GET /api/notes", s.listJSON)
	mux.HandleFunc("POST /api/notes", s.addJSON)
	return mux, nil
}

func (s *server) index(w http.ResponseWriter, r *http.Request) {
	data := pageData{Title: s.title, Version: Version}
	code := http.StatusOK
	notes, err := s.notes.List(r.Context())
	if err != nil {
		s.logger.Printf("page: %v", err)
		data.Error = "The note store is not reachable right now; try again in a moment."
		code = http.StatusServiceUnavailable
	}
	data.Notes = notes
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := s.page.Execute(w, data); err != nil {
		s.logger.Printf("rendering page: %v", err)
	}
}

func (s *server) addForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	text := strings.TrimSpace(r.FormValue("text"))
	if text == "" {
		http.Error(w, "a note needs some text", http.StatusBadRequest)
		return
	}
	if _, err := s.notes.Add(r.Context(), text); err != nil {
		s.logger.Printf("form: %v", err)
		http.Error(w, "the note store is not reachable right now", http.StatusServiceUnavailable)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *server) listJSON(w http.ResponseWriter, r *http.Request) {
	notes, err := s.notes.List(r.Context())
	if err != nil {
		s.logger.Printf("api: %v", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "store unreachable"})
		return
	}
	if notes == nil {
		notes = []Note{}
	}
	writeJSON(w, http.StatusOK, notes)
}

func (s *server) addJSON(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON {\"text\": ...}"})
		return
	}
	in.Text = strings.TrimSpace(in.Text)
	if in.Text == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "note text is empty"})
		return
	}
	n, err := s.notes.Add(r.Context(), in.Text)
	if err != nil {
		s.logger.Printf("api: %v", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "store unreachable"})
		return
	}
	writeJSON(w, http.StatusCreated, n)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
