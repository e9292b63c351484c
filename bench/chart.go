package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// cyclePhases are the parts of a save → served wait, in order, as the chart
// stacks them: detect (save → cycle start), the cycle's phases, and
// served (cycle done → the new version answering through the port-forward).
var cyclePhases = []struct{ name, color string }{
	{"detect", "#8250df"}, {"hash", "#bf8700"}, {"build", "#0969da"}, {"deliver", "#1a7f37"},
	{"apply", "#cf222e"}, {"ready", "#57606a"}, {"served", "#e16f24"},
}

// chartRow is one bar: an edit and its parts in ms.
type chartRow struct {
	label string
	parts map[string]float64
}

// cycleBreakdown splits one measured edit into cyclePhases, in ms.
func cycleBreakdown(save, served time.Time, evs []Event) map[string]float64 {
	out := map[string]float64{}
	var start, end time.Time
	for _, e := range evs {
		if e.Phase == "cycle" && e.Status == "start" && start.IsZero() {
			start = e.Time
		}
		if e.Phase == "cycle" && e.Status != "start" && e.Status != "info" {
			end = e.Time
		}
	}
	if !start.IsZero() {
		out["detect"] = ms(start.Sub(save))
	}
	out["hash"] = phaseSum(evs, "hash")
	out["build"] = phaseSum(evs, "build")
	out["deliver"] = phaseSum(evs, "deliver")
	out["apply"] = phaseSum(evs, "render") + phaseSum(evs, "apply") + phaseSum(evs, "prune")
	out["ready"] = phaseSum(evs, "status")
	if !end.IsZero() {
		out["served"] = ms(served.Sub(end))
	}
	return out
}

// writeCycleChart writes an SVG of stacked horizontal bars, one per edit,
// beside the results file (for docs/performance.md). A negative part (the new pod
// serving before the wait for the old one ended) is drawn as zero.
func writeCycleChart(path, title string, rows []chartRow) error {
	const w, left, barH, gap, top = 760.0, 150.0, 18.0, 6.0, 46.0
	maxTotal := 1.0
	for _, r := range rows {
		var sum float64
		for _, v := range r.parts {
			sum += max(v, 0)
		}
		maxTotal = max(maxTotal, sum)
	}
	scale := (w - left - 20) / maxTotal
	h := top + float64(len(rows))*(barH+gap) + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="10" y="18" font-size="14">%s</text>`+"\n", escape(title))
	x := 10.0
	for _, p := range cyclePhases {
		fmt.Fprintf(&b, `<rect x="%.0f" y="28" width="10" height="10" fill="%s"/><text x="%.0f" y="37">%s</text>`+"\n", x, p.color, x+14, p.name)
		x += 14 + float64(len(p.name))*7 + 14
	}
	for i, r := range rows {
		y := top + float64(i)*(barH+gap)
		parts := r.parts
		var sum float64
		x := left
		for _, p := range cyclePhases {
			v := max(parts[p.name], 0)
			sum += v
			if v == 0 {
				continue
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.0f" width="%.1f" height="%.0f" fill="%s"><title>%s %.0f ms</title></rect>`+"\n",
				x, y, v*scale, barH, p.color, p.name, v)
			x += v * scale
		}
		fmt.Fprintf(&b, `<text x="10" y="%.0f">%s  %.2f s</text>`+"\n", y+13, escape(r.label), sum/1000)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="#656d76">0 … %.1f s</text>`+"\n", left, h-10, maxTotal/1000)
	b.WriteString("</svg>\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
