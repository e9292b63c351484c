package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
	"go.uber.org/zap"

	"github.com/devloop-dev/devloop/internal/registry"
)

// Registry pushes images from the engine to a registry the cluster pulls
// from; only layers the registry lacks travel. The cluster then runs the
// image by digest. Reads and the push use the credentials of Docker's
// configuration (see package registry).
type Registry struct {
	host, hostFromCluster string
	engine                Engine
	reg                   *registry.Client
	log                   *zap.Logger
}

// NewRegistry returns a deliverer that pushes to host (host[:port]).
// hostFromCluster, when set, is the same registry as the cluster's runtime
// reaches it, used in the references the cluster gets.
func NewRegistry(host, hostFromCluster string, engine Engine, reg *registry.Client, log *zap.Logger) *Registry {
	return &Registry{host: host, hostFromCluster: hostFromCluster, engine: engine, reg: reg, log: log}
}

// Method implements Deliverer.
func (r *Registry) Method() string { return "registry push (" + r.host + ")" }

// targets returns the reference to push (REGISTRY/PATH:TAG) and, for a
// reference already in this registry by digest, that digest.
func (r *Registry) target(ref string) (push string, digest string, err error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", "", fmt.Errorf("parsing image reference %q: %w", ref, err)
	}
	path := reference.Path(named)
	if reference.Domain(named) == "docker.io" {
		path = strings.TrimPrefix(path, "library/")
	}
	if reference.Domain(named) == r.host {
		if d, ok := named.(reference.Digested); ok {
			return r.host + "/" + path + "@" + d.Digest().String(), d.Digest().String(), nil
		}
	}
	tag := "latest"
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	return r.host + "/" + path + ":" + tag, "", nil
}

// clusterRef is the digest reference the cluster uses.
func (r *Registry) clusterRef(push, digest string) string {
	repo := push
	if i := strings.IndexByte(repo, '@'); i >= 0 {
		repo = repo[:i]
	} else if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
		repo = repo[:i]
	}
	if r.hostFromCluster != "" {
		repo = r.hostFromCluster + strings.TrimPrefix(repo, r.host)
	}
	return repo + "@" + digest
}

// Present implements Deliverer.
func (r *Registry) Present(ctx context.Context, ref string) (bool, error) {
	push, _, err := r.target(ref)
	if err != nil {
		return false, err
	}
	_, ok, err := r.reg.Exists(ctx, push)
	return ok, err
}

// Deliver implements Deliverer.
func (r *Registry) Deliver(ctx context.Context, ref string) (Report, error) {
	start := time.Now()
	rep := Report{Ref: ref, Method: r.Method()}
	push, _, err := r.target(ref)
	if err != nil {
		return rep, err
	}
	if digest, ok, err := r.reg.Exists(ctx, push); err != nil {
		return rep, err
	} else if ok {
		rep.Ref, rep.Skipped, rep.Duration = r.clusterRef(push, digest), true, time.Since(start)
		rep.Message = "already in " + r.host
		return rep, nil
	}
	if err := r.engine.ImageTag(ctx, ref, push); err != nil {
		return rep, fmt.Errorf("tagging %s as %s: %w", ref, push, err)
	}
	auth, err := r.reg.PushAuth(ctx, r.host)
	if err != nil {
		return rep, fmt.Errorf("pushing %s: %w", push, err)
	}
	rc, err := r.engine.ImagePush(ctx, push, image.PushOptions{RegistryAuth: auth})
	if err != nil {
		return rep, fmt.Errorf("pushing %s: %w", push, err)
	}
	defer rc.Close()
	res, err := parsePush(rc)
	if err != nil {
		return rep, fmt.Errorf("pushing %s: %w", push, err)
	}
	if res.digest == "" {
		// The containerd image store (Engine 26+) may report the digest
		// only in a status line, or not at all: ask the registry.
		digest, ok, err := r.reg.Exists(ctx, push)
		if err != nil || !ok {
			return rep, fmt.Errorf("pushing %s: the engine reported no digest and the registry has no manifest for it (%v)", push, err)
		}
		res.digest = digest
	}
	if len(res.pushedIDs) > 0 {
		// The containerd image store names layers by their digest; the graph
		// driver store by their uncompressed diff ID, which the manifest does
		// not hold: then the progress lines are all there is.
		if sizes, err := layerSizes(ctx, r.reg, push); err != nil {
			r.log.Debug("layer sizes unknown: counting push progress", zap.Error(err))
		} else if n, ok := sumSizes(sizes, res.pushedIDs); ok {
			res.bytes = n
		}
	}
	rep.Ref, rep.Bytes, rep.Duration = r.clusterRef(push, res.digest), res.bytes, time.Since(start)
	rep.Message = fmt.Sprintf("pushed %s: %d layer(s) sent, %d already there", push, res.pushed, res.existed)
	r.log.Info("delivered", zap.String("ref", rep.Ref), zap.String("method", rep.Method),
		zap.Int64("bytes", rep.Bytes), zap.Duration("duration", rep.Duration))
	return rep, nil
}

// pushMessage is one line of the engine's push progress (the fields of
// jsonmessage.JSONMessage devloop reads).
type pushMessage struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Progress *struct {
		Current int64 `json:"current"`
		Total   int64 `json:"total"`
	} `json:"progressDetail"`
	Error *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	ErrorMessage string           `json:"error"`
	Aux          *json.RawMessage `json:"aux"`
}

// statusDigest is the digest in a push's last status line,
// "TAG: digest: sha256:… size: N".
var statusDigest = regexp.MustCompile(`digest: (sha256:[0-9a-f]{64})`)

type pushResult struct {
	digest          string
	bytes           int64
	pushed, existed int
	// pushedIDs are the short IDs of the layers sent. Progress lines are
	// sampled (and the containerd image store sends none for small layers):
	// the sizes in the pushed manifest are the exact figure.
	pushedIDs []string
}

// parsePush reads the engine's push progress stream: the bytes of layers
// that were sent (their last progress), layers already in the registry, and
// the manifest digest.
func parsePush(r io.Reader) (pushResult, error) {
	var res pushResult
	current := map[string]int64{}
	dec := json.NewDecoder(r)
	for {
		var m pushMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return res, fmt.Errorf("reading push progress: %w", err)
		}
		if m.Error != nil {
			return res, errors.New(m.Error.Message)
		}
		if m.ErrorMessage != "" {
			return res, errors.New(m.ErrorMessage)
		}
		switch {
		case m.Status == "Pushing" && m.Progress != nil:
			current[m.ID] = max(current[m.ID], m.Progress.Current)
		case m.Status == "Pushed":
			res.pushed++
			res.bytes += current[m.ID]
			res.pushedIDs = append(res.pushedIDs, m.ID)
		case m.Status == "Layer already exists" || strings.HasPrefix(m.Status, "Mounted from"):
			res.existed++
		}
		if d := statusDigest.FindStringSubmatch(m.Status); d != nil && res.digest == "" {
			res.digest = d[1]
		}
		if m.Aux != nil {
			var aux struct{ Digest string }
			if json.Unmarshal(*m.Aux, &aux) == nil && aux.Digest != "" {
				res.digest = aux.Digest
			}
		}
	}
	return res, nil
}

// sumSizes adds the sizes of ids; ok is false when one is not in sizes.
func sumSizes(sizes map[string]int64, ids []string) (int64, bool) {
	var n int64
	for _, id := range ids {
		size, ok := sizes[id]
		if !ok {
			return 0, false
		}
		n += size
	}
	return n, true
}
