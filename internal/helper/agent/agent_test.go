package main

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func tarOf(t *testing.T, files map[string]string) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o755, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &b
}

func TestReceiveWritesFilesUnderRootOnly(t *testing.T) {
	root := t.TempDir()
	in := tarOf(t, map[string]string{"app/bin/web": "new", "../../escape": "x"})
	if err := receive(in, root, false, ""); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "app/bin/web"))
	if err != nil || string(b) != "new" {
		t.Fatalf("app/bin/web = %q, %v", b, err)
	}
	st, _ := os.Stat(filepath.Join(root, "app/bin/web"))
	if st.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", st.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(root, "escape")); err != nil {
		t.Errorf("../../escape should land at the root: %v", err)
	}
}

// The supervisor restarts its process on a recv --restart: the new process
// is the one running after.
func TestSuperviseRestartsOnReceive(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	out := filepath.Join(dir, "out")
	script := filepath.Join(dir, "app.sh")
	writeScript := func(word string) {
		t.Helper()
		body := "#!/bin/sh\necho " + word + " >> " + out + "\nexec sleep 60\n"
		if err := receive(tarOf(t, map[string]string{script: body}), "/", false, sock); err != nil {
			t.Fatal(err)
		}
	}
	writeScript("one")
	var stderr bytes.Buffer
	s := &supervisor{argv: []string{script}, stderr: &stderr}
	go func() { _ = superviseWith(s, sock) }()
	waitFor(t, out, "one\n")
	body := "#!/bin/sh\necho two >> " + out + "\nexec sleep 60\n"
	if err := receive(tarOf(t, map[string]string{script: body}), "/", true, sock); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "one\ntwo\n")
	s.stop()
}

func waitFor(t *testing.T, file, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(file); string(b) == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, _ := os.ReadFile(file)
	t.Fatalf("%s = %q, want %q", file, b, want)
}

func TestUsageErrors(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(nil, nil, &stderr); code != 2 {
		t.Errorf("no args: exit %d, want 2", code)
	}
	if code := run([]string{"run"}, nil, &stderr); code != 2 || !strings.Contains(stderr.String(), "run -- ARGV") {
		t.Errorf("run without argv: exit %d, %s", code, stderr.String())
	}
	if code := run([]string{"recv", "--restart"}, strings.NewReader(""), &stderr); code != 1 {
		t.Errorf("recv --restart without a supervisor: exit %d, want 1", code)
	}
}
