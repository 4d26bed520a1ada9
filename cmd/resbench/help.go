package main

import (
	_ "embed"
	"io"
	"slices"
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

// commandManual returns the manual's section for one command: its synopsis
// line and the indented text under it, up to the next command.
func commandManual(cmd string) string {
	var b strings.Builder
	in := false
	for _, line := range strings.Split(manual(), "\n") {
		synopsis := strings.HasPrefix(line, "    ") && !strings.HasPrefix(line, "     ")
		switch {
		case synopsis && (strings.TrimSpace(line) == cmd || strings.HasPrefix(line, "    "+cmd+" ")):
			in = true
		case in && (synopsis || (line != "" && !strings.HasPrefix(line, " "))):
			return b.String()
		}
		if in {
			b.WriteString(strings.TrimPrefix(line, "    ") + "\n")
		}
	}
	return b.String()
}

// commandNames lists the commands in the manual's order (commands, the
// dispatch table, cannot be read here: it holds cmdHelp).
var commandNames = []string{"help", "machine", "models", "fusions", "run", "profile", "accuracy", "matrix", "compare", "gate"}

func cmdHelp(args []string, stdout, stderr io.Writer) error {
	switch {
	case len(args) > 1:
		return usagef("help takes at most one command, got %q", args)
	case len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help"):
		return printCommandManual(stdout, "help") // as every other command's --help
	case len(args) == 1 && args[0] != "help":
		if !slices.Contains(commandNames, args[0]) {
			return usagef("no command %q; commands: %s", args[0], strings.Join(commandNames, ", "))
		}
		return printCommandManual(stdout, args[0])
	}
	_, err := io.WriteString(stdout, manual())
	return err
}
