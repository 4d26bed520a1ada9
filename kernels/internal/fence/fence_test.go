package fence

import (
	"os"
	"os/exec"
	"testing"
	"unsafe"
)

// TestAlloc checks the layout of fenced buffers, and in a child process
// that touching the fenced side of each kills it.
func TestAlloc(t *testing.T) {
	if touch := os.Getenv("FENCE_TOUCH"); touch != "" {
		side := AtEnd
		if touch == "start" {
			side = AtStart
		}
		buf, _, ok := Alloc(16, side) // one whole line: the next byte is fenced
		if !ok {
			os.Exit(3)
		}
		p := unsafe.Pointer(&buf[0])
		if side == AtEnd {
			p = unsafe.Add(p, 16*4)
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
		cmd := exec.Command(os.Args[0], "-test.run=^TestAlloc$")
		cmd.Env = append(os.Environ(), "FENCE_TOUCH="+side.String())
		err := cmd.Run()
		if ee, isExit := err.(*exec.ExitError); !isExit || ee.ExitCode() == 3 {
			t.Errorf("touching the fence at the %v: %v, want a fault", side, err)
		}
	}
}
