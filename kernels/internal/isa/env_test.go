package isa

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestEnvFallback re-runs this test binary with RESBENCH_ISA set, so that
// package init sees it, and checks Err and the fallback of Active.
func TestEnvFallback(t *testing.T) {
	if os.Getenv("ISA_TEST_CHILD") == "1" {
		got := Active().String()
		if Err() != nil {
			got += " err=" + Err().Error()
		}
		os.Stdout.WriteString("CHILD:" + got + "\n")
		return
	}
	for _, tc := range []struct{ env, want, errPart string }{
		{"bogus", Detected().String() + " err=", "unknown tier"},
		{"generic", "generic", ""},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEnvFallback$", "-test.v")
		cmd.Env = append(os.Environ(), "ISA_TEST_CHILD=1", EnvVar+"="+tc.env)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s=%s: child failed: %v\n%s", EnvVar, tc.env, err, out)
		}
		if !strings.Contains(string(out), "CHILD:"+tc.want) || !strings.Contains(string(out), tc.errPart) {
			t.Errorf("%s=%s: unexpected child output:\n%s", EnvVar, tc.env, out)
		}
		if tc.errPart == "" && strings.Contains(string(out), "err=") {
			t.Errorf("%s=%s: unexpected error:\n%s", EnvVar, tc.env, out)
		}
	}
}
