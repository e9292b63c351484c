package dashboardtest

import (
	"strings"

	"github.com/devloop-dev/devloop/internal/events"
)

// want is what a page must show once devloop settled.
type want struct {
	// Rows are the resources table's rows (status "" is any).
	Rows []row `json:"rows"`
	// Forwards are the port-forward URLs, each shown serving.
	Forwards []string `json:"forwards"`
	// Builds are the Last build panel's lines, one per artifact.
	Builds []build `json:"builds"`
}

type row struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Status    string `json:"status"`
}

type build struct {
	Artifact string `json:"artifact"`
	Status   string `json:"status"`
	Text     string `json:"text"` // a part of the line
}

// listedKinds are the kinds the resources table lists (Namespaces and
// ConfigMaps are applied but have no status to show; Secrets are never
// listed).
var listedKinds = map[string]bool{
	"Deployment": true, "StatefulSet": true, "DaemonSet": true, "Job": true,
	"Service": true, "PersistentVolumeClaim": true,
}

// appliedRows are the rows of the objects the apply events name
// ("Kind/namespace/name"), each wanted Current.
func appliedRows(evs []events.Event) []row {
	seen := map[row]bool{}
	var out []row
	for _, e := range evs {
		if e.Phase != events.PhaseApply || e.Object == "" {
			continue
		}
		parts := strings.Split(e.Object, "/")
		if len(parts) != 3 || !listedKinds[parts[0]] {
			continue
		}
		r := row{Kind: parts[0], Namespace: parts[1], Name: parts[2], Status: "Current"}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// lastBuilds is what the Last build panel must say: for each artifact,
// its last build event of the last cycle that had any (as the page
// counts them: a cycle's first build event replaces the lines).
func lastBuilds(evs []events.Event) []build {
	fresh := true
	var order []string
	last := map[string]events.Event{}
	for _, e := range evs {
		if e.Phase == events.PhaseCycle && e.Status == events.StatusStart {
			fresh = true
		}
		if e.Phase != events.PhaseBuild || e.Artifact == "" {
			continue
		}
		if fresh {
			order, last, fresh = nil, map[string]events.Event{}, false
		}
		if _, ok := last[e.Artifact]; !ok {
			order = append(order, e.Artifact)
		}
		last[e.Artifact] = e
	}
	out := make([]build, 0, len(order))
	for _, a := range order {
		e := last[a]
		b := build{Artifact: a, Status: e.Status}
		switch e.Status {
		case events.StatusDone:
			b.Text = "built"
		case events.StatusFailed:
			b.Text = "failed"
		case events.StatusSkipped:
			b.Text = "not built"
			for _, where := range []string{"cluster", "engine", "registry"} {
				if strings.Contains(e.Message, "already in the "+where) {
					b.Text = "already in the " + where + " (tag " + tagOf(e.Image) + ")"
				}
			}
		case events.StatusStart:
			b.Text = "building"
		}
		out = append(out, b)
	}
	return out
}

// tagOf is the tag of name:tag (the digest of name@digest).
func tagOf(ref string) string {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		return ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[i+1:]
	}
	return ""
}

// forwardURLs are the URLs the port-forward events announced.
func forwardURLs(evs []events.Event) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range evs {
		if e.Phase == events.PhasePortForward && e.URL != "" && !seen[e.URL] {
			seen[e.URL] = true
			out = append(out, e.URL)
		}
	}
	return out
}

// checkPage is an expression giving "" when the page is live and shows
// everything w lists, with no error of its own (a panel that failed to
// load, a script error), and else one line per thing it lacks.
func checkPage(w want) string {
	return `((want) => {
  const miss = [];
  const conn = document.getElementById("conn").textContent;
  if (conn !== "live") miss.push("the badge says " + JSON.stringify(conn));
  const trs = [...document.querySelectorAll("#resources tbody tr")];
  for (const r of want.rows || []) {
    const tr = trs.find((tr) => tr.dataset.kind === r.kind && tr.dataset.name === r.name && tr.dataset.namespace === r.namespace);
    const id = r.kind + "/" + r.namespace + "/" + r.name;
    if (!tr) { miss.push("no row " + id); continue; }
    const status = tr.cells[3].textContent;
    if (r.status && status !== r.status) miss.push("row " + id + " is " + status + ", want " + r.status);
  }
  const links = [...document.querySelectorAll("#forwards li")];
  for (const u of want.forwards || []) {
    const li = links.find((li) => li.querySelector("a") && li.querySelector("a").getAttribute("href") === u);
    if (!li) miss.push("no port-forward " + u);
    else if (!li.querySelector(".state-serving")) miss.push("port-forward " + u + " is not serving: " + li.textContent);
  }
  for (const b of want.builds || []) {
    const d = document.querySelector('#build [data-artifact="' + b.artifact + '"]');
    if (!d) { miss.push("no last build line for " + b.artifact + " (panel: " + document.getElementById("build").textContent + ")"); continue; }
    if (d.dataset.status !== b.status) miss.push("last build of " + b.artifact + " is " + d.dataset.status + ", want " + b.status);
    if (!d.textContent.includes(b.text)) miss.push("last build of " + b.artifact + " says " + JSON.stringify(d.textContent) + ", want " + JSON.stringify(b.text) + " in it");
  }
  if (state.panelErrors.size > 0) miss.push("the page's own errors: " + [...state.panelErrors.values()].join("; "));
  return miss.join("\n");
})(` + jsValue(w) + `)`
}
