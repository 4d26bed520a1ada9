package isa

import (
	"strings"
	"testing"
)

func fakeCPU(feats ...feature) func(feature) bool {
	return func(f feature) bool {
		for _, g := range feats {
			if f == g {
				return true
			}
		}
		return false
	}
}

func TestChoose(t *testing.T) {
	none := fakeCPU()
	avx2 := fakeCPU(featAVX2, featFMA3)
	avx2NoFMA := fakeCPU(featAVX2)
	avx512 := fakeCPU(featAVX2, featFMA3, featAVX512F)
	for _, tc := range []struct {
		name    string
		has     func(feature) bool
		forced  string
		want    Tier
		wantErr string // substring; "" means no error
	}{
		{"none/auto", none, "", Generic, ""},
		{"avx2/auto", avx2, "", AVX2, ""},
		{"avx2-no-fma/auto", avx2NoFMA, "", Generic, ""},
		{"avx512/auto", avx512, "", AVX512, ""},
		{"avx512/blank", avx512, "  ", AVX512, ""},
		{"avx512/force-generic", avx512, "generic", Generic, ""},
		{"avx512/force-avx2", avx512, "AVX2", AVX2, ""},
		{"avx512/force-avx512", avx512, "avx512", AVX512, ""},
		{"avx2/force-avx512", avx2, "avx512", AVX2, "lacks AVX512F"},
		{"none/force-avx2", none, "avx2", Generic, "lacks AVX2"},
		{"avx2-no-fma/force-avx2", avx2NoFMA, "avx2", Generic, "lacks FMA3"},
		{"avx2/unknown", avx2, "sse9", AVX2, "unknown tier"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := choose(tc.has, tc.forced)
			if got != tc.want {
				t.Errorf("tier = %v, want %v", got, tc.want)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("unexpected error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q, got nil", tc.wantErr)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.wantErr) {
				t.Errorf("error %q does not contain %q", msg, tc.wantErr)
			}
			if !strings.Contains(msg, "generic, avx2, avx512") {
				t.Errorf("error %q does not list the valid values", msg)
			}
		})
	}
}

func TestParseTierString(t *testing.T) {
	for _, tier := range All() {
		got, err := ParseTier(tier.String())
		if err != nil || got != tier {
			t.Errorf("ParseTier(%q) = %v, %v", tier.String(), got, err)
		}
	}
	if _, err := ParseTier("avx3"); err == nil {
		t.Error("ParseTier(avx3) succeeded")
	}
	if s := Tier(7).String(); s != "Tier(7)" {
		t.Errorf("Tier(7).String() = %q", s)
	}
}

func TestSetActive(t *testing.T) {
	orig := Active()
	defer func() {
		if err := Set(orig); err != nil {
			t.Fatal(err)
		}
	}()
	if !Supported(Generic) {
		t.Fatal("Generic must always be supported")
	}
	if !Supported(Detected()) {
		t.Fatalf("detected tier %v not supported", Detected())
	}
	for _, tier := range All() {
		err := Set(tier)
		if Supported(tier) != (err == nil) {
			t.Errorf("Set(%v) = %v but Supported = %v", tier, err, Supported(tier))
		}
		if err == nil && Active() != tier {
			t.Errorf("after Set(%v), Active() = %v", tier, Active())
		}
		if tier > Detected() && Supported(tier) {
			t.Errorf("%v supported but above detected %v", tier, Detected())
		}
	}
	if err := Set(Tier(-1)); err == nil {
		t.Error("Set(-1) succeeded")
	}
	if err := Set(numTiers); err == nil {
		t.Error("Set(numTiers) succeeded")
	}
}
