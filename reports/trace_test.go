package reports

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func us(v float64) time.Duration { return time.Duration(v * 1e3) }

// traceSteps is a small inference: a stem, two blocks of stage 1 (the
// second with an SE branch), one step of stage 2, a zero-length
// in-producer step and the classifier.
func traceSteps() []TraceStep {
	names := []string{"input.to-nChw8c", "conv1", "layer1.0.conv1", "layer1.0.conv2", "layer1.1.conv1",
		"layer1.1.se.pool", "layer1.1.se.fc1", "layer1.1.se.fc2", "layer2.0.conv1", "fc"}
	var steps []TraceStep
	t := 0.0
	for i, n := range names {
		d := float64(10 + i)
		if n == "layer1.1.se.pool" {
			d = 0 // in-producer: runs inside its conv's step
		}
		steps = append(steps, TraceStep{Name: n, Op: "conv3x3/1", Kernel: "direct", Layout: "nChw8c", Shape: "1x64x8x8", MACs: int64(1000 * i),
			Start: us(t), End: us(t + d)})
		t += d + 0.25
	}
	return steps
}

func TestWriteTrace(t *testing.T) {
	var buf bytes.Buffer
	info := TraceInfo{Process: "resbench test", Thread: "inference", Args: map[string]any{"model": "m"}}
	if err := WriteTrace(&buf, info, traceSteps()); err != nil {
		t.Fatal(err)
	}
	n, err := ValidateTrace(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	var f struct {
		TraceEvents []struct {
			Name string         `json:"name"`
			Cat  string         `json:"cat"`
			Ph   string         `json:"ph"`
			Ts   float64        `json:"ts"`
			Dur  float64        `json:"dur"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(buf.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	var order []string
	steps := map[string]int{}
	for _, e := range f.TraceEvents {
		order = append(order, e.Ph+":"+e.Name)
		switch {
		case e.Ph == "X" && e.Cat == "group":
			steps[e.Name] = int(e.Args["steps"].(float64))
		case e.Ph == "X" && e.Name == "conv1":
			// Microseconds: conv1 starts after the 10µs reorder and its
			// 0.25µs gap.
			if e.Ts != 10.25 || e.Dur != 11 || e.Args["kernel"] != "direct" || e.Args["shape"] != "1x64x8x8" || e.Args["macs"] != 1000.0 {
				t.Errorf("conv1 event %+v", e)
			}
		case e.Ph == "X" && e.Name == "inference":
			if e.Ts != 0 || e.Args["model"] != "m" {
				t.Errorf("inference event %+v", e)
			}
		}
	}
	// Metadata first, then the inference, each group before its steps;
	// layer2 has one step so no group, nor does the SE branch's block
	// repeat as a group of its own.
	want := "M:process_name M:thread_name X:inference X:input.to-nChw8c X:conv1 X:layer1 X:layer1.0 X:layer1.0.conv1 X:layer1.0.conv2 " +
		"X:layer1.1 X:layer1.1.conv1 X:layer1.1.se X:layer1.1.se.pool X:layer1.1.se.fc1 X:layer1.1.se.fc2 X:layer2.0.conv1 X:fc"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("events\n got %s\nwant %s", got, want)
	}
	if steps["layer1"] != 6 || steps["layer1.0"] != 2 || steps["layer1.1"] != 4 || steps["layer1.1.se"] != 3 {
		t.Errorf("group sizes %v", steps)
	}
	if n != 15 {
		t.Errorf("%d complete events, want 15 (inference, 4 groups, 10 steps)", n)
	}

	// Steps out of order are refused rather than written.
	bad := traceSteps()
	bad[3].Start = bad[2].Start
	if err := WriteTrace(&buf, info, bad); err == nil || !strings.Contains(err.Error(), "before step 2 ends") {
		t.Errorf("overlapping steps: %v", err)
	}
	if evs, err := TraceEvents(info, nil); err != nil || len(evs) != 2 {
		t.Errorf("no steps: %d events, %v", len(evs), err)
	}
}

func TestValidateTrace(t *testing.T) {
	const meta = `{"name":"process_name","ph":"M","pid":1,"tid":1,"args":{"name":"p"}}`
	valid := []struct{ name, trace string }{
		{"object", `{"traceEvents":[` + meta + `,{"name":"a","cat":"c","ph":"X","ts":0,"dur":5,"pid":1,"tid":1,"args":{}}],"displayTimeUnit":"ns"}`},
		{"array", `[{"name":"a","ph":"X","ts":0,"dur":5,"pid":1,"tid":1}]`},
		// A child listed before its parent at the same time still nests.
		{"child first", `[{"name":"c","ph":"X","ts":1,"dur":2,"pid":1,"tid":1},{"name":"p","ph":"X","ts":1,"dur":5,"pid":1,"tid":1}]`},
		{"begin/end", `[{"name":"a","ph":"B","ts":0,"pid":1,"tid":1},{"name":"b","ph":"i","ts":1,"pid":1,"tid":1},{"name":"a","ph":"E","ts":2,"pid":1,"tid":1}]`},
		// Different threads have their own clocks and nesting.
		{"threads", `[{"name":"a","ph":"X","ts":5,"dur":5,"pid":1,"tid":1},{"name":"b","ph":"X","ts":0,"dur":7,"pid":1,"tid":2}]`},
		{"sort index", `[{"name":"thread_sort_index","ph":"M","pid":1,"tid":1,"args":{"sort_index":2}}]`},
	}
	for _, c := range valid {
		if _, err := ValidateTrace(strings.NewReader(c.trace)); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	invalid := []struct{ name, trace, want string }{
		{"not JSON", `{"traceEvents": [`, "not a JSON object"},
		{"no events", `{"events":[]}`, "no traceEvents"},
		{"events not array", `{"traceEvents":{}}`, "not an array"},
		{"bad unit", `{"traceEvents":[],"displayTimeUnit":"s"}`, "displayTimeUnit"},
		{"event not object", `[1]`, "not a JSON object"},
		{"unknown ph", `[{"name":"a","ph":"Q","ts":0,"pid":1,"tid":1}]`, "not an event type"},
		{"no ph", `[{"name":"a","ts":0,"pid":1,"tid":1}]`, "not an event type"},
		{"no name", `[{"ph":"X","ts":0,"dur":1,"pid":1,"tid":1}]`, "name"},
		{"string pid", `[{"name":"a","ph":"X","ts":0,"dur":1,"pid":"1","tid":1}]`, "pid and tid"},
		{"no tid", `[{"name":"a","ph":"X","ts":0,"dur":1,"pid":1}]`, "pid and tid"},
		{"cat not string", `[{"name":"a","cat":3,"ph":"X","ts":0,"dur":1,"pid":1,"tid":1}]`, "cat"},
		{"args not object", `[{"name":"a","ph":"X","ts":0,"dur":1,"pid":1,"tid":1,"args":[]}]`, "args"},
		{"no ts", `[{"name":"a","ph":"X","dur":1,"pid":1,"tid":1}]`, "ts"},
		{"string ts", `[{"name":"a","ph":"X","ts":"0","dur":1,"pid":1,"tid":1}]`, "ts"},
		{"no dur", `[{"name":"a","ph":"X","ts":0,"pid":1,"tid":1}]`, "dur"},
		{"negative dur", `[{"name":"a","ph":"X","ts":0,"dur":-1,"pid":1,"tid":1}]`, "dur"},
		{"ts backwards", `[{"name":"a","ph":"X","ts":5,"dur":1,"pid":1,"tid":1},{"name":"b","ph":"X","ts":4,"dur":0.5,"pid":1,"tid":1}]`, "before the previous"},
		{"partial overlap", `[{"name":"a","ph":"X","ts":0,"dur":5,"pid":1,"tid":1},{"name":"b","ph":"X","ts":3,"dur":5,"pid":1,"tid":1}]`, "partly overlap"},
		{"unknown metadata", `[{"name":"process_color","ph":"M","pid":1,"tid":1,"args":{"name":"x"}}]`, "unknown metadata"},
		{"thread name without name", `[{"name":"thread_name","ph":"M","pid":1,"tid":1,"args":{}}]`, "args.name"},
		{"sort index not number", `[{"name":"process_sort_index","ph":"M","pid":1,"tid":1,"args":{"sort_index":"1"}}]`, "sort_index"},
		{"end without begin", `[{"name":"a","ph":"E","ts":0,"pid":1,"tid":1}]`, "without a begin"},
		{"begin without end", `[{"name":"a","ph":"B","ts":0,"pid":1,"tid":1}]`, "never end"},
	}
	for _, c := range invalid {
		_, err := ValidateTrace(strings.NewReader(c.trace))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}
