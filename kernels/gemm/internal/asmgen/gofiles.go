package main

import (
	"bytes"
	"fmt"
	"go/format"
	"log"
	"os"
	"strings"
)

var goOut *string

var isaRequirement = map[string]string{
	"AVX2":   "AVX2+FMA",
	"AVX512": "AVX512F",
}

var regName = map[string]string{
	"AVX2":   "ymm",
	"AVX512": "zmm",
}

// kernelDoc is the doc comment shared by the assembly declaration and its
// pure-Go twin: the reference loop the routine implements.
func kernelDoc(v vecISA, rows, nvec, astride, bstride int) []string {
	cols := nvec * v.vl
	name := kernelName(v, rows, nvec)
	doc := []string{
		fmt.Sprintf("%s computes ntiles vertically stacked %d×%d tiles of", name, rows, cols),
		fmt.Sprintf("C (%s, %d %s accumulator%s). a holds ntiles packed A micro-panels", isaRequirement[v.name], rows*nvec, regName[v.name], plural(rows*nvec)),
		fmt.Sprintf("of stride %d ([kc][%d] each, rows 0..%d used), b one packed B", astride, astride, rows-1),
		fmt.Sprintf("micro-panel of stride %d ([kc][%d], columns 0..%d used); ldc and ldr", bstride, bstride, cols-1),
		"are in floats. bnext (the next B micro-panel, or b) is only prefetched.",
		"Reference loop:",
		"",
		"\tfor t < ntiles:",
		fmt.Sprintf("\t\tfor i < %d, j < %d:", rows, cols),
		"\t\t\tacc := float32(0) // updated with fused multiply-adds in assembly",
		fmt.Sprintf("\t\t\tfor k < kc: acc += a[(t*kc+k)*%d+i] * b[k*%d+j]", astride, bstride),
		fmt.Sprintf("\t\t\tr := t*%d + i", rows),
		"\t\t\tif flags&flagAccumulate != 0 { acc += c[r*ldc+j] }",
		"\t\t\tif flags&flagBias != 0       { acc += bias[r] }",
		"\t\t\tif flags&flagResidual != 0   { acc += res[r*ldr+j] }",
		"\t\t\tif flags&flagReLU != 0       { acc = max(acc, 0) } // NaN stays NaN",
		"\t\t\tc[r*ldc+j] = acc",
	}
	if rows*nvec < minChains {
		doc = append(doc, "",
			"To hide FMA latency the assembly sums even and odd k steps into two",
			"partial accumulators, added before the epilogue; the Go twin sums in",
			"k order, so the last bits may differ.")
	}
	return doc
}

// stridedDoc is the doc comment of a strided kernel and its Go twin.
func stridedDoc(v vecISA, rows, nvec, astride int) []string {
	cols := nvec * v.vl
	return []string{
		fmt.Sprintf("%s is %s reading B straight from its", stridedName(v, rows, nvec), kernelName(v, rows, nvec)),
		fmt.Sprintf("rows (row k at b[k*ldb], columns 0..%d) instead of from a packed panel,", cols-1),
		"for GEMMs whose few rows of A would not amortize packing B. Reference loop:",
		"",
		"\tfor t < ntiles:",
		fmt.Sprintf("\t\tfor i < %d, j < %d:", rows, cols),
		"\t\t\tacc := float32(0) // updated with fused multiply-adds in assembly",
		fmt.Sprintf("\t\t\tfor k < kc: acc += a[(t*kc+k)*%d+i] * b[k*ldb+j]", astride),
		"\t\t\t(epilogue as in the packed kernel)",
	}
}

// colDoc is the doc comment of the column kernel and its Go twin.
func colDoc(astride int) []string {
	return []string{
		fmt.Sprintf("%s computes one column of C for npanels stacked %d-row tiles", colName(astride), astride),
		fmt.Sprintf("(AVX2+FMA): a holds npanels packed A micro-panels ([kc][%d] each),", astride),
		"b points at the column in B's own rows, unpacked (row k at b[k*bstride]),",
		"out gets 8 floats per panel, rows 0..7 of the tile (zero past the",
		"panel's rows). Reference loop:",
		"",
		fmt.Sprintf("\tfor p < npanels, i < %d:", astride),
		"\t\tacc := float32(0) // updated with fused multiply-adds in assembly",
		fmt.Sprintf("\t\tfor k < kc: acc += a[(p*kc+k)*%d+i] * b[k*bstride]", astride),
		"\t\tout[p*8+i] = acc",
		"",
		"To hide FMA latency the assembly sums even and odd k steps into two",
		"partial accumulators, added at the end.",
	}
}

// wideDoc is the doc comment of a wide kernel and its Go twin.
func wideDoc(nvec, tail int) []string {
	cols := nvec * 16
	doc := []string{
		fmt.Sprintf("%s computes ntiles vertically stacked 8×%d tiles of C", wideName(nvec, tail), cols+tail),
		"(AVX512F): a holds ntiles packed A micro-panels ([kc][8] each), b one",
		fmt.Sprintf("B panel of stride %d ([kc][%d], columns 0..%d used). Columns 0..%d are", wideStride(nvec, tail), wideStride(nvec, tail), cols+tail-1, cols-1),
		fmt.Sprintf("stored to C with the epilogue of the packed kernels (%d zmm", 8*nvec),
		"accumulators). Reference loop:",
		"",
		"\tfor t < ntiles:",
		fmt.Sprintf("\t\tfor i < 8, j < %d:", cols),
		"\t\t\tacc := float32(0) // updated with fused multiply-adds in assembly",
		fmt.Sprintf("\t\t\tfor k < kc: acc += a[(t*kc+k)*8+i] * b[k*%d+j]", wideStride(nvec, tail)),
		"\t\t\t(epilogue as in the packed kernel)",
	}
	if tail == 0 {
		return doc
	}
	return append(doc,
		fmt.Sprintf("\t\tfor x < %d, i < 8:", tail),
		"\t\t\tacc := float32(0)",
		fmt.Sprintf("\t\t\tfor k < kc: acc += a[(t*kc+k)*8+i] * b[k*%d+%d+x]", wideStride(nvec, tail), cols),
		fmt.Sprintf("\t\t\ttail[(t*%d+x)*8+i] = acc", tail),
		"",
		fmt.Sprintf("The last %d column%s (one ymm accumulator each, along the tile's rows)", tail, plural(tail)),
		"get no epilogue: the driver applies it.")
}

func packBDoc(name string, nr int) []string {
	return []string{
		fmt.Sprintf("%s packs npanels %d-column panels of row-major B (row", name, nr),
		"stride ldb floats) for the microkernels. Reference loop:",
		"",
		fmt.Sprintf("\tfor p < npanels, k < kc, j < %d:", nr),
		fmt.Sprintf("\t\tdst[p*pstride+k*%d+j] = src[k*ldb+p*%d+j]", nr, nr),
	}
}

func copyRowsDoc(name string) []string {
	return []string{
		fmt.Sprintf("%s copies rows rows of ncols floats, ldb apart in src, to", name),
		"rows stride apart in dst, leaving the rest of each dst row as it is.",
		"Reference loop:",
		"",
		"\tfor k < rows, j < ncols:",
		"\t\tdst[k*stride+j] = src[k*ldb+j]",
	}
}

// writeGoFiles writes <prefix>_generic.go (pure-Go twins of every assembly
// routine, same names, signatures and doc comments, for noasm or non-amd64
// builds) and <prefix>_table.go (the kernel tables the driver dispatches
// through, built on every platform).
func writeGoFiles(prefix string, fams []family) {
	header := "// Code generated by command: go run . -what gemm (kernels/gemm/internal/asmgen). DO NOT EDIT.\n\n"
	comment := func(b *bytes.Buffer, lines []string) {
		for _, l := range lines {
			if l == "" {
				b.WriteString("//\n")
			} else {
				b.WriteString("// " + l + "\n")
			}
		}
	}

	var g bytes.Buffer
	g.WriteString(header)
	g.WriteString("//go:build noasm || !amd64\n\npackage gemm\n")
	for _, f := range fams {
		for rows := 1; rows <= f.mr; rows++ {
			for nvec := 1; nvec <= f.nv; nvec++ {
				g.WriteString("\n")
				comment(&g, kernelDoc(f.v, rows, nvec, f.mr, f.nr()))
				fmt.Fprintf(&g, "func %s(a, b, bnext, c *float32, kc, ldc, ntiles int, bias, res *float32, ldr, flags int) {\n", kernelName(f.v, rows, nvec))
				fmt.Fprintf(&g, "\trefKernel(%d, %d, %d, %d, a, b, c, kc, ldc, ntiles, bias, res, ldr, flags)\n}\n", rows, nvec*f.v.vl, f.mr, f.nr())
			}
		}
	}
	for _, f := range fams {
		for rows := 1; rows <= f.mr; rows++ {
			g.WriteString("\n")
			comment(&g, stridedDoc(f.v, rows, f.nv, f.mr))
			fmt.Fprintf(&g, "func %s(a, b *float32, ldb int, c *float32, kc, ldc, ntiles int, bias, res *float32, ldr, flags int) {\n", stridedName(f.v, rows, f.nv))
			fmt.Fprintf(&g, "\trefKernel(%d, %d, %d, ldb, a, b, c, kc, ldc, ntiles, bias, res, ldr, flags)\n}\n", rows, f.nr(), f.mr)
		}
	}
	for _, w := range wideShapes {
		g.WriteString("\n")
		comment(&g, wideDoc(w.nvec, w.tail))
		fmt.Fprintf(&g, "func %s(a, b, c *float32, kc, ldc, ntiles int, bias, res *float32, ldr, flags int, tail *float32) {\n", wideName(w.nvec, w.tail))
		fmt.Fprintf(&g, "\trefWide(%d, %d, a, b, c, kc, ldc, ntiles, bias, res, ldr, flags, tail)\n}\n", w.nvec*16, w.tail)
	}
	for _, astride := range []int{6, 8} {
		g.WriteString("\n")
		comment(&g, colDoc(astride))
		fmt.Fprintf(&g, "func %s(a, b, out *float32, kc, npanels, bstride int) {\n\trefCol(%d, a, b, out, kc, npanels, bstride)\n}\n", colName(astride), astride)
	}
	for _, nr := range []int{16, 32} {
		name := fmt.Sprintf("sgemmPackB%dAVX2", nr)
		g.WriteString("\n")
		comment(&g, packBDoc(name, nr))
		fmt.Fprintf(&g, "func %s(dst, src *float32, kc, ldb, npanels, pstride int) {\n\trefPackB(%d, dst, src, kc, ldb, npanels, pstride)\n}\n", name, nr)
	}
	g.WriteString("\n")
	comment(&g, copyRowsDoc("sgemmCopyRowsAVX512"))
	fmt.Fprintf(&g, "func sgemmCopyRowsAVX512(dst, src *float32, rows, ldb, ncols, stride int) {\n\trefCopyRows(dst, src, rows, ldb, ncols, stride)\n}\n")
	writeGo(prefix+"_generic.go", g.Bytes())

	var t bytes.Buffer
	t.WriteString(header)
	t.WriteString("package gemm\n")
	for _, f := range fams {
		fmt.Fprintf(&t, "\n// kernels%s[rows][nvec] computes tiles of rows × nvec·%d elements from\n", f.v.name, f.v.vl)
		fmt.Fprintf(&t, "// panels packed for the %d×%d tile.\n", f.mr, f.nr())
		fmt.Fprintf(&t, "var kernels%s = [%d][%d]microKernel{\n", f.v.name, f.mr+1, f.nv+1)
		for rows := 1; rows <= f.mr; rows++ {
			var names []string
			for nvec := 1; nvec <= f.nv; nvec++ {
				names = append(names, fmt.Sprintf("%d: %s", nvec, kernelName(f.v, rows, nvec)))
			}
			fmt.Fprintf(&t, "\t%d: {%s},\n", rows, strings.Join(names, ", "))
		}
		t.WriteString("}\n")
		fmt.Fprintf(&t, "\n// strided%s[rows] computes full-width tiles of rows × %d elements from\n", f.v.name, f.nr())
		fmt.Fprintf(&t, "// A panels packed for the %d×%d tile and B read from its rows.\n", f.mr, f.nr())
		fmt.Fprintf(&t, "var strided%s = [%d]stridedKernel{\n", f.v.name, f.mr+1)
		for rows := 1; rows <= f.mr; rows++ {
			fmt.Fprintf(&t, "\t%d: %s,\n", rows, stridedName(f.v, rows, f.nv))
		}
		t.WriteString("}\n")
	}
	maxNvec, maxTail := 0, 0
	for _, w := range wideShapes {
		maxNvec, maxTail = max(maxNvec, w.nvec), max(maxTail, w.tail)
	}
	t.WriteString("\n// wideAVX512[nvec][tail] computes the last strip of an N edge, nvec\n")
	t.WriteString("// vectors plus tail columns, as 8-row tiles from panels of stride\n// wideStride(nvec, tail).\n")
	fmt.Fprintf(&t, "var wideAVX512 = [%d][%d]wideKernel{\n", maxNvec+1, maxTail+1)
	for nvec := 1; nvec <= maxNvec; nvec++ {
		var names []string
		for _, w := range wideShapes {
			if w.nvec == nvec {
				names = append(names, fmt.Sprintf("%d: %s", w.tail, wideName(w.nvec, w.tail)))
			}
		}
		if len(names) > 0 {
			fmt.Fprintf(&t, "\t%d: {%s},\n", nvec, strings.Join(names, ", "))
		}
	}
	t.WriteString("}\n")
	writeGo(prefix+"_table.go", t.Bytes())
}

func writeGo(path string, src []byte) {
	out, err := format.Source(src)
	if err != nil {
		log.Fatalf("%s: %v\n%s", path, err, src)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		log.Fatal(err)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
