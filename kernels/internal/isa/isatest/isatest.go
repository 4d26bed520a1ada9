// Package isatest runs a test once per ISA tier with that tier forced, for
// the kernel packages' tests.
package isatest

import (
	"testing"

	"github.com/resbench/resbench/kernels/internal/isa"
)

// ForEach runs f in a subtest "isa=<tier>" for every tier, with that tier
// active, and restores the previous tier afterwards. A tier this CPU (or
// the noasm build) lacks still gets its subtest, skipped with the reason,
// so that `go test -v` shows what was not run rather than leaving it out.
func ForEach(t *testing.T, f func(t *testing.T, tier isa.Tier)) {
	t.Helper()
	for _, tier := range isa.All() {
		t.Run("isa="+tier.String(), func(t *testing.T) {
			if !isa.Supported(tier) {
				t.Skipf("this CPU (or build) lacks %v; the best tier here is %v", tier, isa.Detected())
			}
			prev := isa.Active()
			if err := isa.Set(tier); err != nil {
				t.Fatal(err)
			}
			defer isa.Set(prev)
			f(t, tier)
		})
	}
}
