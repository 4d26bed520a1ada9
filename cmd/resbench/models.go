package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/resbench/resbench/variants"
	"github.com/resbench/resbench/variants/graph"
)

type modelInfo struct {
	Name    string   `json:"name"`
	Aliases []string `json:"aliases"` // [] when none: the manual lists the key for every model
	Family  string   `json:"family"`
	Depth   int      `json:"depth"`
	Params  int64    `json:"params"`
	MACs    int64    `json:"macs"`
}

func cmdModels(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("models")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	var infos []modelInfo
	for _, s := range variants.Models() {
		// Shapes alone give the counts: no weights drawn (3 s and 600 MB
		// for the zoo otherwise).
		g, err := variants.BuildSpec(s, variants.Options{CountOnly: true})
		if err != nil {
			return err
		}
		infos = append(infos, modelInfo{Name: s.Name, Aliases: append([]string{}, s.Aliases...), Family: s.Family, Depth: s.Depth, Params: g.Params(), MACs: g.MACs()})
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(infos)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFAMILY\tDEPTH\tPARAMS\tMACS@224\tALIASES")
	for _, m := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", m.Name, m.Family, m.Depth, m.Params, graph.Count(m.MACs), strings.Join(m.Aliases, ","))
	}
	return tw.Flush()
}
