package main

import (
	"fmt"
	"io"
	"os"

	"github.com/resbench/resbench/reports"
)

func cmdCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compare")
	col := fs.String("col", "", "projection for columns (default .file)")
	row := fs.String("row", "", "projection for rows (default .fullname)")
	filter := fs.String("filter", "", "filter expression (default *)")
	alpha := fs.Float64("alpha", 0.05, "significance level")
	force := fs.Bool("force", false, "compare files from different CPUs or ISA tiers anyway")
	html := fs.String("html", "", "also write a self-contained HTML report with plots to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	files := fs.Args()
	for _, f := range files {
		if len(f) > 1 && f[0] == '-' {
			return usagef("compare: %q after the file names is read as a file; put flags before the files", f)
		}
	}
	if len(files) == 0 {
		return usagef("compare: give one or more result files (resbench run -o, resbench matrix -o, or go test -bench output)")
	}
	if !(*alpha > 0 && *alpha < 1) { // NaN fails too
		return usagef("compare: --alpha %v: want a level between 0 and 1 (e.g. 0.05)", *alpha)
	}
	opt := reports.CompareOptions{Col: *col, Row: *row, Filter: *filter, Alpha: *alpha, Force: *force}
	if err := reports.CompareTo(stdout, stderr, files, opt); err != nil {
		return err
	}
	if *html == "" {
		return nil
	}
	f, err := os.Create(*html)
	if err != nil {
		return fmt.Errorf("cannot write the HTML report: %v", err)
	}
	if err := reports.HTML(f, files, reports.HTMLOptions{Title: "resbench comparison", Compare: opt}); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s\n", *html)
	return nil
}
