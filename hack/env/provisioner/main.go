// Command provisioner is the test environment's volume provisioner: for every
// pending PersistentVolumeClaim of its StorageClass it creates a hostPath
// PersistentVolume under a directory of the host, bound to that claim, and it
// deletes the directory and the volume once the claim is gone (reclaim policy
// Delete). It runs as a host process next to the single-node cluster, which
// is what makes StatefulSet volumeClaimTemplates bind and keeps their data
// across pod deletions.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	root := flag.String("root", "", "directory that holds the volumes")
	class := flag.String("class", "standard", "StorageClass whose claims this provisioner serves")
	name := flag.String("name", "devloop.dev/hostpath", "provisioner name (the StorageClass's provisioner field)")
	interval := flag.Duration("interval", time.Second, "how often claims and volumes are reconciled")
	flag.Parse()

	log, err := zap.NewProduction()
	if err != nil {
		fmt.Fprintln(os.Stderr, "provisioner:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, log.Named("provisioner"), *kubeconfig, Config{Root: *root, Class: *class, Name: *name}, *interval); err != nil {
		log.Error("provisioner failed", zap.Error(err))
		_ = log.Sync()
		os.Exit(1)
	}
}

func run(ctx context.Context, log *zap.Logger, kubeconfig string, cfg Config, interval time.Duration) error {
	if cfg.Root == "" {
		return fmt.Errorf("-root is required")
	}
	if err := os.MkdirAll(cfg.Root, 0o755); err != nil {
		return fmt.Errorf("creating the volume root: %w", err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("loading the kubeconfig: %w", err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("creating the client: %w", err)
	}
	p := &Provisioner{Client: cs, Config: cfg, Log: log}
	log.Info("serving", zap.String("class", cfg.Class), zap.String("root", cfg.Root))
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := p.Reconcile(ctx); err != nil && ctx.Err() == nil {
			log.Warn("reconcile failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
