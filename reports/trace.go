package reports

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// TraceStep is one step of a traced inference, as the trace shows it.
type TraceStep struct {
	Name   string // layer (node) name
	Op     string // the event's category, e.g. conv3x3/1g32, relu
	Kernel string
	Layout string
	Shape  string // output shape
	MACs   int64
	// Start and End are relative to the start of the inference.
	Start, End time.Duration
}

// TraceInfo names the trace's process and thread and adds arguments to
// the event spanning the whole inference.
type TraceInfo struct {
	Process string // e.g. "resbench se-resnext50-32x4d"
	Thread  string // e.g. "inference (calling goroutine)"
	Args    map[string]any
}

// TraceEvent is one event of the Chrome trace event format (the JSON
// Object Format's "traceEvents"), as Perfetto and chrome://tracing load
// it. Times are in microseconds.
type TraceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  *float64       `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	Args map[string]any `json:"args,omitempty"`
}

// traceFile is the JSON Object Format.
type traceFile struct {
	TraceEvents     []TraceEvent `json:"traceEvents"`
	DisplayTimeUnit string       `json:"displayTimeUnit,omitempty"`
}

// TraceEvents turns the steps of one inference into complete ("X")
// events on one thread, preceded by metadata ("M") events naming the
// process and thread. An "inference" event spans every step, and
// consecutive steps whose names share a dotted prefix (layer3, then
// layer3.1, then layer3.1.se) are grouped under an event of that name, so
// the trace nests stage ⊃ block ⊃ layer. Steps must be in order and not
// overlap (as engine.Plan.RunTraced returns them).
func TraceEvents(info TraceInfo, steps []TraceStep) ([]TraceEvent, error) {
	for i, s := range steps {
		if s.End < s.Start || s.Start < 0 {
			return nil, fmt.Errorf("trace step %d (%s): ends at %v before it starts at %v", i, s.Name, s.End, s.Start)
		}
		if i > 0 && s.Start < steps[i-1].End {
			return nil, fmt.Errorf("trace step %d (%s) starts at %v, before step %d ends at %v", i, s.Name, s.Start, i-1, steps[i-1].End)
		}
	}
	const pid, tid = 1, 1
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	complete := func(name, cat string, start, end time.Duration, args map[string]any) TraceEvent {
		dur := us(end - start) // not us(end) − us(start): keep the decimals short
		return TraceEvent{Name: name, Cat: cat, Ph: "X", Ts: us(start), Dur: &dur, Pid: pid, Tid: tid, Args: args}
	}
	evs := []TraceEvent{
		{Name: "process_name", Ph: "M", Pid: pid, Tid: tid, Args: map[string]any{"name": info.Process}},
		{Name: "thread_name", Ph: "M", Pid: pid, Tid: tid, Args: map[string]any{"name": info.Thread}},
	}
	if len(steps) == 0 {
		return evs, nil
	}
	// Every event with its nesting depth, to order parents before children
	// that start at the same time.
	type span struct {
		ev        TraceEvent
		lo, depth int // first step, nesting depth
	}
	spans := []span{{complete("inference", "inference", steps[0].Start, steps[len(steps)-1].End, info.Args), 0, 0}}
	// Groups: for each depth d, maximal runs of consecutive steps whose
	// names have the same first d dotted parts, of two steps or more, and
	// not the same run as the group one level up.
	type run struct{ lo, hi int }
	parent := []run{{0, len(steps)}}
	for d := 1; len(parent) > 0; d++ {
		var next []run
		for _, pr := range parent {
			for lo := pr.lo; lo < pr.hi; {
				pre, ok := prefix(steps[lo].Name, d)
				hi := lo + 1
				for ok && hi < pr.hi {
					if p, ok2 := prefix(steps[hi].Name, d); !ok2 || p != pre {
						break
					}
					hi++
				}
				if ok && hi-lo >= 2 {
					r := run{lo, hi}
					if r != pr {
						spans = append(spans, span{complete(pre, "group", steps[lo].Start, steps[hi-1].End,
							map[string]any{"steps": hi - lo}), lo, d})
					}
					next = append(next, r)
				}
				lo = hi
			}
		}
		parent = next
	}
	for i, s := range steps {
		spans = append(spans, span{complete(s.Name, s.Op, s.Start, s.End,
			map[string]any{"step": i, "kernel": s.Kernel, "layout": s.Layout, "shape": s.Shape, "macs": s.MACs}), i, math.MaxInt})
	}
	// By first step, then outermost first: timestamps in order, and each
	// group before the steps it holds.
	slices.SortStableFunc(spans, func(a, b span) int {
		if a.lo != b.lo {
			return a.lo - b.lo
		}
		return cmp.Compare(a.depth, b.depth)
	})
	for _, s := range spans {
		evs = append(evs, s.ev)
	}
	return evs, nil
}

// prefix returns the first d dotted parts of name, and whether name has
// more than d parts (a step is not a group of itself).
func prefix(name string, d int) (string, bool) {
	parts := strings.Split(name, ".")
	if len(parts) <= d {
		return "", false
	}
	return strings.Join(parts[:d], "."), true
}

// WriteTrace writes the steps of one inference as a Chrome/Perfetto trace
// (the trace event format's JSON Object Format; see TraceEvents).
func WriteTrace(w io.Writer, info TraceInfo, steps []TraceStep) error {
	evs, err := TraceEvents(info, steps)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(traceFile{TraceEvents: evs, DisplayTimeUnit: "ms"}, "", " ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// tracePhases are the event types ("ph") of the trace event format.
var tracePhases = map[string]bool{
	"B": true, "E": true, "X": true, "i": true, "I": true, "C": true,
	"b": true, "n": true, "e": true, "S": true, "T": true, "p": true, "F": true,
	"s": true, "t": true, "f": true, "P": true, "N": true, "O": true, "D": true,
	"M": true, "V": true, "v": true, "R": true, "c": true, "(": true, ")": true,
}

// ValidateTrace checks a trace against the rules of the trace event
// format, and resbench's own ordering, returning the first violation:
//
//   - the file is JSON: an object with a "traceEvents" array (or a bare
//     array of events), displayTimeUnit "ms" or "ns" if present;
//   - every event is an object whose "ph" is a known event type, with a
//     string "name", numeric "pid" and "tid", a string "cat" and an object
//     "args" if present, and (except metadata) a finite numeric "ts";
//   - complete ("X") events have a finite, non-negative numeric "dur";
//   - metadata ("M") events are process_name, process_labels,
//     process_sort_index, thread_name or thread_sort_index, with a string
//     args.name (args.labels) or a numeric args.sort_index;
//   - begin/end ("B"/"E") events balance on each thread;
//   - on each thread, timestamps never decrease in file order, and
//     complete events nest or are disjoint (never partly overlap).
//
// It returns the number of complete events.
func ValidateTrace(r io.Reader) (int, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	data = bytes.TrimSpace(data)
	var raw []json.RawMessage
	if len(data) > 0 && data[0] == '[' {
		if err := json.Unmarshal(data, &raw); err != nil {
			return 0, fmt.Errorf("trace: not a JSON array: %v", err)
		}
	} else {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil {
			return 0, fmt.Errorf("trace: not a JSON object: %v", err)
		}
		evs, ok := obj["traceEvents"]
		if !ok {
			return 0, fmt.Errorf("trace: no traceEvents")
		}
		if err := json.Unmarshal(evs, &raw); err != nil || raw == nil {
			return 0, fmt.Errorf("trace: traceEvents is not an array")
		}
		if u, ok := obj["displayTimeUnit"]; ok {
			var s string
			if json.Unmarshal(u, &s) != nil || (s != "ms" && s != "ns") {
				return 0, fmt.Errorf("trace: displayTimeUnit %s is not \"ms\" or \"ns\"", u)
			}
		}
	}
	type thread struct{ pid, tid float64 }
	type interval struct {
		start, end float64
		i          int
	}
	last := map[thread]float64{}
	xs := map[thread][]interval{}
	open := map[thread][]string{}
	complete := 0
	for i, m := range raw {
		var ev map[string]any
		if err := json.Unmarshal(m, &ev); err != nil || ev == nil {
			return 0, fmt.Errorf("trace event %d: not a JSON object", i)
		}
		ph, ok := ev["ph"].(string)
		if !ok || !tracePhases[ph] {
			return 0, fmt.Errorf("trace event %d: ph %v is not an event type", i, ev["ph"])
		}
		name, ok := ev["name"].(string)
		if !ok {
			return 0, fmt.Errorf("trace event %d: name %v is not a string", i, ev["name"])
		}
		pid, ok1 := ev["pid"].(float64)
		tid, ok2 := ev["tid"].(float64)
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("trace event %d (%s): pid and tid must be numbers", i, name)
		}
		if c, ok := ev["cat"]; ok {
			if _, isStr := c.(string); !isStr {
				return 0, fmt.Errorf("trace event %d (%s): cat %v is not a string", i, name, c)
			}
		}
		args, hasArgs := ev["args"].(map[string]any)
		if a, ok := ev["args"]; ok && !hasArgs {
			return 0, fmt.Errorf("trace event %d (%s): args %v is not an object", i, name, a)
		}
		if ph == "M" {
			switch name {
			case "process_name", "thread_name":
				if _, ok := args["name"].(string); !ok {
					return 0, fmt.Errorf("trace event %d: metadata %s without a string args.name", i, name)
				}
			case "process_labels":
				if _, ok := args["labels"].(string); !ok {
					return 0, fmt.Errorf("trace event %d: metadata %s without a string args.labels", i, name)
				}
			case "process_sort_index", "thread_sort_index":
				if _, ok := args["sort_index"].(float64); !ok {
					return 0, fmt.Errorf("trace event %d: metadata %s without a numeric args.sort_index", i, name)
				}
			default:
				return 0, fmt.Errorf("trace event %d: unknown metadata event %q", i, name)
			}
			continue
		}
		ts, ok := ev["ts"].(float64)
		if !ok || math.IsInf(ts, 0) || math.IsNaN(ts) {
			return 0, fmt.Errorf("trace event %d (%s): ts %v is not a number", i, name, ev["ts"])
		}
		th := thread{pid, tid}
		if prev, seen := last[th]; seen && ts < prev {
			return 0, fmt.Errorf("trace event %d (%s): ts %v is before the previous event's %v on thread %v/%v", i, name, ts, prev, pid, tid)
		}
		last[th] = ts
		switch ph {
		case "X":
			dur, ok := ev["dur"].(float64)
			if !ok || dur < 0 || math.IsInf(dur, 0) {
				return 0, fmt.Errorf("trace event %d (%s): complete event needs a non-negative dur, has %v", i, name, ev["dur"])
			}
			xs[th] = append(xs[th], interval{ts, ts + dur, i})
			complete++
		case "B":
			open[th] = append(open[th], name)
		case "E":
			if len(open[th]) == 0 {
				return 0, fmt.Errorf("trace event %d (%s): end event without a begin on thread %v/%v", i, name, pid, tid)
			}
			open[th] = open[th][:len(open[th])-1]
		}
	}
	for th, o := range open {
		if len(o) > 0 {
			return 0, fmt.Errorf("trace: %d begin events never end on thread %v/%v (first %q)", len(o), th.pid, th.tid, o[0])
		}
	}
	// Nesting: sorted by start, longest first, each interval must end
	// within the innermost open one that it starts in (1 ns of slack for
	// the decimal microseconds).
	const eps = 1e-3
	for th, iv := range xs {
		slices.SortStableFunc(iv, func(a, b interval) int {
			switch {
			case a.start != b.start:
				return cmp.Compare(a.start, b.start)
			default:
				return cmp.Compare(b.end, a.end)
			}
		})
		var stack []interval
		for _, x := range iv {
			for len(stack) > 0 && stack[len(stack)-1].end <= x.start+eps {
				stack = stack[:len(stack)-1]
			}
			if len(stack) > 0 && x.end > stack[len(stack)-1].end+eps {
				p := stack[len(stack)-1]
				return 0, fmt.Errorf("trace: events %d and %d on thread %v/%v partly overlap ([%v, %v] and [%v, %v] µs)",
					p.i, x.i, th.pid, th.tid, p.start, p.end, x.start, x.end)
			}
			stack = append(stack, x)
		}
	}
	return complete, nil
}
