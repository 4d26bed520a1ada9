package harness

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Done is what an existing results file already holds: the cells that
// finished, and its matrix settings.
type Done struct {
	Cells map[string]bool // benchmark names (without "Benchmark") of cells with a whole visit
	// Visits counts each cell's whole visits: a matrix run with --rounds R
	// measures every cell R times, in R passes over the cells, and writes
	// each visit as one block of lines.
	Visits   map[string]int
	Settings map[string]string
	// ParityFailed holds the cells with a whole visit whose lines say
	// parity-fail 1, so that a resumed matrix still reports them.
	ParityFailed map[string]bool
	// Kept is the length of the file's valid prefix: whole lines of whole
	// cells. A run killed mid-write leaves a partial line or a partial
	// cell after it, which resuming cuts off.
	Kept int64
	Size int64
}

// configLine matches a Go benchmark format configuration line, "key: value"
// with a key that starts with a lowercase letter.
var configLine = regexp.MustCompile(`^[a-z][^\s:]*:(\s|$)`)

// ScanResults reads a results file written by a matrix run. A visit of a
// cell is whole when it has as many consecutive lines as its "runs" unit
// says; a trailing partial visit or partial line is not counted and Kept
// stops before it.
// A missing file is an empty Done.
func ScanResults(path string) (*Done, error) {
	d := &Done{Cells: map[string]bool{}, Visits: map[string]int{}, Settings: map[string]string{}, ParityFailed: map[string]bool{}}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	d.Size = int64(len(data))
	var cur string
	count, want := 0, 0
	settings := map[string]string{}
	off := 0
	for off < len(data) {
		nl := bytes.IndexByte(data[off:], '\n')
		if nl < 0 {
			break // a partial last line
		}
		line := string(data[off : off+nl])
		off += nl + 1
		switch {
		case strings.HasPrefix(line, "Benchmark"):
			fields := strings.Fields(line)
			name := strings.TrimPrefix(fields[0], "Benchmark")
			runs, failed := -1, false
			for i := 3; i < len(fields); i += 2 {
				if fields[i] == "parity-fail" && fields[i-1] != "0" {
					failed = true
				}
				if fields[i] == "runs" {
					// benchfmt writes 1000000 as 1e+06.
					if v, err := strconv.ParseFloat(fields[i-1], 64); err == nil && v == math.Trunc(v) && v < math.MaxInt32 {
						runs = int(v)
					}
				}
			}
			if runs < 1 {
				return nil, fmt.Errorf("%s: line %q has no runs count; it was not written by resbench matrix", path, truncate(line))
			}
			if name != cur {
				cur, count, want = name, 0, runs
			}
			count++
			if count == want {
				if failed {
					d.ParityFailed[cur] = true
				}
				d.Cells[cur] = true
				d.Visits[cur]++
				cur = "" // the next line starts a new visit, even of this cell
				d.Kept = int64(off)
				for k, v := range settings {
					d.Settings[k] = v
				}
			}
		case strings.TrimSpace(line) == "":
		case configLine.MatchString(line):
			if k, v, _ := strings.Cut(line, ":"); strings.HasPrefix(k, "matrix-") {
				settings[k] = strings.TrimSpace(v)
			}
		default:
			// Resuming cuts what follows the last whole cell; a file
			// that is not a results file (notes, JSON given as -o by
			// mistake) would be cut to nothing.
			return nil, fmt.Errorf("%s is not a resbench results file (line %q is neither a benchmark nor a config line); give -o a new file or a matrix's earlier results", path, truncate(line))
		}
	}
	return d, nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// CheckSettings compares the settings a file records with a new run's, and
// names every key that differs.
func (d *Done) CheckSettings(want [][2]string) error {
	if len(d.Cells) == 0 {
		return nil
	}
	// Results without any matrix setting come from run: nothing to
	// resume, and listing every setting as different would not say so.
	if len(d.Settings) == 0 {
		return fmt.Errorf("cannot resume: the results file holds results but no matrix settings (written by resbench run?); give matrix its own -o")
	}
	var diffs []string
	wanted := map[string]bool{}
	for _, kv := range want {
		wanted[kv[0]] = true
		have, ok := d.Settings[kv[0]]
		if !ok && kv[0] == "matrix-rounds" {
			have, ok = "1", true // files from before --rounds
		}
		if !ok || have != kv[1] {
			diffs = append(diffs, fmt.Sprintf("%s: file has %q, this run %q", kv[0], have, kv[1]))
		}
	}
	// A setting the file has and this run does not write: only
	// matrix-strides is optional (absent means the default 3x3 layout).
	var extra []string
	for k, have := range d.Settings {
		if !wanted[k] && !(k == "matrix-strides" && have == "3x3") {
			this := "none"
			if k == "matrix-strides" {
				this = "3x3 (the default)"
			}
			extra = append(extra, fmt.Sprintf("%s: file has %q, this run %s", k, have, this))
		}
	}
	sort.Strings(extra)
	diffs = append(diffs, extra...)
	if len(diffs) > 0 {
		return fmt.Errorf("cannot resume: the results file was written with different settings (%s); use another -o or the same settings", strings.Join(diffs, "; "))
	}
	return nil
}
