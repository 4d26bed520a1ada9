package harness

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/cpuid/v2"
	"golang.org/x/perf/benchfmt"
)

// Env is the environment a result file records as file-level config lines,
// so that comparisons across machines can be refused.
type Env struct {
	GOOS, GOARCH string
	// GOAMD64 is the build's amd64 level: at v3 the compiler fuses the
	// generic tier's multiply-adds, which doubles its peak.
	GOAMD64   string
	CPU       string
	Cores     int
	GoVersion string
	Commit    string
	Date      string
	// Extra holds further key/value lines (isa, peak-gflops, ...), in order.
	Extra [][2]string
}

// CurrentEnv describes this process and machine.
func CurrentEnv() Env {
	return Env{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, GOAMD64: goamd64(), CPU: cpuid.CPU.BrandName,
		Cores: runtime.NumCPU(), GoVersion: runtime.Version(), Commit: commit(),
		Date: time.Now().UTC().Format(time.RFC3339)}
}

// goamd64 is the GOAMD64 level the binary was built with ("" off amd64).
func goamd64() string {
	if runtime.GOARCH != "amd64" {
		return ""
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "GOAMD64" {
				return s.Value
			}
		}
	}
	return "v1" // the default, not recorded
}

// modulePath is resbench's module, whose checkout commit() may report.
const modulePath = "github.com/resbench/resbench"

// commit is the resbench commit the binary was built from: the VCS stamp
// of "go build" of resbench's own main package (with "-dirty" for local
// changes, untracked files included, as Go counts them), else, since "go
// run" and test binaries carry none, the HEAD of the working directory's
// checkout if that checkout is resbench, counted dirty the same way, else
// "unknown". Another repository's HEAD would be recorded as resbench's.
func commit() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path == modulePath {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			return shortRev(rev, dirty)
		}
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "unknown"
	}
	mod, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(top)), "go.mod"))
	if err != nil || moduleOf(mod) != modulePath {
		return "unknown"
	}
	rev, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	status, _ := exec.Command("git", "status", "--porcelain").Output()
	return shortRev(strings.TrimSpace(string(rev)), len(bytes.TrimSpace(status)) > 0)
}

// moduleOf returns the module path a go.mod declares ("" if none).
func moduleOf(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// shortRev abbreviates a commit hash to 12 digits, marking a dirty tree.
func shortRev(rev string, dirty bool) string {
	rev = rev[:min(len(rev), 12)]
	if dirty {
		rev += "-dirty"
	}
	return rev
}

func (e Env) config() []benchfmt.Config {
	kv := [][2]string{{"goos", e.GOOS}, {"goarch", e.GOARCH}}
	if e.GOAMD64 != "" {
		kv = append(kv, [2]string{"goamd64", e.GOAMD64})
	}
	kv = append(kv, [][2]string{{"cpu", e.CPU},
		{"cores", fmt.Sprint(e.Cores)}, {"go", e.GoVersion}, {"commit", e.Commit}, {"date", e.Date}}...)
	kv = append(kv, e.Extra...)
	cfg := make([]benchfmt.Config, 0, len(kv))
	for _, p := range kv {
		cfg = append(cfg, benchfmt.Config{Key: p[0], Value: []byte(p[1]), File: true})
	}
	return cfg
}

// ResultWriter writes measured cells in Go's benchmark format.
type ResultWriter struct {
	f   io.Writer
	buf bytes.Buffer
	w   *benchfmt.Writer
	env Env
}

// NewResultWriter writes to f with env as the file configuration.
func NewResultWriter(f io.Writer, env Env) *ResultWriter {
	rw := &ResultWriter{f: f, env: env}
	rw.w = benchfmt.NewWriter(&rw.buf)
	return rw
}

// Write emits one benchmark line per timed inference: latency as ns/op
// (repeated samples, so benchstat computes the median and its confidence
// interval), throughput and effective GFLOP/s of that run, and the cell's
// memory figures as extra units. The "runs" unit is the cell's number of
// lines, so a reader can tell a complete cell from one cut short; a cell
// whose parity check failed has "parity-fail" 1 on every line.
//
// The lines of a cell are written with one Write call on f, so that a run
// killed between cells leaves whole cells behind.
// finiteError is an error measure as written to a results file: a NaN or
// infinite error (a kernel that produced NaN or Inf) becomes the largest
// float64, since benchstat and reports.ReadFiles refuse non-finite values
// and the cell must still read back as a parity failure.
func finiteError(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return math.MaxFloat64
	}
	return v
}

func (rw *ResultWriter) Write(r *Result) error {
	cfg := rw.env.config()
	cfg = append(cfg,
		benchfmt.Config{Key: "params", Value: []byte(fmt.Sprint(r.Params)), File: true},
		benchfmt.Config{Key: "macs", Value: []byte(fmt.Sprint(r.MACs)), File: true})
	name := benchfmt.Name(r.Cell.Name())
	for _, d := range r.Latencies {
		sec := d.Seconds()
		res := &benchfmt.Result{Config: cfg, Name: name, Iters: 1, Values: []benchfmt.Value{
			{Value: float64(d.Nanoseconds()), Unit: "sec/op", OrigValue: float64(d.Nanoseconds()), OrigUnit: "ns/op"},
			{Value: float64(r.Cell.Batch) / sec, Unit: "images/s"},
			{Value: 2 * float64(r.MACs) / sec / 1e9, Unit: "GFLOP/s"},
			{Value: float64(r.ActivationBytes), Unit: "activation-B"},
			{Value: float64(r.WeightBytes), Unit: "weight-B"},
			{Value: float64(r.HeapPeakBytes), Unit: "heap-B"},
			{Value: float64(r.MaxRSSBytes), Unit: "maxrss-B"},
			{Value: r.AllocsPerRun, Unit: "allocs/op"},
			{Value: float64(len(r.Latencies)), Unit: "runs"},
		}}
		if p := r.Parity; p != nil {
			fail := 0.0
			if p.Failed {
				fail = 1
			}
			res.Values = append(res.Values,
				benchfmt.Value{Value: finiteError(p.RelL2), Unit: "parity-relL2"},
				benchfmt.Value{Value: finiteError(p.MaxAbs), Unit: "parity-maxabs"},
				benchfmt.Value{Value: p.Top1, Unit: "top1-agree"},
				benchfmt.Value{Value: p.Top5, Unit: "top5-agree"},
				benchfmt.Value{Value: fail, Unit: "parity-fail"})
		}
		if err := rw.w.Write(res); err != nil {
			return err
		}
	}
	_, err := rw.f.Write(rw.buf.Bytes())
	rw.buf.Reset()
	if f, ok := rw.f.(interface{ Sync() error }); ok && err == nil {
		err = SyncOutput(f)
	}
	return err
}

// SyncOutput flushes an output file to disk, so that a result written is
// one kept. Outputs that cannot be synced (/dev/null, a pipe, a terminal
// answer EINVAL) have nothing to keep, and are not an error.
func SyncOutput(f interface{ Sync() error }) error {
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
