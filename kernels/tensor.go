package kernels

import (
	"fmt"
	"unsafe"
)

// Alignment is the byte alignment of every buffer Alloc returns: one cache
// line, which is also the width of an AVX-512 register, so vector loads at
// the start of a row never split a line.
const Alignment = 64

// Alloc returns a zeroed []float32 of length n whose first element is
// Alignment-byte aligned. Go's allocator only promises 8-byte alignment for
// large objects, so it over-allocates by one cache line and slices.
func Alloc(n int) []float32 {
	if n < 0 {
		panic(fmt.Sprintf("kernels.Alloc: negative length %d", n))
	}
	const extra = Alignment / 4
	raw := make([]float32, n+extra)
	if n == 0 {
		return raw[:0:0]
	}
	off := 0
	if mis := uintptr(unsafe.Pointer(&raw[0])) % Alignment; mis != 0 {
		off = int((Alignment - mis) / 4)
	}
	return raw[off : off+n : off+n]
}

// Shape is the logical NCHW shape of an activation tensor. Vectors (the
// output of a fully connected layer, the squeezed SE tensor) are N×C×1×1.
type Shape struct{ N, C, H, W int }

// Elems is the number of elements N·C·H·W.
func (s Shape) Elems() int { return s.N * s.C * s.H * s.W }

// Plane is H·W, the size of one channel of one image.
func (s Shape) Plane() int { return s.H * s.W }

func (s Shape) String() string { return fmt.Sprintf("%dx%dx%dx%d", s.N, s.C, s.H, s.W) }

// Layout is the memory order of an activation tensor.
type Layout uint8

const (
	// NCHW is the plain layout: image, channel, row, column.
	NCHW Layout = iota
	// NCHW8c blocks channels by 8 (one AVX2 register): image, channel
	// block, row, column, 8 channels.
	NCHW8c
	// NCHW16c blocks channels by 16 (one AVX-512 register).
	NCHW16c
)

// Block is the channel block size of the layout, 1 for NCHW.
func (l Layout) Block() int {
	switch l {
	case NCHW8c:
		return 8
	case NCHW16c:
		return 16
	}
	return 1
}

func (l Layout) String() string {
	switch l {
	case NCHW8c:
		return "nChw8c"
	case NCHW16c:
		return "nChw16c"
	}
	return "nchw"
}

// Elems is the storage length of shape s in layout l: channels are padded up
// to a whole block.
func (l Layout) Elems(s Shape) int {
	b := l.Block()
	return s.N * ((s.C + b - 1) / b) * b * s.H * s.W
}
