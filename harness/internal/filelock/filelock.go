// Package filelock takes advisory whole-file locks, so that two resbench
// processes do not interleave writes to the same results file or
// calibration cache.
package filelock

import (
	"errors"
	"os"
)

// ErrLocked is returned by TryLock when another process holds the lock.
var ErrLocked = errors.New("locked by another process")

// Lock blocks until it holds an exclusive lock on f; Unlock (or closing f)
// releases it.
func Lock(f *os.File) error { return lock(f, true) }

// TryLock takes an exclusive lock on f, or returns ErrLocked at once if
// another process holds it.
func TryLock(f *os.File) error { return lock(f, false) }

// Unlock releases a lock taken by Lock or TryLock.
func Unlock(f *os.File) error { return unlock(f) }
