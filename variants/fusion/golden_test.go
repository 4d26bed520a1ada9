package fusion

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resbench/resbench/variants"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The dumps before (variants' golden tests) and after every pass are
// golden: a pass that rewrites more or less than before shows as a diff,
// together with its log.
func TestFusedDumpGolden(t *testing.T) {
	for _, c := range []struct {
		model string
		form  variants.Form
	}{{"resnet18", variants.FormC}, {"resnet50-v2", variants.FormC}, {"se-resnext50", variants.FormC}, {"resnext50", variants.FormA}} {
		g, err := variants.Build(c.model, variants.Options{Size: 64, Form: c.form, CountOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		var log strings.Builder
		fused, _, err := Apply(g, Names(), func(format string, args ...any) {
			log.WriteString(strings.TrimSpace(fmt.Sprintf(format, args...)) + "\n")
		})
		if err != nil {
			t.Fatal(err)
		}
		got := "# fusion log\n" + log.String() + "\n" + fused.String()
		path := filepath.Join("..", "..", "testdata", "graph", c.model+"-"+c.form.String()+"-fused.golden")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -update creates it)", err)
		}
		if got != string(want) {
			t.Errorf("%s fused dump differs from %s (go test -update rewrites it)", c.model, path)
		}
	}
}
