package deliver

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// haveBlob reports whether the target containerd already holds a blob
// (digest "sha256:<hex>").
type haveBlob func(ctx context.Context, digest string) (bool, error)

// archiveStats is what filterArchive passed on and left out.
type archiveStats struct {
	// Read is the size of the tar entries read from the engine's archive;
	// Sent the size of the entries written to the target.
	Read, Sent int64
	// Blobs counts the blob entries of the archive, Skipped those left out.
	Blobs, Skipped int
}

// blobDigest returns the digest an OCI layout names by the entry's path
// (blobs/sha256/<hex> → sha256:<hex>), or "" for any other entry.
func blobDigest(name string) string {
	parts := strings.Split(path.Clean(name), "/")
	if len(parts) != 3 || parts[0] != "blobs" || parts[1] != "sha256" || len(parts[2]) != 64 {
		return ""
	}
	for _, c := range parts[2] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return ""
		}
	}
	return "sha256:" + parts[2]
}

// filterArchive copies the image archive src to dst, leaving out the blob
// entries (blobs/sha256/<hex>) of an OCI layout that the target already has.
// containerd's importer reads index.json, the manifests and configs from
// its content store, not from the tar, so a blob it holds need not travel;
// every other entry (oci-layout, index.json, manifest.json, repositories)
// is copied. A Docker v1 layout (<id>/layer.tar, Engine 20.10) names no
// blob by digest: nothing is left out, the importer needs every layer file.
func filterArchive(ctx context.Context, dst io.Writer, src io.Reader, have haveBlob) (archiveStats, error) {
	var st archiveStats
	tr := tar.NewReader(src)
	tw := tar.NewWriter(dst)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, fmt.Errorf("reading the image archive: %w", err)
		}
		st.Read += hdr.Size
		if d := blobDigest(hdr.Name); d != "" && hdr.Typeflag == tar.TypeReg {
			st.Blobs++
			ok, err := have(ctx, d)
			if err != nil {
				return st, err
			}
			if ok {
				st.Skipped++
				continue // tr.Next discards the entry's content
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return st, fmt.Errorf("writing the archive for containerd: %w", err)
		}
		n, err := io.Copy(tw, tr)
		st.Sent += n
		if err != nil {
			return st, fmt.Errorf("copying %s of the image archive: %w", hdr.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return st, fmt.Errorf("writing the archive for containerd: %w", err)
	}
	return st, nil
}

// blobSet is a haveBlob over a listing of the target's content store.
func blobSet(digests []string) haveBlob {
	set := make(map[string]bool, len(digests))
	for _, d := range digests {
		set[d] = true
	}
	return func(_ context.Context, d string) (bool, error) { return set[d], nil }
}

// streamFiltered returns a reader of the archive rc filtered by have, and a
// function that waits for the filter and returns its figures; rc is closed
// when the filter ends. Close the reader before waiting when the consumer
// stopped early (the filter then ends with io.ErrClosedPipe).
func streamFiltered(ctx context.Context, rc io.ReadCloser, have haveBlob) (io.ReadCloser, func() (archiveStats, error)) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	var st archiveStats
	var ferr error
	go func() {
		defer close(done)
		defer rc.Close()
		st, ferr = filterArchive(ctx, pw, rc, have)
		pw.CloseWithError(ferr)
	}()
	return pr, func() (archiveStats, error) {
		<-done
		return st, ferr
	}
}

// String implements fmt.Stringer for messages.
func (s archiveStats) String() string {
	return fmt.Sprintf("sent %s of %s (%d of %d blobs already there)",
		humanBytes(s.Sent), humanBytes(s.Read), s.Skipped, s.Blobs)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
