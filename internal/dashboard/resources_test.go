package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"
)

type listerFunc func(context.Context) ([]Resource, error)

func (f listerFunc) Resources(ctx context.Context) ([]Resource, error) { return f(ctx) }

// getResources fetches /api/resources and returns its raw body.
func getResources(t *testing.T, s *Server) string {
	t.Helper()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/api/resources")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/resources = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return string(b)
}

// The page maps over "resources": it must be a list whatever the lister
// returned (a lister that found nothing returns nil, which encodes as null).
func TestResourcesAnswerIsAlwaysAList(t *testing.T) {
	cases := []struct {
		name      string
		lister    ResourceLister
		wantError string
	}{
		{"no lister yet", nil, ""},
		{"nothing found", listerFunc(func(context.Context) ([]Resource, error) { return nil, nil }), ""},
		{"the cluster fails", listerFunc(func(context.Context) ([]Resource, error) {
			return nil, errors.New("listing pods in app: connection refused")
		}), "reading the resources: listing pods in app: connection refused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(zap.NewNop(), Options{})
			if c.lister != nil {
				s.SetResources(c.lister)
			}
			body := getResources(t, s)
			var out struct {
				Resources *[]Resource `json:"resources"`
				Error     string      `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				t.Fatalf("%q: %v", body, err)
			}
			if out.Resources == nil || len(*out.Resources) != 0 {
				t.Fatalf("resources in %q: want an empty list", body)
			}
			if out.Error != c.wantError {
				t.Fatalf("error %q, want %q", out.Error, c.wantError)
			}
		})
	}
}

// Every kind the table lists comes through with the fields the page reads.
func TestResourcesAnswerCarriesEveryRow(t *testing.T) {
	rows := []Resource{
		{Kind: "Deployment", Name: "web", Namespace: "app", Status: "Current", Ready: "1/1", Age: "10s"},
		{Kind: "StatefulSet", Name: "store", Namespace: "app", Status: "Current", Ready: "1/1", Age: "10s"},
		{Kind: "PersistentVolumeClaim", Name: "data-store-0", Namespace: "app", Status: "Current", Reason: "PVC is Bound"},
		{Kind: "Job", Name: "seed", Namespace: "app", Status: "InProgress", Ready: "0/1", Reason: "Job in progress"},
		{Kind: "Service", Name: "web", Namespace: "app", Status: "Current"},
		{Kind: "Service", Name: "store", Namespace: "app", Status: "Current"},
	}
	s := New(zap.NewNop(), Options{})
	s.SetResources(listerFunc(func(context.Context) ([]Resource, error) { return rows, nil }))
	var out struct {
		Resources []map[string]any `json:"resources"`
	}
	body := getResources(t, s)
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Resources) != len(rows) {
		t.Fatalf("%d rows, want %d: %s", len(out.Resources), len(rows), body)
	}
	for i, r := range out.Resources {
		for _, k := range []string{"kind", "name", "namespace", "status", "restarts", "age"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %d (%v) has no %q", i, r, k)
			}
		}
	}
}
