//go:build !linux

package harness

// physicalMemory is 0 (unknown) off Linux: CheckMemory then checks nothing.
func physicalMemory() uint64 { return 0 }
