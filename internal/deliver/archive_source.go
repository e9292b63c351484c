package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"

	"go.uber.org/zap"
)

// archive returns the image archive of x for a target that has the blobs
// have reports, and a function that waits for its writer and returns its
// figures. From the engine's own containerd when it is on this machine
// (only the missing layers are read); else the engine's `docker save`,
// filtered (the whole image is read, the missing blobs travel). Close the
// reader before waiting.
func (e *exporter) archive(ctx context.Context, x export, have haveBlob, log *zap.Logger) (io.ReadCloser, func() (archiveStats, error), error) {
	if x.store.Containerd {
		if src := e.engineContent(ctx, x, log); src != nil {
			full, err := NormalizeRef(x.ref)
			if err != nil {
				return nil, nil, err
			}
			root, err := src.target(ctx, full)
			if err == nil && root.Digest == x.id {
				pr, pw := io.Pipe()
				done := make(chan struct{})
				var st archiveStats
				var werr error
				go func() {
					defer close(done)
					st, werr = writeImageArchive(ctx, pw, src, root, full, x.platform, have)
					pw.CloseWithError(werr)
				}()
				return pr, func() (archiveStats, error) { <-done; return st, werr }, nil
			}
			log.Debug("the engine's containerd does not hold the engine's image; using docker save", zap.String("ref", x.ref), zap.Error(err))
		}
	}
	rc, err := e.engine.ImageSave(ctx, []string{x.ref})
	if err != nil {
		return nil, nil, fmt.Errorf("exporting %s from %s: %w", x.ref, x.store, err)
	}
	r, wait := streamFiltered(ctx, rc, have)
	return r, wait, nil
}

// archiveError combines the importer's error with the archive writer's: the
// writer's names the cause (a blob the engine lacks) when it broke the
// stream; io.ErrClosedPipe only says the importer stopped reading (at the
// end-of-archive blocks, or because it failed).
func archiveError(importErr, writeErr error) error {
	if writeErr == nil || errors.Is(writeErr, io.ErrClosedPipe) {
		return importErr
	}
	if importErr == nil {
		return writeErr
	}
	return fmt.Errorf("%w (the importer said: %v)", writeErr, importErr)
}

// engineContent locates the engine's containerd once (nil when it is not
// reachable from here: a remote engine, Docker Desktop, no permission).
func (e *exporter) engineContent(ctx context.Context, x export, log *zap.Logger) *engineContent {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.contentTried {
		return e.content
	}
	full, err := NormalizeRef(x.ref)
	if err != nil {
		return nil
	}
	info, err := e.engine.Info(ctx)
	if err != nil {
		return nil
	}
	e.contentTried = true
	e.content = locateEngineContent(ctx, engineContainerdCandidates(info, e.contentAddr), full, x.id)
	if e.content != nil {
		log.Debug("reading image content from the engine's containerd", zap.String("address", e.content.addr), zap.String("namespace", e.content.ns))
	} else {
		log.Debug("the engine's containerd is not reachable from here; images are exported with docker save")
	}
	return e.content
}

// close releases the connection to the engine's containerd.
func (e *exporter) close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.content == nil {
		return nil
	}
	err := e.content.close()
	e.content, e.contentTried = nil, false
	return err
}

// FromEngineContainerd sets the socket of the engine's containerd to try
// after the one the engine reports ("" for none). It returns c.
func (c *Containerd) FromEngineContainerd(addr string) *Containerd {
	c.exp.contentAddr = addr
	return c
}

// FromEngineContainerd is Containerd.FromEngineContainerd. It returns n.
func (n *Nodes) FromEngineContainerd(addr string) *Nodes {
	n.exp.contentAddr = addr
	return n
}
