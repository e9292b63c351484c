package livesync

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
)

// syncContainer sends the copies as one tar stream and the deletions as one
// rm, and returns the bytes sent.
func (s *Syncer) syncContainer(ctx context.Context, c container, target Target, files []File) (int64, error) {
	var copies, deletes []File
	for _, f := range files {
		if f.Delete {
			deletes = append(deletes, f)
		} else {
			copies = append(copies, f)
		}
	}
	var sent int64
	recv, rm := []string{"tar", "xf", "-", "-C", "/"}, []string{"rm", "-f", "--"}
	if target.Helper != "" {
		recv, rm = []string{target.Helper, "recv"}, []string{target.Helper, "rm"}
		if target.Restart {
			recv = append(recv, "--restart")
		}
	}
	if len(deletes) > 0 {
		cmd := rm
		for _, f := range deletes {
			cmd = append(cmd, f.Dest)
		}
		stderr, err := s.exec.Exec(ctx, c.ns, c.pod, c.name, cmd, nil)
		if err != nil {
			return sent, fmt.Errorf("deleting synced files in pod/%s container %s: %w%s", c.pod, c.name, err, detail(stderr))
		}
	}
	if len(copies) > 0 || target.Restart {
		var n int64
		stderr, err := s.exec.Exec(ctx, c.ns, c.pod, c.name, recv, func(w *countingWriter) error {
			err := writeTar(w, copies)
			n = w.n
			return err
		})
		sent += n
		if err != nil {
			if target.Helper == "" && noTar(stderr, err) {
				return sent, fmt.Errorf("syncing into pod/%s container %s: %w", c.pod, c.name, ErrNoTar)
			}
			return sent, fmt.Errorf("syncing into pod/%s container %s: %w%s", c.pod, c.name, err, detail(stderr))
		}
	}
	return sent, nil
}

func detail(stderr string) string {
	if s := strings.TrimSpace(stderr); s != "" {
		return ": " + s
	}
	return ""
}

// noTar recognizes the failures of a container without a tar binary.
func noTar(stderr string, err error) bool {
	msg := stderr + " " + err.Error()
	return strings.Contains(msg, "executable file not found") ||
		strings.Contains(msg, "exit code 127") ||
		strings.Contains(msg, "no such file or directory") && strings.Contains(msg, "tar")
}

// writeTar writes files as a tar stream, each named by its destination
// relative to /.
func writeTar(w io.Writer, files []File) error {
	tw := tar.NewWriter(w)
	for _, f := range files {
		if err := addFile(tw, f); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finishing the tar stream: %w", err)
	}
	return nil
}

func addFile(tw *tar.Writer, f File) error {
	fh, err := os.Open(f.Local)
	if err != nil {
		return fmt.Errorf("opening %s: %w", f.Local, err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("reading %s: %w", f.Local, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("syncing %s: not a regular file", f.Local)
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     strings.TrimPrefix(f.Dest, "/"),
		Mode:     int64(st.Mode().Perm()),
		Size:     st.Size(),
		ModTime:  st.ModTime(),
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing the tar header of %s: %w", f.Dest, err)
	}
	if _, err := io.CopyN(tw, fh, st.Size()); err != nil {
		return fmt.Errorf("copying %s: %w", f.Local, err)
	}
	return nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// spdyExecer runs commands through the API server's exec subresource.
type spdyExecer struct {
	cfg    *rest.Config
	client kubernetes.Interface
}

func (e *spdyExecer) Exec(ctx context.Context, ns, pod, ctr string, cmd []string, stdin func(w *countingWriter) error) (string, error) {
	opts := &corev1.PodExecOptions{Container: ctr, Command: cmd, Stdin: stdin != nil, Stdout: true, Stderr: true}
	u := e.client.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).
		SubResource("exec").VersionedParams(opts, scheme.ParameterCodec).URL()
	ex, err := remotecommand.NewSPDYExecutor(e.cfg, "POST", u)
	if err != nil {
		return "", fmt.Errorf("making the exec stream: %w", err)
	}
	var stdout, stderr bytes.Buffer
	so := remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}
	werr := make(chan error, 1)
	var pr *io.PipeReader
	if stdin != nil {
		var pw *io.PipeWriter
		pr, pw = io.Pipe()
		go func() {
			err := stdin(&countingWriter{w: pw})
			_ = pw.CloseWithError(err)
			werr <- err
		}()
		so.Stdin = pr
	} else {
		werr <- nil
	}
	err = ex.StreamWithContext(ctx, so)
	if pr != nil {
		_ = pr.CloseWithError(io.ErrClosedPipe) // unblock the writer if the command ended early
	}
	if wErr := <-werr; wErr != nil && err == nil {
		err = wErr
	}
	if err != nil {
		return stderr.String() + stdout.String(), fmt.Errorf("running %s: %w", cmd[0], err)
	}
	return stderr.String(), nil
}
