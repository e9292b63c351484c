package deliver

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

const (
	hexA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hexB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

type entry struct{ name, body string }

func tarOf(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := byte(tar.TypeReg)
		if strings.HasSuffix(e.name, "/") {
			typ = tar.TypeDir
		}
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: typ, Size: int64(len(e.body)), Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func names(t *testing.T, archive []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = string(b)
	}
}

func TestBlobDigest(t *testing.T) {
	for in, want := range map[string]string{
		"blobs/sha256/" + hexA:                  "sha256:" + hexA,
		"./blobs/sha256/" + hexA:                "sha256:" + hexA,
		"blobs/sha256/" + hexA[:10]:             "",
		"blobs/sha512/" + hexA:                  "",
		"blobs/sha256/" + strings.ToUpper(hexA): "",
		"index.json":                            "",
		hexA + "/layer.tar":                     "",
		"blobs/sha256/":                         "",
	} {
		if got := blobDigest(in); got != want {
			t.Errorf("blobDigest(%q) = %q, want %q", in, got, want)
		}
	}
}

// An OCI layout from the containerd image store: the blob the target has
// stays out, the new one and every file of the layout travel.
func TestFilterArchiveLeavesOutPresentBlobs(t *testing.T) {
	big := strings.Repeat("x", 10000)
	src := tarOf(t,
		entry{"blobs/", ""}, entry{"blobs/sha256/", ""},
		entry{"blobs/sha256/" + hexA, big},
		entry{"blobs/sha256/" + hexB, "new layer"},
		entry{"oci-layout", `{"imageLayoutVersion":"1.0.0"}`},
		entry{"index.json", `{"manifests":[]}`},
		entry{"manifest.json", `[]`},
	)
	var asked []string
	have := func(_ context.Context, d string) (bool, error) {
		asked = append(asked, d)
		return d == "sha256:"+hexA, nil
	}
	var dst bytes.Buffer
	st, err := filterArchive(context.Background(), &dst, bytes.NewReader(src), have)
	if err != nil {
		t.Fatal(err)
	}
	got := names(t, dst.Bytes())
	if _, ok := got["blobs/sha256/"+hexA]; ok {
		t.Errorf("the blob the target has was sent")
	}
	for _, n := range []string{"blobs/sha256/" + hexB, "oci-layout", "index.json", "manifest.json", "blobs/"} {
		if _, ok := got[n]; !ok {
			t.Errorf("%s missing from the filtered archive: %v", n, got)
		}
	}
	if got["blobs/sha256/"+hexB] != "new layer" {
		t.Errorf("new blob content %q", got["blobs/sha256/"+hexB])
	}
	if len(asked) != 2 {
		t.Errorf("asked about %v, want the two blobs only", asked)
	}
	if st.Blobs != 2 || st.Skipped != 1 || st.Read < 10000 || st.Sent >= 1000 {
		t.Errorf("stats %+v", st)
	}
	if dst.Len() > 8192 {
		t.Errorf("filtered archive is %d bytes, want the small entries only", dst.Len())
	}
}

// A Docker v1 layout (Engine 20.10's docker save) names no blob by digest:
// it goes through whole, and the target is not asked.
func TestFilterArchiveKeepsDockerLayout(t *testing.T) {
	src := tarOf(t,
		entry{hexA + "/", ""}, entry{hexA + "/layer.tar", "layer"}, entry{hexA + "/json", "{}"},
		entry{hexB + ".json", "{}"}, entry{"manifest.json", "[]"}, entry{"repositories", "{}"},
	)
	have := func(context.Context, string) (bool, error) { return true, nil }
	var dst bytes.Buffer
	st, err := filterArchive(context.Background(), &dst, bytes.NewReader(src), have)
	if err != nil {
		t.Fatal(err)
	}
	if st.Blobs != 0 || st.Skipped != 0 || len(names(t, dst.Bytes())) != 6 {
		t.Errorf("stats %+v, entries %v", st, names(t, dst.Bytes()))
	}
}

func TestFilterArchiveErrors(t *testing.T) {
	src := tarOf(t, entry{"blobs/sha256/" + hexA, "x"})
	boom := errors.New("containerd down")
	_, err := filterArchive(context.Background(), io.Discard, bytes.NewReader(src),
		func(context.Context, string) (bool, error) { return false, boom })
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want the lookup's error", err)
	}
	_, err = filterArchive(context.Background(), io.Discard, strings.NewReader("not a tar archive at all, but long enough to read a header from"+strings.Repeat(" ", 600)),
		blobSet(nil))
	if err == nil {
		t.Errorf("no error for a broken archive")
	}
}

// The stream ends when its consumer closes it early, and the engine's
// archive is closed.
func TestStreamFilteredConsumerStops(t *testing.T) {
	src := tarOf(t, entry{"blobs/sha256/" + hexA, strings.Repeat("y", 1<<20)})
	rc := &closeRecorder{Reader: bytes.NewReader(src)}
	r, wait := streamFiltered(context.Background(), rc, blobSet(nil))
	if _, err := r.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	if _, err := wait(); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("err = %v, want io.ErrClosedPipe", err)
	}
	if !rc.closed {
		t.Errorf("the engine's archive was not closed")
	}
}

func TestBlobSet(t *testing.T) {
	have := blobSet([]string{"sha256:" + hexA})
	if ok, _ := have(context.Background(), "sha256:"+hexA); !ok {
		t.Error("listed blob not found")
	}
	if ok, _ := have(context.Background(), "sha256:"+hexB); ok {
		t.Error("unlisted blob found")
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestArchiveError(t *testing.T) {
	imp := errors.New("ctr: unexpected EOF")
	missing := errors.New("content digest sha256:x: not found")
	if err := archiveError(nil, fmt.Errorf("writing: %w", io.ErrClosedPipe)); err != nil {
		t.Errorf("a closed pipe after a good import: %v", err)
	}
	if err := archiveError(imp, nil); !errors.Is(err, imp) {
		t.Errorf("import error lost: %v", err)
	}
	if err := archiveError(imp, missing); !errors.Is(err, missing) || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Errorf("the writer's cause must lead, with the importer's words: %v", err)
	}
	if err := archiveError(nil, missing); !errors.Is(err, missing) {
		t.Errorf("writer error lost: %v", err)
	}
}
