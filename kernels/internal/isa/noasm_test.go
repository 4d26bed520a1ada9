//go:build noasm

package isa

import "testing"

func TestNoasmOnlyGeneric(t *testing.T) {
	if Detected() != Generic {
		t.Errorf("noasm build detected %v", Detected())
	}
	for _, tier := range All()[1:] {
		if Supported(tier) {
			t.Errorf("noasm build supports %v", tier)
		}
	}
}
