package reports

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// voidElements have no end tag.
var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// page is what checkPage learned from an HTML document.
type page struct {
	tags    map[string]int    // start tags by name
	ids     map[string]bool   // id attributes
	classes map[string]int    // class attribute values by tr/td/div
	images  [][]byte          // decoded data: URI images
	text    string            // all text content
	rows    map[string]string // text of every tr with a class, by class (joined)
}

// checkPage tokenizes an HTML document strictly: every non-void element
// closed in order, no stray end tags, and nothing that loads from
// elsewhere (no script, link, iframe, object or style URL; every src and
// href a data: URI or a fragment).
func checkPage(t *testing.T, doc string) page {
	t.Helper()
	p := page{tags: map[string]int{}, ids: map[string]bool{}, classes: map[string]int{}, rows: map[string]string{}}
	if !strings.HasPrefix(doc, "<!DOCTYPE html>") {
		t.Errorf("no doctype")
	}
	for _, bad := range []string{"http:", "https:", "url(", "@import", "//cdn", "<script", "<link", "<iframe", "<object"} {
		if strings.Contains(strings.ToLower(doc), bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	z := html.NewTokenizer(strings.NewReader(doc))
	var stack []string
	var text strings.Builder
	var rowClass string
	var rowText strings.Builder
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatalf("tokenizer: %v", z.Err())
			}
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			p.tags[tok.Data]++
			for _, a := range tok.Attr {
				switch a.Key {
				case "id":
					p.ids[a.Val] = true
				case "class":
					p.classes[tok.Data+"."+a.Val]++
					if tok.Data == "tr" {
						rowClass = a.Val
						rowText.Reset()
					}
				case "src", "href":
					switch {
					case strings.HasPrefix(a.Val, "data:image/png;base64,"):
						img, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a.Val, "data:image/png;base64,"))
						if err != nil {
							t.Errorf("bad data URI: %v", err)
						}
						p.images = append(p.images, img)
					case strings.HasPrefix(a.Val, "#"):
					default:
						t.Errorf("<%s %s=%.40q> points outside the page", tok.Data, a.Key, a.Val)
					}
				}
			}
			if tt == html.StartTagToken && !voidElements[tok.Data] {
				stack = append(stack, tok.Data)
			}
		case html.EndTagToken:
			if len(stack) == 0 || stack[len(stack)-1] != tok.Data {
				t.Fatalf("</%s> does not close the open element (open: %v)", tok.Data, stack)
			}
			stack = stack[:len(stack)-1]
			if tok.Data == "tr" && rowClass != "" {
				p.rows[rowClass] += rowText.String() + "\n"
				rowClass = ""
			}
		case html.TextToken:
			text.WriteString(tok.Data)
			if rowClass != "" {
				rowText.WriteString(tok.Data + " ")
			}
		}
	}
	if len(stack) != 0 {
		t.Errorf("unclosed elements %v", stack)
	}
	p.text = text.String()
	return p
}

func TestHTMLComparison(t *testing.T) {
	var buf bytes.Buffer
	err := HTML(&buf, []string{"old=" + data("synth-old.txt"), "new=" + data("synth-faster30.txt")}, HTMLOptions{Title: "fusion A/B"})
	if err != nil {
		t.Fatal(err)
	}
	p := checkPage(t, buf.String())
	for _, id := range []string{"environment", "summary", "comparison", "plots"} {
		if !p.ids[id] {
			t.Errorf("no section %q", id)
		}
	}
	// Environment + 6 units × (summary + comparison).
	if got := p.tags["table"]; got != 1+6*2 {
		t.Errorf("%d tables, want 13", got)
	}
	for _, s := range []string{"fusion A/B", "Intel(R) Xeon(R) Platinum 8481C", "avx512",
		"Model/model=resnet50/fusion=all/kernel=im2col/size=224/batch=1/threads=1", "-28.51%", "p=0.000 n=10", "139.70m"} {
		if !strings.Contains(p.text, s) {
			t.Errorf("page text lacks %q", s)
		}
	}
	// Faster latency and higher throughput are both improvements.
	if p.classes["td.num better"] < 2*3 {
		t.Errorf("%d improvement cells, want >= 6", p.classes["td.num better"])
	}
	if p.classes["td.num worse"] != 0 {
		t.Errorf("%d regression cells, want 0", p.classes["td.num worse"])
	}
	// date differs between the files.
	if p.classes["tr.differs"] == 0 {
		t.Errorf("no environment row marked as differing")
	}
	if len(p.images) != 2 {
		t.Fatalf("%d embedded images, want latency and roofline", len(p.images))
	}
	for i, img := range p.images {
		checkPNG(t, "embedded image "+string(rune('0'+i)), img)
	}
}

func TestHTMLSingleFileParity(t *testing.T) {
	files := readAll(t, data("synth-parity.txt"))
	var buf bytes.Buffer
	if err := WriteHTML(&buf, files, HTMLOptions{NoPlots: true}); err != nil {
		t.Fatal(err)
	}
	p := checkPage(t, buf.String())
	if p.ids["comparison"] || p.ids["plots"] {
		t.Errorf("single file without plots has a comparison or plot section")
	}
	if p.tags["img"] != 0 {
		t.Errorf("NoPlots page has images")
	}
	failed := p.rows["failed"]
	// resnet50/fusion=none (3 of 10 runs report parity-fail) and
	// se-resnext (a parity: FAILED config line) in each of 6 unit
	// summaries (7 units for parity-fail, which only resnet50/none has).
	if n := strings.Count(failed, "FAILED (3 of 10)"); n != 7 {
		t.Errorf("%d rows flag 3 of 10 failures, want 7:\n%s", n, failed)
	}
	if n := strings.Count(failed, "FAILED (10 of 10)"); n != 6 {
		t.Errorf("%d rows flag 10 of 10 failures, want 6", n)
	}
	if strings.Contains(failed, "model=resnet50/fusion=all/") {
		t.Errorf("the passing cell is flagged:\n%s", failed)
	}
	if !strings.Contains(p.text, "parity FAILED in 3 of 10 results") {
		t.Errorf("no parity footnote")
	}
}

func TestHTMLEnvironmentRules(t *testing.T) {
	args := []string{"xeon=" + data("synth-old.txt"), "epyc=" + data("synth-other-cpu.txt")}
	var buf bytes.Buffer
	err := HTML(&buf, args, HTMLOptions{})
	var env *EnvError
	if !errors.As(err, &env) {
		t.Fatalf("err = %v, want an EnvError", err)
	}
	if buf.Len() != 0 {
		t.Errorf("refused report wrote %d bytes", buf.Len())
	}
	if err := HTML(&buf, args, HTMLOptions{Compare: CompareOptions{Force: true}, NoPlots: true}); err != nil {
		t.Fatal(err)
	}
	p := checkPage(t, buf.String())
	if p.classes["div.warning loud"] != 1 || !strings.Contains(p.text, "FORCED COMPARISON") {
		t.Errorf("forced report lacks the loud warning")
	}
	buf.Reset()
	if err := HTML(&buf, []string{data("gotest-old.txt"), data("gotest-new.txt")}, HTMLOptions{NoPlots: true}); err != nil {
		t.Fatal(err)
	}
	p = checkPage(t, buf.String())
	if p.classes["div.warning"] != 1 || !strings.Contains(p.text, "environment unknown") {
		t.Errorf("go test report lacks the unknown-environment warning")
	}
}

// TestHTMLEscapes: names and config values from a file cannot inject
// markup.
func TestHTMLEscapes(t *testing.T) {
	f, err := Read(`<b>evil</b>.txt`, strings.NewReader("cpu: <script>alert(1)</script>\nBenchmarkA/x=<i>y</i> 1 100 ns/op\n"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, []*File{f}, HTMLOptions{NoPlots: true}); err != nil {
		t.Fatal(err)
	}
	p := checkPage(t, buf.String())
	if p.tags["b"] != 0 || p.tags["i"] != 0 || p.tags["script"] != 0 {
		t.Errorf("markup from the input became tags: %v", p.tags)
	}
	if !strings.Contains(p.text, "<script>alert(1)</script>") {
		t.Errorf("escaped text is missing")
	}
}

// TestHTMLSmallSampleCI: with three runs benchmath has no 95% interval
// (its bounds are ±Inf); the page says ∞, as the ± column does, not
// "-Inf – +Inf".
func TestHTMLSmallSampleCI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "three.txt")
	text := "cpu: test\nBenchmarkX/n=1 1 100 ns/op\nBenchmarkX/n=1 1 110 ns/op\nBenchmarkX/n=1 1 105 ns/op\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, readAll(t, path), HTMLOptions{NoPlots: true}); err != nil {
		t.Fatal(err)
	}
	p := checkPage(t, buf.String())
	if strings.Contains(p.text, "Inf") || !strings.Contains(p.text, "∞") {
		t.Errorf("small-sample interval:\n%s", p.text)
	}
}

// go test output records no parity check: its cells say "–", not "ok".
func TestHTMLParityNotChecked(t *testing.T) {
	files := readAll(t, data("synth-old.txt"))
	var buf bytes.Buffer
	if err := WriteHTML(&buf, files, HTMLOptions{NoPlots: true}); err != nil {
		t.Fatal(err)
	}
	checked := false
	for _, f := range files {
		for _, r := range f.Results {
			checked = checked || ParityChecked(r)
		}
	}
	page := buf.String()
	if checked {
		t.Fatal("the fixture records parity; pick one that does not")
	}
	if strings.Contains(page, "<td>ok</td>") || !strings.Contains(page, "<td>–</td>") {
		t.Errorf("unchecked cells must not say ok:\n%s", page)
	}
}

func TestBetterOfResbenchUnits(t *testing.T) {
	for unit, want := range map[string]int{"parity-relL2": -1, "parity-maxabs": -1, "top1-agree": +1, "top5-agree": +1, "sec/op": -1, "GFLOP/s": +1} {
		if got := betterOf(unit, nil); got != want {
			t.Errorf("betterOf(%q) = %d, want %d", unit, got, want)
		}
	}
}
