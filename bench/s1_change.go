package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// notesTarget is the cluster the change scenario runs on: the environment's
// test cluster (the kube context of the environment) or the kind cluster.
type notesTarget struct {
	scenario string // the scenario of its metrics: "change" or "change-kind"
	prefix   string // of its metric names and chart labels: "" or "kind: "
	short    string // in the fixture's names: "notes" or "notes-kind"
	// kubeContext is the context devloop and the cleanup use ("" is the
	// environment's, the kubeconfig's current one).
	kubeContext string
	// kindCluster, when set, makes the delivery baseline `kind load
	// docker-image --name kindCluster` instead of docker save + ctr import.
	kindCluster string
	// buildOnly leaves out the delivery baselines: devloop pushes to a
	// registry inside its build, where no raw load matches its deliver.
	buildOnly bool
	devFlags  []string // extra flags of `devloop dev`
	// prepare, when set, changes the fixture's copy before devloop starts.
	prepare func(dir string) error
	// minReps is the least number of edits, quick runs included.
	minReps int
}

// testCluster is the environment's default test cluster.
var testCluster = notesTarget{scenario: "change", short: "notes"}

// kindTarget is the environment's kind cluster, reached as test/kind
// reaches it (--kube-context of the kind context). With import false devloop
// picks its delivery as a user's would (kind's local registry: the push
// happens in the build, deliver is skipped) and the only baseline is the
// raw build; with import true it runs --delivery import, as test/kind's node
// import steps do, beside the raw `kind load docker-image` of the same image.
func kindTarget(imp bool) (notesTarget, error) {
	kctx, cluster := os.Getenv("DEVLOOP_KIND_CONTEXT"), os.Getenv("DEVLOOP_KIND_CLUSTER")
	if kctx == "" || cluster == "" {
		return notesTarget{}, fmt.Errorf("DEVLOOP_KIND_CONTEXT or DEVLOOP_KIND_CLUSTER is not set (eval \"$(hack/env/env.sh)\")")
	}
	t := notesTarget{scenario: "change-kind", prefix: "kind: ", short: "notes-kind",
		kubeContext: kctx, kindCluster: cluster, buildOnly: true}
	if imp {
		t.scenario, t.prefix, t.short = "change-kind-import", "kind, node import: ", "notes-kindimp"
		t.buildOnly, t.devFlags = false, []string{"--delivery", "import"}
	}
	return t, nil
}

// devloopArgs prepends the target's --kube-context to a devloop command line.
func (t notesTarget) devloopArgs(args ...string) []string {
	if t.kubeContext == "" {
		return args
	}
	return append([]string{"--kube-context", t.kubeContext}, args...)
}

// notesScenarios runs scenarios 1-3 on one private copy of examples/notes:
// change to ready and no-op edits under one `devloop dev`, then warm
// `devloop run`s against what it left deployed, then the raw baselines.
func (b *Bench) notesScenarios(ctx context.Context) error {
	return b.notesOn(ctx, testCluster, func(f *notesFixture, p *Proc) {
		if err := b.noopEdits(ctx, f, p); err != nil {
			b.res.errorf("noop", "%v", err)
		}
	}, func(f *notesFixture) {
		if err := b.warmStart(ctx, f); err != nil {
			b.res.errorf("warm", "%v", err)
		}
	})
}

// changeKindScenario is scenario 1 on the kind cluster, delivered as devloop
// chooses there (kind's local registry).
func (b *Bench) changeKindScenario(ctx context.Context) error {
	t, err := kindTarget(false)
	if err != nil {
		return err
	}
	return b.notesOn(ctx, t, nil, nil)
}

// changeKindImportScenario is scenario 1 on the kind cluster with --delivery
// import (only missing blobs into the node's containerd).
func (b *Bench) changeKindImportScenario(ctx context.Context) error {
	t, err := kindTarget(true)
	if err != nil {
		return err
	}
	return b.notesOn(ctx, t, nil, nil)
}

// notesOn deploys a private copy of examples/notes on t under `devloop
// dev`, measures the first deploy and the change to ready, runs during
// (when set) under the same dev and after (when set) once it stopped, then
// deletes what devloop deployed.
func (b *Bench) notesOn(ctx context.Context, t notesTarget, during func(*notesFixture, *Proc), after func(*notesFixture)) error {
	f, err := b.newNotes(t)
	if err != nil {
		return err
	}
	if t.prepare != nil {
		if err := t.prepare(f.dir); err != nil {
			return err
		}
	}
	startVersion := "bench-start-" + b.id
	if _, err := f.setVersion(startVersion); err != nil {
		return err
	}
	args := append([]string{"dev", "-n", f.ns, "--cleanup=false", "--quiet-period", quietPeriod.String()}, t.devFlags...)
	p, err := b.startDevloop(f.dir, t.devloopArgs(append(args, b.profileArgs(t.scenario)...)...)...)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := waitFirstCycle(ctx, p, 15*time.Minute); err != nil {
		p.Stop(30 * time.Second)
		return err
	}
	if _, err := f.waitVersion(ctx, startVersion, 5*time.Minute); err != nil {
		p.Stop(30 * time.Second)
		return fmt.Errorf("first deploy: %w", err)
	}
	b.res.add(t.scenario, t.prefix+"first deploy (cold dev start → page served)", "ms", nil).Samples = []float64{ms(time.Since(t0))}

	w, err := b.watchReady(ctx, t.kubeContext, f.ns, "notes-web-")
	if err != nil {
		b.res.errorf(t.scenario, "%v", err)
	}
	if err := b.changeToReady(ctx, t, f, p, w); err != nil {
		b.res.errorf(t.scenario, "%v", err)
	}
	if w != nil {
		w.stop()
	}
	if during != nil {
		during(f, p)
	}
	p.Stop(30 * time.Second)
	b.samples[t.scenario+".devloopEvents"] = p.Events()

	if after != nil {
		after(f)
	}
	dctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if _, out, err := b.cmd(dctx, f.dir, b.devloop, t.devloopArgs("delete", "--data")...); err != nil {
		b.res.errorf(t.scenario, "devloop delete: %v: %s", err, tail(out, 500))
	}
	return nil
}

// changeToReady is scenario 1: edit web/version.go, wait until the new
// version answers through devloop's port-forward, split by phase.
// w, when set, is the bench's own watch of the web pods' readiness.
func (b *Bench) changeToReady(ctx context.Context, t notesTarget, f *notesFixture, p *Proc, w *readyWatch) error {
	sc, pre := t.scenario, t.prefix
	var (
		total   = b.res.add(sc, pre+"save → new version served", "ms", nil)
		detect  = b.res.add(sc, pre+"detect (save → cycle start)", "ms", le(150, "≤ 150ms"))
		hash    = b.res.add(sc, pre+"hash", "ms", nil)
		build   = b.res.add(sc, pre+"build", "ms", nil)
		deliver = b.res.add(sc, pre+"deliver", "ms", nil)
		load    *Metric // the kind node import's baseline, beside deliver
	)
	if t.kindCluster != "" && !t.buildOnly {
		load = b.res.add(sc, pre+"baseline: kind load docker-image --name "+t.kindCluster+" of the same edit's image", "ms", nil)
	}
	var (
		render   = b.res.add(sc, pre+"render", "ms", nil)
		apply    = b.res.add(sc, pre+"apply", "ms", nil)
		status   = b.res.add(sc, pre+"status (ready)", "ms", nil)
		cycleEnd = b.res.add(sc, pre+"save → cycle done", "ms", nil)
		served   = b.res.add(sc, pre+"cycle done → served (port-forward)", "ms", nil)
		// Readiness seen from outside: the bench's own pod watch.
		podReady    = b.res.add(sc, pre+"save → new web pod Ready (the bench's own pod watch)", "ms", nil)
		readyStatus = b.res.add(sc, pre+"new pod Ready (bench's watch) → devloop's status done", "ms", le(100, "≤ 100ms"))
		readyServed = b.res.add(sc, pre+"new pod Ready (bench's watch) → new version served", "ms", le(100, "≤ 100ms"))
		// The rollout, from devloop's apply done, as the bench's watch saw
		// the new pod: created, bound to the node, its container reported
		// running by the kubelet, Ready.
		rolloutSeen    = b.res.add(sc, pre+"rollout: apply done → new pod created", "ms", nil)
		rolloutSched   = b.res.add(sc, pre+"rollout: created → scheduled", "ms", nil)
		rolloutRunning = b.res.add(sc, pre+"rollout: scheduled → container reported running", "ms", nil)
		rolloutReady   = b.res.add(sc, pre+"rollout: running → Ready (readiness probe)", "ms", nil)
		// The headline, against the raw work measured in the same run
		// (never against devloop's own phase durations): how much longer
		// than a plain `docker buildx build --load` of the same edit the
		// user waits for the new version to be served.
		added = b.res.add(sc, pre+"added wait = (save → served) − raw docker buildx build --load of the same edit", "ms", le(1000, "≤ 1.0 s"))
		// The build alone against the raw build: what devloop's way of
		// running it costs (or saves) on top of BuildKit's work.
		buildOver = b.res.add(sc, pre+"devloop's build − raw docker buildx build --load of the same edit", "ms", nil)
	)
	// The delivery path devloop chose, as its detect event says.
	for _, e := range p.Events() {
		if e.Phase == "detect" && e.Status == "done" {
			deliver.Note = e.Message
		}
	}
	type sample struct {
		Version string  `json:"version"`
		Save    string  `json:"save"`
		TotalMs float64 `json:"totalMs"`
		Events  []Event `json:"events"`
	}
	var raw []sample
	defer func() { b.samples[sc+".samples"] = raw }()
	bl, err := b.newBaseline(t, f)
	if err != nil {
		return err
	}
	bl.load = load
	n := max(b.reps(7, 3), t.minReps)
	for i := 0; i < n; i++ {
		from := p.Len()
		v := fmt.Sprintf("bench-%s-%d-%d", b.id, i, time.Now().UnixNano()%1e6)
		save, err := f.setVersion(v)
		if err != nil {
			return err
		}
		ready, err := f.waitVersion(ctx, v, 5*time.Minute)
		if err != nil {
			return fmt.Errorf("edit %d: %w", i, err)
		}
		start, end, evs, err := editCycle(ctx, p, from)
		if err != nil {
			return fmt.Errorf("edit %d: %w", i, err)
		}
		if end.Status != "done" {
			return fmt.Errorf("edit %d: cycle %d %s: %s", i, end.Cycle, end.Status, end.Message)
		}
		tot := ms(ready.Sub(save))
		total.Samples = append(total.Samples, tot)
		detect.Samples = append(detect.Samples, ms(start.Time.Sub(save)))
		hash.Samples = append(hash.Samples, phaseSum(evs, "hash"))
		build.Samples = append(build.Samples, phaseSum(evs, "build"))
		deliver.Samples = append(deliver.Samples, phaseSum(evs, "deliver"))
		render.Samples = append(render.Samples, phaseSum(evs, "render"))
		apply.Samples = append(apply.Samples, phaseSum(evs, "apply"))
		status.Samples = append(status.Samples, phaseSum(evs, "status"))
		cycleEnd.Samples = append(cycleEnd.Samples, ms(end.Time.Sub(save)))
		served.Samples = append(served.Samples, ms(ready.Sub(end.Time)))
		if w != nil {
			if pt, ok := w.readyAfter(save); ok {
				at := pt.ready
				podReady.Samples = append(podReady.Samples, ms(at.Sub(save)))
				if st, ok := lastPhase(evs, "status"); ok {
					readyStatus.Samples = append(readyStatus.Samples, ms(st.Sub(at)))
				}
				readyServed.Samples = append(readyServed.Samples, ms(ready.Sub(at)))
				if ap, ok := lastPhase(evs, "apply"); ok && !pt.scheduled.IsZero() && !pt.running.IsZero() {
					rolloutSeen.Samples = append(rolloutSeen.Samples, ms(pt.seen.Sub(ap)))
					rolloutSched.Samples = append(rolloutSched.Samples, ms(pt.scheduled.Sub(pt.seen)))
					rolloutRunning.Samples = append(rolloutRunning.Samples, ms(pt.running.Sub(pt.scheduled)))
					rolloutReady.Samples = append(rolloutReady.Samples, ms(at.Sub(pt.running)))
				}
			}
		}
		raw = append(raw, sample{Version: v, Save: save.Format(time.RFC3339Nano), TotalMs: tot, Events: evs})
		b.chartRows = append(b.chartRows, chartRow{fmt.Sprintf("%sedit %d", pre, i+1), cycleBreakdown(save, ready, evs)})
		fmt.Fprintf(os.Stderr, "    %sedit %d: %s to served (cycle %dms)\n", pre, i, time.Duration(tot*1e6).Round(time.Millisecond), end.DurationMs)
		built := len(bl.bx.Samples)
		if err := b.baselineRep(ctx, bl, i); err != nil {
			b.res.errorf(sc, "baseline %d: %v", i, err)
		}
		if n := len(bl.bx.Samples); n > built {
			added.Samples = append(added.Samples, tot-bl.bx.Samples[n-1])
			buildOver.Samples = append(buildOver.Samples, phaseSum(evs, "build")-bl.bx.Samples[n-1])
		}
		time.Sleep(time.Second)
	}
	return nil
}

// baseline is the work itself, measured right after each devloop edit
// under the same load: the raw `docker buildx build --load` of the same
// kind of edit in a separate copy of web/, then its delivery: on the test
// cluster `docker save` and the raw `ctr images import` into the cluster's
// containerd, on kind `kind load docker-image` into the nodes. The bench
// polls the page every 10 ms while devloop works (through devloop's
// port-forward, the API server and the kubelet: on 2 cores a real load),
// so it polls the same way while the baseline runs.
type baseline struct {
	dir                 string
	pollURL             string
	bx, save, imp, load *Metric
	containerdSock      string
	kindCluster         string
	buildOnly           bool
}

func (b *Bench) newBaseline(t notesTarget, f *notesFixture) (*baseline, error) {
	dir, err := b.tempDir("baseline")
	if err != nil {
		return nil, err
	}
	if err := copyTree(filepath.Join(f.dir, "web"), dir); err != nil {
		return nil, fmt.Errorf("copying web: %w", err)
	}
	sc := t.scenario
	bl := &baseline{dir: dir, bx: b.res.add(sc, t.prefix+"baseline: docker buildx build --load", "ms", nil), kindCluster: t.kindCluster,
		pollURL: fmt.Sprintf("http://127.0.0.1:%d/version", f.port)}
	if t.buildOnly {
		bl.kindCluster = ""
		bl.buildOnly = true
		return bl, nil
	}
	if t.kindCluster != "" {
		return bl, nil
	}
	bl.save = b.res.add(sc, "baseline: docker save", "ms", nil)
	bl.imp = b.res.add(sc, "baseline: ctr images import", "ms", nil)
	bl.containerdSock = os.Getenv("DEVLOOP_CONTAINERD_SOCK")
	if bl.containerdSock == "" {
		b.res.errorf(sc, "DEVLOOP_CONTAINERD_SOCK is not set: no ctr import baseline")
	}
	return bl, nil
}

func (b *Bench) baselineRep(ctx context.Context, bl *baseline, i int) error {
	v := fmt.Sprintf("baseline-%s-%d-%d", b.id, i, time.Now().UnixNano()%1e6)
	src := fmt.Sprintf("package main\n\nconst Version = %q\n", v)
	if _, err := writeFile(filepath.Join(bl.dir, "version.go"), []byte(src)); err != nil {
		return err
	}
	ref := fmt.Sprintf("bench-baseline-web-%s:%d", b.id, i)
	b.image(ref)
	stopPolling := pollWhile(ctx, bl.pollURL)
	defer stopPolling()
	d, _, err := b.cmd(ctx, bl.dir, "docker", "buildx", "build", "--load", "-t", ref, ".")
	if err != nil {
		return err
	}
	bl.bx.Samples = append(bl.bx.Samples, ms(d))
	if bl.buildOnly {
		return nil
	}
	if bl.kindCluster != "" {
		b.kindImage(bl.kindCluster, ref)
		d, _, err := b.cmd(ctx, "", "kind", "load", "docker-image", ref, "--name", bl.kindCluster)
		if err != nil {
			return err
		}
		if bl.load != nil {
			bl.load.Samples = append(bl.load.Samples, ms(d))
		}
		return nil
	}
	if bl.containerdSock == "" {
		return nil
	}
	tar := bl.dir + ".tar"
	defer os.Remove(tar)
	d, _, err = b.cmd(ctx, "", "docker", "save", "-o", tar, ref)
	if err != nil {
		return err
	}
	bl.save.Samples = append(bl.save.Samples, ms(d))
	d, _, err = b.cmd(ctx, "", "ctr", "-a", bl.containerdSock, "-n", "k8s.io", "images", "import", tar)
	if err != nil {
		return err
	}
	bl.imp.Samples = append(bl.imp.Samples, ms(d))
	return nil
}
