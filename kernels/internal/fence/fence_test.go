package fence

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestAlloc checks fenced buffers' length and alignment, and in a child
// process that the first byte past the fenced side faults: for a whole
// last line (16 floats) and a partial one (17: the fence starts after the
// second line, so the float at 32 faults, and 17…31 do not).
func TestAlloc(t *testing.T) {
	if touch := os.Getenv("FENCE_TOUCH"); touch != "" {
		side, n, _ := strings.Cut(touch, "/")
		floats, _ := strconv.Atoi(n)
		s := AtEnd
		if side == "start" {
			s = AtStart
		}
		buf, _, ok := Alloc(floats, s)
		if !ok {
			os.Exit(3)
		}
		p := unsafe.Pointer(&buf[0])
		if s == AtEnd {
			line := (floats + 15) / 16 * 16
			println(*(*float32)(unsafe.Add(p, (line-1)*4))) // inside the last line: no fault
			p = unsafe.Add(p, line*4)
		} else {
			p = unsafe.Add(p, -4)
		}
		println(*(*float32)(p))
		os.Exit(0) // the read should have faulted
	}
	for _, side := range []Side{AtEnd, AtStart} {
		for _, n := range []int{0, 1, 15, 16, 17, 1000, 4096} {
			buf, free, ok := Alloc(n, side)
			if !ok {
				t.Skip("no fenced buffers on this system")
			}
			if len(buf) != n {
				t.Fatalf("Alloc(%d, %v): len %d", n, side, len(buf))
			}
			if n > 0 && uintptr(unsafe.Pointer(&buf[0]))%lineBytes != 0 {
				t.Errorf("Alloc(%d, %v): not line aligned", n, side)
			}
			for i := range buf {
				buf[i] = float32(i)
			}
			free()
		}
		for _, n := range []int{16, 17} {
			cmd := exec.Command(os.Args[0], "-test.run=^TestAlloc$")
			cmd.Env = append(os.Environ(), "FENCE_TOUCH="+side.String()+"/"+strconv.Itoa(n))
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "unexpected fault address") {
				t.Errorf("touching the fence at the %v of %d floats: %v, output %q; want a fault", side, n, err, out)
			}
		}
	}
}
