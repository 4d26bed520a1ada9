package main

import (
	"bytes"
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
	// "--html OLD NEW" takes OLD as the report's path: refuse to write
	// the report over anything but an earlier HTML page, so that no
	// results file is destroyed, however it parses (a cut-short matrix
	// file fails the strict reader yet is still worth resuming).
	if *html != "" {
		if data, err := os.ReadFile(*html); err == nil && len(bytes.TrimSpace(data)) > 0 && !isHTMLPage(data) {
			return usagef("compare: --html %s exists and is not an HTML page (it may hold benchmark results) and would be overwritten; --html takes the report's path, e.g. resbench compare --html report.html OLD NEW", *html)
		}
	}
	opt := reports.CompareOptions{Col: *col, Row: *row, Filter: *filter, Alpha: *alpha, Force: *force}
	if err := reports.CompareTo(stdout, stderr, files, opt); err != nil {
		return err
	}
	if *html == "" {
		return nil
	}
	// Rendered whole before the file is touched: a failed report leaves
	// no empty or partial page.
	var page bytes.Buffer
	if err := reports.HTML(&page, files, reports.HTMLOptions{Title: "resbench comparison", Compare: opt}); err != nil {
		return err
	}
	if err := os.WriteFile(*html, page.Bytes(), 0o644); err != nil {
		return fmt.Errorf("cannot write the HTML report: %v", err)
	}
	fmt.Fprintf(stderr, "wrote %s\n", *html)
	return nil
}

// isHTMLPage reports whether data starts like an HTML document (a report
// this command wrote earlier may be replaced).
func isHTMLPage(data []byte) bool {
	head := bytes.ToLower(bytes.TrimSpace(data[:min(len(data), 64)]))
	return bytes.HasPrefix(head, []byte("<!doctype html")) || bytes.HasPrefix(head, []byte("<html"))
}
