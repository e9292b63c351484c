package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// receive extracts the regular files of the tar stream r under root, then,
// with restart, restarts the supervised process. A file is written beside
// its destination and renamed over it, so a running binary can be replaced;
// where the directory is not writable the file is rewritten in place, the
// process stopped first (a running executable cannot be written).
func receive(r io.Reader, root string, restart bool, sock string) error {
	tr := tar.NewReader(r)
	stopped := false
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the tar stream: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		dest := within(root, hdr.Name)
		mode := os.FileMode(hdr.Mode).Perm()
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			return fmt.Errorf("making the directory of %s: %w", dest, err)
		}
		err = writeFile(dest, tr, mode)
		if err == nil {
			continue
		}
		var tmpErr *tempError
		if !errors.As(err, &tmpErr) {
			return err
		}
		// The directory is not writable: the file itself may be.
		if restart && !stopped {
			if err := request(sock, "stop"); err != nil {
				return err
			}
			stopped = true
		}
		if err := rewrite(dest, tmpErr.data, mode); err != nil {
			return fmt.Errorf("writing %s: %w (and its directory is not writable: %w)", dest, err, tmpErr.err)
		}
	}
	switch {
	case stopped:
		return request(sock, "start")
	case restart:
		return request(sock, "restart")
	}
	return nil
}

// within returns root/name; a name cannot leave root ("/" + name is
// cleaned first, so ".." stops at the root).
func within(root, name string) string {
	return filepath.Join(root, filepath.Clean("/"+name))
}

// tempError is writeFile failing to make its temporary file; data holds
// what was read for it.
type tempError struct {
	data []byte
	err  error
}

func (e *tempError) Error() string { return e.err.Error() }

// writeFile writes r to a temporary file beside dest and renames it over
// dest, so that whoever has dest open (or runs it) keeps the old one.
func writeFile(dest string, r io.Reader, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".devloop-*")
	if err != nil {
		data, rerr := io.ReadAll(r)
		if rerr != nil {
			return fmt.Errorf("reading %s: %w", dest, rerr)
		}
		return &tempError{data: data, err: err}
	}
	name := tmp.Name()
	_, err = io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(name, mode)
	}
	if err == nil {
		err = os.Rename(name, dest)
	}
	if err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("writing %s: %w", dest, err)
	}
	return nil
}

// rewrite truncates dest and writes data into it.
func rewrite(dest string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
