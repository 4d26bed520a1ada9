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
	cases := []struct{ env, want, errPart string }{
		{"bogus", Detected().String() + " err=", "unknown tier"},
		{"generic", "generic", ""},
		{" AVX2 ", "avx2", ""}, // case and spaces as a shell may leave them
	}
	// Every vector tier: taken where the CPU has it, otherwise refused
	// with the missing feature named and the best tier kept.
	for _, tier := range []Tier{AVX2, AVX512} {
		if Supported(tier) {
			cases = append(cases, struct{ env, want, errPart string }{tier.String(), tier.String(), ""})
		} else {
			cases = append(cases, struct{ env, want, errPart string }{tier.String(), Detected().String() + " err=", "lacks"})
		}
	}
	if !Supported(AVX2) {
		cases[2] = struct{ env, want, errPart string }{" AVX2 ", Detected().String() + " err=", "lacks"}
	}
	for _, tc := range cases {
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
