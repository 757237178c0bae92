// Package metrics keeps syncer's counters and gauges and writes them in the
// Prometheus text exposition format for GET /metrics. It is a small registry
// of its own (no client library): metrics keyed by name and label values,
// safe for concurrent use. It must not decide what is measured.
package metrics

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Kind is counter or gauge.
type Kind string

// The metric kinds.
const (
	Counter Kind = "counter"
	Gauge   Kind = "gauge"
)

type family struct {
	help   string
	kind   Kind
	labels []string
	values map[string]float64 // joined label values → value
}

// Registry holds metric families.
type Registry struct {
	mu       sync.Mutex
	families map[string]*family
}

// New returns an empty registry.
func New() *Registry { return &Registry{families: map[string]*family{}} }

// Define declares a metric; defining it twice is a programming error.
func (r *Registry) Define(name string, kind Kind, help string, labels ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.families[name]; dup {
		panic("metrics: " + name + " defined twice")
	}
	r.families[name] = &family{help: help, kind: kind, labels: labels, values: map[string]float64{}}
}

func (r *Registry) get(name string, labels []string) (*family, string) {
	f, ok := r.families[name]
	if !ok {
		panic("metrics: " + name + " is not defined")
	}
	if len(labels) != len(f.labels) {
		panic(fmt.Sprintf("metrics: %s takes %d labels, got %d", name, len(f.labels), len(labels)))
	}
	return f, strings.Join(labels, "\x00")
}

// Add adds v to a counter or gauge.
func (r *Registry) Add(name string, v float64, labels ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, key := r.get(name, labels)
	f.values[key] += v
}

// Set sets a gauge.
func (r *Registry) Set(name string, v float64, labels ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, key := r.get(name, labels)
	f.values[key] = v
}

// WriteText writes every metric in the Prometheus text format, sorted.
func (r *Registry) WriteText(w io.Writer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.families))
	for n := range r.families {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		f := r.families[n]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", n, escapeHelp(f.help), n, f.kind)
		keys := make([]string, 0, len(f.values))
		for k := range f.values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString(n)
			if len(f.labels) > 0 {
				vals := strings.Split(k, "\x00")
				b.WriteByte('{')
				for i, l := range f.labels {
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, "%s=\"%s\"", l, escapeLabel(vals[i]))
				}
				b.WriteByte('}')
			}
			b.WriteByte(' ')
			b.WriteString(formatValue(f.values[k]))
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}
