package fence

import (
	"syscall"
	"unsafe"
)

// Alloc returns n floats starting on a cache line, next to a PROT_NONE
// page on side, and a function that unmaps them. ok is false if the system
// refused the mapping.
func Alloc(n int, side Side) (buf []float32, free func(), ok bool) {
	if n == 0 {
		return []float32{}, func() {}, true
	}
	page := syscall.Getpagesize()
	used := (n*4 + lineBytes - 1) / lineBytes * lineBytes
	data := (used + page - 1) / page * page
	mem, err := syscall.Mmap(-1, 0, data+page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, false
	}
	start := page
	fenced := mem[:page]
	if side == AtEnd {
		start, fenced = data-used, mem[data:]
	}
	if syscall.Mprotect(fenced, syscall.PROT_NONE) != nil {
		syscall.Munmap(mem)
		return nil, nil, false
	}
	buf = unsafe.Slice((*float32)(unsafe.Pointer(&mem[start])), n)
	return buf, func() { syscall.Munmap(mem) }, true
}
