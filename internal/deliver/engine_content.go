package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	contentapi "github.com/containerd/containerd/api/services/content/v1"
	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	"github.com/docker/docker/api/types/system"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// EngineContainerdEnv names the variable that gives the socket of the
// containerd behind the engine's containerd image store when the engine
// does not report it (Docker Engine before 27) and it is not at one of the
// usual places: the engine's exec root + /containerd/containerd.sock.
const EngineContainerdEnv = "DEVLOOP_ENGINE_CONTAINERD"

// engineContainerdCandidates are the sockets where the containerd of an
// engine on this machine may listen, with its images namespace: what the
// engine reports (API 1.46+), the variable, dockerd's own managed
// containerd, the system's.
func engineContainerdCandidates(info system.Info, env string) [][2]string {
	var out [][2]string
	if c := info.Containerd; c != nil && c.Address != "" {
		ns := c.Namespaces.Containers
		if ns == "" {
			ns = "moby"
		}
		out = append(out, [2]string{c.Address, ns})
	}
	if env != "" {
		out = append(out, [2]string{env, "moby"})
	}
	return append(out, [2]string{"/var/run/docker/containerd/containerd.sock", "moby"},
		[2]string{"/run/containerd/containerd.sock", "moby"})
}

// engineContent reads blobs from the containerd that holds the engine's
// images: only the blobs a target lacks leave the engine, where `docker
// save` streams the whole image (no Engine API reads one blob).
type engineContent struct {
	addr, ns string
	conn     *grpc.ClientConn
}

// locateEngineContent returns the first candidate whose images namespace
// names ref with the engine's image ID as its target (so it is the
// engine's store), or nil.
func locateEngineContent(ctx context.Context, candidates [][2]string, full, id string) *engineContent {
	for _, c := range candidates {
		if _, err := os.Stat(c[0]); err != nil {
			continue
		}
		conn, err := grpc.NewClient("unix://"+c[0], grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			continue
		}
		e := &engineContent{addr: c[0], ns: c[1], conn: conn}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		d, err := e.target(cctx, full)
		cancel()
		if err == nil && d.Digest == id {
			return e
		}
		_ = conn.Close()
	}
	return nil
}

func (e *engineContent) ctx(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, namespaceHeader, e.ns)
}

// target returns the descriptor the engine's containerd names full by.
func (e *engineContent) target(ctx context.Context, full string) (descriptor, error) {
	resp, err := imagesapi.NewImagesClient(e.conn).Get(e.ctx(ctx), &imagesapi.GetImageRequest{Name: full})
	if err != nil {
		return descriptor{}, fmt.Errorf("asking the engine's containerd at %s for %s: %w", e.addr, full, err)
	}
	t := resp.GetImage().GetTarget()
	return descriptor{MediaType: t.GetMediaType(), Digest: t.GetDigest(), Size: t.GetSize()}, nil
}

// copyBlob writes the blob's content to w.
func (e *engineContent) copyBlob(ctx context.Context, w io.Writer, digest string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := contentapi.NewContentClient(e.conn).Read(e.ctx(ctx), &contentapi.ReadContentRequest{Digest: digest})
	if err != nil {
		return fmt.Errorf("reading %s from the engine's containerd: %w", digest, err)
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s from the engine's containerd: %w", digest, err)
		}
		if _, err := w.Write(resp.GetData()); err != nil {
			return err
		}
	}
}

func (e *engineContent) close() error { return e.conn.Close() }
