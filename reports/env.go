package reports

import (
	"fmt"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// An EnvError is the refusal to compare results measured in different
// environments: on different CPUs (config key "cpu") or at different ISA
// tiers (config key "isa"). Latency on another machine or another SIMD
// tier says nothing about the code under test. CompareOptions.Force
// overrides it.
type EnvError struct {
	Key    string     // "cpu" or "isa"
	Values []EnvValue // each distinct value, in order of appearance
}

// EnvValue is one value of an environment key and the inputs (file
// labels) whose results recorded it.
type EnvValue struct {
	Value string
	Files []string
}

func (e *EnvError) Error() string {
	return fmt.Sprintf("refusing to compare results from different %s: %s; rerun them on one machine at one ISA tier, or force the comparison (--force)",
		envNoun(e.Key), formatEnvValues(e.Values))
}

// envChecks are the configuration keys checked before comparing, and
// whether a difference is fatal.
var envChecks = []struct {
	key   string
	fatal bool
}{
	{"cpu", true},
	{"isa", true},
	{"goarch", false},
	// The amd64 level changes the generic tier's code (fused multiply-adds
	// at v3), not the assembly tiers': a warning.
	{"goamd64", false},
}

func envNoun(key string) string {
	switch key {
	case "cpu":
		return "CPUs (config key cpu)"
	case "isa":
		return "ISA tiers (config key isa)"
	case "goarch":
		return "architectures (config key goarch)"
	case "goamd64":
		return "amd64 levels (config key goamd64)"
	}
	return key + " values"
}

func formatEnvValues(vals []EnvValue) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = fmt.Sprintf("%q in %s", v.Value, strings.Join(v.Files, ", "))
	}
	return strings.Join(parts, " vs ")
}

// checkEnv applies the refusal rules to the results that survived the
// filter. A cpu or isa key with more than one value is an *EnvError, or
// with force a "WARNING:" line; more than one goarch is a warning. When
// more than one file is compared, an input whose results lack cpu or isa
// gets a warning that its environment is unknown (plain "go test -bench"
// output records cpu but no isa).
func checkEnv(results []*benchfmt.Result, files []*File, force bool) ([]string, error) {
	var warnings []string
	for _, chk := range envChecks {
		var vals []EnvValue
		index := make(map[string]int)
		var missing []string
		for _, r := range results {
			file := r.GetConfig(".file")
			v := r.GetConfig(chk.key)
			if v == "" {
				if !containsString(missing, file) {
					missing = append(missing, file)
				}
				continue
			}
			i, ok := index[v]
			if !ok {
				i = len(vals)
				index[v] = i
				vals = append(vals, EnvValue{Value: v})
			}
			if !containsString(vals[i].Files, file) {
				vals[i].Files = append(vals[i].Files, file)
			}
		}
		if len(vals) > 1 {
			switch {
			case chk.fatal && !force:
				return nil, &EnvError{Key: chk.key, Values: vals}
			case chk.fatal:
				warnings = append(warnings, fmt.Sprintf("WARNING: FORCED COMPARISON ACROSS DIFFERENT %s: %s. DIFFERENCES BELOW MAY COME FROM THE MACHINES, NOT THE CODE.",
					envNoun(chk.key), formatEnvValues(vals)))
			default:
				warnings = append(warnings, fmt.Sprintf("warning: results come from different %s: %s", envNoun(chk.key), formatEnvValues(vals)))
			}
		}
		if chk.fatal && len(missing) > 0 && len(files) > 1 {
			verb := "records"
			if len(missing) > 1 {
				verb = "record"
			}
			warnings = append(warnings, fmt.Sprintf("warning: environment unknown: %s %s no %s, so the comparison cannot check that all inputs ran on the same %s",
				strings.Join(missing, ", "), verb, chk.key, map[string]string{"cpu": "CPU", "isa": "ISA tier"}[chk.key]))
		}
	}
	return warnings, nil
}
