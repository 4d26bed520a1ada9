package kerneltest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/resbench/resbench/kernels"
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

func TestSuiteCatchesBrokenKernels(t *testing.T) {
	s := EdgeShapes[1]
	cs := s.ConvShape()
	r := ref(s)
	for _, c := range []struct {
		name, want   string
		damage       func(out []float32)
		damageInputs func(in, res []float32)
	}{
		{"scribbles on its input", "changed its input", func([]float32) {}, func(in, _ []float32) { in[3] = -in[3] - 1 }},
		{"scribbles on its residual", "changed its residual", func([]float32) {}, func(_, res []float32) { res[0]++ }},
		{"writes past the end", "guard value", func(out []float32) { unsafe.Slice(&out[0], len(out)+1)[len(out)] = 1 }, nil},
		{"off by 1e-3", "want", func(out []float32) { out[7] += 1e-3 }, nil},
		{"skips an element", "want", func(out []float32) { out[len(out)-1] = sentinel }, nil},
		{"NaN", "want", func(out []float32) { out[0] = float32(0) / float32(len(out)-len(out)) }, nil},
	} {
		spec := kernels.ConvSpec{Shape: cs, Weight: r.w, Bias: r.bias, ReLU: true}
		nc, _ := naive.NewConv(spec)
		rec := &recorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			checkOne(rec, Impl{Name: "broken", Tol: 1e-5}, broken{nc, c.damage, c.damageInputs}, s, cs, r, len(epilogues)-1, true)
		}()
		<-done
		if !strings.Contains(rec.msg, c.want) {
			t.Errorf("%s: suite reported %q, want a failure mentioning %q", c.name, rec.msg, c.want)
		}
	}
}
