package variants

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The graph dumps are golden: a builder change that alters a model's
// structure, shapes or counts shows up as a diff here.
func TestDumpGolden(t *testing.T) {
	for _, c := range []struct {
		model string
		form  Form
	}{{"resnet18", FormC}, {"resnet50-v2", FormC}, {"se-resnext50", FormC}, {"resnext50", FormB}} {
		g, err := Build(c.model, Options{Size: 64, Form: c.form, CountOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "testdata", "graph", c.model+"-"+c.form.String()+".golden")
		got := g.String()
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
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
			t.Errorf("%s dump differs from %s (go test -update rewrites it)", c.model, path)
		}
	}
}
