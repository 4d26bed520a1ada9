//go:build !unix

package filelock

import "os"

// Elsewhere there is no lock: concurrent runs are the user's to avoid.
func lock(f *os.File, wait bool) error { return nil }

func unlock(f *os.File) error { return nil }
