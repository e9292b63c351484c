package main

import (
	"encoding/json"
	"errors"
	"log"
	"net/http"
)

// maxBody bounds a POST body; notes are short.
const maxBody = 64 << 10

// newHandler serves the store's HTTP API: GET and POST /notes, GET /healthz.
func newHandler(s *Store, logger *log.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /notes", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.List())
	})
	mux.HandleFunc("POST /notes", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Text string `json:"text"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
		if err := dec.Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON {\"text\": ...}"})
			return
		}
		n, err := s.Add(in.Text)
		switch {
		case errors.Is(err, ErrEmptyText):
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		case err != nil:
			logger.Printf("adding note: %v", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not store the note"})
			return
		}
		logger.Printf("stored note %d", n.ID)
		writeJSON(w, http.StatusCreated, n)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
