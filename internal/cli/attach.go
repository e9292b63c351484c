package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deploy"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/kube"
	"github.com/devloop-dev/devloop/internal/logs"
	"github.com/devloop-dev/devloop/internal/portforward"
)

// attachOptions say what to keep running next to the deployment.
type attachOptions struct {
	Logs        bool
	PortForward bool
	// FailOnForwardError ends attach when a forward cannot start (run);
	// the dev loop reports it and keeps going.
	FailOnForwardError bool
}

// attach streams logs and runs port-forwards until ctx is done.
func attach(ctx context.Context, g *globalOptions, cfg *config.Config, kc *kube.Client, objs []*unstructured.Unstructured, out output, o attachOptions) error {
	eg, ctx := errgroup.WithContext(ctx)
	if o.Logs {
		sel, err := labels.Parse(deploy.Selector(cfg.Metadata.Name))
		if err != nil {
			return fmt.Errorf("devloop's label selector: %w", err)
		}
		s := logs.New(kc.Clientset, g.log.Named("logs"))
		// With -o json, stdout carries only events: pod logs go to stderr.
		w := g.streams.Out
		if g.Output == "json" {
			w = g.streams.Err
		}
		eg.Go(func() error {
			return s.Run(ctx, logs.Options{Namespaces: namespacesOf(objs), Selector: sel}, w)
		})
	}
	if o.PortForward {
		for _, pf := range cfg.PortForward {
			spec := portforward.Spec{
				Namespace: forwardNamespace(pf, cfg, kc, objs), Kind: pf.Kind(), Name: pf.Name(),
				Port: pf.Port, LocalPort: pf.LocalPort, Address: pf.Address,
			}
			f, err := portforward.New(kc.Config, kc.Clientset, g.log.Named("portforward"), spec)
			if err != nil {
				return err
			}
			eg.Go(func() error {
				err := f.Run(ctx, func(url string) {
					out.sink.Emit(events.Event{Phase: events.PhasePortForward, Status: events.StatusInfo,
						Object: pf.Resource, URL: url, Message: fmt.Sprintf("%s:%d serving at %s", pf.Resource, pf.Port, url)})
				})
				if err != nil && !errors.Is(err, context.Canceled) {
					out.sink.Emit(events.Event{Phase: events.PhasePortForward, Status: events.StatusFailed, Object: pf.Resource, Message: err.Error()})
					if o.FailOnForwardError {
						return fmt.Errorf("port-forward %s: %w", pf.Resource, err)
					}
				}
				return nil
			})
		}
	}
	err := eg.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// forwardNamespace: the forward's own namespace, else the namespace of the
// rendered object it names, else the deploy namespace, else the context's.
func forwardNamespace(pf config.PortForward, cfg *config.Config, kc *kube.Client, objs []*unstructured.Unstructured) string {
	if pf.Namespace != "" {
		return pf.Namespace
	}
	for _, o := range objs {
		if o.GetKind() == config.ObjectKind(pf.Kind()) && o.GetName() == pf.Name() && o.GetNamespace() != "" {
			return o.GetNamespace()
		}
	}
	if cfg.Deploy.Namespace != "" {
		return cfg.Deploy.Namespace
	}
	return kc.Namespace
}

// namespacesOf lists the namespaces of the rendered objects.
func namespacesOf(objs []*unstructured.Unstructured) []string {
	set := map[string]bool{}
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" {
			set[ns] = true
		}
		if o.GetKind() == "Namespace" {
			set[o.GetName()] = true
		}
	}
	out := make([]string, 0, len(set))
	for ns := range set {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}
