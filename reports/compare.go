package reports

import (
	"fmt"
	"io"
)

// Compare reads the result files named by paths ("label=path" sets a
// file's column label) and writes benchstat-style comparison tables to w:
// one table per unit, sec/op first. With the default options each file is
// a column and each full benchmark name a row; the first file is the
// baseline the others are compared with.
//
// Environment warnings (see Analyze and EnvError) are written to w before
// the tables, or to warn when it is not nil. Compare returns an error,
// and writes no table, when a file cannot be read or is not Go benchmark
// format (a *FormatError naming the file and line), when the options do
// not parse, or when the results come from different CPUs or ISA tiers
// and opt.Force is not set (an *EnvError).
func Compare(w io.Writer, paths []string, opt CompareOptions) error {
	return CompareTo(w, nil, paths, opt)
}

// CompareTo is Compare with the warnings written to warn (nil means w),
// for a command line that keeps them on stderr.
func CompareTo(w, warn io.Writer, paths []string, opt CompareOptions) error {
	files, err := ReadFiles(paths)
	if err != nil {
		return err
	}
	return CompareFiles(w, warn, files, opt)
}

// CompareFiles is CompareTo for files already read (see Read and
// ReadFile).
func CompareFiles(w, warn io.Writer, files []*File, opt CompareOptions) error {
	rep, err := Analyze(files, opt)
	if err != nil {
		return err
	}
	if warn == nil {
		warn = w
	}
	for _, line := range rep.Warnings {
		if _, err := fmt.Fprintln(warn, line); err != nil {
			return err
		}
	}
	if len(rep.Warnings) > 0 && warn == w {
		fmt.Fprintln(w)
	}
	return rep.WriteText(w)
}
