package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/resbench/resbench/harness"
)

// A matrix run killed by a real SIGKILL midway keeps every finished cell
// intact, and running the same command again resumes from there.
func TestMatrixSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a matrix")
	}
	dir, bin := buildResbench(t)
	out := filepath.Join(dir, "m.txt")
	args := []string{"matrix", "--models", "resnet18,resnet34", "--kernels", "im2col,direct", "--fusions", "none,all",
		"--size", "64", "--count", "20", "--parity", "1", "-o", out}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "RESBENCH_CACHE_DIR="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once at least two cells are on disk, while others are pending.
	deadline := time.Now().Add(2 * time.Minute)
	var before *harness.Done
	for {
		d, err := harness.ScanResults(out)
		if err == nil && len(d.Cells) >= 2 {
			before = d
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no two cells after 2 minutes:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	after, err := harness.ScanResults(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Cells) < len(before.Cells) || len(after.Cells) >= 8 {
		t.Fatalf("after the kill: %d whole cells (saw %d before it); the run should have been cut short", len(after.Cells), len(before.Cells))
	}
	checkBenchfmt(t, out, after.Kept)

	// Resume: the same command finishes the matrix without redoing cells.
	resume := exec.Command(bin, args...)
	resume.Env = cmd.Env
	got, err := resume.CombinedOutput()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, got)
	}
	if want := "resumed from the file"; !strings.Contains(string(got), want) {
		t.Errorf("resume output lacks %q:\n%s", want, got)
	}
	final, err := harness.ScanResults(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(final.Cells) != 8 {
		t.Errorf("after resuming: %d cells, want 8", len(final.Cells))
	}
	for name := range after.Cells {
		if !final.Cells[name] {
			t.Errorf("cell %s was lost", name)
		}
	}
	checkBenchfmt(t, out, final.Size)
	// Each cell's lines appear once: no cell was measured twice.
	data, _ := os.ReadFile(out)
	counts := map[string]int{}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "Benchmark") {
			counts[strings.Fields(line)[0]]++
		}
	}
	for name, n := range counts {
		if n < 20 || n > 20 {
			t.Errorf("%s has %d lines, want 20 (one per timed run)", name, n)
		}
	}
}

// checkBenchfmt parses the first n bytes of a results file as stock tools
// would.
func checkBenchfmt(t *testing.T, path string, n int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := benchfmt.NewReader(bytes.NewReader(data[:n]), path)
	results := 0
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Fatalf("%v", rec)
		case *benchfmt.Result:
			results++
		}
	}
	if results == 0 {
		t.Fatal("no results")
	}
}

// run answers SIGTERM (a CI timeout, kill) as it answers Ctrl-C: it stops
// timing, writes the inferences that finished, and exits with status 2.
func TestRunKeepsResultsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir, bin := buildResbench(t)
	out := filepath.Join(dir, "r.txt")
	cmd := exec.Command(bin, "run", "--model", "resnet18", "--size", "32", "--kernel", "im2col", "--threads", "1",
		"--parity", "0", "--count", "1000000", "-o", out)
	// Signal once timing has begun.
	stderr := startUntilTimed(t, cmd, dir)
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(stderr.String(), "interrupted after") {
		t.Fatalf("after SIGTERM: %v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.Contains(b, []byte("BenchmarkModel/model=resnet18")) {
		t.Errorf("the finished inferences are not in %s: %v\n%s", out, err, b)
	}
}

// A run killed outright (SIGKILL) before it writes leaves none of the new
// output files behind: they are checked at start-up but created only when
// written, so no empty results, plan or profile file remains.
func TestRunKilledLeavesNoEmptyFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir, bin := buildResbench(t)
	// (A CPU profile is written from the first timed inference on, so
	// it is not among them.)
	outs := []string{filepath.Join(dir, "r.txt"), filepath.Join(dir, "p.txt"), filepath.Join(dir, "m.prof")}
	cmd := exec.Command(bin, "run", "--model", "resnet18", "--size", "32", "--kernel", "im2col", "--threads", "1",
		"--parity", "0", "--count", "1000000", "-o", outs[0], "--plan", outs[1], "--memprofile", outs[2])
	startUntilTimed(t, cmd, dir)
	cmd.Process.Kill()
	cmd.Wait()
	for _, o := range outs {
		if _, err := os.Stat(o); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after the kill (%v)", o, err)
		}
	}
}

// startUntilTimed starts a resbench run (its calibration cache in dir) and
// returns once its progress line counts timed inferences, with the buffer
// that collects its stderr.
func startUntilTimed(t *testing.T, cmd *exec.Cmd, dir string) *lockedBuffer {
	t.Helper()
	cmd.Env = append(os.Environ(), "RESBENCH_CACHE_DIR="+dir)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(stderr.String(), "timed ") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no timed inference after a minute:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return stderr
}

// lockedBuffer is a bytes.Buffer that a child's stderr copier may write
// while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// -o /dev/stdout with standard output redirected to a file (>> all.txt)
// appends the results after what was there and what run printed, instead
// of truncating the file or writing over it from its start.
func TestRunOutputToRedirectedStdout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir, bin := buildResbench(t)
	all := filepath.Join(dir, "all.txt")
	if err := os.WriteFile(all, []byte("earlier line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(all, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--model", "resnet18", "--size", "32", "--kernel", "im2col", "--threads", "1",
		"--count", "3", "--parity", "0", "-o", "/dev/stdout")
	cmd.Env = append(os.Environ(), "RESBENCH_CACHE_DIR="+dir)
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	f.Close()
	b, err := os.ReadFile(all)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.HasPrefix(text, "earlier line\n") || !strings.Contains(text, "latency") || strings.Count(text, "BenchmarkModel/") != 3 {
		t.Errorf("the redirected file lost something:\n%s", text)
	}
}

// buildResbench builds the command into a test directory, for tests that
// need a real process (signals, file descriptors); it returns the
// directory and the binary's path.
func buildResbench(t *testing.T) (dir, bin string) {
	t.Helper()
	dir = t.TempDir()
	bin = filepath.Join(dir, "resbench")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir, bin
}
