//go:build noasm || !amd64

package winograd

// haveAsm reports whether this build has the AVX2 transforms: not with the
// noasm tag or off amd64, where only the pure-Go transforms exist (and
// isa.Supported reports the Generic tier only).
const haveAsm = false

type inputFunc func(src *float32, offs *int, ngroups, rs int, dst *float32, ds int)
type outputFunc func(src *float32, ss, ngroups int, out *float32, offs *int, rs int, res *float32, bias float32)
type outputRawFunc func(src *float32, ss, ngroups int, dst *float32)

var (
	inputAVX2     [7]inputFunc
	outputAVX2    [7][4]outputFunc
	outputRawAVX2 [7]outputRawFunc
)
