package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	dockerregistry "github.com/docker/docker/api/types/registry"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"go.uber.org/zap"
)

// dockerConfig points DOCKER_CONFIG at a directory whose config.json holds
// the given auths (host → user:password); none is a config without logins.
func dockerConfig(t *testing.T, auths map[string]string) {
	t.Helper()
	dir := t.TempDir()
	cfg := map[string]map[string]map[string]string{"auths": {}}
	for host, userpass := range auths {
		cfg["auths"][host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(userpass))}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
}

// basicAuthRegistry is an in-memory registry that answers 401 with a basic
// challenge to every request without user:password, and holds one image
// at REPO a, tag t1, whose digest it returns.
func basicAuthRegistry(t *testing.T, user, password string) (host, digest string) {
	t.Helper()
	reg := ggcrregistry.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host = strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/a:t1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: user, Password: password})); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return host, d.String()
}

func TestExistsPresentAndAbsent(t *testing.T) {
	dockerConfig(t, nil)
	srv := httptest.NewServer(ggcrregistry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/a:t1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	c := New(zap.NewNop())
	d, ok, err := c.Exists(context.Background(), host+"/a:t1")
	if err != nil || !ok || d != want.String() {
		t.Fatalf("present: %q %v %v (want %s)", d, ok, err, want)
	}
	if _, ok, err := c.Exists(context.Background(), host+"/a:other"); err != nil || ok {
		t.Fatalf("absent (404): %v %v", ok, err)
	}
}

// With the login docker's configuration holds, a registry that needs one
// answers the presence check, the manifest and the image.
func TestReadsWithTheLoginOfDockersConfig(t *testing.T) {
	host, digest := basicAuthRegistry(t, "alice", "s3cret")
	dockerConfig(t, map[string]string{host: "alice:s3cret"})
	c := New(zap.NewNop())
	ctx := context.Background()
	d, ok, err := c.Exists(ctx, host+"/a:t1")
	if err != nil || !ok || d != digest {
		t.Fatalf("Exists with the login: %q %v %v (want %s)", d, ok, err, digest)
	}
	if _, ok, err := c.Exists(ctx, host+"/a:other"); err != nil || ok {
		t.Fatalf("Exists of an absent tag with the login: %v %v; want not present, no error", ok, err)
	}
	if desc, err := c.Get(ctx, host+"/a:t1"); err != nil || desc.Digest.String() != digest {
		t.Fatalf("Get with the login: %v %v", desc, err)
	}
	if _, err := c.Image(ctx, host+"/a:t1"); err != nil {
		t.Fatalf("Image with the login: %v", err)
	}
}

// Without a login a 401 is an *AccessError that says to log in, never "not
// present" (which would rebuild and push the image on every run).
func TestUnauthorizedWithoutLoginSaysToLogIn(t *testing.T) {
	host, _ := basicAuthRegistry(t, "alice", "s3cret")
	dockerConfig(t, nil)
	c := New(zap.NewNop())
	ref := host + "/a:t1"
	_, ok, err := c.Exists(context.Background(), ref)
	if ok {
		t.Fatal("Exists answered present without credentials")
	}
	var ae *AccessError
	if !errors.As(err, &ae) || !IsAccessError(err) {
		t.Fatalf("Exists without a login: %v (%T); want an *AccessError", err, err)
	}
	if ae.Status != http.StatusUnauthorized || !ae.Anonymous || ae.Registry != host || ae.Ref != ref {
		t.Errorf("AccessError %+v", ae)
	}
	want := "registry " + host + " refused devloop's read of " + ref + " (401 Unauthorized): log in with docker login " + host
	if err.Error() != want {
		t.Errorf("message\n got %q\nwant %q", err.Error(), want)
	}
	if _, err := c.Get(context.Background(), ref); !IsAccessError(err) {
		t.Errorf("Get without a login: %v; want an *AccessError", err)
	}
	if _, err := c.Image(context.Background(), ref); !IsAccessError(err) {
		t.Errorf("Image without a login: %v; want an *AccessError", err)
	}
}

// Refused credentials say so: the login must be renewed.
func TestUnauthorizedWithWrongLogin(t *testing.T) {
	host, _ := basicAuthRegistry(t, "alice", "s3cret")
	dockerConfig(t, map[string]string{host: "alice:wrong"})
	_, _, err := New(zap.NewNop()).Exists(context.Background(), host+"/a:t1")
	var ae *AccessError
	if !errors.As(err, &ae) || ae.Anonymous || ae.Status != http.StatusUnauthorized {
		t.Fatalf("Exists with a wrong login: %v; want an *AccessError with credentials", err)
	}
	if !strings.Contains(err.Error(), "were refused: log in again with docker login "+host) {
		t.Errorf("message %q does not say the credentials were refused", err)
	}
}

// A 403 and the DENIED/UNAUTHORIZED codes of a registry's error body are
// refusals; a 404 is absence and a 500 a plain error (after retries).
func TestAccessClassification(t *testing.T) {
	dockerConfig(t, nil)
	var status atomic.Int64
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(status.Load()))
		_, _ = w.Write([]byte(body.Load().(string)))
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	c := New(zap.NewNop())
	c.backoff.Duration = 1 // retries of the 500 without waiting
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   int // the AccessError's status, 0 for none
	}{
		{"403", http.StatusForbidden, `{}`, http.StatusForbidden},
		{"DENIED code", http.StatusBadRequest, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`, http.StatusForbidden},
		{"UNAUTHORIZED code", http.StatusBadRequest, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized},
		{"500", http.StatusInternalServerError, `{}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status.Store(int64(tc.status))
			body.Store(tc.body)
			// Get reads the body (HEAD has none).
			_, err := c.Get(context.Background(), host+"/a:t1")
			var ae *AccessError
			switch {
			case err == nil:
				t.Fatal("no error")
			case tc.want == 0 && IsAccessError(err):
				t.Fatalf("%v is an *AccessError", err)
			case tc.want != 0 && (!errors.As(err, &ae) || ae.Status != tc.want):
				t.Fatalf("%v: want an *AccessError with status %d", err, tc.want)
			}
		})
	}
	status.Store(http.StatusNotFound)
	body.Store(`{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`)
	if _, ok, err := c.Exists(context.Background(), host+"/a:t1"); ok || err != nil {
		t.Fatalf("404: %v %v; want not present, no error", ok, err)
	}
}

func TestPushAuth(t *testing.T) {
	dockerConfig(t, map[string]string{"127.0.0.1:5443": "alice:s3cret"})
	c := New(zap.NewNop())
	enc, err := c.PushAuth(context.Background(), "127.0.0.1:5443")
	if err != nil {
		t.Fatal(err)
	}
	got, err := dockerregistry.DecodeAuthConfig(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Username != "alice" || got.Password != "s3cret" {
		t.Errorf("push auth for a login: %+v", got)
	}
	enc, err = c.PushAuth(context.Background(), "127.0.0.1:5000")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := dockerregistry.DecodeAuthConfig(enc); err != nil || *got != (dockerregistry.AuthConfig{}) {
		t.Errorf("push auth without a login: %+v %v; want empty", got, err)
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for h, want := range map[string]bool{"127.0.0.1:5000": true, "localhost:5001": true, "[::1]:5000": true, "localhost": true, "ghcr.io": false, "10.0.0.1:5000": false} {
		if IsLoopbackHost(h) != want {
			t.Errorf("IsLoopbackHost(%q) != %v", h, want)
		}
	}
}
