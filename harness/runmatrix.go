package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/resbench/resbench/harness/internal/filelock"
)

// MatrixRun runs the cells of a matrix one at a time, appending each
// finished cell to the results file at once (one write and an fsync per
// cell), so that an interrupted run loses nothing already measured and a
// re-run with the same output file resumes, skipping finished cells.
type MatrixRun struct {
	Matrix Matrix
	Opt    RunOptions
	// ShardI/ShardN select a deterministic 1/N of the cells (N 0: all).
	ShardI, ShardN int
	// Rounds > 1 interleaves: the run makes Rounds passes over the cells,
	// each visit of a cell measuring 1/Rounds of its runs (count, max
	// count and times divided, rounded up; parity on the first visit
	// only). On a machine whose speed drifts over minutes (a shared host),
	// every cell then samples the whole run's conditions instead of one
	// stretch of it, so cells compare with each other.
	Rounds int
	Out    string // results file (Go benchmark format), appended to
	JSON   string // optional JSON-lines file, one object per cell
	Env    Env
	// Progress is called before each visit with the visits done (including
	// resumed ones), the total (cells × rounds), the cell and an estimate
	// of the time left.
	Progress func(done, total int, c Cell, eta time.Duration)
	// CellDone is called after each measured visit with the visit's result.
	CellDone func(r *Result)
}

// MatrixSummary is what a matrix run did.
type MatrixSummary struct {
	// Total cells; Resumed: cells the file already held whole (every
	// visit); Measured: cells this run measured at least one visit of.
	Total, Resumed, Measured, Failed, Noisy int
	// FailedCells names the Failed cells, sorted.
	FailedCells []string
	// Results are the cells measured by this run, each merging the visits
	// it measured.
	Results []*Result
}

// Run measures every cell not already in the results file.
func (mr *MatrixRun) Run(ctx context.Context) (*MatrixSummary, error) {
	cells, err := mr.Matrix.Cells()
	if err != nil {
		return nil, err
	}
	if mr.ShardN > 0 {
		cells = Shard(cells, mr.ShardI, mr.ShardN)
	}
	settings := append(mr.Matrix.Settings(mr.Opt), [2]string{"matrix-rounds", strconv.Itoa(max(mr.Rounds, 1))})
	_, statErr := os.Stat(mr.Out)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(mr.Out, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot write results: %v", err)
	}
	defer f.Close()
	// Two runs on one file would each append from where they started and
	// cut each other's cells (shards need an -o each).
	if err := filelock.TryLock(f); err != nil {
		if errors.Is(err, filelock.ErrLocked) {
			return nil, fmt.Errorf("another resbench process is writing %s; wait for it to finish, or give this run another -o", mr.Out)
		}
		return nil, fmt.Errorf("locking %s: %v", mr.Out, err)
	}
	// A run stopped before its first cell leaves no empty file behind
	// (compare refuses one; a rerun starts afresh either way). Only the
	// lock holder may: a refused second run must not unlink the file the
	// first is writing.
	defer func() {
		if st, err := f.Stat(); created && err == nil && st.Size() == 0 {
			os.Remove(mr.Out)
		}
	}()
	done, err := ScanResults(mr.Out)
	if err != nil {
		return nil, err
	}
	if err := done.CheckSettings(settings); err != nil {
		return nil, err
	}
	// Cut a partial cell or line left by a killed run, then append.
	if done.Kept < done.Size {
		if err := f.Truncate(done.Kept); err != nil {
			return nil, err
		}
	}
	if _, err := f.Seek(done.Kept, 0); err != nil {
		return nil, err
	}
	var jf *os.File
	if mr.JSON != "" {
		_, statErr := os.Stat(mr.JSON)
		if jf, err = os.OpenFile(mr.JSON, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
			return nil, fmt.Errorf("cannot write JSON results: %v", err)
		}
		defer func() {
			// As with the results file: no empty file from a run
			// stopped before its first cell.
			if st, err := jf.Stat(); os.IsNotExist(statErr) && err == nil && st.Size() == 0 {
				os.Remove(mr.JSON)
			}
			jf.Close()
		}()
		if err := cutPartialLine(jf); err != nil {
			return nil, fmt.Errorf("JSON results %s: %v", mr.JSON, err)
		}
	}
	rounds := max(mr.Rounds, 1)
	visitOpt := mr.Opt.perVisit(rounds)
	env := mr.Env
	env.Extra = append(append([][2]string(nil), env.Extra...), settings...)
	w := NewResultWriter(f, env)
	sum := &MatrixSummary{Total: len(cells)}
	visitsDone := 0
	for _, c := range cells {
		v := min(done.Visits[c.Name()], rounds)
		visitsDone += v
		if v == rounds {
			sum.Resumed++
		}
	}
	totalVisits := len(cells) * rounds
	merged := map[string]*Result{}
	measured := 0
	start := time.Now()
	failedBefore := map[string]bool{}
	for _, c := range cells {
		if done.ParityFailed[c.Name()] {
			failedBefore[c.Name()] = true
		}
	}
	defer func() { sum.tally(merged, failedBefore) }()
	for r := range rounds {
		for _, c := range cells {
			name := c.Name()
			if done.Visits[name] > r {
				continue
			}
			if mr.Progress != nil {
				var eta time.Duration
				if measured > 0 {
					left := totalVisits - visitsDone
					eta = time.Since(start) / time.Duration(measured) * time.Duration(left)
				}
				mr.Progress(visitsDone, totalVisits, c, eta)
			}
			opt := visitOpt
			if r > 0 {
				opt.Parity = 0 // checked on the first visit
			}
			// Start each visit from a collected heap, so its heap figure
			// is its own.
			runtime.GC()
			res, err := Measure(ctx, c, opt)
			if err != nil {
				// An interrupted visit is dropped whole: resuming
				// re-measures it.
				return sum, fmt.Errorf("%s: %w", name, err)
			}
			if err := w.Write(res); err != nil {
				return sum, fmt.Errorf("writing %s: %v", mr.Out, err)
			}
			if jf != nil {
				if err := writeJSON(jf, res); err != nil {
					return sum, fmt.Errorf("writing %s: %v", mr.JSON, err)
				}
			}
			done.Visits[name]++
			visitsDone++
			measured++
			res.Plan = nil // let the cell's weights go
			if m := merged[name]; m != nil {
				m.merge(res)
			} else {
				merged[name] = res
				sum.Results = append(sum.Results, res)
			}
			if mr.CellDone != nil {
				mr.CellDone(res)
			}
		}
	}
	return sum, nil
}

// cutPartialLine truncates f after its last newline: a record half
// written when a run was killed would otherwise prefix the next one.
func cutPartialLine(f *os.File) error {
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<62))
	if err != nil || len(data) == 0 || data[len(data)-1] == '\n' {
		return err
	}
	return f.Truncate(int64(bytes.LastIndexByte(data, '\n') + 1))
}

// perVisit divides the stopping rule's counts and times over rounds
// visits, rounding up so no cell gets fewer runs than asked for.
func (o RunOptions) perVisit(rounds int) RunOptions {
	if rounds <= 1 {
		return o
	}
	o.MinCount = ceilDiv(o.MinCount, rounds)
	o.MaxCount = ceilDiv(o.MaxCount, rounds)
	o.MinTime = (o.MinTime + time.Duration(rounds) - 1) / time.Duration(rounds)
	o.MaxTime = (o.MaxTime + time.Duration(rounds) - 1) / time.Duration(rounds)
	return o
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// merge adds a later visit of the same cell: its runs join the latencies,
// memory figures keep their maximum, allocations their mean per run.
func (res *Result) merge(v *Result) {
	n0, n1 := float64(len(res.Latencies)), float64(len(v.Latencies))
	allocs := res.AllocsPerRun*n0 + v.AllocsPerRun*n1
	res.Latencies = append(res.Latencies, v.Latencies...)
	heap, rss := max(res.HeapPeakBytes, v.HeapPeakBytes), max(res.MaxRSSBytes, v.MaxRSSBytes)
	res.finish(0)
	res.AllocsPerRun = allocs / (n0 + n1)
	res.HeapPeakBytes, res.MaxRSSBytes = heap, rss
	if res.Parity == nil {
		res.Parity = v.Parity
	}
}

// tally counts the measured cells, those that failed parity (now, or in
// a visit the file already held: failedBefore) and those noisy over the
// runs measured now.
func (s *MatrixSummary) tally(merged map[string]*Result, failedBefore map[string]bool) {
	s.Measured, s.Noisy = len(merged), 0
	s.FailedCells = s.FailedCells[:0]
	for name := range failedBefore {
		s.FailedCells = append(s.FailedCells, name)
	}
	for name, res := range merged {
		if res.Parity != nil && res.Parity.Failed && !failedBefore[name] {
			s.FailedCells = append(s.FailedCells, name)
		}
		if res.Noisy {
			s.Noisy++
		}
	}
	slices.Sort(s.FailedCells)
	s.Failed = len(s.FailedCells)
}

// CellJSON is the JSON form of a measured cell.
type CellJSON struct {
	Name            string   `json:"name"`
	Cell            Cell     `json:"cell"`
	LatencyNS       []int64  `json:"latency_ns"`
	MedianNS        int64    `json:"median_ns"`
	P90NS           int64    `json:"p90_ns"`
	P99NS           int64    `json:"p99_ns"`
	MinNS           int64    `json:"min_ns"`
	CILowNS         int64    `json:"median_ci_low_ns"`
	CIHighNS        int64    `json:"median_ci_high_ns"`
	CI95            bool     `json:"median_ci_95"` // false below 6 runs: the bounds are then min and max
	ImagesPerSec    float64  `json:"images_per_sec"`
	GFLOPS          float64  `json:"gflops"`
	Noisy           bool     `json:"noisy"`
	MACs            int64    `json:"macs"`
	Params          int64    `json:"params"`
	ActivationBytes int64    `json:"activation_bytes"`
	LowerBoundBytes int64    `json:"liveness_lower_bound_bytes"`
	WeightBytes     int64    `json:"weight_bytes"`
	HeapBytes       uint64   `json:"heap_bytes"`
	MaxRSSBytes     int64    `json:"max_rss_bytes"`
	AllocsPerRun    float64  `json:"allocs_per_inference"`
	Parity          *Parity  `json:"parity,omitempty"`
	Kernels         []string `json:"kernels"`
}

func writeJSON(f *os.File, r *Result) error {
	ns := func(d time.Duration) int64 { return d.Nanoseconds() }
	j := CellJSON{Name: r.Cell.Name(), Cell: r.Cell, MedianNS: ns(r.Stats.Median), P90NS: ns(r.Stats.P90), P99NS: ns(r.Stats.P99),
		MinNS: ns(r.Stats.Min), CILowNS: ns(r.Stats.CILow), CIHighNS: ns(r.Stats.CIHigh), CI95: r.Stats.CI95, ImagesPerSec: r.ImagesPerSec, GFLOPS: r.GFLOPS,
		Noisy: r.Noisy, MACs: r.MACs, Params: r.Params, ActivationBytes: r.ActivationBytes, LowerBoundBytes: r.LowerBoundBytes,
		WeightBytes: r.WeightBytes, HeapBytes: r.HeapPeakBytes, MaxRSSBytes: r.MaxRSSBytes, AllocsPerRun: r.AllocsPerRun, Parity: r.Parity}
	for _, d := range r.Latencies {
		j.LatencyNS = append(j.LatencyNS, ns(d))
	}
	if r.Plan != nil {
		for _, s := range r.Plan.Steps {
			j.Kernels = append(j.Kernels, s.Node.Name+"="+s.Kernel)
		}
	}
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return err
	}
	return SyncOutput(f)
}
