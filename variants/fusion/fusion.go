// Package fusion holds the graph rewrites of the seed's "mind experiments":
// BN folding, conv+ReLU, conv+eltsum+ReLU, the pre-activation fusions of
// ResNet-v2, the SE fusions, multi-branch (horizontal) fusion, the kernel=1
// pooling optimization and lossless topology compression.
//
// Each pass is a function from graph to graph in its own file, named for the
// pattern it rewrites, and can be switched on or off alone. Apply runs the
// selected passes in one canonical order (the order of Passes), whatever
// order the user listed them in, so that a set of passes always means one
// graph. Some patterns only appear once another pass has run (conv→ReLU
// exists in ResNet v1 only after bn-fold removed the BN between them); such
// a pass, selected alone, rewrites nothing, and Apply reports that instead
// of ignoring it silently.
//
// Passes never change weights in place: a pass that folds or merges
// weights writes new slices, so the unfused graph stays a valid reference.
package fusion

import (
	"fmt"
	"slices"
	"strings"

	"github.com/resbench/resbench/variants/graph"
)

// Pass is one named graph rewrite.
type Pass struct {
	Name string
	// Doc is a one-line description for `resbench fusions`.
	Doc string
	// Seed says which models the seed proposes the pass for.
	Seed string
	// rewrite edits g (a private clone) and logs each rewrite; it returns
	// the number of rewrites.
	rewrite func(g *graph.Graph, log Logger) (int, error)
}

// Logger receives one line per rewrite, e.g. "bn-fold: layer1.0.conv1 ← layer1.0.bn1".
type Logger func(format string, args ...any)

var registry []Pass

func register(p Pass) { registry = append(registry, p) }

// order is the canonical order passes run in; a pass registered in its own
// file takes its place here.
var order = []string{
	"topology-compress", "pool1x1", "horizontal", "bn-fold", "preact-bn-relu",
	"conv-relu", "conv-relu-pool", "conv-add-relu", "preact-conv-add",
	"se-fc-conv1x1", "se-scale-add",
}

// Passes returns every pass in the canonical order.
func Passes() []Pass {
	out := make([]Pass, 0, len(registry))
	for _, name := range order {
		for _, p := range registry {
			if p.Name == name {
				out = append(out, p)
			}
		}
	}
	return out
}

// Names lists the pass names in canonical order.
func Names() []string {
	var names []string
	for _, p := range Passes() {
		names = append(names, p.Name)
	}
	return names
}

// Parse turns a --fusion value into pass names in canonical order: "none",
// "all", "all-but-PASS", or a comma-separated list of pass names.
func Parse(list string) ([]string, error) {
	switch list {
	case "", "none":
		return nil, nil
	case "all":
		return Names(), nil
	}
	valid := Names()
	if but, ok := strings.CutPrefix(list, "all-but-"); ok {
		if !slices.Contains(valid, but) {
			return nil, fmt.Errorf("unknown fusion pass %q in %q; valid: %s", but, list, strings.Join(valid, ", "))
		}
		return slices.DeleteFunc(slices.Clone(valid), func(n string) bool { return n == but }), nil
	}
	want := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "none" || name == "all" {
			return nil, fmt.Errorf("fusion %q: %s stands alone, not in a list; give it by itself, or list passes of %s", list, name, strings.Join(valid, ", "))
		}
		if !slices.Contains(valid, name) {
			return nil, fmt.Errorf("unknown fusion pass %q; valid: none, all, or a comma-separated list of %s", name, strings.Join(valid, ", "))
		}
		want[name] = true
	}
	var out []string
	for _, name := range valid {
		if want[name] {
			out = append(out, name)
		}
	}
	return out, nil
}

// Canonical is the --fusion spelling of a selection: "none", "all", or the
// names joined by '+' in canonical order (benchmark names cannot hold ',').
func Canonical(names []string) string {
	switch {
	case len(names) == 0:
		return "none"
	case len(names) == len(registry):
		return "all"
	}
	return strings.Join(names, "+")
}

// Report says what each selected pass did.
type Report struct {
	Pass     string
	Rewrites int
	// Note explains a pass that rewrote nothing.
	Note string
}

// Apply runs the named passes on a clone of g, in canonical order, and
// reports how many rewrites each made. g itself is not modified.
func Apply(g *graph.Graph, names []string, log Logger) (*graph.Graph, []Report, error) {
	if log == nil {
		log = func(string, ...any) {}
	}
	h := g.Clone()
	var reports []Report
	for _, p := range Passes() {
		if !slices.Contains(names, p.Name) {
			continue
		}
		n, err := p.rewrite(h, func(format string, args ...any) { log(p.Name+": "+format, args...) })
		if err != nil {
			return nil, nil, fmt.Errorf("fusion %s on %s: %w", p.Name, g.Name, err)
		}
		if err := h.Prune(); err != nil {
			return nil, nil, fmt.Errorf("fusion %s on %s: %w", p.Name, g.Name, err)
		}
		r := Report{Pass: p.Name, Rewrites: n}
		if n == 0 {
			r.Note = fmt.Sprintf("does not apply to %s: no %s pattern", g.Name, p.Name)
			if dep := needs[p.Name]; dep != "" && !slices.Contains(names, dep) {
				r.Note += fmt.Sprintf(" (its pattern appears once %s has run)", dep)
			}
		}
		reports = append(reports, r)
	}
	return h, reports, nil
}

// needs records which pass exposes another's pattern in the zoo's models.
var needs = map[string]string{
	"conv-relu":      "bn-fold",
	"conv-relu-pool": "conv-relu",
	"conv-add-relu":  "bn-fold",
}

// Applicable returns the passes that rewrite something on g when every
// pass runs (the set "all" really means for this model).
func Applicable(g *graph.Graph) ([]string, error) {
	_, reports, err := Apply(g, Names(), nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range reports {
		if r.Rewrites > 0 {
			out = append(out, r.Pass)
		}
	}
	return out, nil
}

// Combos enumerates selections of the applicable passes: with full, the
// whole power set; otherwise none, each alone, all, and all-but-one (which
// gives each pass's marginal effect). Each selection is in canonical order;
// duplicates are dropped.
func Combos(applicable []string, full bool) [][]string {
	var out [][]string
	seen := map[string]bool{}
	add := func(c []string) {
		key := strings.Join(c, "+")
		if !seen[key] {
			seen[key] = true
			out = append(out, c)
		}
	}
	if full {
		for mask := 0; mask < 1<<len(applicable); mask++ {
			var c []string
			for i, p := range applicable {
				if mask&(1<<i) != 0 {
					c = append(c, p)
				}
			}
			add(c)
		}
		return out
	}
	add(nil)
	for _, p := range applicable {
		add([]string{p})
	}
	add(slices.Clone(applicable))
	for i := range applicable {
		c := slices.Clone(applicable[:i])
		add(append(c, applicable[i+1:]...))
	}
	return out
}

// consumers counts the readers of each node (plus one if it is the graph
// output), which a pass checks before fusing a node away.
func consumers(g *graph.Graph) map[*graph.Node]int {
	c := map[*graph.Node]int{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			c[in]++
		}
	}
	c[g.Output]++
	return c
}
