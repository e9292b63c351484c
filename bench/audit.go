package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// auditWrites counts the writes the test cluster's API server completed in
// namespace ns since a time, by devloop's user agent, from its audit log
// (hack/env turns it on): devloop's writes counted from outside devloop. It
// returns -1 when the log cannot be read.
func auditWrites(since time.Time, ns string) int {
	f, err := os.Open(filepath.Join(os.Getenv("DEVLOOP_ENV_STATE"), "logs", "audit.log"))
	if err != nil {
		return -1
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	for sc.Scan() {
		var ev struct {
			Stage     string    `json:"stage"`
			UserAgent string    `json:"userAgent"`
			URI       string    `json:"requestURI"`
			Time      time.Time `json:"stageTimestamp"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Stage != "ResponseComplete" || ev.Time.Before(since) {
			continue
		}
		uri, _, _ := strings.Cut(ev.URI, "?")
		if strings.HasPrefix(ev.UserAgent, "devloop/") && strings.Contains(uri+"/", "/namespaces/"+ns+"/") {
			n++
		}
	}
	return n
}
