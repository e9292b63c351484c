package deliver

import (
	"context"
	"fmt"
	"sync"

	contentapi "github.com/containerd/containerd/api/services/content/v1"
	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// containerdImages asks containerd's images service over its socket whether
// an image is there: one gRPC round trip instead of starting `ctr` (about
// 50 ms each, twice per delivery and once per cycle).
type containerdImages struct {
	addr string

	mu   sync.Mutex
	conn *grpc.ClientConn
}

// namespaceHeader is the gRPC metadata key containerd reads its namespace
// from; Kubernetes keeps its images in k8s.io.
const namespaceHeader = "containerd-namespace"

func (c *containerdImages) dial() (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		conn, err := grpc.NewClient("unix://"+c.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, fmt.Errorf("connecting to containerd at %s: %w", c.addr, err)
		}
		c.conn = conn
	}
	return c.conn, nil
}

func (c *containerdImages) client() (imagesapi.ImagesClient, error) {
	conn, err := c.dial()
	if err != nil {
		return nil, err
	}
	return imagesapi.NewImagesClient(conn), nil
}

// hasBlob reports whether containerd's content store holds the blob in
// namespace k8s.io (what an import there may leave out of the archive).
func (c *containerdImages) hasBlob(ctx context.Context, digest string) (bool, error) {
	conn, err := c.dial()
	if err != nil {
		return false, err
	}
	ctx = metadata.AppendToOutgoingContext(ctx, namespaceHeader, "k8s.io")
	_, err = contentapi.NewContentClient(conn).Info(ctx, &contentapi.InfoRequest{Digest: digest})
	switch status.Code(err) {
	case codes.OK:
		return true, nil
	case codes.NotFound:
		return false, nil
	}
	return false, fmt.Errorf("asking containerd at %s for blob %s: %w", c.addr, digest, err)
}

// has reports whether containerd lists the fully qualified name.
func (c *containerdImages) has(ctx context.Context, name string) (bool, error) {
	_, ok, err := c.target(ctx, name)
	return ok, err
}

// target returns the digest the image name points at (an index or a
// manifest), and whether containerd has the name.
func (c *containerdImages) target(ctx context.Context, name string) (string, bool, error) {
	cl, err := c.client()
	if err != nil {
		return "", false, err
	}
	ctx = metadata.AppendToOutgoingContext(ctx, namespaceHeader, "k8s.io")
	resp, err := cl.Get(ctx, &imagesapi.GetImageRequest{Name: name})
	switch status.Code(err) {
	case codes.OK:
		return resp.GetImage().GetTarget().GetDigest(), true, nil
	case codes.NotFound:
		return "", false, nil
	}
	return "", false, fmt.Errorf("asking containerd at %s for %s: %w", c.addr, name, err)
}

// close releases the connection.
func (c *containerdImages) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}
