// Package fence places float32 buffers against an inaccessible page, for
// the kernels' tests. Guard values around a buffer catch stray writes, and
// stray reads whose values reach the result; a read past the buffer whose
// value is discarded (a whole-vector load for a masked tail, a row loop
// that reads one row too many) is caught only by making it fault.
package fence

// lineBytes is the granularity of the fence: a buffer starts on a cache
// line (as kernels.Alloc's do), so a read within its last line cannot
// fault on any allocation and is not reported.
const lineBytes = 64

// Side says which end of a buffer is fenced.
type Side int

const (
	AtEnd   Side = iota // the byte after the buffer's last line faults
	AtStart             // the byte before the buffer faults
)

func (s Side) String() string {
	if s == AtStart {
		return "start"
	}
	return "end"
}
