package main

import (
	_ "embed"
	"io"
	"strings"
)

//go:embed main.go
var mainSource string

// manual is the package doc of main.go, the single source of the manual.
func manual() string {
	doc := mainSource[:strings.Index(mainSource, "package main")]
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		line = strings.TrimPrefix(line, "//")
		line = strings.TrimPrefix(line, " ")
		line = strings.Replace(line, "\t", "    ", 1)
		b.WriteString(line + "\n")
	}
	return strings.TrimSpace(b.String()) + "\n"
}

func cmdHelp(args []string, stdout, stderr io.Writer) error {
	_, err := io.WriteString(stdout, manual())
	return err
}
