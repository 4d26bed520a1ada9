package harness

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/resbench/resbench/harness/engine"
	"github.com/resbench/resbench/variants"
	"github.com/resbench/resbench/variants/fusion"
)

// Matrix describes a sweep: every combination of model (× stride layout ×
// ResNeXt form), fusion selection, kernel, batch and thread count at one
// input size.
type Matrix struct {
	Models []string // canonical names
	// StrideOn1x1 lists the bottleneck layouts to sweep (false: stride on
	// the 3x3, the default; true: on the first 1x1, the original ResNet);
	// models with basic blocks take only the default. nil means {false}.
	StrideOn1x1 []bool
	Forms       []variants.Form
	Fusions     string // "none,all" (default), any of none/each/all/all-but-one, or "full"
	Kernels     []string
	Batches     []int
	Threads     []int
	Size        int
}

// DefaultMatrix is every model, fusions none and all, the auto kernel,
// batch 1, one thread, 224x224.
func DefaultMatrix() Matrix {
	var models []string
	for _, s := range variants.Models() {
		models = append(models, s.Name)
	}
	return Matrix{Models: models, Forms: []variants.Form{variants.FormC}, Fusions: "none,all",
		Kernels: []string{engine.KernelAuto}, Batches: []int{1}, Threads: []int{1}, Size: 224}
}

// fusionSamples are the words --fusions accepts.
var fusionSamples = []string{"none", "each", "all", "all-but-one", "full"}

// Validate checks every axis and resolves model aliases.
func (m *Matrix) Validate() error {
	for _, axis := range []struct {
		flag  string
		empty bool
	}{{"--models", len(m.Models) == 0}, {"--kernels", len(m.Kernels) == 0}, {"--batch", len(m.Batches) == 0},
		{"--threads", len(m.Threads) == 0}, {"--forms", len(m.Forms) == 0}} {
		if axis.empty {
			return fmt.Errorf("matrix: %s has no value; every axis needs at least one", axis.flag)
		}
	}
	bottleneck, resnext := false, false
	for i, name := range m.Models {
		spec, err := variants.Lookup(name)
		if err != nil {
			return err
		}
		m.Models[i] = spec.Name
		bottleneck = bottleneck || spec.Bottleneck
		resnext = resnext || spec.IsResNeXt()
	}
	// Other models have one form (c): a form sweep over them alone would
	// quietly measure it under the name of the forms asked for.
	if !resnext && slices.ContainsFunc(m.Forms, func(f variants.Form) bool { return f != variants.FormC }) {
		return fmt.Errorf("matrix: --forms applies to ResNeXt models; none of %s is one", strings.Join(m.Models, ", "))
	}
	// Basic blocks have one layout: a 1x1 sweep over them alone would
	// quietly measure the default.
	if slices.Contains(m.StrideOn1x1, true) && !bottleneck {
		return fmt.Errorf("matrix: --stride-on 1x1 applies to bottleneck models (depth 50 and up); none of %s has them", strings.Join(m.Models, ", "))
	}
	// A value given twice (or a model by two aliases) is one cell: the
	// progress and the cell count must not count it twice.
	m.Models, m.Kernels = dedupe(m.Models), dedupe(m.Kernels)
	m.Batches, m.Threads, m.Forms = dedupe(m.Batches), dedupe(m.Threads), dedupe(m.Forms)
	for _, k := range m.Kernels {
		if _, err := engine.ParseKernel(k); err != nil {
			return err
		}
	}
	words := strings.Split(m.Fusions, ",")
	for i, w := range words {
		words[i] = strings.TrimSpace(w)
	}
	m.Fusions = strings.Join(words, ",")
	for _, w := range words {
		if !slices.Contains(fusionSamples, w) {
			return fmt.Errorf("unknown fusion sample %q; valid: %s (comma-separated)", w, strings.Join(fusionSamples, ", "))
		}
	}
	for _, b := range append(slices.Clone(m.Batches), m.Threads...) {
		if b < 1 {
			return fmt.Errorf("batch and thread counts must be positive, got %d", b)
		}
	}
	for _, t := range m.Threads {
		if t > engine.MaxThreads() {
			return fmt.Errorf("%d threads is more than %d (4 per CPU); use at most %d", t, engine.MaxThreads(), engine.MaxThreads())
		}
	}
	if m.Size < variants.MinSize {
		return fmt.Errorf("size %d is too small; the models need at least %d", m.Size, variants.MinSize)
	}
	batch := 1
	for _, b := range m.Batches {
		batch = max(batch, b)
	}
	for _, model := range m.Models {
		if err := CheckMemory(Cell{Model: model, Size: m.Size, Batch: batch}); err != nil {
			return fmt.Errorf("matrix: %v", err)
		}
	}
	return nil
}

// dedupe drops repeated values, keeping the first of each in order.
func dedupe[T comparable](v []T) []T {
	var out []T
	for _, x := range v {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// Cells enumerates the matrix in a fixed order: model, stride layout,
// form, fusion, kernel, batch, threads.
func (m Matrix) Cells() ([]Cell, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var cells []Cell
	for _, model := range m.Models {
		spec, _ := variants.Lookup(model)
		strides := []bool{false}
		if spec.Bottleneck && m.StrideOn1x1 != nil {
			strides = m.StrideOn1x1
		}
		for _, on1x1 := range strides {
			g, err := variants.BuildSpec(spec, variants.Options{Size: m.Size, StrideOn1x1: on1x1, CountOnly: true})
			if err != nil {
				return nil, err
			}
			applicable, err := fusion.Applicable(g)
			if err != nil {
				return nil, err
			}
			combos := sampleFusions(applicable, strings.Split(m.Fusions, ","))
			forms := []variants.Form{variants.FormC}
			if spec.IsResNeXt() {
				forms = m.Forms
			}
			for _, form := range forms {
				for _, combo := range combos {
					for _, k := range m.Kernels {
						for _, b := range m.Batches {
							for _, t := range m.Threads {
								cells = append(cells, Cell{Model: model, StrideOn1x1: on1x1, Form: form, Fusion: fusionName(combo, applicable),
									Kernel: k, Size: m.Size, Batch: b, Threads: t})
							}
						}
					}
				}
			}
		}
	}
	return cells, nil
}

// Shard keeps the cells whose index is i modulo n (0 ≤ i < n): a
// deterministic 1/n of the matrix, so a fleet can split it; results in
// benchmark format merge by concatenation.
func Shard(cells []Cell, i, n int) []Cell {
	var out []Cell
	for j, c := range cells {
		if j%n == i {
			out = append(out, c)
		}
	}
	return out
}

// ParseShard parses "i/n".
func ParseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	if ok {
		i, err = strconv.Atoi(a)
		if err == nil {
			n, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard %q must be i/n with 0 ≤ i < n", s)
	}
	return i, n, nil
}

// Settings are the key=value pairs that define a matrix run's results;
// they are written as config lines, and a resumed run must match them.
func (m Matrix) Settings(opt RunOptions) [][2]string {
	forms := make([]string, len(m.Forms))
	for i, f := range m.Forms {
		forms[i] = f.String()
	}
	ints := func(v []int) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = strconv.Itoa(x)
		}
		return strings.Join(s, ",")
	}
	settings := [][2]string{
		{"matrix-models", strings.Join(m.Models, ",")},
		{"matrix-forms", strings.Join(forms, ",")},
		{"matrix-fusions", m.Fusions},
		{"matrix-kernels", strings.Join(m.Kernels, ",")},
		{"matrix-batch", ints(m.Batches)},
		{"matrix-threads", ints(m.Threads)},
		{"matrix-size", strconv.Itoa(m.Size)},
		{"matrix-seed", strconv.FormatUint(opt.Seed, 10)},
		{"matrix-count", fmt.Sprintf("min=%d,max=%d,warmup=%d,min-time=%v,max-time=%v,target-ci=%g,parity=%d",
			opt.MinCount, opt.MaxCount, opt.Warmup, opt.MinTime, opt.MaxTime, opt.TargetCI, opt.Parity)},
	}
	// Only a sweep that includes the original layout says so, so that
	// files from before the axis existed still resume.
	if slices.Contains(m.StrideOn1x1, true) {
		var s []string
		for _, on1x1 := range m.StrideOn1x1 {
			s = append(s, variants.StrideName(on1x1))
		}
		settings = append(settings, [2]string{"matrix-strides", strings.Join(s, ",")})
	}
	return settings
}

// ConfigFile holds matrix settings read from a small text file:
//
//	# comment
//	models  = resnet50, se-resnext50
//	kernels = auto, im2col
//	fusions = none, all
//	batch   = 1
//	threads = 1, 2
//	size    = 224
//
// Keys may be any of models, forms, fusions, kernels, stride-on, batch,
// threads, size, count, max-count, warmup, parity, seed, min-time,
// max-time, target-ci, rounds; values are what the flag of the same name
// takes.
type ConfigFile map[string]string

var configKeys = []string{"models", "forms", "fusions", "kernels", "stride-on", "batch", "threads", "size",
	"count", "max-count", "warmup", "parity", "seed", "min-time", "max-time", "target-ci", "rounds"}

// ReadConfig parses a matrix config file; errors name the line.
func ReadConfig(name string, r io.Reader) (ConfigFile, error) {
	cfg := ConfigFile{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		key, value, ok := strings.Cut(text, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case !ok:
			if !utf8.ValidString(text) {
				return nil, fmt.Errorf("%s:%d: not a text file; want lines of key = value", name, line)
			}
			return nil, fmt.Errorf("%s:%d: want key = value, got %q", name, line, truncate(text))
		case !slices.Contains(configKeys, key):
			return nil, fmt.Errorf("%s:%d: unknown key %q; valid keys: %s", name, line, key, strings.Join(configKeys, ", "))
		case value == "":
			return nil, fmt.Errorf("%s:%d: %s has no value", name, line, key)
		}
		if _, dup := cfg[key]; dup {
			return nil, fmt.Errorf("%s:%d: %s is set twice", name, line, key)
		}
		cfg[key] = strings.Join(strings.Fields(strings.ReplaceAll(value, ", ", ",")), "")
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return cfg, nil
}

// sampleFusions lists the selections of applicable passes the sample words
// ask for, in the order none, each, all, all-but-one (or the power set for
// "full"), without duplicates.
func sampleFusions(applicable, want []string) [][]string {
	if slices.Contains(want, "full") {
		return fusion.Combos(applicable, true)
	}
	var out [][]string
	seen := map[string]bool{}
	add := func(c []string) {
		if k := strings.Join(c, "+"); !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	for _, w := range []string{"none", "each", "all", "all-but-one"} {
		if !slices.Contains(want, w) {
			continue
		}
		switch w {
		case "none":
			add(nil)
		case "each":
			for _, p := range applicable {
				add([]string{p})
			}
		case "all":
			add(slices.Clone(applicable))
		case "all-but-one":
			for i := range applicable {
				add(append(slices.Clone(applicable[:i]), applicable[i+1:]...))
			}
		}
	}
	return out
}

// FusionName names the passes selected for cell c's model the way a
// matrix names the same selection, so that run and matrix results of one
// graph share a benchmark name (compare and gate match them): passes that
// do not apply to the model are dropped, and what is left is spelled by
// fusionName ("all", "all-but-PASS", or the list). A list naming passes
// that do not apply keeps them (and so its own name), so that the run can
// report them as idle; byName says the selection was such a list.
func FusionName(c Cell, passes []string, byName bool) (string, error) {
	spec, err := variants.Lookup(c.Model)
	if err != nil {
		return "", err
	}
	g, err := variants.BuildSpec(spec, variants.Options{Size: c.Size, StrideOn1x1: c.StrideOn1x1, CountOnly: true})
	if err != nil {
		return "", err
	}
	applicable, err := fusion.Applicable(g)
	if err != nil {
		return "", err
	}
	kept := slices.DeleteFunc(slices.Clone(passes), func(p string) bool { return !slices.Contains(applicable, p) })
	if byName && len(kept) < len(passes) {
		return fusion.Canonical(passes), nil
	}
	return fusionName(kept, applicable), nil
}

// fusionName spells a selection for a benchmark name: "all" when it is
// every pass that applies to the model, "all-but-PASS" when it lacks one,
// else the canonical '+'-joined list. All three mean the same graph to
// Cell.Fuse, since passes that do not apply rewrite nothing.
func fusionName(combo, applicable []string) string {
	switch {
	case len(combo) == 0:
		return "none"
	case len(applicable) > 1 && len(combo) == len(applicable):
		return "all"
	case len(applicable) > 1 && len(combo) == len(applicable)-1:
		for _, p := range applicable {
			if !slices.Contains(combo, p) {
				return "all-but-" + p
			}
		}
	}
	return fusion.Canonical(combo)
}
