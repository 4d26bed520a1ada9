package kerneltest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/internal/fence"
	"github.com/resbench/resbench/kernels/naive"
)

// recorder is a testing.TB that records a failure instead of failing the
// real test, so the suite's own checks can be shown to fire.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Errorf(format string, args ...any) { r.msg = fmt.Sprintf(format, args...) }
func (r *recorder) Helper()                           {}

// broken wraps the naive conv and damages its work in one way.
type broken struct {
	*naive.Conv
	damage       func(out []float32)
	damageInputs func(in, res []float32) // if set
}

func (b broken) Run(in, out, res, ws []float32) {
	b.Conv.Run(in, out, res, ws)
	b.damage(out)
	if b.damageInputs != nil {
		b.damageInputs(in, res)
	}
}

// replay computes its first run and copies that result out on every later
// one: state kept from one run to the next.
type replay struct {
	*naive.Conv
	saved []float32
}

func (p *replay) Run(in, out, res, ws []float32) {
	if p.saved == nil {
		p.Conv.Run(in, out, res, ws)
		p.saved = slices.Clone(out)
	}
	copy(out, p.saved)
}

// wsOverrun asks for a workspace and writes one float past it.
type wsOverrun struct{ *naive.Conv }

func (w wsOverrun) WorkspaceLen() int { return 8 }
func (w wsOverrun) Run(in, out, res, ws []float32) {
	w.Conv.Run(in, out, res, ws)
	unsafe.Slice(&ws[0], len(ws)+1)[len(ws)] = 1
}

func TestSuiteCatchesBrokenKernels(t *testing.T) {
	s := EdgeShapes[1]
	cs := s.ConvShape()
	r := ref(s)
	const tol = 2e-6 // the float32 kernels' bound
	full := len(epilogues) - 1
	// An output the ReLU leaves positive, to be pushed just past the bound.
	pos := slices.IndexFunc(r.out[full], func(v float64) bool { return v > 0 })
	spec := kernels.ConvSpec{Shape: cs, Weight: r.w, Bias: r.bias, ReLU: true}
	check := func(name, want string, conv kernels.Conv) {
		t.Helper()
		rec := &recorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			checkOne(rec, Impl{Name: "broken", Tol: tol}, conv, s, cs, r, full, true, placement{})
		}()
		<-done
		if !strings.Contains(rec.msg, want) {
			t.Errorf("%s: suite reported %q, want a failure mentioning %q", name, rec.msg, want)
		}
	}
	nc, _ := naive.NewConv(spec)
	check("replays its first run", "want", &replay{Conv: nc})
	check("writes past its workspace", "workspace: guard value", wsOverrun{nc})
	for _, c := range []struct {
		name, want   string
		damage       func(out []float32)
		damageInputs func(in, res []float32)
	}{
		{"scribbles on its input", "changed its input", func([]float32) {}, func(in, _ []float32) { in[3] = -in[3] - 1 }},
		{"scribbles on its residual", "changed its residual", func([]float32) {}, func(_, res []float32) { res[0]++ }},
		{"writes past the end", "guard value", func(out []float32) { unsafe.Slice(&out[0], len(out)+1)[len(out)] = 1 }, nil},
		{"off by 1e-3", "want", func(out []float32) { out[7] += 1e-3 }, nil},
		{"writes before the start", "guard value", func(out []float32) { *(*float32)(unsafe.Add(unsafe.Pointer(&out[0]), -4)) = 1 }, nil},
		{"off by twice the bound", "bound", func(out []float32) { out[pos] += float32(2 * tol * r.cond[full][pos]) }, nil},
		{"skips an element", "want", func(out []float32) { out[len(out)-1] = sentinel }, nil},
		{"NaN", "want", func(out []float32) { out[0] = float32(0) / float32(len(out)-len(out)) }, nil},
	} {
		nc, _ := naive.NewConv(spec)
		check(c.name, c.want, broken{nc, c.damage, c.damageInputs})
	}
}

// overRead reads the float after its input's last cache line and drops
// it: the guard values cannot see that, the fenced buffers must.
type overRead struct{ *naive.Conv }

var overReadSink float32

func (o overRead) Run(in, out, res, ws []float32) {
	past := (len(in) + 15) / 16 * 16
	overReadSink = unsafe.Slice(&in[0], past+1)[past]
	o.Conv.Run(in, out, res, ws)
}

// TestSuiteFaultsOnOverRead runs the fenced check on a kernel that reads
// past its input, in a child process (a fault on another goroutine would
// kill the process), which must fail naming the fault.
func TestSuiteFaultsOnOverRead(t *testing.T) {
	s := EdgeShapes[1]
	cs := s.ConvShape()
	full := len(epilogues) - 1
	nc, err := naive.NewConv(kernels.ConvSpec{Shape: cs, Weight: ref(s).w, Bias: ref(s).bias, ReLU: true})
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("KERNELTEST_OVERREAD") != "" {
		checkOne(t, Impl{Name: "overread", Tol: 2e-6}, overRead{nc}, s, cs, ref(s), full, true, placement{fenced: true, side: fence.AtEnd})
		os.Exit(0) // not caught
	}
	if _, free, ok := fence.Alloc(1, fence.AtEnd); !ok {
		t.Skip("no fenced buffers on this system")
	} else {
		free()
	}
	// Guarded, the over-read goes unseen: the check itself passes.
	checkOne(t, Impl{Name: "overread", Tol: 2e-6}, overRead{nc}, s, cs, ref(s), full, true, placement{})
	cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteFaultsOnOverRead$")
	cmd.Env = append(os.Environ(), "KERNELTEST_OVERREAD=1")
	outb, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(outb), "fault or panic with the buffers fenced at the end") {
		t.Errorf("fenced check of a kernel that reads past its input: %v, output %q; want a fault", err, outb)
	}
}
