package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/pprof"
)

// profiling is the --cpuprofile and --memprofile flags of run and matrix:
// a CPU profile of the measured part of the command and a heap profile at
// its end, both for go tool pprof.
type profiling struct {
	cpuPath, memPath string
	cpu, mem         *outputFile
	// cpuDone and memDone close the files (openBeforeRun), removing one
	// this run created and did not write.
	cpuDone, memDone func(written bool)
	running          bool
	started          bool  // the CPU profile ran: the file holds a profile
	reached          bool  // start was called: the measured part began
	err              error // from starting the CPU profile in a callback
	// unreached says why no profile was written when the measured part
	// never began (default: the run ended before it).
	unreached string
}

func addProfilingFlags(fs *flag.FlagSet) *profiling {
	p := &profiling{}
	fs.StringVar(&p.cpuPath, "cpuprofile", "", "write a CPU profile of the measured part to this file")
	fs.StringVar(&p.memPath, "memprofile", "", "write a heap profile at the end to this file")
	return p
}

// labels reports whether plans should run under pprof labels (model,
// layer, op, kernel), so the CPU profile can be cut by layer.
func (p *profiling) labels() bool { return p.cpuPath != "" }

// open opens the profile files, so that an unwritable path fails before
// a long run rather than after it. They are emptied only when written, so
// a run that ends early leaves an earlier profile as it was.
func (p *profiling) open() error {
	var err error
	if p.cpuPath != "" {
		if p.cpu, p.cpuDone, err = openBeforeRun(p.cpuPath); err != nil {
			return fmt.Errorf("cannot write the CPU profile: %v", err)
		}
	}
	if p.memPath != "" {
		if p.mem, p.memDone, err = openBeforeRun(p.memPath); err != nil {
			p.close()
			return fmt.Errorf("cannot write the heap profile: %v", err)
		}
	}
	return nil
}

// start starts the CPU profile, if asked for and not yet running, when the
// measured part begins (and lets finish write the heap profile).
func (p *profiling) start() error {
	p.reached = true
	if p.cpu == nil || p.running || p.err != nil {
		return p.err
	}
	f, err := p.cpu.begin()
	if err != nil {
		p.err = fmt.Errorf("cannot write the CPU profile: %v", err)
		return p.err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		p.err = fmt.Errorf("cannot start the CPU profile: %v", err)
		return p.err
	}
	p.running, p.started = true, true
	return nil
}

// finish stops the CPU profile and writes the heap profile (after a GC,
// so it shows what is live), closing both files; it reports the first
// error, and says on w what it wrote.
func (p *profiling) finish(w io.Writer) error {
	errs := []error{p.err}
	if p.running {
		pprof.StopCPUProfile()
		p.running = false
	}
	if p.cpu != nil {
		err := p.cpu.Close()
		p.cpuDone(p.started)
		switch {
		case !p.started:
			// Interrupted or failed before the timed part: an empty
			// file is no profile, and go tool pprof would reject it.
			fmt.Fprintf(w, "no CPU profile written: %s\n", p.unreachedText())
		case err != nil:
			errs = append(errs, fmt.Errorf("writing %s: %v", p.cpuPath, err))
		case p.err == nil:
			fmt.Fprintf(w, "wrote the CPU profile to %s\n", p.cpuPath)
		}
		p.cpu = nil
	}
	if p.mem != nil && !p.reached {
		p.memDone(false)
		p.mem = nil
		fmt.Fprintf(w, "no heap profile written: %s\n", p.unreachedText())
	}
	if p.mem != nil {
		runtime.GC()
		written := false
		if f, err := p.mem.begin(); err != nil {
			errs = append(errs, fmt.Errorf("writing %s: %v", p.memPath, err))
		} else if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			errs = append(errs, fmt.Errorf("writing %s: %v", p.memPath, err))
		} else {
			written = true
		}
		err := p.mem.Close()
		p.memDone(written)
		if err != nil {
			errs = append(errs, fmt.Errorf("writing %s: %v", p.memPath, err))
		} else {
			fmt.Fprintf(w, "wrote the heap profile to %s\n", p.memPath)
		}
		p.mem = nil
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// close stops the CPU profile and closes the files without writing the
// heap profile, for error paths; after finish it does nothing.
func (p *profiling) close() {
	if p.running {
		pprof.StopCPUProfile()
		p.running = false
	}
	if p.cpu != nil {
		p.cpuDone(p.started)
	}
	if p.mem != nil {
		p.memDone(false)
	}
	p.cpu, p.mem = nil, nil
}

func (p *profiling) unreachedText() string {
	if p.unreached != "" {
		return p.unreached
	}
	return "the run ended before its timed inferences"
}
