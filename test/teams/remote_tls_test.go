package teams

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// webOnly writes a devloop.yaml building examples/notes' web image alone
// (pushed to the registry) into a copy of the example.
func webOnly(t *testing.T, env *testenv.Env, builder string) string {
	t.Helper()
	dir, name := testenv.CopyExample(t, "notes")
	writeFile(t, dir, "devloop.yaml", "apiVersion: devloop.dev/v1alpha1\nkind: Config\nmetadata:\n  name: "+name+"\n"+
		"registry: "+env.Registry+"\nbuild:\n  builder: "+builder+"\n  artifacts:\n    - image: notes-web\n      context: web\n"+
		"deploy:\n  kustomize:\n    path: k8s/overlays/dev\n")
	return dir
}

// TestRemoteTLSBuild: the remote driver over TLS with client certificates
// (the environment's second buildkitd) builds and pushes like any builder,
// named with its driver in the events.
func TestRemoteTLSBuild(t *testing.T) {
	env := testenv.Require(t)
	builder := requireBuilder(t, env, "DEVLOOP_BUILDER_TLS")
	dir := webOnly(t, env, builder)
	// New content: a tag another test pushed would be skipped, not built.
	edit(t, dir, "web/main.go", "package main", fmt.Sprintf("package main\n\n// %d", time.Now().UnixNano()))
	r := devloop(t, dir, nil, 10*time.Minute, "build", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("devloop build on the TLS builder exited %d:\n%s", r.Code, tail(r.Output(), 40))
	}
	b, ok := doneBuilds(events(t, r.Stdout))["notes-web"]
	if !ok || b.Builder != builder || b.Driver != "remote" {
		t.Fatalf("build event %+v, want notes-web built on %s (driver remote)", b, builder)
	}
	if !strings.Contains(b.Message, os.Getenv("DEVLOOP_BUILDKIT_TLS_ADDR")) {
		t.Errorf("the build message %q does not name the endpoint", b.Message)
	}
	_, tag, _ := strings.Cut(strings.TrimPrefix(b.Image, env.Registry+"/"), ":")
	manifest(t, env, "notes-web", tag)
}

// TestRemoteUnreachable: a remote builder whose endpoint refuses
// connections, accepts them and never answers, or refuses the client's
// certificate fails the build within devloop's bound (30 s, plus the
// start) with exit 1 and a message naming the builder and the endpoint;
// `dev` would report the same and wait for the next change rather than hang.
func TestRemoteUnreachable(t *testing.T) {
	env := testenv.Require(t)
	requireBuilder(t, env, "DEVLOOP_BUILDER_TLS")
	certs := os.Getenv("DEVLOOP_BUILDKIT_TLS_CERTS")
	tlsAddr := os.Getenv("DEVLOOP_BUILDKIT_TLS_ADDR")
	wrong := foreignClientCert(t)

	refused := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		return "tcp://" + addr
	}
	silent := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				t.Cleanup(func() { _ = c.Close() }) // held open, never answered
			}
		}()
		return "tcp://" + l.Addr().String()
	}
	cases := []struct {
		name, endpoint, opts, want string
	}{
		{"refused", refused(), "", "nothing listens on"},
		{"silent", silent(), "", "did not answer within"},
		{"foreign client certificate", tlsAddr, fmt.Sprintf("cacert=%s/ca.pem,cert=%s,key=%s,servername=localhost", certs, wrong[0], wrong[1]), "TLS: "},
		{"no client certificate", tlsAddr, fmt.Sprintf("cacert=%s/ca.pem,servername=localhost", certs), "TLS: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			builder := fmt.Sprintf("devloop-t-%d", time.Now().UnixNano()%1e9)
			args := []string{"buildx", "create", "--name", builder, "--driver", "remote"}
			if c.opts != "" {
				args = append(args, "--driver-opt", c.opts)
			}
			if out, err := env.Command(context.Background(), "docker", append(args, c.endpoint)...).CombinedOutput(); err != nil {
				t.Fatalf("docker buildx create: %v\n%s", err, out)
			}
			t.Cleanup(func() { _ = env.Command(context.Background(), "docker", "buildx", "rm", builder).Run() })
			dir := webOnly(t, env, builder)
			r := devloop(t, dir, nil, 2*time.Minute, "build", "-o", "json")
			out := r.Output()
			if r.Code != 1 {
				t.Fatalf("devloop build on %s exited %d, want 1:\n%s", c.endpoint, r.Code, tail(out, 20))
			}
			if r.Elapsed > 50*time.Second {
				t.Errorf("the failure took %s, want it within the 30 s bound", r.Elapsed.Round(time.Second))
			}
			for _, want := range []string{builder, c.endpoint, "driver remote", c.want} {
				if !strings.Contains(out, want) {
					t.Errorf("the error does not say %q:\n%s", want, tail(out, 20))
				}
			}
			t.Logf("%s after %s: %s", c.name, r.Elapsed.Round(100*time.Millisecond), tail(r.Stderr, 3))
		})
	}
}

// foreignClientCert writes a client certificate and key signed by a CA of
// the test's own, which the daemon does not trust; it returns their paths.
func foreignClientCert(t *testing.T) [2]string {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not-the-daemons-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "intruder"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return [2]string{certPath, keyPath}
}
