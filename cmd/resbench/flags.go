package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
)

// newFlagSet returns a flag set that reports errors instead of exiting and
// prints nothing itself: run turns every error into one line.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// errHelp is what parse returns for -h, -help or --help.
var errHelp = errors.New("help requested")

// parseFlags parses args, leaving positional arguments in fs.Args().
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return errHelp // run prints the command's part of the manual
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

// parse parses args and rejects stray positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// positive is a flag.Value for an integer that must be at least 1.
type positive struct{ v *int }

func (p positive) String() string {
	if p.v == nil {
		return ""
	}
	return strconv.Itoa(*p.v)
}

func (p positive) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return fmt.Errorf("%q is not a positive integer", s)
	}
	*p.v = n
	return nil
}

func positiveFlag(fs *flag.FlagSet, name string, def int, usage string) *int {
	v := def
	fs.Var(positive{&v}, name, usage)
	return &v
}

// nonNegative is like positive but accepts 0 (for --warmup).
type nonNegative struct{ v *int }

func (p nonNegative) String() string {
	if p.v == nil {
		return ""
	}
	return strconv.Itoa(*p.v)
}

func (p nonNegative) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a non-negative integer", s)
	}
	*p.v = n
	return nil
}
