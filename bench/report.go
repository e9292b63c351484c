package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Metric is one measured quantity of a scenario with every raw sample.
type Metric struct {
	Scenario string    `json:"scenario"`
	Name     string    `json:"name"`
	Unit     string    `json:"unit"`
	Samples  []float64 `json:"samples"`
	// Target, when set, is the bound the median must meet ("<=" Limit).
	Target *Target `json:"target,omitempty"`
	Note   string  `json:"note,omitempty"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// Met is nil without a target or without samples.
	Met *bool `json:"met,omitempty"`
}

// Target is an upper bound on a metric's median.
type Target struct {
	Limit float64 `json:"limit"`
	Text  string  `json:"text"`
}

// finish computes the summary fields from the samples.
func (m *Metric) finish() {
	if len(m.Samples) == 0 {
		return
	}
	s := append([]float64(nil), m.Samples...)
	sort.Float64s(s)
	m.Min, m.Max = s[0], s[len(s)-1]
	if len(s)%2 == 1 {
		m.Median = s[len(s)/2]
	} else {
		m.Median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	if m.Target != nil {
		met := m.Median <= m.Target.Limit
		m.Met = &met
	}
}

// Results collects the metrics of a run.
type Results struct {
	metrics []*Metric
	Errors  []string
}

// add registers a metric and returns it for samples to be appended.
func (r *Results) add(scenario, name, unit string, target *Target) *Metric {
	m := &Metric{Scenario: scenario, Name: name, Unit: unit, Target: target, Samples: []float64{}}
	r.metrics = append(r.metrics, m)
	return m
}

// errorf records a scenario failure (the run goes on).
func (r *Results) errorf(scenario, format string, args ...any) {
	r.Errors = append(r.Errors, scenario+": "+fmt.Sprintf(format, args...))
}

func le(limit float64, text string) *Target { return &Target{Limit: limit, Text: text} }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fmtVal(v float64, unit string) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case unit == "ms" && v >= 10000:
		return fmt.Sprintf("%.1fs", v/1000)
	case unit == "ms":
		return fmt.Sprintf("%.0fms", v)
	case unit == "MB":
		return fmt.Sprintf("%.1fMB", v)
	case unit == "%":
		return fmt.Sprintf("%.2f%%", v)
	case unit == "x":
		return fmt.Sprintf("%.2fx", v)
	case unit == "s":
		return fmt.Sprintf("%.2fs", v)
	default:
		if v == math.Trunc(v) {
			return fmt.Sprintf("%.0f%s", v, unitSuffix(unit))
		}
		return fmt.Sprintf("%.2f%s", v, unitSuffix(unit))
	}
}

func unitSuffix(u string) string {
	if u == "" || u == "count" {
		return ""
	}
	return " " + u
}

// printTable writes the summary table.
func (r *Results) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tMETRIC\tN\tMEDIAN\tMIN\tMAX\tTARGET\tMET?")
	for _, m := range r.metrics {
		m.finish()
		med, lo, hi := "-", "-", "-"
		if len(m.Samples) > 0 {
			med, lo, hi = fmtVal(m.Median, m.Unit), fmtVal(m.Min, m.Unit), fmtVal(m.Max, m.Unit)
		}
		target, met := "", ""
		if m.Target != nil {
			target = m.Target.Text
			switch {
			case m.Met == nil:
				met = "no data"
			case *m.Met:
				met = "met"
			default:
				met = "MISSED"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", m.Scenario, m.Name, len(m.Samples), med, lo, hi, target, met)
	}
	_ = tw.Flush()
	if len(r.Errors) > 0 {
		fmt.Fprintln(w, "\nerrors:")
		for _, e := range r.Errors {
			fmt.Fprintln(w, "  - "+strings.ReplaceAll(e, "\n", "\n    "))
		}
	}
}

// missed reports whether a metric of the scenario missed its target.
func (r *Results) missed(scenario string) bool {
	for _, m := range r.metrics {
		if m.Scenario != scenario || m.Target == nil {
			continue
		}
		m.finish()
		if m.Met != nil && !*m.Met {
			return true
		}
	}
	return false
}

// printMisses writes each scenario that missed a target with its profile:
// the missed metrics, the scenario's other measurements (its phases and
// baselines, medians) and the top of its CPU profile when one was kept
// (cpuTops, by scenario).
func (r *Results) printMisses(w io.Writer, cpuTops map[string]string) {
	var scenarios []string
	seen := map[string]bool{}
	for _, m := range r.metrics {
		m.finish()
		if m.Met != nil && !*m.Met && !seen[m.Scenario] {
			seen[m.Scenario] = true
			scenarios = append(scenarios, m.Scenario)
		}
	}
	for _, sc := range scenarios {
		fmt.Fprintf(w, "\nMISSED in %s:\n", sc)
		missed := map[*Metric]bool{}
		for _, m := range r.metrics {
			if m.Scenario == sc && m.Met != nil && !*m.Met {
				missed[m] = true
				fmt.Fprintf(w, "  %s: %s, target %s\n", m.Name, fmtVal(m.Median, m.Unit), m.Target.Text)
			}
		}
		fmt.Fprintln(w, "  profile (the scenario's other measurements, medians):")
		tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
		for _, m := range r.metrics {
			if m.Scenario == sc && !missed[m] && len(m.Samples) > 0 {
				fmt.Fprintf(tw, "    %s\t%s\n", m.Name, fmtVal(m.Median, m.Unit))
			}
		}
		_ = tw.Flush()
		if top := cpuTops[sc]; top != "" {
			fmt.Fprintln(w, "  devloop's CPU profile (go tool pprof -top, first lines):")
			lines := strings.Split(strings.TrimSpace(top), "\n")
			if len(lines) > 16 {
				lines = lines[:16]
			}
			for _, l := range lines {
				fmt.Fprintln(w, "    "+l)
			}
		}
	}
}
