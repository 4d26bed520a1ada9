package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/perf/benchfmt"
)

// A File is one result file read in full: every benchmark result line, in
// file order, with its file-level configuration attached.
type File struct {
	// Label identifies the file in tables and in the ".file" projection
	// key. It is the path as given, or the label of a "label=path"
	// argument.
	Label string
	// Path is where the file was read from ("" for Read).
	Path string
	// Results are the benchmark lines, in file order. Each carries the
	// file configuration in force at its line plus the internal
	// configuration key ".file" = Label. The slice and its results are
	// never modified by this package after reading.
	Results []*benchfmt.Result
	// Config lists every file-level configuration key in order of first
	// appearance, with each distinct value it took (a file that
	// concatenates several runs can have several dates or peaks).
	Config []ConfigValues
	// Units is the unit metadata ("Unit x assume=exact" lines).
	Units benchfmt.UnitMetadataMap
}

// ConfigValues is one file-level configuration key and the distinct
// values it took, in order of appearance.
type ConfigValues struct {
	Key    string
	Values []string
}

// Value returns the configuration value of key, joined with ", " when it
// took several, and "" when the file never set it.
func (f *File) Value(key string) string {
	for _, c := range f.Config {
		if c.Key == key {
			return strings.Join(c.Values, ", ")
		}
	}
	return ""
}

// ReadFiles reads the result files named by args. An argument of the form
// "label=path" reads path but labels its results "label" (as benchstat
// does); otherwise the label is the path itself, disambiguated with
// "#0", "#1", ... when the same path is given twice.
func ReadFiles(args []string) ([]*File, error) {
	if len(args) == 0 {
		return nil, errors.New("no result files given")
	}
	type input struct{ label, path string }
	var inputs []input
	count := make(map[string]int)
	for _, a := range args {
		if i := strings.Index(a, "="); i > 0 {
			inputs = append(inputs, input{a[:i], a[i+1:]})
			continue
		}
		inputs = append(inputs, input{"", a})
		count[a]++
	}
	seen := make(map[string]int)
	var files []*File
	for _, in := range inputs {
		label := in.label
		if label == "" {
			label = in.path
			if count[in.path] > 1 {
				label = fmt.Sprintf("%s#%d", in.path, seen[in.path])
				seen[in.path]++
			}
		}
		f, err := ReadFile(label, in.path)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// ReadFile reads one result file from path and labels it label.
func ReadFile(label, path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := parse(label, path, data)
	if err != nil {
		return nil, err
	}
	f.Path = path
	return f, nil
}

// Read reads one result file from r and labels it name; name also
// appears in error messages.
func Read(name string, r io.Reader) (*File, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return parse(name, name, data)
}

// A FormatError reports input that is not Go benchmark format. Line is 0
// when the problem is the file as a whole (it is empty, or holds
// configuration lines only).
type FormatError struct {
	File string
	Line int
	Msg  string
}

func (e *FormatError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// parse reads data in the Go benchmark format. Unlike benchstat, which
// warns about malformed benchmark lines and goes on, it stops at the first
// one: a result file with a broken line was truncated or edited, and its
// comparison should not be trusted silently. For the same reason it
// refuses a last result line without its newline and a last resbench cell
// with fewer lines than its "runs" count.
func parse(label, name string, data []byte) (*File, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &FormatError{File: name, Msg: "empty file; expected Go benchmark format (lines like \"BenchmarkName 1 1000 ns/op\")"}
	}
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		line := 1 + bytes.Count(data[:firstInvalid(data)], []byte("\n"))
		return nil, &FormatError{File: name, Line: line, Msg: "binary data; not Go benchmark format"}
	}
	// benchfmt parses a last line without its newline like any other,
	// and one cut mid-unit ("… ns/o") still parses; a file cut short (or
	// still being written) must not compare as if whole.
	if last := data[bytes.LastIndexByte(bytes.TrimRight(data, "\n"), '\n')+1:]; data[len(data)-1] != '\n' && bytes.HasPrefix(bytes.TrimSpace(last), []byte("Benchmark")) {
		return nil, &FormatError{File: name, Line: 1 + bytes.Count(data, []byte("\n")), Msg: "the last line is cut short (no newline): the file was truncated or is still being written"}
	}
	f := &File{Label: label}
	// A resbench run writes a cell's timed runs as consecutive lines that
	// each say how many there are ("N runs"); the last block must be whole.
	var block struct {
		name       string
		lines      int
		want, line int
	}
	r := new(benchfmt.Reader)
	r.Reset(bytes.NewReader(data), name, ".file", label)
	configIndex := make(map[string]int)
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			return nil, &FormatError{File: name, Line: rec.Line, Msg: "not Go benchmark format: " + rec.Msg}
		case *benchfmt.UnitMetadata:
			// Collected from r.Units below.
		case *benchfmt.Result:
			res := rec.Clone()
			_, line := rec.Pos()
			for _, v := range res.Values {
				if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
					return nil, &FormatError{File: name, Line: line, Msg: fmt.Sprintf("measurement %v %s is not a finite number", v.Value, v.Unit)}
				}
			}
			for _, c := range res.Config {
				if !c.File {
					continue
				}
				i, ok := configIndex[c.Key]
				if !ok {
					i = len(f.Config)
					configIndex[c.Key] = i
					f.Config = append(f.Config, ConfigValues{Key: c.Key})
				}
				if v := string(c.Value); !containsString(f.Config[i].Values, v) {
					f.Config[i].Values = append(f.Config[i].Values, v)
				}
			}
			f.Results = append(f.Results, res)
			name := string(res.Name)
			if runs, ok := res.Value("runs"); ok {
				if name != block.name || block.lines == block.want {
					block.name, block.lines, block.want, block.line = name, 0, int(runs), line
				}
				block.lines++
			} else {
				block.name = ""
			}
		}
	}
	if block.name != "" && block.lines < block.want {
		return nil, &FormatError{File: name, Line: block.line, Msg: fmt.Sprintf("Benchmark%s has %d of its %d runs: the file was cut short or is still being written", block.name, block.lines, block.want)}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	f.Units = r.Units()
	if len(f.Results) == 0 {
		if n, text := firstUnrecognized(data); n > 0 {
			return nil, &FormatError{File: name, Line: n, Msg: fmt.Sprintf("not Go benchmark format: no Benchmark result lines, and this line is not a configuration line: %q", clip(text, 60))}
		}
		return nil, &FormatError{File: name, Msg: "no benchmark results (configuration lines only)"}
	}
	return f, nil
}

// firstInvalid is the offset of the first NUL byte or invalid UTF-8
// sequence in data.
func firstInvalid(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == 0 || (r == utf8.RuneError && n == 1) {
			return i
		}
		i += n
	}
	return len(data)
}

// firstUnrecognized returns the 1-based number and text of the first
// non-blank line that the benchmark format would ignore: neither a
// benchmark line, a unit line, nor a "key: value" configuration line.
// The go test framing lines (PASS, ok, FAIL) count as recognized.
func firstUnrecognized(data []byte) (int, string) {
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.TrimSpace(line) == "",
			strings.HasPrefix(line, "Benchmark"),
			strings.HasPrefix(line, "Unit "),
			line == "PASS", line == "FAIL",
			strings.HasPrefix(line, "ok  "), strings.HasPrefix(line, "ok\t"),
			isConfigLine(line):
			continue
		}
		return i + 1, line
	}
	return 0, ""
}

// isConfigLine mirrors benchfmt's rule for "key: value" lines: the key
// starts with a lower-case letter and holds no spaces or upper-case
// letters.
func isConfigLine(line string) bool {
	key, val, ok := strings.Cut(line, ":")
	if !ok || key == "" {
		return false
	}
	for i, r := range key {
		if i == 0 && !unicode.IsLower(r) {
			return false
		}
		if unicode.IsSpace(r) || unicode.IsUpper(r) {
			return false
		}
	}
	return val == "" || val[0] == ' ' || val[0] == '\t'
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "..."
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
