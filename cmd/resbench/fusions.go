package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/resbench/resbench/variants"
	"github.com/resbench/resbench/variants/fusion"
)

func cmdFusions(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fusions")
	model := fs.String("model", "", "model to check the passes against")
	combos := fs.Bool("combos", false, "list the fusion combinations of --model")
	full := fs.Bool("full", false, "with --combos: the whole power set")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *combos && *model == "" {
		return usagef("fusions: --combos needs --model")
	}
	if *full && !*combos {
		return usagef("fusions: --full applies to --combos; try resbench fusions --combos --full --model %s", cmp.Or(*model, "se-resnext50"))
	}
	var applicable []string
	if *model != "" {
		spec, err := variants.Lookup(*model)
		if err != nil {
			return err
		}
		g, err := variants.BuildSpec(spec, variants.Options{CountOnly: true})
		if err != nil {
			return err
		}
		if applicable, err = fusion.Applicable(g); err != nil {
			return err
		}
		if *combos {
			for _, c := range fusion.Combos(applicable, *full) {
				fmt.Fprintln(stdout, strings.Join(c, ",")+map[bool]string{true: "none"}[len(c) == 0])
			}
			return nil
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	header := "PASS\tSEED PROPOSES IT FOR\tWHAT IT DOES"
	if *model != "" {
		header = "PASS\tAPPLIES TO " + *model + "\tWHAT IT DOES"
	}
	fmt.Fprintln(tw, header)
	for _, p := range fusion.Passes() {
		col := p.Seed
		if *model != "" {
			col = map[bool]string{true: "yes", false: "no"}[slices.Contains(applicable, p.Name)]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, col, p.Doc)
	}
	return tw.Flush()
}
